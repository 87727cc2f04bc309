-- 0001: inputs, reports, records and rejected payloads.
--
-- Written once for every backend. The store's dialect expands
--   {{ID}}    the auto-increment primary key (SQLite: INTEGER PRIMARY KEY,
--             PostgreSQL: a BIGINT identity column)
--   {{BLOB}}  a binary column (BLOB, BYTEA)
-- and applies each statement separately, in one transaction with the
-- schema_migrations row that records it.
--
-- Conventions:
--   - times are Unix seconds, UTC;
--   - counts are 64-bit and saturate at 9223372036854775807 (the model's
--     counts are unsigned; the largest signed value means "at least this");
--   - enumerations are stored as the RFC's words ("quarantine", "softfail",
--     "r"), "unknown" for a word the parser did not know;
--   - NULL means an optional element was absent, '' that it was empty;
--   - the variable-length lists of a report or record are compact JSON
--     arrays in a TEXT column, so that saving a report is one report row
--     plus one row per record and nothing else.

-- One input as received (a message, an uploaded file), before unpacking.
CREATE TABLE inputs (
  id {{ID}},
  sha256 TEXT NOT NULL UNIQUE,          -- hex SHA-256 of the raw bytes
  channel TEXT NOT NULL,                -- file, imap, upload, watch
  origin TEXT NOT NULL,
  name TEXT NOT NULL,
  message_id TEXT,
  received_at BIGINT NOT NULL,
  size BIGINT NOT NULL,                 -- of the raw bytes, as received
  compression TEXT NOT NULL CHECK (compression IN ('zlib', 'omitted')),
  raw {{BLOB}}                          -- zlib stream; NULL when omitted
);

-- One aggregate report. Key: (org_name, report_id, domain, begin_at,
-- end_at); the same key with other content is kept, flagged with
-- duplicate_of pointing at the first copy.
CREATE TABLE reports (
  id {{ID}},
  input_id BIGINT NOT NULL REFERENCES inputs (id),
  version TEXT,
  xml_namespace TEXT,
  -- report_metadata
  org_name TEXT NOT NULL,
  email TEXT NOT NULL,
  extra_contact_info TEXT,
  report_id TEXT NOT NULL,
  begin_at BIGINT NOT NULL,
  end_at BIGINT NOT NULL,
  errors TEXT NOT NULL,                 -- JSON ["text", ...]
  generator TEXT,
  -- policy_published
  domain TEXT NOT NULL,                 -- lower-cased: the key and the filter
  domain_as_written TEXT NOT NULL,
  adkim TEXT,
  aspf TEXT,
  p TEXT NOT NULL,
  sp TEXT,
  np TEXT,
  pct BIGINT,
  fo TEXT,
  testing TEXT,
  discovery_method TEXT,
  -- provenance
  channel TEXT NOT NULL,
  origin TEXT NOT NULL,
  payload_chain TEXT NOT NULL,
  payload_name TEXT NOT NULL,
  message_id TEXT,
  mailbox_uid TEXT,
  received_at BIGINT NOT NULL,
  sha256_raw TEXT NOT NULL,
  -- bookkeeping
  content_sha256 TEXT NOT NULL,
  record_count BIGINT NOT NULL,
  message_count BIGINT NOT NULL,        -- sum of the records' counts
  warnings TEXT NOT NULL,               -- JSON [["code", "detail"], ...]
  warning_count BIGINT NOT NULL,
  duplicate_of BIGINT REFERENCES reports (id),
  imported_at BIGINT NOT NULL
);

-- Identical copies are refused by this index; its first five columns also
-- serve the lookup by key alone, so there is no second index for that.
CREATE UNIQUE INDEX reports_key_content
  ON reports (org_name, report_id, domain, begin_at, end_at, content_sha256);
CREATE INDEX reports_domain_begin ON reports (domain, begin_at);

-- One <record> row of a report, in report order.
CREATE TABLE records (
  id {{ID}},
  report_row_id BIGINT NOT NULL REFERENCES reports (id),
  row_index BIGINT NOT NULL,
  source_ip TEXT NOT NULL,              -- canonical text (RFC 5952 for IPv6)
  count BIGINT NOT NULL,
  disposition TEXT NOT NULL,            -- policy_evaluated
  eval_dkim TEXT NOT NULL,
  eval_spf TEXT NOT NULL,
  reasons TEXT NOT NULL,                -- JSON [["type", "comment" or null], ...]
  header_from TEXT NOT NULL,            -- identifiers
  envelope_from TEXT,
  envelope_to TEXT,
  dkim TEXT NOT NULL,                   -- JSON [["domain", "selector" or null, "result", "human_result" or null], ...]
  spf TEXT NOT NULL                     -- JSON [["domain", "scope", "result", "human_result" or null], ...]
);

CREATE UNIQUE INDEX records_report_row ON records (report_row_id, row_index);

-- A payload that could not be stored as a report, and why. Seen again, it
-- bumps seen_count and last_seen instead of adding a row.
CREATE TABLE rejects (
  id {{ID}},
  input_id BIGINT REFERENCES inputs (id),
  payload_chain TEXT NOT NULL,
  payload_name TEXT NOT NULL,
  code TEXT NOT NULL,
  reason TEXT NOT NULL,
  message TEXT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  seen_count BIGINT NOT NULL
);

-- NULLs are distinct in a unique index, so a reject without an input is
-- keyed as input 0 (ids start at 1); the upsert names the same expression.
CREATE UNIQUE INDEX rejects_key
  ON rejects ((COALESCE(input_id, 0)), payload_chain, payload_name, reason);
