-- Search analytics (content gaps, click-through) and editor-managed synonyms.
CREATE TABLE search_log (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                 TIMESTAMPTZ NOT NULL,
    q                  TEXT NOT NULL,
    locale             TEXT,
    channel            TEXT,
    scope              TEXT NOT NULL,
    filters            TEXT NOT NULL,
    hits               BIGINT NOT NULL,
    latency_us         BIGINT NOT NULL,
    clicked_article_id BIGINT,
    clicked_at         TIMESTAMPTZ
);
CREATE INDEX search_log_at ON search_log (at);

CREATE TABLE synonyms (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    locale     TEXT NOT NULL,
    terms      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT NOT NULL
);
