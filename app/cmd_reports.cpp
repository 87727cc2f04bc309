// dmarcwatch reports / rejected: what the store holds.

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <iostream>

#include "command.h"
#include "dmarcwatch/model/time.h"
#include "output.h"

namespace dmarcwatch::app {
namespace {

bool CheckFormat(Context& ctx, const std::string& format, std::initializer_list<const char*> ok) {
  for (const char* f : ok) {
    if (format == f) return true;
  }
  ctx.err << "dmarcwatch: unknown --format '" << format << "'\n";
  return false;
}

Poco::Dynamic::Var OptionalId(const std::optional<std::int64_t>& id) {
  return id ? Poco::Dynamic::Var(*id) : Poco::Dynamic::Var();
}

int RunReports(Context& ctx) {
  const std::string format = ctx.args.GetOr("format", "table");
  if (!CheckFormat(ctx, format, {"table", "json", "csv"})) return kExitUsage;
  store::ReportFilter filter;
  if (auto domain = ctx.args.Get("domain")) filter.domain = *domain;
  for (const char* key : {"since", "until"}) {
    auto value = ctx.args.Get(key);
    if (!value) continue;
    auto t = model::ParseSince(*value, ctx.clock());
    if (!t) {
      ctx.err << "dmarcwatch reports: --" << key << " '" << *value
              << "' is not a date (YYYY-MM-DD) or a span (30d, 12h)\n";
      return kExitUsage;
    }
    (key[0] == 's' ? filter.since : filter.until) = *t;
  }
  filter.limit = static_cast<std::uint32_t>(std::stoul(ctx.args.GetOr("limit", "1000")));
  auto store = ctx.OpenStore();
  if (!store) return kExitFailure;
  auto rows = store->ListReports(filter);
  if (!rows.ok()) {
    ctx.err << "dmarcwatch reports: " << rows.status().message() << '\n';
    return kExitFailure;
  }

  if (format == "json") {
    Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
    for (const store::ReportRow& r : *rows) {
      Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
      o->set("id", r.id);
      o->set("org", r.org_name);
      o->set("email", r.email);
      o->set("report_id", r.report_id);
      o->set("domain", r.domain);
      o->set("begin", model::FormatIso8601(r.begin));
      o->set("end", model::FormatIso8601(r.end));
      o->set("records", r.records);
      o->set("messages", r.messages);
      o->set("duplicate_of", OptionalId(r.duplicate_of));
      o->set("warnings", r.warnings);
      o->set("source", r.origin);
      o->set("payload", r.payload_chain);
      o->set("imported_at", model::FormatIso8601(r.imported_at));
      list->add(o);
    }
    Poco::JSON::Object root(Poco::JSON_PRESERVE_KEY_ORDER);
    root.set("version", 1);
    root.set("reports", list);
    root.stringify(ctx.out);
    ctx.out << '\n';
    return kExitOk;
  }
  Table table({"id", "org", "report_id", "domain", "begin", "end", "records", "messages",
               "duplicate_of"});
  for (const store::ReportRow& r : *rows) {
    table.AddRow({std::to_string(r.id), r.org_name, r.report_id, r.domain,
                  model::FormatIso8601(r.begin), model::FormatIso8601(r.end),
                  std::to_string(r.records), std::to_string(r.messages),
                  r.duplicate_of ? std::to_string(*r.duplicate_of) : ""});
  }
  if (format == "csv") {
    table.PrintCsv(ctx.out);
  } else if (table.empty()) {
    ctx.out << "no reports\n";
  } else {
    table.PrintText(ctx.out);
  }
  return kExitOk;
}

int RunRejected(Context& ctx) {
  const std::string format = ctx.args.GetOr("format", "table");
  if (!CheckFormat(ctx, format, {"table", "json", "csv"})) return kExitUsage;
  auto store = ctx.OpenStore();
  if (!store) return kExitFailure;
  auto limit = static_cast<std::uint32_t>(std::stoul(ctx.args.GetOr("limit", "1000")));
  auto rows = store->ListRejects(limit, 0);
  if (!rows.ok()) {
    ctx.err << "dmarcwatch rejected: " << rows.status().message() << '\n';
    return kExitFailure;
  }
  if (format == "json") {
    Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
    for (const store::RejectRow& r : *rows) {
      Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
      o->set("id", r.id);
      o->set("input_id", OptionalId(r.input_id));
      o->set("source", r.origin);
      o->set("payload", r.payload_chain);
      o->set("name", r.payload_name);
      o->set("code", r.code);
      o->set("reason", r.reason);
      o->set("message", r.message);
      o->set("first_seen", model::FormatIso8601(r.first_seen));
      o->set("seen", r.seen_count);
      list->add(o);
    }
    Poco::JSON::Object root(Poco::JSON_PRESERVE_KEY_ORDER);
    root.set("version", 1);
    root.set("rejected", list);
    root.stringify(ctx.out);
    ctx.out << '\n';
    return kExitOk;
  }
  Table table({"id", "input", "source", "payload", "reason", "message", "seen"});
  for (const store::RejectRow& r : *rows) {
    table.AddRow({std::to_string(r.id), r.input_id ? std::to_string(*r.input_id) : "", r.origin,
                  r.payload_chain, r.reason, r.message, std::to_string(r.seen_count)});
  }
  if (format == "csv") {
    table.PrintCsv(ctx.out);
  } else if (table.empty()) {
    ctx.out << "no rejected inputs\n";
  } else {
    table.PrintText(ctx.out);
  }
  return kExitOk;
}

}  // namespace

Command ReportsCommand() {
  return {{"reports",
           "reports [--domain D] [--since DATE] [--until DATE] [--format table|json|csv]",
           "list imported reports",
           "Newest first. DATE is YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ, or a span back from now\n"
           "such as 30d, 12h or 2w. --since keeps reports whose range ends at or after DATE;\n"
           "--until keeps those that begin before it. A report flagged duplicate_of has the\n"
           "same reporter, id, domain and range as an earlier one but different content.\n"
           "The JSON form is a stable, versioned API: docs/cli.md.",
           {{"domain", "D", "only reports for this policy domain", ""},
            {"since", "DATE", "only reports ending at or after DATE", ""},
            {"until", "DATE", "only reports beginning before DATE", ""},
            {"limit", "N", "at most N reports", "1000"},
            {"format", "FORMAT", "table, json or csv", "table"}}},
          RunReports};
}

Command RejectedCommand() {
  return {{"rejected",
           "rejected [--format table|json|csv]",
           "list rejected and skipped inputs, with the reason",
           "Every payload that was not imported: not a report, malformed, over a limit, or\n"
           "a kind dmarcwatch does not import yet (SMTP TLS and failure reports). The\n"
           "original bytes are kept in the store.",
           {{"limit", "N", "at most N entries", "1000"},
            {"format", "FORMAT", "table, json or csv", "table"}}},
          RunRejected};
}

}  // namespace dmarcwatch::app
