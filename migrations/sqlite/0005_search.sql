-- Search analytics (content gaps, click-through) and editor-managed synonyms.
CREATE TABLE search_log (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    at                 TEXT NOT NULL,
    q                  TEXT NOT NULL,
    locale             TEXT,
    channel            TEXT,
    scope              TEXT NOT NULL,
    filters            TEXT NOT NULL,
    hits               INTEGER NOT NULL,
    latency_us         INTEGER NOT NULL,
    clicked_article_id INTEGER,
    clicked_at         TEXT
);
CREATE INDEX search_log_at ON search_log (at);

CREATE TABLE synonyms (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    locale     TEXT NOT NULL,
    terms      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
