-- omnikb foundation schema (PostgreSQL). Applied migrations are never edited: add a new file.
-- Timestamps are timestamptz; JSON is text (one encoding for both backends); integers are bigint.

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('events', 0), ('audit', 0);

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    roles         TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE api_keys (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL UNIQUE,
    key_hash     TEXT NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('bot', 'agent', 'editor', 'admin')),
    user_id      BIGINT REFERENCES users (id),
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE articles (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug               TEXT NOT NULL,
    locale             TEXT NOT NULL,
    article_type       TEXT NOT NULL,
    translation_key    TEXT NOT NULL,
    owner_id           BIGINT REFERENCES users (id),
    confidence         TEXT NOT NULL DEFAULT 'not_validated'
                       CHECK (confidence IN ('wip', 'not_validated', 'validated')),
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    latest_revision    BIGINT NOT NULL DEFAULT 0,
    published_revision BIGINT,
    review_by          TIMESTAMPTZ,
    UNIQUE (slug, locale)
);
CREATE INDEX articles_translation_key ON articles (translation_key);

CREATE TABLE revisions (
    article_id     BIGINT NOT NULL REFERENCES articles (id),
    number         BIGINT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('draft', 'in_review', 'approved', 'scheduled',
                                                  'published', 'superseded', 'archived', 'retired')),
    title          TEXT NOT NULL,
    category       TEXT,
    tags           TEXT NOT NULL,
    audience       TEXT NOT NULL CHECK (audience IN ('public', 'internal')),
    effective_from TIMESTAMPTZ,
    expires_at     TIMESTAMPTZ,
    review_by      TIMESTAMPTZ,
    fields         TEXT NOT NULL,
    body           TEXT NOT NULL,
    author_id      BIGINT REFERENCES users (id),
    created_at     TIMESTAMPTZ NOT NULL,
    base_revision  BIGINT,
    scheduled_at   TIMESTAMPTZ,
    published_at   TIMESTAMPTZ,
    PRIMARY KEY (article_id, number)
);
CREATE INDEX revisions_state ON revisions (state);

CREATE TABLE approvals (
    article_id BIGINT NOT NULL REFERENCES articles (id),
    revision   BIGINT NOT NULL,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (article_id, revision, user_id)
);

CREATE TABLE transitions (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    article_id BIGINT NOT NULL REFERENCES articles (id),
    revision   BIGINT NOT NULL,
    action     TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    actor_id   BIGINT REFERENCES users (id),
    comment    TEXT,
    at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX transitions_article ON transitions (article_id, id);

CREATE TABLE snippets (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key                TEXT NOT NULL,
    locale             TEXT NOT NULL,
    latest_revision    BIGINT NOT NULL DEFAULT 0,
    published_revision BIGINT,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    UNIQUE (key, locale)
);

CREATE TABLE snippet_revisions (
    snippet_id BIGINT NOT NULL REFERENCES snippets (id),
    number     BIGINT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('draft', 'in_review', 'approved', 'scheduled',
                                              'published', 'superseded', 'archived', 'retired')),
    title      TEXT NOT NULL,
    say_as     TEXT,
    variants   TEXT NOT NULL,
    body       TEXT NOT NULL,
    author_id  BIGINT REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (snippet_id, number)
);

-- Which snippets an article's published revision uses (fan-out on snippet publish).
CREATE TABLE article_snippets (
    article_id  BIGINT NOT NULL REFERENCES articles (id),
    snippet_key TEXT NOT NULL,
    PRIMARY KEY (article_id, snippet_key)
);
CREATE INDEX article_snippets_key ON article_snippets (snippet_key);

-- The stored renders of each article's published revision, one row per channel format.
CREATE TABLE renders (
    article_id  BIGINT NOT NULL REFERENCES articles (id),
    revision    BIGINT NOT NULL,
    channel     TEXT NOT NULL,
    format      TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    body        TEXT NOT NULL,
    etag        TEXT NOT NULL,
    warnings    TEXT NOT NULL,
    rendered_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (article_id, channel, format)
);

-- The outbox: an append-only, gap-free, ordered log of what changed.
CREATE TABLE events (
    seq        BIGINT PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL,
    kind       TEXT NOT NULL,
    article_id BIGINT,
    locale     TEXT,
    revision   BIGINT,
    payload    TEXT NOT NULL
);

-- Tamper-evident audit log: each row hashes its content and the previous row's hash.
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);

CREATE TABLE feedback (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    article_id BIGINT NOT NULL REFERENCES articles (id),
    revision   BIGINT,
    kind       TEXT NOT NULL CHECK (kind IN ('helpful', 'not_helpful', 'outdated')),
    channel    TEXT NOT NULL,
    comment    TEXT,
    user_id    BIGINT REFERENCES users (id),
    at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX feedback_article ON feedback (article_id);
