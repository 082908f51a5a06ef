-- Search ids are made in-process (the analytics queue writes rows after the response has
-- gone out with its search_id). SQLite's INTEGER PRIMARY KEY already takes explicit values;
-- this migration keeps the numbering in step with the PostgreSQL variant.
SELECT 1;
