#include "analysis_service.h"

#include <Poco/Logger.h>

#include <set>

#include "dmarcwatch/analysis/dns_evidence.h"
#include "dmarcwatch/model/time.h"

namespace dmarcwatch::app {

Result<std::vector<model::PathTotals>> StoreRollups::PathTotals(const model::RollupQuery& q) {
  return store_.QueryPathTotals(q);
}
Result<std::vector<model::SourceCounts>> StoreRollups::Sources(const model::RollupQuery& q) {
  return store_.QuerySources(q);
}
Result<std::vector<model::DailyCounts>> StoreRollups::Daily(const model::RollupQuery& q,
                                                           bool by_path) {
  return store_.QueryDaily(q, by_path);
}
Result<std::vector<model::ReporterCounts>> StoreRollups::Reporters(const model::RollupQuery& q) {
  return store_.QueryReporters(q);
}
Result<std::vector<model::PublishedPolicy>> StoreRollups::Policies() {
  return store_.LatestPolicies();
}
Result<std::pair<std::int64_t, std::int64_t>> StoreRollups::DataDays(
    const std::optional<std::string>& domain) {
  return store_.DataDays(domain);
}
Result<std::vector<std::string>> StoreRollups::Domains() { return store_.Domains(); }

std::optional<analysis::DnsAnswer> StoreDnsCache::Get(analysis::DnsType type,
                                                      const std::string& name,
                                                      model::UnixTime now) {
  auto entry = store_.GetDnsAnswer(analysis::ToString(type), name);
  if (!entry.ok() || !entry->has_value() || (*entry)->expires_at <= now) return std::nullopt;
  analysis::DnsAnswer a;
  const std::string& rcode = (*entry)->rcode;
  for (analysis::DnsRcode r : {analysis::DnsRcode::kOk, analysis::DnsRcode::kNoData,
                               analysis::DnsRcode::kNxDomain}) {
    if (rcode == analysis::ToString(r)) a.rcode = r;
  }
  if (rcode != analysis::ToString(a.rcode)) return std::nullopt;
  a.values = (*entry)->values;
  a.ttl = static_cast<std::uint32_t>((*entry)->ttl);
  return a;
}

void StoreDnsCache::Put(analysis::DnsType type, const std::string& name,
                        const analysis::DnsAnswer& answer, model::UnixTime expires_at) {
  store::DnsCacheEntry e{analysis::ToString(answer.rcode), answer.values, answer.ttl, expires_at};
  // A cache that cannot be written only costs a lookup next time.
  store_.PutDnsAnswer(analysis::ToString(type), name, e).IgnoreError();
}

AnalysisService::AnalysisService(const Config& config, store::Store& store, Clock clock)
    : config_(config),
      store_(store),
      clock_(std::move(clock)),
      rollups_(store),
      dns_cache_(store) {}

Result<std::unique_ptr<AnalysisService>> AnalysisService::Create(const Config& config,
                                                                 store::Store& store, Clock clock,
                                                                 bool offline) {
  std::unique_ptr<AnalysisService> s(new AnalysisService(config, store, std::move(clock)));
  auto analyzer = analysis::Analyzer::Create(config.Analysis(), analysis::Catalog::Builtin());
  if (!analyzer.ok()) return std::move(analyzer).status();
  s->analyzer_ = std::move(*analyzer);
  if (!offline && config.dns.enabled) {
    auto ares = analysis::MakeAresResolver(config.dns);
    if (!ares.ok()) return std::move(ares).status();
    s->ares_ = std::move(*ares);
    s->caching_ = std::make_unique<analysis::CachingResolver>(*s->ares_, s->dns_cache_, config.dns,
                                                              s->clock_);
  }
  return s;
}

Result<std::uint64_t> AnalysisService::EnrichWithDns(const std::vector<std::int64_t>& report_ids) {
  if (caching_ == nullptr || report_ids.empty()) return std::uint64_t{0};
  Poco::Logger& log = Poco::Logger::get("dmarc.analysis.dns");

  // The IPs of rows that nothing but DNS could still attribute.
  std::set<std::string> seen;
  std::vector<model::IpAddress> ips;
  std::vector<std::int64_t> candidates;
  for (std::int64_t id : report_ids) {
    auto report = store_.GetReport(id);
    auto stored = store_.GetAnalysis(id);
    if (!report.ok()) return std::move(report).status();
    if (!stored.ok()) return std::move(stored).status();
    bool any = false;
    for (std::size_t k = 0; k < report->records.size() && k < stored->records.size(); ++k) {
      if (stored->records[k].rule != static_cast<int>(analysis::Rule::kNothing)) continue;
      any = true;
      if (seen.insert(report->records[k].source_ip.ToString()).second) {
        ips.push_back(report->records[k].source_ip);
      }
    }
    if (any) candidates.push_back(id);
  }
  if (ips.empty()) return std::uint64_t{0};

  const analysis::DnsEvidence evidence = analysis::DnsEvidence::Gather(
      *caching_, analyzer_->config(), analyzer_->catalog(), ips);
  log.information("event=dns_enrichment ips=" + std::to_string(ips.size()) +
                  " with_evidence=" + std::to_string(evidence.size()) +
                  " cache_hits=" + std::to_string(caching_->hits()) +
                  " cache_misses=" + std::to_string(caching_->misses()));
  if (evidence.size() == 0) return std::uint64_t{0};

  std::uint64_t changed = 0;
  for (std::int64_t id : candidates) {
    auto report = store_.GetReport(id);
    if (!report.ok()) return std::move(report).status();
    model::ReportAnalysis fresh = analyzer_->Analyze(*report, evidence.Lookup());
    auto stored = store_.GetAnalysis(id);
    if (!stored.ok()) return std::move(stored).status();
    bool differs = false;
    for (std::size_t k = 0; k < fresh.records.size(); ++k) {
      if (fresh.records[k].path_key != stored->records[k].path_key ||
          fresh.records[k].rule != stored->records[k].rule) {
        differs = true;
      }
    }
    if (!differs) continue;
    DMARC_RETURN_IF_ERROR(store_.ReplaceAnalysis(id, fresh));
    ++changed;
  }
  return changed;
}

Result<std::uint64_t> AnalysisService::Reanalyze(
    bool all, const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  // Collect first, so re-analysed reports are not found again.
  std::vector<std::int64_t> ids;
  for (std::int64_t after = 0;;) {
    auto batch = all ? store_.ReportIds(after, 5000)
                     : store_.ReportsToAnalyze(analyzer_->fingerprint(), after, 5000);
    if (!batch.ok()) return std::move(batch).status();
    if (batch->empty()) break;
    after = batch->back();
    ids.insert(ids.end(), batch->begin(), batch->end());
  }
  std::uint64_t done = 0;
  for (std::int64_t id : ids) {
    auto report = store_.GetReport(id);
    if (!report.ok()) return std::move(report).status();
    DMARC_RETURN_IF_ERROR(store_.ReplaceAnalysis(id, analyzer_->Analyze(*report)));
    ++done;
    if (progress && done % 100 == 0) progress(done, ids.size());
  }
  if (progress) progress(done, ids.size());
  auto enriched = EnrichWithDns(ids);
  if (!enriched.ok()) return std::move(enriched).status();
  return done;
}

Result<std::size_t> AnalysisService::RefreshViews() {
  constexpr std::size_t kDomainsWithPaths = 8;
  constexpr std::size_t kPathsPerDomain = 10;
  // Half of what the store keeps: more would push out the first views
  // computed here, and leave no room for the periods readers ask for.
  constexpr std::size_t kMaxAnswers = store::StoreOptions::kMaxKeptAnswers / 2;
  auto domains = store_.Domains();
  if (!domains.ok()) return std::move(domains).status();
  const std::int64_t today = model::DayNumber(clock_());
  std::size_t views = 0, answers = 0;
  for (std::size_t d = 0; d < domains->size() && answers + 2 <= kMaxAnswers; ++d) {
    const std::string& domain = (*domains)[d];
    auto [from, to] = analysis::DefaultPeriod(rollups_, domain, today);
    model::RollupQuery q;
    q.domain = domain;
    q.from_day = from;
    q.to_day = to;
    auto totals = store_.QueryPathTotals(q);
    if (!totals.ok()) return std::move(totals).status();
    auto sources = store_.QuerySources(q);
    if (!sources.ok()) return std::move(sources).status();
    ++views;
    answers += 2;
    if (d >= kDomainsWithPaths) continue;
    for (std::size_t p = 0; p < totals->size() && p < kPathsPerDomain && answers < kMaxAnswers;
         ++p) {
      q.path_key = (*totals)[p].path.key;
      auto path_sources = store_.QuerySources(q);
      if (!path_sources.ok()) return std::move(path_sources).status();
      ++views;
      ++answers;
    }
  }
  return views;
}

}  // namespace dmarcwatch::app
