-- 0003: mailbox ingestion state and the record of every poll and scan.
--
-- mailbox_messages: what dmarcwatch knows of each message it saw in a
-- polled IMAP folder, keyed by (mailbox, folder, UIDVALIDITY, UID). A UID
-- means something only together with the folder's UIDVALIDITY (RFC 9051
-- §2.3.1.1), so when the server changes UIDVALIDITY nothing recorded under
-- the old value is trusted: the messages are read again, and the reports in
-- them come back as duplicates (reports dedupe by content). The row is
-- written only after the message's reports are committed, and its state
-- moves on only after the server confirmed the move or flag:
--   imported  at least one report stored (new, duplicate or conflicting);
--             the move to archive_folder (or the \Seen flag) is pending
--   invalid   no usable report (reason says why); the move to
--             invalid_folder is pending
--   moved     moved to target_folder (usable tells which of the two)
--   marked    flagged \Seen and left in the folder (after_import = "mark")
-- A message found in the folder with a pending state is moved, never read
-- again: a crash between commit and move neither loses nor doubles it.
CREATE TABLE mailbox_messages (
  id {{ID}},
  mailbox TEXT NOT NULL,                -- [[mailboxes]] name
  folder TEXT NOT NULL,                 -- the polled folder, as configured
  uidvalidity BIGINT NOT NULL,
  uid BIGINT NOT NULL,
  sha256 TEXT,                          -- hex SHA-256 of the message; NULL when not fetched
  size BIGINT NOT NULL,                 -- RFC822.SIZE
  state TEXT NOT NULL CHECK (state IN ('imported', 'invalid', 'moved', 'marked')),
  usable BIGINT NOT NULL,               -- 1: reports were stored; 0: it goes to invalid_folder
  input_id BIGINT REFERENCES inputs (id),  -- NULL when the message was not fetched
  reason TEXT NOT NULL,                 -- '' when usable, else a stable token (max_message_bytes, smtp_tls_report, ...)
  target_folder TEXT NOT NULL,          -- where it was or will be moved ('' when marked)
  first_seen BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX mailbox_messages_key
  ON mailbox_messages (mailbox, folder, uidvalidity, uid);
CREATE INDEX mailbox_messages_recent ON mailbox_messages (mailbox, folder, updated_at);

-- One poll of a mailbox or one scan of a watched folder. finished_at stays
-- NULL while it runs and when the process died during it. error_reason is
-- NULL for a run that did its work (rejected messages are not errors), and
-- the stable reason of what stopped it otherwise: `dmarcwatch status` and
-- the alert on repeated ingest failures read these rows.
CREATE TABLE ingest_runs (
  id {{ID}},
  source_kind TEXT NOT NULL CHECK (source_kind IN ('mailbox', 'watch')),
  source TEXT NOT NULL,                 -- mailbox name, or the watched path
  started_at BIGINT NOT NULL,
  finished_at BIGINT,
  uidvalidity BIGINT,                   -- mailboxes: of the polled folder, when selected
  seen BIGINT NOT NULL,                 -- messages or files read for the first time
  imported BIGINT NOT NULL,             -- of those, with at least one report stored
  invalid BIGINT NOT NULL,              -- of those, with none
  moved BIGINT NOT NULL,                -- messages or files moved (or flagged) this run
  reports_new BIGINT NOT NULL,          -- reports stored that were not there before
  error_reason TEXT,
  error_message TEXT
);
CREATE INDEX ingest_runs_source ON ingest_runs (source_kind, source, started_at);
