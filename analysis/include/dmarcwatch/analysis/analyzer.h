#pragma once
// Analyzer: alignment plus attribution for every row of a report, in the
// form the store keeps (model::ReportAnalysis). The one object ingest
// wiring needs from analysis.
//
// Holds the configuration, the catalog reference, a Public Suffix List
// context and its memo: one Analyzer per thread. Not movable once created
// (the attributor refers to its configuration), hence Create returns a
// unique_ptr.

#include <functional>
#include <memory>
#include <string>

#include "dmarcwatch/analysis/alignment.h"
#include "dmarcwatch/analysis/attribution.h"
#include "dmarcwatch/analysis/catalog.h"
#include "dmarcwatch/model/analysis.h"
#include "dmarcwatch/model/report.h"

namespace dmarcwatch::analysis {

// DNS evidence for a source IP, or null (rule 5). Called during Analyze.
using DnsEvidenceLookup = std::function<const IpDnsEvidence*(const model::IpAddress&)>;

class Analyzer {
 public:
  // REQUIRES: `catalog` outlives the Analyzer. kInvalidInput when a path
  // names a provider the catalog does not know; kUnavailable without a
  // Public Suffix List.
  static Result<std::unique_ptr<Analyzer>> Create(AnalysisConfig config, const Catalog& catalog);
  Analyzer(const Analyzer&) = delete;
  Analyzer& operator=(const Analyzer&) = delete;

  model::ReportAnalysis Analyze(const model::Report& report, const DnsEvidenceLookup& dns = {});
  // The same for some of a report's records (a batch of a large report).
  model::ReportAnalysis Analyze(const std::vector<model::Record>& records,
                                const model::PolicyPublished& policy,
                                const DnsEvidenceLookup& dns = {});
  model::RecordAnalysis AnalyzeRecord(const model::Record& record,
                                      const model::PolicyPublished& policy,
                                      const DnsEvidenceLookup& dns = {});

  const AnalysisConfig& config() const { return config_; }
  const Catalog& catalog() const { return catalog_; }
  const std::string& fingerprint() const { return fingerprint_; }
  OrgDomains& org_domains() { return org_; }

 private:
  Analyzer(AnalysisConfig config, const Catalog& catalog, OrgDomains org);

  AnalysisConfig config_;
  const Catalog& catalog_;
  OrgDomains org_;
  Attributor attributor_;
  std::string fingerprint_;
};

}  // namespace dmarcwatch::analysis
