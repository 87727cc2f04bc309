-- 0002: what analysis concludes about each record, the rollups that the
-- path views read instead of raw rows, and the DNS cache.
--
-- A record's analysis (its path, the rule that decided, the recomputed
-- alignment) is stored on the record; reports.analysis_fingerprint names
-- the configuration it was computed with, so `dmarcwatch reanalyze` knows
-- what is stale. Rollups are sums over analysed records of reports that
-- are not conflicting copies (duplicate_of IS NULL), kept up to date in the
-- same transaction as the records they sum.

ALTER TABLE reports ADD COLUMN analysis_fingerprint TEXT;

ALTER TABLE records ADD COLUMN path_key TEXT;          -- NULL: not analysed
ALTER TABLE records ADD COLUMN path_kind TEXT;
ALTER TABLE records ADD COLUMN path_name TEXT;
ALTER TABLE records ADD COLUMN provider TEXT;
ALTER TABLE records ADD COLUMN attribution_rule BIGINT;
ALTER TABLE records ADD COLUMN evidence TEXT;
ALTER TABLE records ADD COLUMN spf_aligned BIGINT;     -- 0 or 1
ALTER TABLE records ADD COLUMN dkim_aligned BIGINT;
ALTER TABLE records ADD COLUMN dmarc_pass BIGINT;
ALTER TABLE records ADD COLUMN disagrees BIGINT;
ALTER TABLE records ADD COLUMN signature_id BIGINT;

CREATE INDEX reports_analysis ON reports (analysis_fingerprint);

-- How a group of messages authenticated, without the source IP and count:
-- header_from, envelope_from, the DKIM and SPF results, the override
-- reasons and the disposition. Rows of many reports share one.
CREATE TABLE signatures (
  id {{ID}},
  digest TEXT NOT NULL UNIQUE,          -- hex SHA-256 of the columns below
  header_from TEXT NOT NULL,
  envelope_from TEXT,
  dkim TEXT NOT NULL,                   -- JSON, as in records.dkim
  spf TEXT NOT NULL,                    -- JSON, as in records.spf
  reasons TEXT NOT NULL,                -- JSON, as in records.reasons
  disposition TEXT NOT NULL
);

-- Per UTC day (of the report's begin) x policy domain x path x reporter.
-- The overview, the path table, the trend charts and the alerts read this.
CREATE TABLE rollup_daily (
  domain TEXT NOT NULL,
  day BIGINT NOT NULL,                  -- days since 1970-01-01
  path_key TEXT NOT NULL,
  reporter TEXT NOT NULL,               -- report_metadata/org_name
  path_kind TEXT NOT NULL,
  path_name TEXT NOT NULL,
  provider TEXT NOT NULL,
  messages BIGINT NOT NULL,
  dmarc_pass BIGINT NOT NULL,
  spf_aligned BIGINT NOT NULL,
  dkim_aligned BIGINT NOT NULL,
  disagreements BIGINT NOT NULL,
  quarantined BIGINT NOT NULL,
  rejected BIGINT NOT NULL,
  row_count BIGINT NOT NULL,
  PRIMARY KEY (domain, day, path_key, reporter)
);
CREATE INDEX rollup_daily_day ON rollup_daily (day, domain);

-- Per UTC day x policy domain x path x source IP x signature: the sources
-- and the evidence behind each path's findings.
CREATE TABLE rollup_sources (
  domain TEXT NOT NULL,
  day BIGINT NOT NULL,
  path_key TEXT NOT NULL,
  source_ip TEXT NOT NULL,
  signature_id BIGINT NOT NULL REFERENCES signatures (id),
  messages BIGINT NOT NULL,
  dmarc_pass BIGINT NOT NULL,
  spf_aligned BIGINT NOT NULL,
  dkim_aligned BIGINT NOT NULL,
  disagreements BIGINT NOT NULL,
  quarantined BIGINT NOT NULL,
  rejected BIGINT NOT NULL,
  row_count BIGINT NOT NULL,
  PRIMARY KEY (domain, day, path_key, source_ip, signature_id)
);
CREATE INDEX rollup_sources_day ON rollup_sources (day, domain, path_key);
CREATE INDEX rollup_sources_ip ON rollup_sources (source_ip);

-- DNS answers kept between runs (analysis/dns), negative ones included.
CREATE TABLE dns_cache (
  qtype TEXT NOT NULL,
  name TEXT NOT NULL,
  rcode TEXT NOT NULL,
  answer TEXT NOT NULL,                 -- JSON ["value", ...]
  ttl BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (qtype, name)
);
