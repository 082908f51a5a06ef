-- Once-per-cluster claims (snippet fan-out, …).
CREATE TABLE claims (
    name TEXT PRIMARY KEY,
    at   TIMESTAMPTZ NOT NULL
);

-- Webhook subscriptions; filters are JSON lists (empty = everything).
CREATE TABLE webhooks (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url                  TEXT NOT NULL,
    secret               TEXT NOT NULL,
    events               TEXT NOT NULL,
    locales              TEXT NOT NULL,
    categories           TEXT NOT NULL,
    article_types        TEXT NOT NULL,
    active               BOOLEAN NOT NULL DEFAULT TRUE,
    consecutive_failures BIGINT NOT NULL DEFAULT 0,
    disabled_reason      TEXT,
    created_at           TIMESTAMPTZ NOT NULL,
    created_by           TEXT NOT NULL
);

-- One row per (webhook, event): the unique key makes enqueueing idempotent.
CREATE TABLE webhook_deliveries (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id       BIGINT NOT NULL REFERENCES webhooks (id),
    event_seq        BIGINT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivering', 'delivered', 'dead')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    last_status_code BIGINT,
    last_error       TEXT,
    payload          TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    delivered_at     TIMESTAMPTZ,
    UNIQUE (webhook_id, event_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

INSERT INTO counters (name, value) VALUES ('webhook_cursor', 0);
