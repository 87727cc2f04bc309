-- 0006: indexes for speed (docs/performance.md).
--
-- rollup_sources (source_ip) goes: no query reads it (every rollup query
-- filters by domain and day, which the primary key and rollup_sources_day
-- serve), and its random key order made every saved report rewrite hundreds
-- of its pages, three quarters of ingest's writes.
DROP INDEX rollup_sources_ip;

-- The newest report of a domain (its published policy) in one index step.
CREATE INDEX reports_domain_end ON reports (domain, end_at);
