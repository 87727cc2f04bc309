#pragma once
// MailboxPoller: one poll of one [[mailboxes]] IMAP folder, safe against a
// crash or a disconnect at any point (docs/imap.md).
//
// One PollOnce():
//   1. connects (implicit TLS or STARTTLS, certificate always verified),
//      logs in (password, or XOAUTH2 with a token from oauth2_token_file or
//      oauth2_token_command, fetched again once when the server refuses it),
//      creates archive_folder and invalid_folder when missing;
//   2. selects `folder` and compares its UIDVALIDITY with the one the
//      previous poll saw: after a change nothing recorded under the old
//      value is trusted and every message is read again (its reports come
//      back as duplicates);
//   3. moves on the messages whose data was committed by an earlier poll
//      that did not get to move them (state imported/invalid): never read
//      again, never imported twice;
//   4. for each new message, oldest UID first, at most
//      max_messages_per_poll: checks RFC822.SIZE (over max_message_bytes:
//      not fetched, recorded invalid with reason "max_message_bytes"),
//      fetches it with BODY.PEEK[], hands it to the Importer (which keeps
//      the raw message, unpacks, parses and commits each report), and only
//      then records the message (imported when at least one report was
//      stored, new or duplicate; invalid otherwise, with the reason, also
//      when the store refused a report's content as invalid input);
//   5. moves recorded messages in batches: usable ones to archive_folder
//      (or flags them \Seen when after_import = "mark"), the others to
//      invalid_folder, and records the move once the server confirmed it.
// The order makes every crash harmless: before the commit the message is
// still in the folder and unrecorded (read again next time, its reports
// deduplicated); after the commit and before the move it is recorded and
// moved next time without being read; a move the server did but we did
// not record leaves a row that names a message no longer there.
//
// What it does not do: DNS attribution (the caller runs
// AnalysisService::EnrichWithDns on PollOutcome::new_report_ids), scheduling
// or locking (`serve` calls PollOnce on an interval; one poller per mailbox
// at a time), or IDLE.
//
// Errors: PollOnce returns a failed Result only when the store could not be
// written, and then nothing more is recorded. Everything else (server
// unreachable, login refused, timeout, protocol error) is in
// PollOutcome::error with the work done before it, and is recorded in the
// mailbox's ingest run for `dmarcwatch status` and the alerts.
//
// Threading: one thread at a time per poller. REQUIRES: store and importer
// outlive the poller. Tokens fetched with oauth2_token_command are kept in
// memory between polls of this poller (never logged, never stored).

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "config.h"
#include "dmarcwatch/model/status.h"
#include "dmarcwatch/store/store.h"
#include "importer.h"

namespace dmarcwatch::app {

// One message handled by a poll.
struct MessageOutcome {
  std::string mailbox;
  std::uint32_t uid = 0;
  std::uint64_t size = 0;
  bool usable = false;          // at least one report stored (new, duplicate or conflict)
  std::string reason;           // why not usable ("max_message_bytes", "smtp_tls_report", ...)
  std::string target_folder;    // where it is going; "" when it is only flagged \Seen
  bool fetched = false;         // false: over max_message_bytes, or a pending move only
  InputOutcome input;           // the import's outcome when fetched
};

struct PollOutcome {
  std::string mailbox;
  std::uint32_t uidvalidity = 0;       // 0 when the folder was not selected
  bool uidvalidity_changed = false;    // recorded state was for another UIDVALIDITY
  std::uint64_t seen = 0;              // messages read (or sized) for the first time
  std::uint64_t imported = 0;          // of those, with at least one report stored
  std::uint64_t invalid = 0;           // of those, with none
  std::uint64_t moved = 0;             // messages moved or flagged, earlier ones included
  std::uint64_t left = 0;              // new messages left for the next poll (per-poll limit)
  ImportTotals totals;                 // reports, duplicates, rejects of the imports
  std::vector<std::int64_t> new_report_ids;  // new and conflicting reports, for DNS attribution
  std::vector<MessageOutcome> messages;
  Status error;                        // OK when the poll did its work
  // Another process polls this mailbox right now (the store's mailbox
  // lock, PostgreSQL only): this poll did nothing and recorded no run.
  bool locked_elsewhere = false;
};

struct PollerOptions {
  // Called for every message as soon as it is recorded (for progress
  // output); may be empty.
  std::function<void(const MessageOutcome&)> on_message;
  // Messages recorded before their moves are sent to the server.
  std::size_t move_batch = 100;
  // The most bytes read from oauth2_token_command's output.
  std::size_t max_token_bytes = 16 * 1024;
};

class MailboxPoller {
 public:
  using Clock = std::function<model::UnixTime()>;

  // REQUIRES: store and importer outlive the poller; importer writes to
  // the same store.
  MailboxPoller(store::Store& store, Importer& importer, Clock clock, PollerOptions options = {});

  // Polls one mailbox once. See the header comment for what a failed
  // Result means.
  Result<PollOutcome> PollOnce(const MailboxConfig& mailbox);

 private:
  class Session;
  // XOAUTH2 tokens: the cached one unless `fresh`, else read or run again.
  Result<std::string> Token(const MailboxConfig& mailbox, bool fresh);

  store::Store& store_;
  Importer& importer_;
  Clock clock_;
  PollerOptions options_;
  std::map<std::string, std::string> tokens_;  // mailbox name -> last access token
};

// Why an input holds no usable report: the reason of its first rejected or
// skipped payload, else "no_report_in_message".
std::string NoReportReason(const InputOutcome& outcome);

// Runs `command` with /bin/sh -c and returns the first line it prints,
// trimmed: how oauth2_token_command is run. Fails when it does not exit 0
// within `timeout_seconds`, prints nothing, or prints more than max_bytes.
// Its stderr is passed through; its output is never logged.
Result<std::string> RunTokenCommand(const std::string& command, std::int64_t timeout_seconds,
                                    std::size_t max_bytes);

}  // namespace dmarcwatch::app
