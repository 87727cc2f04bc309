#include "poller.h"

#include <Poco/Logger.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <optional>
#include <set>

#include "dmarcwatch/ingest/imap.h"
#include "dmarcwatch/model/text.h"
#include "dmarcwatch/store/mailboxes.h"

extern char** environ;

namespace dmarcwatch::app {
namespace {

constexpr const char* kLoggerName = "dmarc.ingest.imap";

std::string LogValue(std::string_view s) {
  std::string out = model::Printable(s);
  for (char& c : out) {
    if (c == '"') c = '\'';
  }
  return out;
}

ingest::ImapTls ToTls(const std::string& tls) {
  if (tls == "starttls") return ingest::ImapTls::kStartTls;
  if (tls == "none") return ingest::ImapTls::kNone;
  return ingest::ImapTls::kImplicit;
}

std::chrono::milliseconds Ms(std::int64_t seconds) {
  return std::chrono::milliseconds(std::max<std::int64_t>(seconds, 1) * 1000);
}

}  // namespace

std::string NoReportReason(const InputOutcome& o) {
  if (!o.rejections.empty()) return o.rejections.front().status.reason();
  if (!o.skipped.empty()) return o.skipped.front().reason;
  return "no_report_in_message";
}

Result<std::string> RunTokenCommand(const std::string& command, std::int64_t timeout_seconds,
                                    std::size_t max_bytes) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Status::IoError("cannot run oauth2_token_command: pipe failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  // Its own process group, so that a timeout stops whatever it started.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = -1;
  std::string shell = "/bin/sh", flag = "-c", cmd = command;
  char* argv[] = {shell.data(), flag.data(), cmd.data(), nullptr};
  const int spawned = ::posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (spawned != 0) {
    ::close(fds[0]);
    return Status::IoError("cannot run oauth2_token_command");
  }

  std::string output;
  bool too_long = false;
  bool timed_out = false;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(std::max<std::int64_t>(timeout_seconds, 1));
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buf, static_cast<std::size_t>(n));
    if (output.size() > max_bytes) {
      too_long = true;
      break;
    }
  }
  ::close(fds[0]);
  if (timed_out || too_long) ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return Status(StatusCode::kTimeout, "token_command_timeout",
                  "oauth2_token_command did not finish within " + std::to_string(timeout_seconds) +
                      " s");
  }
  if (too_long) {
    return Status::InvalidInput("token_command_output",
                                "oauth2_token_command printed more than " +
                                    std::to_string(max_bytes) + " bytes");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::Unavailable("token_command_failed",
                               "oauth2_token_command failed (" +
                                   (WIFEXITED(status)
                                        ? "exit status " + std::to_string(WEXITSTATUS(status))
                                        : std::string("killed by a signal")) +
                                   ")");
  }
  const std::string_view first_line = std::string_view(output).substr(0, output.find('\n'));
  const std::string token(model::TrimAscii(first_line));
  if (token.empty()) {
    return Status::InvalidInput("token_command_output", "oauth2_token_command printed no token");
  }
  return token;
}

// One poll: the steps of the header comment, over one connection.
class MailboxPoller::Session {
 public:
  Session(MailboxPoller& poller, const MailboxConfig& m, PollOutcome& out)
      : p_(poller), m_(m), out_(out), log_(Poco::Logger::get(kLoggerName)) {}

  // The error that stopped the poll, or OK. When it came from the store,
  // store_failed() is true.
  Status Run() {
    ingest::ImapOptions o;
    o.host = m_.host;
    o.port = m_.port;
    o.tls = ToTls(m_.tls);
    o.ca_file = m_.ca_file;
    o.connect_timeout = Ms(m_.connect_timeout);
    o.command_timeout = Ms(m_.command_timeout);
    o.session_timeout = Ms(m_.session_timeout);
    o.max_message_bytes = m_.max_message_bytes;
    auto connected = ingest::ImapClient::Connect(o);
    if (!connected.ok()) return connected.status();
    client_ = std::move(*connected);

    ingest::ImapCredentials credentials;
    credentials.username = m_.username;
    if (!m_.password_file.empty()) {
      Result<std::string> password = ReadSecretFile(m_.password_file);
      if (!password.ok()) return password.status();
      credentials.kind = ingest::ImapCredentials::Kind::kPassword;
      credentials.password = std::move(*password);
    } else {
      credentials.kind = ingest::ImapCredentials::Kind::kXoauth2;
      credentials.token = [this](bool fresh) { return p_.Token(m_, fresh); };
    }
    DMARC_RETURN_IF_ERROR(client_->Authenticate(credentials));

    if (m_.after_import == "move") {
      Result<bool> archive = client_->EnsureFolder(m_.archive_folder);
      if (!archive.ok()) return archive.status();
    }
    Result<bool> invalid = client_->EnsureFolder(m_.invalid_folder);
    if (!invalid.ok()) return invalid.status();

    Result<ingest::SelectedFolder> selected = client_->Select(m_.folder);
    if (!selected.ok()) return selected.status();
    if (selected->read_only) {
      return Status(StatusCode::kFailedPrecondition, "read_only",
                    "the folder " + model::Printable(m_.folder) +
                        " is read-only, so messages cannot be moved out of it");
    }
    uidvalidity_ = selected->uidvalidity;
    out_.uidvalidity = uidvalidity_;

    // The UIDVALIDITY the last poll that selected the folder saw (this
    // poll's own run has none yet).
    Result<std::vector<store::IngestRun>> runs =
        store::RecentIngestRuns(p_.store_, store::SourceKind::kMailbox, m_.name, 20);
    if (!runs.ok()) return StoreFailed(runs.status());
    std::optional<std::uint32_t> last;
    for (const store::IngestRun& r : *runs) {
      if (r.uidvalidity) {
        last = r.uidvalidity;
        break;
      }
    }
    if (last && *last != uidvalidity_) {
      // RFC 9051 §2.3.1.1: UIDs under another UIDVALIDITY name other
      // messages. Nothing recorded for the old value is used; the messages
      // are read again and their reports deduplicated by content.
      out_.uidvalidity_changed = true;
      log_.warning("event=imap_uidvalidity_changed mailbox=\"" + LogValue(m_.name) +
                   "\" folder=\"" + LogValue(m_.folder) + "\" old=" + std::to_string(*last) +
                   " new=" + std::to_string(uidvalidity_));
    }
    Result<std::vector<store::MailboxMessage>> known =
        store::ListMailboxMessages(p_.store_, m_.name, m_.folder, uidvalidity_);
    if (!known.ok()) return StoreFailed(known.status());
    std::map<std::uint32_t, const store::MailboxMessage*> by_uid;
    for (const store::MailboxMessage& k : *known) by_uid[k.uid] = &k;

    Result<std::vector<std::uint32_t>> uids = client_->SearchUids("UNDELETED");
    if (!uids.ok()) return uids.status();

    // Messages whose data an earlier poll committed: moved on, not read.
    std::vector<std::uint32_t> fresh;
    for (std::uint32_t uid : *uids) {
      auto it = by_uid.find(uid);
      if (it == by_uid.end()) {
        fresh.push_back(uid);
        continue;
      }
      const store::MailboxMessage& k = *it->second;
      if (k.state == store::MessageState::kMarked && m_.after_import == "mark") continue;
      Queue(uid, k.usable);
    }
    DMARC_RETURN_IF_ERROR(Flush());

    if (fresh.size() > m_.max_messages_per_poll) {
      out_.left = fresh.size() - m_.max_messages_per_poll;
      fresh.resize(m_.max_messages_per_poll);
    }
    Result<std::vector<ingest::MessageSize>> sizes = client_->FetchSizes(fresh);
    if (!sizes.ok()) return sizes.status();
    std::map<std::uint32_t, std::uint64_t> size_of;
    for (const ingest::MessageSize& s : *sizes) size_of[s.uid] = s.size;

    for (std::uint32_t uid : fresh) {
      auto size = size_of.find(uid);
      if (size == size_of.end()) continue;  // expunged by someone else meanwhile
      DMARC_RETURN_IF_ERROR(Process(uid, size->second));
      if (archive_.size() + mark_.size() + invalid_.size() >= p_.options_.move_batch) {
        DMARC_RETURN_IF_ERROR(Flush());
      }
    }
    DMARC_RETURN_IF_ERROR(Flush());
    Status logout = client_->Logout();
    if (!logout.ok()) {
      log_.information("event=imap_logout_failed mailbox=\"" + LogValue(m_.name) + "\" reason=" +
                       logout.reason());
    }
    return Status::Ok();
  }

  bool store_failed() const { return store_failed_; }

 private:
  Status StoreFailed(Status s) {
    store_failed_ = true;
    return s;
  }

  std::string Origin(std::uint32_t uid) const {
    return m_.name + ":" + m_.folder + ":" + std::to_string(uidvalidity_) + ":" +
           std::to_string(uid);
  }

  void Queue(std::uint32_t uid, bool usable) {
    if (!usable) {
      invalid_.push_back(uid);
    } else if (m_.after_import == "mark") {
      mark_.push_back(uid);
    } else {
      archive_.push_back(uid);
    }
  }

  // Records a message that is not fetched: over max_message_bytes.
  Status RecordTooLarge(MessageOutcome& mo, const std::string& message) {
    const model::UnixTime now = p_.clock_();
    const Status saved = p_.store_.SaveReject(
        std::nullopt, {"", Origin(mo.uid), "limit_exceeded", "max_message_bytes", message}, now);
    if (!saved.ok()) return StoreFailed(saved);
    mo.usable = false;
    mo.reason = "max_message_bytes";
    mo.target_folder = m_.invalid_folder;
    store::MailboxMessage row;
    row.mailbox = m_.name;
    row.folder = m_.folder;
    row.uidvalidity = uidvalidity_;
    row.uid = mo.uid;
    row.size = mo.size;
    row.state = store::MessageState::kInvalid;
    row.usable = false;
    row.reason = mo.reason;
    row.target_folder = m_.invalid_folder;
    row.first_seen = now;
    row.updated_at = now;
    const Status recorded = store::RecordMailboxMessage(p_.store_, row);
    if (!recorded.ok()) return StoreFailed(recorded);
    return Status::Ok();
  }

  Status Process(std::uint32_t uid, std::uint64_t size) {
    MessageOutcome mo;
    mo.mailbox = m_.name;
    mo.uid = uid;
    mo.size = size;
    if (size > m_.max_message_bytes) {
      DMARC_RETURN_IF_ERROR(RecordTooLarge(
          mo, "message of " + std::to_string(size) + " bytes, over max_message_bytes (" +
                  std::to_string(m_.max_message_bytes) + "); not fetched"));
      Finish(mo);
      return Status::Ok();
    }
    Result<std::string> body = client_->FetchMessage(uid);
    if (!body.ok()) {
      if (body.status().reason() == "max_message_bytes") {
        // The server sent more than it announced. Recorded, so the next
        // poll moves it instead of stumbling over it again.
        DMARC_RETURN_IF_ERROR(RecordTooLarge(mo, body.status().message()));
        Finish(mo);
        return body.status();
      }
      if (body.status().code() == StatusCode::kNotFound) return Status::Ok();
      return body.status();
    }
    mo.fetched = true;
    const model::UnixTime now = p_.clock_();
    const ingest::InputInfo info{"imap", Origin(uid), "uid " + std::to_string(uid), now};
    Result<InputOutcome> imported = p_.importer_.Import(*body, info);
    if (!imported.ok() && imported.status().code() != StatusCode::kInvalidInput) {
      return StoreFailed(imported.status());
    }
    if (imported.ok()) {
      mo.input = std::move(*imported);
      mo.usable = !mo.input.reports.empty();
      mo.reason = mo.usable ? "" : NoReportReason(mo.input);
    } else {
      // The store refused a report's content (a NUL in a text field):
      // bad input, not a failed store. The raw message is kept; retrying
      // would refuse it again, so it goes to invalid_folder.
      mo.usable = false;
      mo.reason = imported.status().reason();
    }
    mo.target_folder = !mo.usable                    ? m_.invalid_folder
                       : m_.after_import == "mark" ? ""
                                                   : m_.archive_folder;
    // Only now, with the reports committed, is the message recorded.
    store::MailboxMessage row;
    row.mailbox = m_.name;
    row.folder = m_.folder;
    row.uidvalidity = uidvalidity_;
    row.uid = uid;
    row.sha256 = ingest::Sha256Hex(*body);
    row.size = size;
    row.state = mo.usable ? store::MessageState::kImported : store::MessageState::kInvalid;
    row.usable = mo.usable;
    if (mo.input.input_id != 0) row.input_id = mo.input.input_id;
    row.reason = mo.reason;
    row.target_folder = mo.target_folder;
    row.first_seen = now;
    row.updated_at = now;
    const Status recorded = store::RecordMailboxMessage(p_.store_, row);
    if (!recorded.ok()) return StoreFailed(recorded);
    out_.totals.Add(mo.input);
    for (const ReportOutcome& r : mo.input.reports) {
      if (r.kind != store::SaveKind::kDuplicate) out_.new_report_ids.push_back(r.report_row_id);
    }
    Finish(mo);
    return Status::Ok();
  }

  // Counts and reports a recorded message, and queues its move.
  void Finish(MessageOutcome& mo) {
    ++out_.seen;
    if (mo.usable) {
      ++out_.imported;
    } else {
      ++out_.invalid;
      log_.warning("event=imap_message_invalid mailbox=\"" + LogValue(m_.name) + "\" uid=" +
                   std::to_string(mo.uid) + " size=" + std::to_string(mo.size) +
                   " reason=" + mo.reason);
    }
    Queue(mo.uid, mo.usable);
    if (p_.options_.on_message) p_.options_.on_message(mo);
    out_.messages.push_back(std::move(mo));
  }

  // Sends the queued moves and flags; each is recorded once the server
  // confirmed it.
  Status Flush() {
    const model::UnixTime now = p_.clock_();
    auto done = [&](std::vector<std::uint32_t>& uids, store::MessageState state) -> Status {
      const Status s =
          store::SetMailboxMessageState(p_.store_, m_.name, m_.folder, uidvalidity_, uids, state, now);
      if (!s.ok()) return StoreFailed(s);
      out_.moved += uids.size();
      uids.clear();
      return Status::Ok();
    };
    if (!archive_.empty()) {
      DMARC_RETURN_IF_ERROR(client_->Move(archive_, m_.archive_folder));
      DMARC_RETURN_IF_ERROR(done(archive_, store::MessageState::kMoved));
    }
    if (!mark_.empty()) {
      DMARC_RETURN_IF_ERROR(client_->MarkSeen(mark_));
      DMARC_RETURN_IF_ERROR(done(mark_, store::MessageState::kMarked));
    }
    if (!invalid_.empty()) {
      DMARC_RETURN_IF_ERROR(client_->Move(invalid_, m_.invalid_folder));
      DMARC_RETURN_IF_ERROR(done(invalid_, store::MessageState::kMoved));
    }
    return Status::Ok();
  }

  MailboxPoller& p_;
  const MailboxConfig& m_;
  PollOutcome& out_;
  Poco::Logger& log_;
  std::unique_ptr<ingest::ImapClient> client_;
  std::uint32_t uidvalidity_ = 0;
  std::vector<std::uint32_t> archive_, mark_, invalid_;
  bool store_failed_ = false;
};

MailboxPoller::MailboxPoller(store::Store& store, Importer& importer, Clock clock,
                             PollerOptions options)
    : store_(store), importer_(importer), clock_(std::move(clock)), options_(std::move(options)) {}

Result<std::string> MailboxPoller::Token(const MailboxConfig& m, bool fresh) {
  if (!m.oauth2_token_file.empty()) {
    // Re-read every time: whatever refreshes the file may have done so.
    return ReadSecretFile(m.oauth2_token_file);
  }
  auto cached = tokens_.find(m.name);
  if (!fresh && cached != tokens_.end()) return cached->second;
  Result<std::string> token =
      RunTokenCommand(m.oauth2_token_command, m.command_timeout, options_.max_token_bytes);
  if (!token.ok()) {
    Poco::Logger::get(kLoggerName)
        .error("event=imap_token_command_failed mailbox=\"" + LogValue(m.name) +
               "\" reason=" + token.status().reason() + " detail=\"" +
               LogValue(token.status().message()) + "\"");
    tokens_.erase(m.name);
    return token;
  }
  tokens_[m.name] = *token;
  return token;
}

Result<PollOutcome> MailboxPoller::PollOnce(const MailboxConfig& mailbox) {
  Poco::Logger& log = Poco::Logger::get(kLoggerName);
  PollOutcome out;
  out.mailbox = mailbox.name;
  store::IngestRun run;
  run.kind = store::SourceKind::kMailbox;
  run.source = mailbox.name;
  run.started_at = clock_();
  // Processes sharing a store poll each mailbox one at a time
  // (store/mailboxes.h).
  Result<bool> locked = store::TryLockMailbox(store_, mailbox.name);
  if (!locked.ok()) return locked.status();
  if (!*locked) {
    out.locked_elsewhere = true;
    log.information("event=imap_poll_skipped mailbox=\"" + LogValue(mailbox.name) +
                    "\" reason=locked_by_another_process");
    return out;
  }
  struct Unlock {
    store::Store& store;
    const std::string& name;
    ~Unlock() { (void)store::UnlockMailbox(store, name); }
  } unlock{store_, mailbox.name};
  Result<std::int64_t> id = store::StartIngestRun(store_, run.kind, run.source, run.started_at);
  if (!id.ok()) return id.status();
  run.id = *id;

  Session session(*this, mailbox, out);
  out.error = session.Run();

  FillIngestRun(run, out, clock_());
  if (out.uidvalidity != 0) run.uidvalidity = out.uidvalidity;
  const Status finished = store::FinishIngestRun(store_, run);
  if (session.store_failed()) {
    log.error("event=imap_poll_failed mailbox=\"" + LogValue(mailbox.name) +
              "\" reason=store detail=\"" + LogValue(out.error.message()) + "\"");
    return out.error;
  }
  if (!finished.ok()) return finished;
  if (out.error.ok()) {
    log.information("event=imap_poll_finished mailbox=\"" + LogValue(mailbox.name) +
                    "\" uidvalidity=" + std::to_string(out.uidvalidity) +
                    " seen=" + std::to_string(out.seen) + " imported=" +
                    std::to_string(out.imported) + " invalid=" + std::to_string(out.invalid) +
                    " moved=" + std::to_string(out.moved) + " left=" + std::to_string(out.left));
  } else {
    log.error("event=imap_poll_failed mailbox=\"" + LogValue(mailbox.name) +
              "\" reason=" + out.error.reason() + " detail=\"" + LogValue(out.error.message()) +
              "\"");
  }
  return out;
}

}  // namespace dmarcwatch::app
