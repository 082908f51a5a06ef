-- The scheduler looks each second for articles whose dates (effective, expiry, review) have
-- just passed or that just changed. It used to read every published revision and try to
-- insert a notice for each past date, every second: on 100,000 articles that kept one core
-- busy with an idle server. These indexes make the per-second look a few range scans.
CREATE INDEX revisions_effective_from ON revisions (effective_from);
CREATE INDEX revisions_expires_at ON revisions (expires_at);
CREATE INDEX revisions_review_by ON revisions (review_by);
CREATE INDEX articles_review_by ON articles (review_by);
CREATE INDEX articles_updated_at ON articles (updated_at);
