-- 0009: rollup_sources kept in its key's order, with no second index
-- (docs/performance.md).
--
-- Every query of rollup_sources names a domain and a range of days (the
-- dashboard, `paths`, the alerts and the kept answers are per domain),
-- which the primary key (domain, day, ...) serves; rollup_sources_day
-- served only a query without a domain, and cost every imported record an
-- insert into it. Stored in key order (SQLite), a period of a domain is
-- one contiguous range of the table, and a new source is one insert, not
-- three. On PostgreSQL the renamed table's key and foreign key keep the
-- names they were created with (rollup_sources_by_key_pkey, ..._fkey).
CREATE TABLE rollup_sources_by_key (
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
){{WITHOUT_ROWID}};

INSERT INTO rollup_sources_by_key
  SELECT domain, day, path_key, source_ip, signature_id, messages, dmarc_pass, spf_aligned,
         dkim_aligned, disagreements, quarantined, rejected, row_count
  FROM rollup_sources;

DROP TABLE rollup_sources;

ALTER TABLE rollup_sources_by_key RENAME TO rollup_sources;
