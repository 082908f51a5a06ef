-- Time-driven notices (expiry, effective date, review due) are emitted once per
-- published revision: the primary key makes the scheduler idempotent.
CREATE TABLE notices (
    article_id BIGINT NOT NULL REFERENCES articles (id),
    revision   BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (article_id, revision, kind)
);
