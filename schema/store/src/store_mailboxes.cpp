// Store: mailbox ingestion state and ingest runs (mailboxes.h).
//
// Optional columns are read through COALESCE with a value the column
// cannot hold (ids and times are never negative), so that results extract
// into plain vectors on SQLite and PostgreSQL alike, and turned back into
// std::optional here: no sentinel leaves this file.

#include "dmarcwatch/store/mailboxes.h"

#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <limits>
#include <system_error>
#include <type_traits>

#include "store_impl.h"

namespace dmarcwatch::store {
namespace {

std::uint64_t Count(std::int64_t v) { return v < 0 ? 0 : static_cast<std::uint64_t>(v); }

std::optional<MessageState> ParseState(const std::string& s) {
  if (s == "imported") return MessageState::kImported;
  if (s == "invalid") return MessageState::kInvalid;
  if (s == "moved") return MessageState::kMoved;
  if (s == "marked") return MessageState::kMarked;
  return std::nullopt;
}

constexpr const char* kRunColumns =
    "id, started_at, COALESCE(finished_at, -1), COALESCE(uidvalidity, -1), seen, imported, "
    "invalid, moved, reports_new, CASE WHEN error_reason IS NULL THEN 0 ELSE 1 END, "
    "COALESCE(error_reason, ''), COALESCE(error_message, '')";

// The columns of kRunColumns, extracted as parallel vectors.
struct RunColumns {
  std::vector<std::int64_t> id, started, finished, uidvalidity, seen, imported, invalid, moved,
      reports_new, failed;
  std::vector<std::string> reason, message;

  void Into(Poco::Data::Statement& st) {
    for (auto* v : {&id, &started, &finished, &uidvalidity, &seen, &imported, &invalid, &moved,
                    &reports_new, &failed}) {
      st.addExtract(into(*v));
    }
    st.addExtract(into(reason));
    st.addExtract(into(message));
  }

  std::vector<IngestRun> Rows(SourceKind kind, const std::string& source) const {
    std::vector<IngestRun> out;
    for (std::size_t k = 0; k < id.size(); ++k) {
      IngestRun r;
      r.id = id[k];
      r.kind = kind;
      r.source = source;
      r.started_at = started[k];
      if (finished[k] >= 0) r.finished_at = finished[k];
      if (uidvalidity[k] >= 0) r.uidvalidity = static_cast<std::uint32_t>(uidvalidity[k]);
      r.seen = Count(seen[k]);
      r.imported = Count(imported[k]);
      r.invalid = Count(invalid[k]);
      r.moved = Count(moved[k]);
      r.reports_new = Count(reports_new[k]);
      if (failed[k] != 0) r.error_reason = reason[k];
      r.error_message = message[k];
      out.push_back(std::move(r));
    }
    return out;
  }
};

std::int64_t Stored(std::uint64_t v) {
  return v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
             ? std::numeric_limits<std::int64_t>::max()
             : static_cast<std::int64_t>(v);
}

}  // namespace

const char* ToString(MessageState state) {
  switch (state) {
    case MessageState::kImported: return "imported";
    case MessageState::kInvalid: return "invalid";
    case MessageState::kMoved: return "moved";
    case MessageState::kMarked: return "marked";
  }
  return "unknown";
}

const char* ToString(SourceKind kind) {
  switch (kind) {
    case SourceKind::kMailbox: return "mailbox";
    case SourceKind::kWatch: return "watch";
  }
  return "unknown";
}

Result<std::vector<MailboxMessage>> ListMailboxMessages(Store& store, const std::string& mailbox,
                                                        const std::string& folder,
                                                        std::uint32_t uidvalidity) {
  auto& i = internal::Access::Of(store);
  return i.Run("list_mailbox_messages", [&]() -> Result<std::vector<MailboxMessage>> {
    std::vector<std::int64_t> uid, size, usable, input_id, first_seen, updated_at;
    std::vector<std::string> sha256, state, reason, target;
    Poco::Data::Statement st(i.session);
    st << i.dialect.Sql(
        "SELECT uid, COALESCE(sha256, ''), size, state, usable, COALESCE(input_id, 0), reason, "
        "target_folder, first_seen, updated_at FROM mailbox_messages "
        "WHERE mailbox = ? AND folder = ? AND uidvalidity = ? ORDER BY uid"),
        into(uid), into(sha256), into(size), into(state), into(usable), into(input_id),
        into(reason), into(target), into(first_seen), into(updated_at), bind(mailbox),
        bind(folder), bind(std::int64_t{uidvalidity});
    st.execute();
    std::vector<MailboxMessage> out;
    out.reserve(uid.size());
    for (std::size_t k = 0; k < uid.size(); ++k) {
      std::optional<MessageState> parsed = ParseState(state[k]);
      if (!parsed || uid[k] < 0 || uid[k] > std::numeric_limits<std::uint32_t>::max()) {
        return Status(StatusCode::kInternal, "corrupt_row",
                      "a mailbox_messages row holds what this store does not write");
      }
      MailboxMessage m;
      m.mailbox = mailbox;
      m.folder = folder;
      m.uidvalidity = uidvalidity;
      m.uid = static_cast<std::uint32_t>(uid[k]);
      if (!sha256[k].empty()) m.sha256 = sha256[k];
      m.size = Count(size[k]);
      m.state = *parsed;
      m.usable = usable[k] != 0;
      if (input_id[k] > 0) m.input_id = input_id[k];
      m.reason = reason[k];
      m.target_folder = target[k];
      m.first_seen = first_seen[k];
      m.updated_at = updated_at[k];
      out.push_back(std::move(m));
    }
    return out;
  });
}

Result<std::optional<std::uint32_t>> LastUidvalidity(Store& store, const std::string& mailbox,
                                                     const std::string& folder) {
  auto& i = internal::Access::Of(store);
  return i.Run("last_uidvalidity", [&]() -> Result<std::optional<std::uint32_t>> {
    std::int64_t uidvalidity = 0;
    Poco::Data::Statement st(i.session);
    st << i.dialect.Sql(
        "SELECT uidvalidity FROM mailbox_messages WHERE mailbox = ? AND folder = ? "
        "ORDER BY id DESC LIMIT 1"),
        into(uidvalidity), bind(mailbox), bind(folder);
    if (st.execute() == 0) return std::optional<std::uint32_t>();
    return std::optional<std::uint32_t>(static_cast<std::uint32_t>(uidvalidity));
  });
}

Status RecordMailboxMessage(Store& store, const MailboxMessage& m) {
  auto& i = internal::Access::Of(store);
  return i.Run("record_mailbox_message", [&]() -> Status {
    const Poco::Nullable<std::string> sha256 =
        m.sha256 ? Poco::Nullable<std::string>(*m.sha256) : Poco::Nullable<std::string>();
    const Poco::Nullable<std::int64_t> input_id =
        m.input_id ? Poco::Nullable<std::int64_t>(*m.input_id) : Poco::Nullable<std::int64_t>();
    i.session << i.dialect.Sql(
        "INSERT INTO mailbox_messages (mailbox, folder, uidvalidity, uid, sha256, size, state, "
        "usable, input_id, reason, target_folder, first_seen, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" +
        i.dialect.OnConflictUpdate(
            "mailbox, folder, uidvalidity, uid",
            "sha256 = excluded.sha256, size = excluded.size, state = excluded.state, "
            "usable = excluded.usable, input_id = excluded.input_id, reason = excluded.reason, "
            "target_folder = excluded.target_folder, updated_at = excluded.updated_at")),
        bind(m.mailbox), bind(m.folder), bind(std::int64_t{m.uidvalidity}),
        bind(std::int64_t{m.uid}), bind(sha256), bind(Stored(m.size)),
        bind(std::string(ToString(m.state))), bind(std::int64_t{m.usable ? 1 : 0}), bind(input_id),
        bind(m.reason), bind(m.target_folder), bind(std::int64_t{m.first_seen}),
        bind(std::int64_t{m.updated_at}), now;
    return Status::Ok();
  });
}

Status SetMailboxMessageState(Store& store, const std::string& mailbox, const std::string& folder,
                              std::uint32_t uidvalidity, const std::vector<std::uint32_t>& uids,
                              MessageState state, model::UnixTime now_time) {
  if (uids.empty()) return Status::Ok();
  auto& i = internal::Access::Of(store);
  return i.Run("set_mailbox_message_state", [&]() -> Status {
    std::decay_t<decltype(i)>::WriteTransaction tx(i);
    std::string state_text = ToString(state);
    std::string mailbox_v = mailbox, folder_v = folder;
    std::int64_t uidvalidity_v = uidvalidity, updated = now_time, uid_v = 0;
    Poco::Data::Statement st(i.session);
    st << i.dialect.Sql(
        "UPDATE mailbox_messages SET state = ?, updated_at = ? "
        "WHERE mailbox = ? AND folder = ? AND uidvalidity = ? AND uid = ?"),
        use(state_text), use(updated), use(mailbox_v), use(folder_v), use(uidvalidity_v),
        use(uid_v);
    for (std::uint32_t uid : uids) {
      uid_v = uid;
      st.execute();
    }
    tx.Commit();
    return Status::Ok();
  });
}

Result<std::int64_t> StartIngestRun(Store& store, SourceKind kind, const std::string& source,
                                    model::UnixTime started_at) {
  auto& i = internal::Access::Of(store);
  return i.Run("start_ingest_run", [&]() -> Result<std::int64_t> {
    std::int64_t id = 0;
    Poco::Data::Statement st(i.session);
    st << i.dialect.Sql(
        "INSERT INTO ingest_runs (source_kind, source, started_at, seen, imported, invalid, "
        "moved, reports_new) VALUES (?, ?, ?, 0, 0, 0, 0, 0)" + i.dialect.ReturningId()),
        bind(std::string(ToString(kind))), bind(source), bind(std::int64_t{started_at});
    if (i.dialect.insert_returning) st.addExtract(into(id));
    st.execute();
    if (!i.dialect.insert_returning) {
      i.session << i.dialect.last_insert_id_query, into(id), now;
    }
    return id;
  });
}

Status FinishIngestRun(Store& store, const IngestRun& run) {
  auto& i = internal::Access::Of(store);
  return i.Run("finish_ingest_run", [&]() -> Status {
    const Poco::Nullable<std::int64_t> uidvalidity =
        run.uidvalidity ? Poco::Nullable<std::int64_t>(std::int64_t{*run.uidvalidity})
                        : Poco::Nullable<std::int64_t>();
    const Poco::Nullable<std::string> reason =
        run.error_reason ? Poco::Nullable<std::string>(*run.error_reason)
                         : Poco::Nullable<std::string>();
    const Poco::Nullable<std::string> message =
        run.error_reason ? Poco::Nullable<std::string>(run.error_message)
                         : Poco::Nullable<std::string>();
    const std::int64_t finished = run.finished_at.value_or(run.started_at);
    i.session << i.dialect.Sql(
        "UPDATE ingest_runs SET finished_at = ?, uidvalidity = ?, seen = ?, imported = ?, "
        "invalid = ?, moved = ?, reports_new = ?, error_reason = ?, error_message = ? "
        "WHERE id = ?"),
        bind(finished), bind(uidvalidity), bind(Stored(run.seen)), bind(Stored(run.imported)),
        bind(Stored(run.invalid)), bind(Stored(run.moved)), bind(Stored(run.reports_new)),
        bind(reason), bind(message), bind(run.id), now;
    return Status::Ok();
  });
}

Result<std::vector<IngestRun>> RecentIngestRuns(Store& store, SourceKind kind,
                                                const std::string& source, std::uint32_t limit) {
  auto& i = internal::Access::Of(store);
  return i.Run("recent_ingest_runs", [&]() -> Result<std::vector<IngestRun>> {
    RunColumns c;
    Poco::Data::Statement st(i.session);
    st << i.dialect.Sql(std::string("SELECT ") + kRunColumns +
                        " FROM ingest_runs WHERE source_kind = ? AND source = ?"
                        " ORDER BY started_at DESC, id DESC LIMIT ?");
    c.Into(st);
    st.addBind(bind(std::string(ToString(kind))));
    st.addBind(bind(source));
    st.addBind(bind(std::int64_t{limit}));
    st.execute();
    return c.Rows(kind, source);
  });
}

Result<std::optional<IngestRun>> LastFailedIngestRun(Store& store, SourceKind kind,
                                                     const std::string& source) {
  auto& i = internal::Access::Of(store);
  return i.Run("last_failed_ingest_run", [&]() -> Result<std::optional<IngestRun>> {
    RunColumns c;
    Poco::Data::Statement st(i.session);
    st << i.dialect.Sql(std::string("SELECT ") + kRunColumns +
                        " FROM ingest_runs WHERE source_kind = ? AND source = ?"
                        " AND error_reason IS NOT NULL ORDER BY started_at DESC, id DESC LIMIT 1");
    c.Into(st);
    st.addBind(bind(std::string(ToString(kind))));
    st.addBind(bind(source));
    st.execute();
    std::vector<IngestRun> rows = c.Rows(kind, source);
    if (rows.empty()) return std::optional<IngestRun>();
    return std::optional<IngestRun>(std::move(rows.front()));
  });
}

Result<IngestTotals> GetIngestTotals(Store& store, SourceKind kind, const std::string& source) {
  auto& i = internal::Access::Of(store);
  return i.Run("get_ingest_totals", [&]() -> Result<IngestTotals> {
    std::int64_t runs = 0, failed = 0, seen = 0, imported = 0, invalid = 0, moved = 0,
                 reports_new = 0;
    const Dialect& d = i.dialect;
    i.session << d.Sql("SELECT COUNT(*), " + d.SumBigint("CASE WHEN error_reason IS NULL THEN 0 ELSE 1 END") +
                       ", " + d.SumBigint("seen") + ", " + d.SumBigint("imported") + ", " +
                       d.SumBigint("invalid") + ", " + d.SumBigint("moved") + ", " +
                       d.SumBigint("reports_new") +
                       " FROM ingest_runs WHERE source_kind = ? AND source = ?"),
        into(runs), into(failed), into(seen), into(imported), into(invalid), into(moved),
        into(reports_new), bind(std::string(ToString(kind))), bind(source), now;
    IngestTotals t;
    t.runs = Count(runs);
    t.failed_runs = Count(failed);
    t.seen = Count(seen);
    t.imported = Count(imported);
    t.invalid = Count(invalid);
    t.moved = Count(moved);
    t.reports_new = Count(reports_new);
    return t;
  });
}

Result<std::uint32_t> IngestFailureStreak(Store& store, SourceKind kind, const std::string& source) {
  constexpr std::uint32_t kLook = 1000;
  Result<std::vector<IngestRun>> runs = RecentIngestRuns(store, kind, source, kLook);
  if (!runs.ok()) return runs.status();
  std::uint32_t streak = 0;
  for (std::size_t k = 0; k < runs->size(); ++k) {
    const IngestRun& r = (*runs)[k];
    if (!r.finished_at) {
      // The newest may still be running; an older one never finished
      // because its process died, which counts as a failure.
      if (k == 0) continue;
      ++streak;
      continue;
    }
    if (!r.failed()) break;
    ++streak;
  }
  return streak;
}

namespace {
// Namespaced so that no other use of advisory locks (the report key in
// SaveReport uses transaction locks) shares a mailbox's key.
std::int64_t MailboxLockKey(const std::string& mailbox) {
  return AdvisoryLockKey("dmarcwatch mailbox\n" + mailbox);
}

using Impl = internal::Access::Impl;

// SQLite: the lock file of a mailbox, beside the database file.
std::string MailboxLockPath(const std::string& database, const std::string& mailbox) {
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx",
                static_cast<unsigned long long>(MailboxLockKey(mailbox)));
  return database + "-mailbox-" + hex + ".lock";
}

Result<bool> TryLockMailboxFile(Impl& i, const std::string& mailbox) {
  if (auto held = i.mailbox_locks.find(mailbox); held != i.mailbox_locks.end()) {
    ++held->second.count;
    return true;
  }
  const std::string path = MailboxLockPath(i.options.database, mailbox);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IoError("cannot open the mailbox lock " + model::Printable(path) + ": " +
                           std::generic_category().message(errno));
  }
  // flock(), not fcntl(): its lock belongs to this open file, so another
  // Store of this process is refused too, and it is not dropped when the
  // process closes some other descriptor of the file.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) return false;
    return Status::IoError("cannot lock " + model::Printable(path) + ": " +
                           std::generic_category().message(error));
  }
  Impl::MailboxFileLock& lock = i.mailbox_locks[mailbox];
  lock.fd = fd;
  lock.count = 1;
  return true;
}

}  // namespace

Store::Impl::MailboxFileLock::~MailboxFileLock() {
  if (fd >= 0) ::close(fd);  // releases the lock
}

Result<bool> TryLockMailbox(Store& store, const std::string& mailbox) {
  auto& i = internal::Access::Of(store);
  if (i.dialect.backend == Backend::kSqlite) {
    if (i.options.database == kMemoryDatabase) return true;  // one process's own
    return TryLockMailboxFile(i, mailbox);
  }
  return i.Run("lock_mailbox", [&]() -> Result<bool> {
    std::int64_t key = MailboxLockKey(mailbox);
    std::int64_t granted = 0;
    i.session << i.dialect.Sql(i.dialect.try_advisory_lock), into(granted), use(key), now;
    return granted != 0;
  });
}

Status UnlockMailbox(Store& store, const std::string& mailbox) {
  auto& i = internal::Access::Of(store);
  if (i.dialect.backend == Backend::kSqlite) {
    if (i.options.database == kMemoryDatabase) return Status::Ok();
    auto held = i.mailbox_locks.find(mailbox);
    if (held == i.mailbox_locks.end()) {
      return Status(StatusCode::kFailedPrecondition, "not_locked",
                    "mailbox " + model::Printable(mailbox) + " was not locked by this store");
    }
    if (--held->second.count == 0) i.mailbox_locks.erase(held);
    return Status::Ok();
  }
  return i.Run("unlock_mailbox", [&]() -> Status {
    std::int64_t key = MailboxLockKey(mailbox);
    std::int64_t released = 0;
    i.session << i.dialect.Sql(i.dialect.advisory_unlock), into(released), use(key), now;
    if (released == 0) {
      return Status(StatusCode::kFailedPrecondition, "not_locked",
                    "mailbox " + model::Printable(mailbox) + " was not locked by this store");
    }
    return Status::Ok();
  });
}

}  // namespace dmarcwatch::store
