// dmarcwatch status [--format table|json]: how ingestion is doing: per
// mailbox and watched folder the last run and the totals, and the store.

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <iostream>
#include <sstream>

#include "alerts_wiring.h"
#include "command.h"
#include "status.h"
#include "dmarcwatch/model/text.h"
#include "dmarcwatch/model/time.h"
#include "dmarcwatch/store/alerts.h"
#include "dmarcwatch/store/mailboxes.h"
#include "dmarcwatch/web/json.h"
#include "output.h"

namespace dmarcwatch::app {
namespace {

// What status knows of one mailbox or watched folder.
struct SourceStatus {
  std::optional<store::IngestRun> last;
  std::optional<store::IngestRun> last_failed;
  store::IngestTotals totals;
  std::uint32_t streak = 0;
};

Result<SourceStatus> Load(store::Store& s, store::SourceKind kind, const std::string& source) {
  SourceStatus out;
  auto recent = store::RecentIngestRuns(s, kind, source, 1);
  if (!recent.ok()) return recent.status();
  if (!recent->empty()) out.last = recent->front();
  auto failed = store::LastFailedIngestRun(s, kind, source);
  if (!failed.ok()) return failed.status();
  out.last_failed = *failed;
  auto totals = store::GetIngestTotals(s, kind, source);
  if (!totals.ok()) return totals.status();
  out.totals = *totals;
  auto streak = store::IngestFailureStreak(s, kind, source);
  if (!streak.ok()) return streak.status();
  out.streak = *streak;
  return out;
}

// "ok", "failed", "unfinished" (running, or its process died), "never".
std::string RunResult(const SourceStatus& s) {
  if (!s.last) return "never";
  if (!s.last->finished_at) return "unfinished";
  return s.last->failed() ? "failed" : "ok";
}

Poco::JSON::Object::Ptr RunJson(const store::IngestRun& r) {
  Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  o->set("started", model::FormatIso8601(r.started_at));
  o->set("finished", web::TimeOrNull(r.finished_at));
  o->set("result", !r.finished_at ? "unfinished" : r.failed() ? "failed" : "ok");
  o->set("uidvalidity", r.uidvalidity ? Poco::Dynamic::Var(std::uint64_t{*r.uidvalidity})
                                      : Poco::Dynamic::Var());
  o->set("seen", r.seen);
  o->set("imported", r.imported);
  o->set("invalid", r.invalid);
  o->set("moved", r.moved);
  o->set("reports_new", r.reports_new);
  if (r.failed()) {
    Poco::JSON::Object::Ptr e = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    e->set("reason", *r.error_reason);
    e->set("message", r.error_message);
    o->set("error", e);
  } else {
    o->set("error", Poco::Dynamic::Var());
  }
  return o;
}

void AddStatusJson(Poco::JSON::Object& o, const SourceStatus& s, const char* last_key) {
  o.set(last_key, s.last ? Poco::Dynamic::Var(RunJson(*s.last)) : Poco::Dynamic::Var());
  Poco::JSON::Object::Ptr t = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  t->set("runs", s.totals.runs);
  t->set("failed", s.totals.failed_runs);
  t->set("seen", s.totals.seen);
  t->set("imported", s.totals.imported);
  t->set("invalid", s.totals.invalid);
  t->set("moved", s.totals.moved);
  t->set("reports_new", s.totals.reports_new);
  o.set("total", t);
  o.set("failure_streak", s.streak);
  if (s.last_failed) {
    Poco::JSON::Object::Ptr e = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    e->set("at", model::FormatIso8601(s.last_failed->started_at));
    e->set("reason", *s.last_failed->error_reason);
    e->set("message", s.last_failed->error_message);
    o.set("last_error", e);
  } else {
    o.set("last_error", Poco::Dynamic::Var());
  }
}

std::vector<std::string> StatusCells(const SourceStatus& s) {
  const auto n = [](std::uint64_t v) { return Grouped(v); };
  std::vector<std::string> cells;
  cells.push_back(s.last ? model::FormatIso8601(s.last->started_at) : "-");
  std::string result = RunResult(s);
  if (s.last && s.last->failed()) result += " (" + *s.last->error_reason + ")";
  cells.push_back(result);
  for (std::uint64_t v : {s.last ? s.last->seen : 0, s.last ? s.last->imported : 0,
                          s.last ? s.last->invalid : 0, s.totals.seen, s.totals.imported,
                          s.totals.invalid, s.totals.runs, s.totals.failed_runs}) {
    cells.push_back(n(v));
  }
  cells.push_back(s.last_failed ? model::FormatIso8601(s.last_failed->started_at) + " " +
                                      *s.last_failed->error_reason + ": " +
                                      model::Printable(s.last_failed->error_message, 100)
                                : "-");
  return cells;
}

// Everything status shows, read in one go.
struct Snapshot {
  std::vector<SourceStatus> mailboxes;  // as config.mailboxes
  std::vector<SourceStatus> watched;    // as config.watch
  store::Totals totals;
  alerts::OutboxStatus outbox;
  std::uint64_t open_incidents = 0;
  std::uint64_t unacknowledged = 0;
};

Result<Snapshot> LoadSnapshot(const Config& config, store::Store& store) {
  Snapshot snap;
  for (const MailboxConfig& m : config.mailboxes) {
    auto s = Load(store, store::SourceKind::kMailbox, m.name);
    if (!s.ok()) return s.status();
    snap.mailboxes.push_back(std::move(*s));
  }
  for (const WatchConfig& w : config.watch) {
    auto s = Load(store, store::SourceKind::kWatch, w.path);
    if (!s.ok()) return s.status();
    snap.watched.push_back(std::move(*s));
  }
  auto totals = store.GetTotals();
  if (!totals.ok()) return totals.status();
  snap.totals = *totals;
  auto outbox = ReadOutboxStatus(store);
  if (!outbox.ok()) return outbox.status();
  snap.outbox = *outbox;
  auto incidents = store::CountOpenAlertIncidents(store);
  if (!incidents.ok()) return incidents.status();
  snap.open_incidents = incidents->open;
  snap.unacknowledged = incidents->unacknowledged;
  return snap;
}

std::string SnapshotJson(const Config& config, const Snapshot& snap) {
  Poco::JSON::Array::Ptr mailbox_list = new Poco::JSON::Array;
  for (std::size_t k = 0; k < snap.mailboxes.size(); ++k) {
    const MailboxConfig& m = config.mailboxes[k];
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    o->set("name", m.name);
    o->set("host", m.host);
    o->set("folder", m.folder);
    AddStatusJson(*o, snap.mailboxes[k], "last_poll");
    mailbox_list->add(o);
  }
  Poco::JSON::Array::Ptr watch_list = new Poco::JSON::Array;
  for (std::size_t k = 0; k < snap.watched.size(); ++k) {
    const WatchConfig& w = config.watch[k];
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    o->set("path", w.path);
    o->set("done_dir", w.done_dir);
    o->set("rejected_dir", w.rejected_dir);
    AddStatusJson(*o, snap.watched[k], "last_scan");
    watch_list->add(o);
  }
  Poco::JSON::Object::Ptr st = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  st->set("inputs", snap.totals.inputs);
  st->set("reports", snap.totals.reports);
  st->set("conflicts", snap.totals.conflicts);
  st->set("records", snap.totals.records);
  st->set("messages", snap.totals.messages);
  st->set("rejects", snap.totals.rejects);
  Poco::JSON::Object root(Poco::JSON_PRESERVE_KEY_ORDER);
  root.set("version", 1);
  root.set("mailboxes", mailbox_list);
  root.set("watch", watch_list);
  root.set("store", st);
  Poco::JSON::Object::Ptr al = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  al->set("enabled", config.alerts.enabled());
  al->set("open_incidents", snap.open_incidents);
  al->set("unacknowledged", snap.unacknowledged);
  al->set("queued", snap.outbox.queued);
  al->set("failed", snap.outbox.failed);
  al->set("sent", snap.outbox.sent);
  al->set("oldest_queued", web::TimeOrNull(snap.outbox.oldest_queued_at));
  al->set("next_attempt", web::TimeOrNull(snap.outbox.next_attempt_at));
  al->set("last_sent", web::TimeOrNull(snap.outbox.last_sent_at));
  if (snap.outbox.last_error.empty()) {
    al->set("last_error", Poco::Dynamic::Var());
  } else {
    Poco::JSON::Object::Ptr e = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    e->set("at", web::TimeOrNull(snap.outbox.last_error_at));
    e->set("message", snap.outbox.last_error);
    al->set("last_error", e);
  }
  root.set("alerts", al);
  std::ostringstream out;
  root.stringify(out);
  return out.str();
}

}  // namespace

Result<std::string> StatusJson(const Config& config, store::Store& store) {
  auto snap = LoadSnapshot(config, store);
  if (!snap.ok()) return snap.status();
  return SnapshotJson(config, *snap);
}

namespace {

int Run(Context& ctx) {
  const std::string format = ctx.args.GetOr("format", "table");
  if (format != "table" && format != "json") {
    ctx.err << "dmarcwatch: unknown --format '" << format << "'\n";
    return kExitUsage;
  }
  auto store = ctx.OpenStore();
  if (!store) return kExitFailure;
  auto loaded = LoadSnapshot(ctx.config, *store);
  if (!loaded.ok()) {
    ctx.err << "dmarcwatch status: " << loaded.status().message() << '\n';
    return kExitFailure;
  }
  const Snapshot& snap = *loaded;
  if (format == "json") {
    ctx.out << SnapshotJson(ctx.config, snap) << '\n';
    return kExitOk;
  }

  const std::vector<std::string> counts = {"seen",         "imported",       "invalid",
                                           "total_seen",   "total_imported", "total_invalid"};
  auto headers = [&counts](const char* name, const char* last, const char* runs) {
    std::vector<std::string> h = {name, last, "result"};
    h.insert(h.end(), counts.begin(), counts.end());
    h.push_back(runs);
    h.push_back("failed");
    h.push_back("last_error");
    return h;
  };
  ctx.out << "mailboxes\n";
  if (snap.mailboxes.empty()) {
    ctx.out << "  none configured ([[mailboxes]], docs/imap.md)\n";
  } else {
    Table table(headers("name", "last_poll", "polls"));
    for (std::size_t k = 0; k < snap.mailboxes.size(); ++k) {
      std::vector<std::string> row = {ctx.config.mailboxes[k].name};
      const std::vector<std::string> cells = StatusCells(snap.mailboxes[k]);
      row.insert(row.end(), cells.begin(), cells.end());
      table.AddRow(std::move(row));
    }
    table.PrintText(ctx.out);
  }
  ctx.out << "\nwatched folders\n";
  if (snap.watched.empty()) {
    ctx.out << "  none configured ([[watch]])\n";
  } else {
    Table table(headers("path", "last_scan", "scans"));
    for (std::size_t k = 0; k < snap.watched.size(); ++k) {
      std::vector<std::string> row = {ctx.config.watch[k].path};
      const std::vector<std::string> cells = StatusCells(snap.watched[k]);
      row.insert(row.end(), cells.begin(), cells.end());
      table.AddRow(std::move(row));
    }
    table.PrintText(ctx.out);
  }
  ctx.out << "\nstore: " << Grouped(snap.totals.reports) << " reports";
  if (snap.totals.conflicts > 0) ctx.out << " (" << Grouped(snap.totals.conflicts) << " conflicting)";
  ctx.out << ", " << Grouped(snap.totals.records) << " records, " << Grouped(snap.totals.messages)
          << " messages, " << Grouped(snap.totals.rejects) << " rejected payloads, "
          << Grouped(snap.totals.inputs) << " inputs\n";
  ctx.out << "\nalerts: " << (ctx.config.alerts.enabled() ? "on" : "off ([alerts], docs/alerts.md)")
          << ", " << Grouped(snap.open_incidents) << " open incidents ("
          << Grouped(snap.unacknowledged) << " not acknowledged)\n";
  ctx.out << "outbox: " << Grouped(snap.outbox.queued) << " queued, " << Grouped(snap.outbox.failed)
          << " failed, " << Grouped(snap.outbox.sent) << " sent";
  if (snap.outbox.oldest_queued_at) {
    ctx.out << "; oldest queued " << model::FormatIso8601(*snap.outbox.oldest_queued_at);
  }
  if (snap.outbox.next_attempt_at) {
    ctx.out << ", next attempt " << model::FormatIso8601(*snap.outbox.next_attempt_at);
  }
  ctx.out << '\n';
  if (!snap.outbox.last_error.empty()) {
    ctx.out << "  last error";
    if (snap.outbox.last_error_at) ctx.out << " " << model::FormatIso8601(*snap.outbox.last_error_at);
    ctx.out << ": " << model::Printable(snap.outbox.last_error, 300) << '\n';
  }
  return kExitOk;
}

}  // namespace

Command StatusCommand() {
  return {{"status",
           "status [options]",
           "how ingestion is doing: mailboxes, watched folders, the store",
           "For every [[mailboxes]] entry and [[watch]] folder: when it was last polled or\n"
           "scanned, the result, the messages or files seen, imported and invalid then and\n"
           "in total, how many runs failed, and the last error. Then the store's totals,\n"
           "the open alert incidents, and the alert outbox: messages queued, failed and\n"
           "sent, the next attempt and the last delivery error.\n"
           "--format json is a versioned API (docs/cli.md).",
           {{"format", "FORMAT", "table or json", "table"}}},
          Run};
}

}  // namespace dmarcwatch::app
