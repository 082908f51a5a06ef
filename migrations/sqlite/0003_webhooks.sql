-- Once-per-cluster claims (snippet fan-out, …).
CREATE TABLE claims (
    name TEXT PRIMARY KEY,
    at   TEXT NOT NULL
);

-- Webhook subscriptions; filters are JSON lists (empty = everything).
CREATE TABLE webhooks (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    url                  TEXT NOT NULL,
    secret               TEXT NOT NULL,
    events               TEXT NOT NULL,
    locales              TEXT NOT NULL,
    categories           TEXT NOT NULL,
    article_types        TEXT NOT NULL,
    active               INTEGER NOT NULL DEFAULT 1,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    disabled_reason      TEXT,
    created_at           TEXT NOT NULL,
    created_by           TEXT NOT NULL
);

-- One row per (webhook, event): the unique key makes enqueueing idempotent.
CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id       INTEGER NOT NULL REFERENCES webhooks (id),
    event_seq        INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivering', 'delivered', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_status_code INTEGER,
    last_error       TEXT,
    payload          TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    delivered_at     TEXT,
    UNIQUE (webhook_id, event_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

INSERT INTO counters (name, value) VALUES ('webhook_cursor', 0);
