#pragma once
// The per-domain view every consumer shows (the `paths` command, the
// dashboard, the alerts): each path of a domain over a period with its
// counts and findings, and the findings about the domain as a whole.
//
// Analysis reads rollups only through RollupReader, a narrow interface the
// application implements over the store (as it reaches DNS only through
// Resolver), so this stays free of SQL and I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dmarcwatch/analysis/attribution.h"
#include "dmarcwatch/analysis/catalog.h"
#include "dmarcwatch/analysis/diagnosis.h"
#include "dmarcwatch/analysis/dns.h"
#include "dmarcwatch/model/analysis.h"
#include "dmarcwatch/model/status.h"

namespace dmarcwatch::analysis {

class RollupReader {
 public:
  virtual ~RollupReader() = default;
  virtual Result<std::vector<model::PathTotals>> PathTotals(const model::RollupQuery& q) = 0;
  virtual Result<std::vector<model::SourceCounts>> Sources(const model::RollupQuery& q) = 0;
  virtual Result<std::vector<model::DailyCounts>> Daily(const model::RollupQuery& q,
                                                        bool by_path) = 0;
  virtual Result<std::vector<model::ReporterCounts>> Reporters(const model::RollupQuery& q) = 0;
  virtual Result<std::vector<model::PublishedPolicy>> Policies() = 0;
  // First and last DayNumber with data (first > last when none).
  virtual Result<std::pair<std::int64_t, std::int64_t>> DataDays(
      const std::optional<std::string>& domain) = 0;
  virtual Result<std::vector<std::string>> Domains() = 0;
};

struct PathReport {
  model::PathTotals totals;
  std::vector<Finding> findings;  // most important first
  bool declared = false;          // a path from the configuration

  const Finding* top() const { return findings.empty() ? nullptr : &findings.front(); }
};

struct DomainReport {
  std::string domain;
  std::int64_t from_day = 0;  // DayNumber, inclusive
  std::int64_t to_day = 0;
  std::optional<model::PolicyPublished> policy;
  model::Counts totals;                 // over every path
  std::vector<PathReport> paths;        // failing first (see BuildDomainReport)
  std::vector<Finding> domain_findings;
  bool dns_checked = false;
};

// Pure: joins the rollups with the diagnosis. Every declared path is
// listed, with zero counts when it sent nothing in the period. Order: the
// most severe top finding first, then most messages, then key.
DomainReport BuildDomainReport(const std::string& domain, std::int64_t from_day,
                               std::int64_t to_day, std::vector<model::PathTotals> totals,
                               const std::vector<model::SourceCounts>& sources,
                               const DomainContext& context, const AnalysisConfig& config,
                               const Catalog& catalog);

// Reads the rollups for `domain` over [from_day, to_day] and builds the
// report. With a resolver, also checks the domain's SPF records.
Result<DomainReport> LoadDomainReport(RollupReader& reader, const AnalysisConfig& config,
                                      const Catalog& catalog, Resolver* resolver,
                                      const std::string& domain, std::int64_t from_day,
                                      std::int64_t to_day);

// The default period: the `days` days ending with the last day that has
// data for `domain` (so a view of older data is never empty), or ending
// `today` when there is none.
std::pair<std::int64_t, std::int64_t> DefaultPeriod(RollupReader& reader,
                                                    const std::string& domain, std::int64_t today,
                                                    int days = 30);

}  // namespace dmarcwatch::analysis
