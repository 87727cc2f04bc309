#pragma once
// Mailbox ingestion state and ingest runs (schema/sql/0003_mailboxes.sql).
//
// What it keeps:
//  - per polled IMAP folder and UIDVALIDITY, each message seen: its UID,
//    SHA-256, state (imported / invalid / moved / marked), the input it was
//    stored as and, when it held no usable report, the reason. The poller
//    (app/poller.h) writes a message's row only after its reports are
//    committed, and advances the state only after the server confirmed the
//    move, so a crash at any point is repaired by the next poll;
//  - one row per poll of a mailbox or scan of a watched folder: when, what
//    it saw, imported and moved, and the error that stopped it, for
//    `dmarcwatch status`, the dashboard and the alert on a streak of
//    failed runs.
//
// What it does not do: talk to a server or decide anything; it records.
//
// Functions, not Store members, so this feature lives in its own files
// (store_impl.h, internal::Access). Each is one statement or one
// transaction; errors are the store's (kUnavailable when locked, kIoError).
// Threading: as the Store it is given.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dmarcwatch/model/report.h"
#include "dmarcwatch/model/status.h"
#include "dmarcwatch/store/store.h"

namespace dmarcwatch::store {

enum class MessageState : std::uint8_t { kImported, kInvalid, kMoved, kMarked };
const char* ToString(MessageState state);

struct MailboxMessage {
  std::string mailbox;  // [[mailboxes]] name
  std::string folder;   // the polled folder, as configured
  std::uint32_t uidvalidity = 0;
  std::uint32_t uid = 0;
  std::optional<std::string> sha256;  // absent when the message was not fetched
  std::uint64_t size = 0;             // RFC822.SIZE
  MessageState state = MessageState::kImported;
  bool usable = false;  // at least one report stored: it belongs in the archive
  std::optional<std::int64_t> input_id;
  std::string reason;         // why it is not usable; "" when usable
  std::string target_folder;  // where it goes; "" when it is only flagged
  model::UnixTime first_seen = 0;
  model::UnixTime updated_at = 0;
};

// One poller per mailbox at a time, across processes sharing a database.
//
// PostgreSQL: a session-level advisory lock (pg_try_advisory_lock) on this
// Store's connection, keyed by a 64-bit hash of the mailbox name. It is held
// until UnlockMailbox or until the connection closes, so a poller that
// crashed or lost its connection never keeps it. Another process (or another
// Store in this process) asking for the same mailbox meanwhile is refused at
// once: TryLockMailbox yields false and the caller skips this poll. Two
// names whose hashes collide share one lock, which only serialises them.
//
// SQLite: an exclusive flock() on a file beside the database,
// DATABASE-mailbox-HASH.lock, held by this Store until UnlockMailbox or
// until the Store (or its process) goes away, with the same answers as on
// PostgreSQL. Without it, a poll started by hand while `serve` polled the
// same mailbox would fetch and move the same messages. The lock files stay; the
// lock is on the open file, not on its existence. A ":memory:" database is
// one connection's own: always granted.
//
// Locks are re-entrant per Store (PostgreSQL counts them; so does the
// SQLite lock): call UnlockMailbox once for every granted TryLockMailbox.
Result<bool> TryLockMailbox(Store& store, const std::string& mailbox);
Status UnlockMailbox(Store& store, const std::string& mailbox);

// The messages recorded for one folder and UIDVALIDITY, by ascending UID.
Result<std::vector<MailboxMessage>> ListMailboxMessages(Store& store, const std::string& mailbox,
                                                        const std::string& folder,
                                                        std::uint32_t uidvalidity);
// The UIDVALIDITY of the message first recorded last for the folder, if
// any.
Result<std::optional<std::uint32_t>> LastUidvalidity(Store& store, const std::string& mailbox,
                                                     const std::string& folder);
// Inserts the message, or replaces what is recorded under its key
// (first_seen of an existing row is kept).
Status RecordMailboxMessage(Store& store, const MailboxMessage& message);
// Sets the state of these UIDs (one transaction). UIDs not recorded are
// ignored.
Status SetMailboxMessageState(Store& store, const std::string& mailbox, const std::string& folder,
                              std::uint32_t uidvalidity, const std::vector<std::uint32_t>& uids,
                              MessageState state, model::UnixTime now);

enum class SourceKind : std::uint8_t { kMailbox, kWatch };
const char* ToString(SourceKind kind);

struct IngestRun {
  std::int64_t id = 0;
  SourceKind kind = SourceKind::kMailbox;
  std::string source;  // mailbox name, or watched path
  model::UnixTime started_at = 0;
  std::optional<model::UnixTime> finished_at;  // absent: running, or the process died
  std::optional<std::uint32_t> uidvalidity;
  std::uint64_t seen = 0;
  std::uint64_t imported = 0;
  std::uint64_t invalid = 0;
  std::uint64_t moved = 0;
  std::uint64_t reports_new = 0;
  std::optional<std::string> error_reason;  // absent: the run did its work
  std::string error_message;

  bool failed() const { return error_reason.has_value(); }
};

// Sums over every run of one source.
struct IngestTotals {
  std::uint64_t runs = 0;
  std::uint64_t failed_runs = 0;
  std::uint64_t seen = 0;
  std::uint64_t imported = 0;
  std::uint64_t invalid = 0;
  std::uint64_t moved = 0;
  std::uint64_t reports_new = 0;
};

// Records the start of a run; returns its id.
Result<std::int64_t> StartIngestRun(Store& store, SourceKind kind, const std::string& source,
                                    model::UnixTime started_at);
// Records the outcome of the run `run.id` (finished_at, counts, error).
Status FinishIngestRun(Store& store, const IngestRun& run);
// The latest runs of one source, newest first.
Result<std::vector<IngestRun>> RecentIngestRuns(Store& store, SourceKind kind,
                                                const std::string& source, std::uint32_t limit);
// The latest failed run of one source, if any.
Result<std::optional<IngestRun>> LastFailedIngestRun(Store& store, SourceKind kind,
                                                     const std::string& source);
Result<IngestTotals> GetIngestTotals(Store& store, SourceKind kind, const std::string& source);
// How many runs in a row, newest first, failed (0 when the latest did its
// work or there is none). An unfinished run counts as failed (its process
// died) unless it is the newest, which may still be running and is skipped.
Result<std::uint32_t> IngestFailureStreak(Store& store, SourceKind kind, const std::string& source);

}  // namespace dmarcwatch::store
