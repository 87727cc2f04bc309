-- 0008: a report's records as compressed blocks (docs/performance.md).
--
-- Records are only ever read by report, in row order, so a report saved
-- whole is one block and a large one a block per batch: one insert per
-- block instead of one per record, and about a tenth of the bytes. The
-- block format is in schema/store/src/record_blocks.h.
--
-- The records table stays for reports saved before this migration: they
-- are read from it until a re-analysis (`dmarcwatch reanalyze --all`)
-- rewrites them as blocks. New reports write no rows there.
CREATE TABLE record_blocks (
  report_row_id BIGINT NOT NULL REFERENCES reports (id),
  first_index BIGINT NOT NULL,          -- row_index of the block's first record
  row_count BIGINT NOT NULL,
  encoding TEXT NOT NULL,               -- 'z1'
  data {{BLOB}} NOT NULL,
  PRIMARY KEY (report_row_id, first_index)
);
