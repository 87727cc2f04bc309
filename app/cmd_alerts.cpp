// dmarcwatch alerts check / list / ack / send: alert emails on misaligned
// senders (docs/alerts.md).

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <charconv>
#include <iostream>

#include "alerts_wiring.h"
#include "analysis_service.h"
#include "command.h"
#include "dmarcwatch/model/text.h"
#include "dmarcwatch/model/time.h"
#include "dmarcwatch/web/json.h"
#include "output.h"

namespace dmarcwatch::app {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

struct Loaded {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<AnalysisService> analysis;
  std::unique_ptr<AlertsService> alerts;
};

bool Load(Context& ctx, const char* command, Loaded& l) {
  l.store = ctx.OpenStore();
  if (!l.store) return false;
  auto analysis = AnalysisService::Create(ctx.config, *l.store, ctx.clock, ctx.offline);
  if (!analysis.ok()) {
    ctx.err << "dmarcwatch " << command << ": " << analysis.status().message() << '\n';
    return false;
  }
  l.analysis = std::move(*analysis);
  auto alerts = AlertsService::Create(ctx.config, *l.store, *l.analysis);
  if (!alerts.ok()) {
    ctx.err << "dmarcwatch " << command << ": " << alerts.status().message() << '\n';
    return false;
  }
  l.alerts = std::move(*alerts);
  return true;
}

bool RequireAlerts(Context& ctx, const char* command) {
  if (ctx.config.alerts.enabled()) return true;
  ctx.err << "dmarcwatch " << command
          << ": alerts are off: set alerts.recipients and alerts.smtp.host in the configuration "
             "(docs/alerts.md)\n";
  return false;
}

std::string Time(const std::optional<model::UnixTime>& t) {
  return t ? model::FormatIso8601(*t) : std::string("-");
}

// Delivers the outbox; prints what happened. False when messages are left
// undelivered because of an error.
bool Deliver(Context& ctx, const char* command, AlertsService& alerts, bool ignore_backoff) {
  auto outbox = alerts.outbox();
  if (!outbox.ok()) {
    ctx.err << "dmarcwatch " << command << ": cannot send: " << outbox.status().message()
            << "; the messages stay queued\n";
    return false;
  }
  auto delivered = (*outbox)->Deliver(ctx.clock(), ignore_backoff);
  if (!delivered.ok()) {
    ctx.err << "dmarcwatch " << command << ": " << delivered.status().message() << '\n';
    return false;
  }
  const alerts::DeliveryResult& d = *delivered;
  if (d.claimed == 0) {
    ctx.out << "outbox: nothing to send\n";
  } else {
    ctx.out << "outbox: " << d.sent << " sent";
    if (d.retrying > 0) ctx.out << ", " << d.retrying << " to retry";
    if (d.failed > 0) ctx.out << ", " << d.failed << " failed";
    ctx.out << '\n';
  }
  if (d.retrying > 0 || d.failed > 0) {
    ctx.err << "dmarcwatch " << command << ": " << model::Printable(d.last_error, 400) << '\n';
    if (d.retrying > 0) {
      ctx.err << "  the messages stay queued and are retried with backoff; 'dmarcwatch alerts "
                 "send' tries them now\n";
    }
    return false;
  }
  return true;
}

int RunCheck(Context& ctx) {
  const bool dry_run = ctx.args.Has("dry-run");
  if (!dry_run && !RequireAlerts(ctx, "alerts check")) return kExitUsage;
  model::UnixTime as_of = ctx.clock();
  if (auto text = ctx.args.Get("as-of")) {
    auto t = model::ParseIsoTime(*text);
    if (!t) {
      ctx.err << "dmarcwatch alerts check: --as-of '" << *text
              << "' is not a date (YYYY-MM-DD) or a time (YYYY-MM-DDTHH:MM:SSZ)\n";
      return kExitUsage;
    }
    as_of = *t;
  }
  Loaded l;
  if (!Load(ctx, "alerts check", l)) return kExitFailure;

  alerts::EvaluateRequest request;
  request.as_of = as_of;
  request.queued_at = ctx.clock();
  request.dry_run = dry_run;
  auto health = MailboxHealthFrom(ctx.config, *l.store);
  if (!health.ok()) {
    ctx.err << "dmarcwatch alerts check: " << health.status().message() << '\n';
    return kExitFailure;
  }
  request.mailboxes = std::move(*health);
  auto result = l.alerts->engine().Evaluate(request);
  if (!result.ok()) {
    ctx.err << "dmarcwatch alerts check: " << result.status().message() << '\n';
    return kExitFailure;
  }
  const alerts::EvaluationResult& r = *result;
  const std::vector<std::string>& recipients = ctx.config.alerts.recipients;
  ctx.out << "alerts as of " << model::FormatIso8601(as_of) << " for " << r.domains.size()
          << (r.domains.size() == 1 ? " domain" : " domains") << ": " << r.firing
          << (r.firing == 1 ? " condition" : " conditions") << " firing\n";
  for (const alerts::Notification& n : r.notifications) {
    ctx.out << "  " << alerts::ToString(n.notice) << "  "
            << (n.incident_id == 0 ? std::string("new") : "#" + std::to_string(n.incident_id))
            << "  " << analysis::ToString(n.severity) << "  "
            << model::Printable(n.content.subject, 300) << '\n';
  }
  ctx.out << r.opened << " opened, " << r.worsened << " worse, " << r.reminded << " reminders, "
          << r.resolved << " resolved";
  if (!r.digests.empty()) ctx.out << ", " << r.digests.size() << " digest";
  if (dry_run) {
    ctx.out << "; dry run: nothing was stored or sent\n";
    std::string to;
    for (const std::string& rc : recipients) to += (to.empty() ? "" : ", ") + rc;
    if (to.empty()) to = "(no alerts.recipients)";
    auto print = [&](const alerts::MessageContent& m) {
      ctx.out << "\n==== would send to " << to << "\nSubject: " << m.subject << "\n\n"
              << m.text;
    };
    for (const alerts::Notification& n : r.notifications) print(n.content);
    for (const alerts::MessageContent& m : r.digests) print(m);
    return kExitOk;
  }
  ctx.out << "; " << r.queued << (r.queued == 1 ? " message" : " messages") << " queued\n";
  return Deliver(ctx, "alerts check", *l.alerts, false) ? kExitOk : kExitFailure;
}

int RunList(Context& ctx) {
  const std::string format = ctx.args.GetOr("format", "table");
  if (format != "table" && format != "json") {
    ctx.err << "dmarcwatch alerts list: unknown --format '" << format << "'\n";
    return kExitUsage;
  }
  auto store = ctx.OpenStore();
  if (!store) return kExitFailure;
  StoreAlertState state(*store);
  auto incidents = state.ListIncidents(ctx.args.Has("all"), 100000);
  if (!incidents.ok()) {
    ctx.err << "dmarcwatch alerts list: " << incidents.status().message() << '\n';
    return kExitFailure;
  }
  auto outbox = state.GetStatus();
  if (!outbox.ok()) {
    ctx.err << "dmarcwatch alerts list: " << outbox.status().message() << '\n';
    return kExitFailure;
  }
  if (format == "json") {
    Object root(Poco::JSON_PRESERVE_KEY_ORDER);
    root.set("version", 1);
    Array::Ptr list = new Array;
    for (const alerts::Incident& i : *incidents) {
      Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
      o->set("id", i.id);
      o->set("state", std::string(alerts::ToString(i.state)));
      o->set("acknowledged", i.acknowledged);
      o->set("severity", std::string(analysis::ToString(i.severity)));
      o->set("rule", std::string(alerts::ToString(i.rule)));
      o->set("domain", i.domain.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(i.domain));
      o->set("subject", i.subject.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(i.subject));
      o->set("title", i.title);
      o->set("value", i.value);
      o->set("opened_at", model::FormatIso8601(i.opened_at));
      o->set("first_seen", model::FormatIso8601(i.first_seen));
      o->set("last_seen", model::FormatIso8601(i.last_seen));
      o->set("clear_since", web::TimeOrNull(i.clear_since));
      o->set("resolved_at", web::TimeOrNull(i.resolved_at));
      o->set("acknowledged_at", web::TimeOrNull(i.acknowledged_at));
      o->set("last_notified_at", web::TimeOrNull(i.last_notified_at));
      o->set("notifications", i.notifications);
      Poco::Dynamic::Var evaluation;
      try {
        Poco::JSON::Parser parser;
        evaluation = parser.parse(i.evaluation_json.empty() ? "{}" : i.evaluation_json);
      } catch (const Poco::Exception&) {
        evaluation = Poco::Dynamic::Var();  // a row this binary did not write
      }
      o->set("evaluation", evaluation);
      list->add(o);
    }
    root.set("incidents", list);
    Object::Ptr box = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    box->set("queued", outbox->queued);
    box->set("failed", outbox->failed);
    box->set("sent", outbox->sent);
    box->set("oldest_queued_at", web::TimeOrNull(outbox->oldest_queued_at));
    box->set("next_attempt_at", web::TimeOrNull(outbox->next_attempt_at));
    box->set("last_sent_at", web::TimeOrNull(outbox->last_sent_at));
    box->set("last_error", outbox->last_error.empty() ? Poco::Dynamic::Var()
                                                       : Poco::Dynamic::Var(outbox->last_error));
    box->set("last_error_at", web::TimeOrNull(outbox->last_error_at));
    root.set("outbox", box);
    root.stringify(ctx.out);
    ctx.out << '\n';
    return kExitOk;
  }
  if (incidents->empty()) {
    ctx.out << (ctx.args.Has("all") ? "no incidents\n" : "no open incidents\n");
  } else {
    Table table({"id", "state", "ack", "severity", "rule", "opened", "notified", "title"});
    for (const alerts::Incident& i : *incidents) {
      table.AddRow({std::to_string(i.id), alerts::ToString(i.state), i.acknowledged ? "yes" : "-",
                    analysis::ToString(i.severity), alerts::ToString(i.rule),
                    model::FormatIso8601(i.opened_at), Time(i.last_notified_at),
                    model::Printable(i.title, 200)});
    }
    table.PrintText(ctx.out);
  }
  ctx.out << "\noutbox: " << outbox->queued << " queued, " << outbox->failed << " failed, "
          << outbox->sent << " sent";
  if (!outbox->last_error.empty()) {
    ctx.out << "; last error " << Time(outbox->last_error_at) << ": "
            << model::Printable(outbox->last_error, 300);
  }
  ctx.out << '\n';
  return kExitOk;
}

int RunAck(Context& ctx) {
  const auto& args = ctx.args.positional();
  std::int64_t id = 0;
  if (args.size() != 1 ||
      std::from_chars(args[0].data(), args[0].data() + args[0].size(), id).ec != std::errc() ||
      id <= 0 || std::to_string(id) != args[0]) {
    ctx.err << "dmarcwatch alerts ack: give one incident id (see 'dmarcwatch alerts list')\n";
    return kExitUsage;
  }
  auto store = ctx.OpenStore();
  if (!store) return kExitFailure;
  StoreAlertState state(*store);
  const Status acked = state.Acknowledge(id, ctx.clock());
  if (!acked.ok()) {
    ctx.err << "dmarcwatch alerts ack: " << acked.message() << '\n';
    return kExitFailure;
  }
  auto incident = state.GetIncident(id);
  ctx.out << "acknowledged #" << id;
  if (incident.ok() && *incident) ctx.out << ": " << model::Printable((*incident)->title, 300);
  ctx.out << "\nno reminders until it resolves; its resolution is still mailed\n";
  return kExitOk;
}

int RunSend(Context& ctx) {
  if (!RequireAlerts(ctx, "alerts send")) return kExitUsage;
  Loaded l;
  if (!Load(ctx, "alerts send", l)) return kExitFailure;
  return Deliver(ctx, "alerts send", *l.alerts, true) ? kExitOk : kExitFailure;
}

}  // namespace

Command AlertsCheckCommand() {
  return {{"alerts check", "alerts check [--dry-run] [--as-of DATE]",
           "evaluate the alert rules, queue the alerts, and send them",
           "Evaluates every alert rule for each monitored domain (docs/alerts.md), opens,\n"
           "updates and resolves incidents, queues their emails in the outbox and delivers\n"
           "it. An open incident is mailed once, again when it worsens or after\n"
           "alerts.renotify, and when it resolves: running this again sends nothing new.\n"
           "--as-of evaluates as if it were that moment (for backfills and tests); the mail\n"
           "is still sent now. --dry-run prints what would be sent and changes nothing.",
           {{"dry-run", "", "print what would be sent; store and send nothing", ""},
            {"as-of", "DATE", "evaluate as of this date (YYYY-MM-DD) or time (...THH:MM:SSZ)",
             ""}}},
          RunCheck};
}

Command AlertsListCommand() {
  return {{"alerts list", "alerts list [--all] [--format table|json]",
           "the open alert incidents (--all: resolved ones too) and the outbox",
           "One line per incident: id, state, whether it is acknowledged, severity, rule,\n"
           "when it opened and was last mailed, and its title. Then the outbox: messages\n"
           "queued, failed and sent, and the last delivery error. The JSON form is a stable,\n"
           "versioned API (docs/cli.md).",
           {{"all", "", "include resolved incidents", ""},
            {"format", "FORMAT", "table or json", "table"}}},
          RunList};
}

Command AlertsAckCommand() {
  return {{"alerts ack", "alerts ack ID", "acknowledge an incident: no reminders until it resolves",
           "An acknowledged incident is not mailed again while it stays open, even when it\n"
           "worsens; its resolution is still mailed.",
           {}},
          RunAck};
}

Command AlertsSendCommand() {
  return {{"alerts send", "alerts send", "deliver the alert outbox now",
           "Tries every queued alert email now, whatever its retry schedule, and reports\n"
           "what was sent. Messages the server refuses for good are marked failed;\n"
           "the others stay queued.",
           {}},
          RunSend};
}

}  // namespace dmarcwatch::app
