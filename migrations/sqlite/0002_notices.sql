-- Time-driven notices (expiry, effective date, review due) are emitted once per
-- published revision: the primary key makes the scheduler idempotent.
CREATE TABLE notices (
    article_id INTEGER NOT NULL REFERENCES articles (id),
    revision   INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    at         TEXT NOT NULL,
    PRIMARY KEY (article_id, revision, kind)
);
