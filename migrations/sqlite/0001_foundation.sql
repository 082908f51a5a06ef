-- omnikb foundation schema (SQLite). Applied migrations are never edited: add a new file.
-- Timestamps are RFC 3339 text in UTC; JSON is text; integers are 64-bit.

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('events', 0), ('audit', 0);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    roles         TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL UNIQUE,
    key_hash     TEXT NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('bot', 'agent', 'editor', 'admin')),
    user_id      INTEGER REFERENCES users (id),
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE articles (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    slug               TEXT NOT NULL,
    locale             TEXT NOT NULL,
    article_type       TEXT NOT NULL,
    translation_key    TEXT NOT NULL,
    owner_id           INTEGER REFERENCES users (id),
    confidence         TEXT NOT NULL DEFAULT 'not_validated'
                       CHECK (confidence IN ('wip', 'not_validated', 'validated')),
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    latest_revision    INTEGER NOT NULL DEFAULT 0,
    published_revision INTEGER,
    review_by          TEXT,
    UNIQUE (slug, locale)
);
CREATE INDEX articles_translation_key ON articles (translation_key);

CREATE TABLE revisions (
    article_id     INTEGER NOT NULL REFERENCES articles (id),
    number         INTEGER NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('draft', 'in_review', 'approved', 'scheduled',
                                                  'published', 'superseded', 'archived', 'retired')),
    title          TEXT NOT NULL,
    category       TEXT,
    tags           TEXT NOT NULL,
    audience       TEXT NOT NULL CHECK (audience IN ('public', 'internal')),
    effective_from TEXT,
    expires_at     TEXT,
    review_by      TEXT,
    fields         TEXT NOT NULL,
    body           TEXT NOT NULL,
    author_id      INTEGER REFERENCES users (id),
    created_at     TEXT NOT NULL,
    base_revision  INTEGER,
    scheduled_at   TEXT,
    published_at   TEXT,
    PRIMARY KEY (article_id, number)
);
CREATE INDEX revisions_state ON revisions (state);

CREATE TABLE approvals (
    article_id INTEGER NOT NULL REFERENCES articles (id),
    revision   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    at         TEXT NOT NULL,
    PRIMARY KEY (article_id, revision, user_id)
);

CREATE TABLE transitions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id INTEGER NOT NULL REFERENCES articles (id),
    revision   INTEGER NOT NULL,
    action     TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    actor_id   INTEGER REFERENCES users (id),
    comment    TEXT,
    at         TEXT NOT NULL
);
CREATE INDEX transitions_article ON transitions (article_id, id);

CREATE TABLE snippets (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    key                TEXT NOT NULL,
    locale             TEXT NOT NULL,
    latest_revision    INTEGER NOT NULL DEFAULT 0,
    published_revision INTEGER,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    UNIQUE (key, locale)
);

CREATE TABLE snippet_revisions (
    snippet_id INTEGER NOT NULL REFERENCES snippets (id),
    number     INTEGER NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('draft', 'in_review', 'approved', 'scheduled',
                                              'published', 'superseded', 'archived', 'retired')),
    title      TEXT NOT NULL,
    say_as     TEXT,
    variants   TEXT NOT NULL,
    body       TEXT NOT NULL,
    author_id  INTEGER REFERENCES users (id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (snippet_id, number)
);

-- Which snippets an article's published revision uses (fan-out on snippet publish).
CREATE TABLE article_snippets (
    article_id  INTEGER NOT NULL REFERENCES articles (id),
    snippet_key TEXT NOT NULL,
    PRIMARY KEY (article_id, snippet_key)
);
CREATE INDEX article_snippets_key ON article_snippets (snippet_key);

-- The stored renders of each article's published revision, one row per channel format.
CREATE TABLE renders (
    article_id  INTEGER NOT NULL REFERENCES articles (id),
    revision    INTEGER NOT NULL,
    channel     TEXT NOT NULL,
    format      TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    body        TEXT NOT NULL,
    etag        TEXT NOT NULL,
    warnings    TEXT NOT NULL,
    rendered_at TEXT NOT NULL,
    PRIMARY KEY (article_id, channel, format)
);

-- The outbox: an append-only, gap-free, ordered log of what changed.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    kind       TEXT NOT NULL,
    article_id INTEGER,
    locale     TEXT,
    revision   INTEGER,
    payload    TEXT NOT NULL
);

-- Tamper-evident audit log: each row hashes its content and the previous row's hash.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);

CREATE TABLE feedback (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id INTEGER NOT NULL REFERENCES articles (id),
    revision   INTEGER,
    kind       TEXT NOT NULL CHECK (kind IN ('helpful', 'not_helpful', 'outdated')),
    channel    TEXT NOT NULL,
    comment    TEXT,
    user_id    INTEGER REFERENCES users (id),
    at         TEXT NOT NULL
);
CREATE INDEX feedback_article ON feedback (article_id);
