// dmarcwatch paths / findings / reanalyze: the sending-path view of a domain.

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <iostream>

#include "analysis_service.h"
#include "command.h"
#include "dmarcwatch/analysis/domain_report.h"
#include "dmarcwatch/model/text.h"
#include "dmarcwatch/model/time.h"
#include "dmarcwatch/web/json.h"
#include "output.h"

namespace dmarcwatch::app {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

// The period of a view: --since / --until (dates, inclusive, or spans back
// from now), else the 30 days ending with the newest data of the domain.
bool Period(Context& ctx, AnalysisService& service, const std::string& domain,
            std::int64_t& from, std::int64_t& to) {
  const std::int64_t today = model::DayNumber(ctx.clock());
  auto [def_from, def_to] = analysis::DefaultPeriod(service.rollups(), domain, today);
  from = def_from;
  to = def_to;
  if (auto since = ctx.args.Get("since")) {
    auto t = model::ParseSince(*since, ctx.clock());
    if (!t) {
      ctx.err << "dmarcwatch: --since '" << *since << "' is not a date (YYYY-MM-DD) or a span (30d)\n";
      return false;
    }
    from = model::DayNumber(*t);
    if (!ctx.args.Has("until")) to = std::max(def_to, today);
  }
  if (auto until = ctx.args.Get("until")) {
    auto t = model::ParseSince(*until, ctx.clock());
    if (!t) {
      ctx.err << "dmarcwatch: --until '" << *until << "' is not a date (YYYY-MM-DD) or a span\n";
      return false;
    }
    to = model::DayNumber(*t);
    if (!ctx.args.Has("since")) from = to - 29;
  }
  if (from > to) {
    ctx.err << "dmarcwatch: the period is empty (--since is after --until)\n";
    return false;
  }
  return true;
}

// Says so when stored analyses are from another configuration.
void NoteStale(Context& ctx, store::Store& store, AnalysisService& service) {
  auto stale = store.AnyReportToAnalyze(service.analyzer().fingerprint());
  if (stale.ok() && *stale) {
    ctx.err << "note: some reports were analysed with another configuration; run "
               "'dmarcwatch reanalyze' to attribute them to the current paths\n";
  }
}

struct Loaded {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<AnalysisService> service;
};

bool Load(Context& ctx, Loaded& l) {
  l.store = ctx.OpenStore();
  if (!l.store) return false;
  auto service = AnalysisService::Create(ctx.config, *l.store, ctx.clock, ctx.offline);
  if (!service.ok()) {
    ctx.err << "dmarcwatch: " << service.status().message() << '\n';
    return false;
  }
  l.service = std::move(*service);
  return true;
}

std::string Ratio(std::uint64_t part, std::uint64_t total) { return Percent(part, total); }

void PrintFindingText(std::ostream& out, const analysis::Finding& f, const std::string& path) {
  out << analysis::ToString(f.severity) << "  " << f.code;
  if (!path.empty()) out << "  [" << model::Printable(path, 80) << "]";
  if (f.messages > 0) out << "  " << Grouped(f.messages) << " messages";
  if (f.sources > 0) out << ", " << Grouped(f.sources) << " sources";
  out << "\n  " << model::Printable(f.title, 400) << "\n";
  // Advice may hold a configuration snippet over several lines.
  std::string advice = f.advice;
  std::string indent = "  fix: ";
  for (std::size_t at = 0; at <= advice.size();) {
    std::size_t nl = advice.find('\n', at);
    if (nl == std::string::npos) nl = advice.size();
    out << indent << model::Printable(advice.substr(at, nl - at), 1000) << '\n';
    indent = "       ";
    at = nl + 1;
  }
  const analysis::Evidence& e = f.evidence;
  auto list = [&](const char* label, const std::vector<std::string>& v) {
    if (v.empty()) return;
    out << "  " << label << ":";
    for (std::size_t k = 0; k < v.size(); ++k) {
      out << (k == 0 ? " " : ", ") << model::Printable(v[k], 120);
    }
    out << '\n';
  };
  list("ips", e.ips);
  list("header_from", e.header_from);
  list("envelope", e.envelope_domains);
  list("dkim", e.dkim);
  list("spf", e.spf);
  list("notes", e.notes);
}

int RunPaths(Context& ctx) {
  const std::string format = ctx.args.GetOr("format", "table");
  if (format != "table" && format != "json" && format != "csv") {
    ctx.err << "dmarcwatch paths: unknown --format '" << format << "'\n";
    return kExitUsage;
  }
  Loaded l;
  if (!Load(ctx, l)) return kExitFailure;
  const std::vector<std::string> domains = ctx.Domains(*l.store);
  if (domains.empty()) {
    ctx.err << "dmarcwatch paths: no domain: configure [[domains]] or pass --domain, or import "
               "reports first\n";
    return kExitUsage;
  }
  const std::string domain = domains.front();
  std::int64_t from = 0, to = 0;
  if (!Period(ctx, *l.service, domain, from, to)) return kExitUsage;
  NoteStale(ctx, *l.store, *l.service);
  auto report = analysis::LoadDomainReport(l.service->rollups(), l.service->analyzer().config(),
                                           l.service->analyzer().catalog(), l.service->resolver(),
                                           domain, from, to);
  if (!report.ok()) {
    ctx.err << "dmarcwatch paths: " << report.status().message() << '\n';
    return kExitFailure;
  }

  if (format == "json") {
    web::PathsDocument(*report)->stringify(ctx.out);
    ctx.out << '\n';
    return kExitOk;
  }

  Table table({"kind", "name", "provider", "messages", "dmarc_pass", "spf_aligned",
               "dkim_aligned", "sources", "top_finding"});
  for (const analysis::PathReport& p : report->paths) {
    const model::PathTotals& t = p.totals;
    const analysis::Finding* top = p.top();
    const bool csv = format == "csv";
    auto cell = [&](std::uint64_t part) {
      return csv ? std::to_string(part) : Ratio(part, t.counts.messages);
    };
    table.AddRow({model::ToString(t.path.kind), t.path.name.empty() ? "-" : t.path.name,
                  t.path.provider.empty() ? "-" : t.path.provider,
                  csv ? std::to_string(t.counts.messages) : Grouped(t.counts.messages),
                  cell(t.counts.dmarc_pass), cell(t.counts.spf_aligned),
                  cell(t.counts.dkim_aligned), std::to_string(t.sources),
                  top == nullptr ? "" : std::string(analysis::ToString(top->severity)) + ": " +
                                            top->title});
  }
  if (format == "csv") {
    table.PrintCsv(ctx.out);
    return kExitOk;
  }
  ctx.out << report->domain << ", " << web::DayText(report->from_day) << " to " << web::DayText(report->to_day)
          << (report->policy ? std::string(", p=") + model::ToString(report->policy->p) : "")
          << ": " << Grouped(report->totals.messages) << " messages, "
          << Percent(report->totals.dmarc_pass, report->totals.messages) << " pass DMARC\n\n";
  table.PrintText(ctx.out);
  if (!report->domain_findings.empty()) {
    ctx.out << '\n';
    for (const analysis::Finding& f : report->domain_findings) {
      if (f.severity == analysis::Severity::kInfo) continue;
      ctx.out << analysis::ToString(f.severity) << ": " << model::Printable(f.title, 300) << '\n';
    }
  }
  ctx.out << "\n'dmarcwatch findings --domain " << report->domain
          << "' says what to fix, with the evidence.\n";
  return kExitOk;
}

int RunFindings(Context& ctx) {
  const std::string format = ctx.args.GetOr("format", "table");
  if (format != "table" && format != "json") {
    ctx.err << "dmarcwatch findings: unknown --format '" << format << "'\n";
    return kExitUsage;
  }
  Loaded l;
  if (!Load(ctx, l)) return kExitFailure;
  NoteStale(ctx, *l.store, *l.service);
  const bool all = ctx.args.Has("all");
  Array::Ptr json_domains = new Array;
  bool any = false;
  for (const std::string& domain : ctx.Domains(*l.store)) {
    std::int64_t from = 0, to = 0;
    if (!Period(ctx, *l.service, domain, from, to)) return kExitUsage;
    auto report = analysis::LoadDomainReport(
        l.service->rollups(), l.service->analyzer().config(), l.service->analyzer().catalog(),
        l.service->resolver(), domain, from, to);
    if (!report.ok()) {
      ctx.err << "dmarcwatch findings: " << report.status().message() << '\n';
      return kExitFailure;
    }
    std::vector<std::pair<const analysis::Finding*, std::string>> findings;
    for (const analysis::PathReport& p : report->paths) {
      for (const analysis::Finding& f : p.findings) {
        const std::string label = p.totals.path.name.empty()
                                      ? p.totals.path.key
                                      : p.totals.path.name;
        findings.emplace_back(&f, label);
      }
    }
    for (const analysis::Finding& f : report->domain_findings) findings.emplace_back(&f, "");
    std::stable_sort(findings.begin(), findings.end(), [](const auto& a, const auto& b) {
      return analysis::MoreImportant(*a.first, *b.first);
    });
    if (format == "json") {
      Object::Ptr d = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
      d->set("domain", report->domain);
      d->set("from", web::DayText(report->from_day));
      d->set("to", web::DayText(report->to_day));
      Array::Ptr list = new Array;
      for (const auto& [f, label] : findings) list->add(web::FindingJson(*f));
      d->set("findings", list);
      json_domains->add(d);
      continue;
    }
    ctx.out << "== " << report->domain << ", " << web::DayText(report->from_day) << " to "
            << web::DayText(report->to_day) << "\n\n";
    for (const auto& [f, label] : findings) {
      if (!all && f->severity == analysis::Severity::kInfo) continue;
      PrintFindingText(ctx.out, *f, label);
      ctx.out << '\n';
      any = true;
    }
  }
  if (format == "json") {
    Object root(Poco::JSON_PRESERVE_KEY_ORDER);
    root.set("version", 1);
    root.set("domains", json_domains);
    root.stringify(ctx.out);
    ctx.out << '\n';
  } else if (!any) {
    ctx.out << "nothing to fix" << (all ? "" : " (--all shows informational findings too)")
            << '\n';
  }
  return kExitOk;
}

int RunReanalyze(Context& ctx) {
  Loaded l;
  if (!Load(ctx, l)) return kExitFailure;
  std::unique_ptr<Progress> bar;
  auto done = l.service->Reanalyze(ctx.args.Has("all"), [&](std::uint64_t n, std::uint64_t total) {
    if (!bar) bar = std::make_unique<Progress>(total);
    bar->Update(n, "reports");
  });
  bar.reset();
  if (!done.ok()) {
    ctx.err << "dmarcwatch reanalyze: " << done.status().message() << '\n';
    return kExitFailure;
  }
  ctx.out << "re-analysed " << Grouped(*done) << " reports\n";
  return kExitOk;
}

const std::vector<OptionSpec> kViewOptions = {
    {"domain", "D", "the policy domain (default: the first configured domain)", ""},
    {"since", "DATE", "first day (YYYY-MM-DD, or a span back from now: 30d)", ""},
    {"until", "DATE", "last day, inclusive", ""},
};

}  // namespace

Command PathsCommand() {
  std::vector<OptionSpec> options = kViewOptions;
  options.push_back({"format", "FORMAT", "table, json or csv", "table"});
  return {{"paths", "paths [--domain D] [--since DATE] [--until DATE] [--format table|json|csv]",
           "each sending path of a domain: messages, alignment, top finding",
           "One line per path: your declared paths (direct MTAs and smarthosts), providers\n"
           "sending as the domain that you did not declare, forwarders, and unknown sources.\n"
           "Percentages are of the path's messages. Without --since/--until the period is the\n"
           "30 days ending with the newest report for the domain. The JSON form is a stable,\n"
           "versioned API (docs/cli.md).",
           options},
          RunPaths};
}

Command FindingsCommand() {
  std::vector<OptionSpec> options = kViewOptions;
  options[0].help = "only this domain (default: every configured domain)";
  options.push_back({"all", "", "include informational findings", ""});
  options.push_back({"format", "FORMAT", "table or json", "table"});
  return {{"findings", "findings [--domain D] [--since DATE] [--until DATE] [--all] [--format table|json]",
           "what to fix, per domain and path, with the evidence",
           "Each finding has a stable code (docs/findings.md), a severity, the messages and\n"
           "sources affected, the evidence (IPs, identifiers, DKIM d= and selector, envelope\n"
           "domain) and advice naming the DNS record or provider setting to change.",
           options},
          RunFindings};
}

Command ReanalyzeCommand() {
  return {{"reanalyze", "reanalyze [--all]",
           "attribute stored reports again after the configuration changed",
           "Reports analysed with another configuration (paths, domains) are attributed to\n"
           "the current paths, and the rollups follow. --all re-analyses every report.",
           {{"all", "", "every report, not only those analysed with another configuration", ""}}},
          RunReanalyze};
}

}  // namespace dmarcwatch::app
