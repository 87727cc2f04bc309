#include "dmarcwatch/analysis/domain_report.h"

#include <algorithm>
#include <map>

#include "dmarcwatch/analysis/dns_evidence.h"
#include "dmarcwatch/model/text.h"

namespace dmarcwatch::analysis {
namespace {

int Rank(const PathReport& p) {
  const Finding* top = p.top();
  if (top == nullptr) return 3;
  return static_cast<int>(top->severity);
}

}  // namespace

DomainReport BuildDomainReport(const std::string& domain, std::int64_t from_day,
                               std::int64_t to_day, std::vector<model::PathTotals> totals,
                               const std::vector<model::SourceCounts>& sources,
                               const DomainContext& context, const AnalysisConfig& config,
                               const Catalog& catalog) {
  DomainReport out;
  out.domain = domain;
  out.from_day = from_day;
  out.to_day = to_day;
  out.policy = context.policy;
  out.dns_checked = context.dns_checked;

  // Declared paths that sent nothing are shown too: silence is news.
  for (const DeclaredPath& p : config.paths) {
    const std::string key = "path:" + p.name;
    const bool present = std::any_of(totals.begin(), totals.end(),
                                     [&](const model::PathTotals& t) { return t.path.key == key; });
    if (!present) {
      model::PathTotals empty;
      empty.path = {key, p.kind, p.name, p.provider};
      totals.push_back(std::move(empty));
    }
  }
  const Diagnoser diagnoser(config, catalog);
  for (model::PathTotals& t : totals) {
    PathReport r;
    r.declared = t.path.kind == model::PathKind::kDirect ||
                 t.path.kind == model::PathKind::kSmarthost;
    r.findings = diagnoser.DiagnosePath(t, sources, context);
    out.totals.Add(t.counts);
    r.totals = std::move(t);
    out.paths.push_back(std::move(r));
  }
  std::stable_sort(out.paths.begin(), out.paths.end(),
                   [](const PathReport& a, const PathReport& b) {
                     if (Rank(a) != Rank(b)) return Rank(a) < Rank(b);
                     if (a.totals.counts.messages != b.totals.counts.messages) {
                       return a.totals.counts.messages > b.totals.counts.messages;
                     }
                     return a.totals.path.key < b.totals.path.key;
                   });
  std::vector<model::PathTotals> all;
  for (const PathReport& p : out.paths) all.push_back(p.totals);
  out.domain_findings = diagnoser.DiagnoseDomain(all, context);
  return out;
}

Result<DomainReport> LoadDomainReport(RollupReader& reader, const AnalysisConfig& config,
                                      const Catalog& catalog, Resolver* resolver,
                                      const std::string& domain, std::int64_t from_day,
                                      std::int64_t to_day) {
  model::RollupQuery q;
  q.domain = domain;
  q.from_day = from_day;
  q.to_day = to_day;
  auto totals = reader.PathTotals(q);
  if (!totals.ok()) return std::move(totals).status();
  q.limit = 20000;
  auto sources = reader.Sources(q);
  if (!sources.ok()) return std::move(sources).status();
  auto policies = reader.Policies();
  if (!policies.ok()) return std::move(policies).status();

  DomainContext context;
  context.domain = model::AsciiLower(domain);
  for (const model::PublishedPolicy& p : *policies) {
    if (p.domain == context.domain) context.policy = p.policy;
  }
  if (resolver != nullptr) {
    context.spf = SpfForDomain(*resolver, config, context.domain);
    context.dns_checked = true;
  }
  return BuildDomainReport(context.domain, from_day, to_day, std::move(*totals), *sources,
                           context, config, catalog);
}

std::pair<std::int64_t, std::int64_t> DefaultPeriod(RollupReader& reader,
                                                    const std::string& domain, std::int64_t today,
                                                    int days) {
  std::int64_t last = today;
  auto range = reader.DataDays(domain);
  if (range.ok() && range->first <= range->second) last = range->second;
  return {last - days + 1, last};
}

}  // namespace dmarcwatch::analysis
