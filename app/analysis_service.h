#pragma once
// AnalysisService: the analysis module wired to the store and to DNS.
//
//  - Analyze(report): rules 1-4 and 6, for the import path (no DNS);
//  - EnrichWithDns(report ids): rule 5 for the rows still unknown, after
//    their reports are committed — DNS never blocks or slows ingest;
//  - Reanalyze(): re-attributes stored reports after the configuration (or
//    the catalog) changed, keeping the rollups in step;
//  - Rollups(): the store seen as analysis::RollupReader, for the views.
//
// DNS answers are cached in the store (StoreDnsCache), so they survive
// restarts and a re-analysis sees the same answers. One per thread.

#include <functional>
#include <memory>
#include <ostream>
#include <vector>

#include "config.h"
#include "dmarcwatch/analysis/analyzer.h"
#include "dmarcwatch/analysis/domain_report.h"
#include "dmarcwatch/analysis/dns.h"
#include "dmarcwatch/store/store.h"

namespace dmarcwatch::app {

// The store as the analysis module's read interface.
class StoreRollups : public analysis::RollupReader {
 public:
  explicit StoreRollups(store::Store& store) : store_(store) {}
  Result<std::vector<model::PathTotals>> PathTotals(const model::RollupQuery& q) override;
  Result<std::vector<model::SourceCounts>> Sources(const model::RollupQuery& q) override;
  Result<std::vector<model::DailyCounts>> Daily(const model::RollupQuery& q, bool by_path) override;
  Result<std::vector<model::ReporterCounts>> Reporters(const model::RollupQuery& q) override;
  Result<std::vector<model::PublishedPolicy>> Policies() override;
  Result<std::pair<std::int64_t, std::int64_t>> DataDays(
      const std::optional<std::string>& domain) override;
  Result<std::vector<std::string>> Domains() override;

 private:
  store::Store& store_;
};

// The store as the DNS cache.
class StoreDnsCache : public analysis::DnsCache {
 public:
  explicit StoreDnsCache(store::Store& store) : store_(store) {}
  std::optional<analysis::DnsAnswer> Get(analysis::DnsType type, const std::string& name,
                                         model::UnixTime now) override;
  void Put(analysis::DnsType type, const std::string& name, const analysis::DnsAnswer& answer,
           model::UnixTime expires_at) override;

 private:
  store::Store& store_;
};

class AnalysisService {
 public:
  using Clock = std::function<model::UnixTime()>;

  // REQUIRES: `config` and `store` outlive the service. With offline set
  // (or dns.enabled false) there is no resolver and rule 5 never applies.
  static Result<std::unique_ptr<AnalysisService>> Create(const Config& config, store::Store& store,
                                                         Clock clock, bool offline);

  analysis::Analyzer& analyzer() { return *analyzer_; }
  // Null when DNS is off.
  analysis::Resolver* resolver() { return caching_.get(); }
  StoreRollups& rollups() { return rollups_; }

  // Rule 5 for the rows of these reports that no other rule claimed.
  // Returns how many reports changed.
  Result<std::uint64_t> EnrichWithDns(const std::vector<std::int64_t>& report_ids);

  // Re-attributes reports analysed with another configuration (all reports
  // when `all`), then runs EnrichWithDns on them. `progress` is called
  // with (done, total) now and then. Returns how many were re-analysed.
  Result<std::uint64_t> Reanalyze(bool all,
                                  const std::function<void(std::uint64_t, std::uint64_t)>& progress);

  // Computes the default period views (the 30 days ending with the newest
  // data) of each domain with data, and, for the first few domains, of each
  // of its paths, up to half the answers the store keeps. The store keeps these answers for every process until the
  // rollups change (storage.keep_answers), so that after an ingest the
  // dashboard and `paths` answer at once. Returns the number of views.
  Result<std::size_t> RefreshViews();

 private:
  AnalysisService(const Config& config, store::Store& store, Clock clock);

  const Config& config_;
  store::Store& store_;
  Clock clock_;
  StoreRollups rollups_;
  StoreDnsCache dns_cache_;
  std::unique_ptr<analysis::Analyzer> analyzer_;
  std::unique_ptr<analysis::Resolver> ares_;
  std::unique_ptr<analysis::CachingResolver> caching_;
};

}  // namespace dmarcwatch::app
