#include "dmarcwatch/analysis/analyzer.h"

namespace dmarcwatch::analysis {

Result<std::unique_ptr<Analyzer>> Analyzer::Create(AnalysisConfig config, const Catalog& catalog) {
  for (const DeclaredPath& p : config.paths) {
    if (p.kind == PathKind::kSmarthost && catalog.ById(p.provider) == nullptr) {
      return Status::InvalidInput("unknown_provider", "path \"" + p.name + "\" names provider \"" +
                                                          p.provider +
                                                          "\", which the catalog does not know");
    }
  }
  Result<OrgDomains> org = OrgDomains::Create();
  if (!org.ok()) return std::move(org).status();
  return std::unique_ptr<Analyzer>(new Analyzer(std::move(config), catalog, std::move(*org)));
}

Analyzer::Analyzer(AnalysisConfig config, const Catalog& catalog, OrgDomains org)
    : config_(std::move(config)),
      catalog_(catalog),
      org_(std::move(org)),
      attributor_(config_, catalog_),
      fingerprint_(config_.Fingerprint()) {}

model::RecordAnalysis Analyzer::AnalyzeRecord(const model::Record& record,
                                              const model::PolicyPublished& policy,
                                              const DnsEvidenceLookup& dns) {
  const AlignmentOutcome alignment = Align(record, policy, org_);
  const IpDnsEvidence* evidence = dns ? dns(record.source_ip) : nullptr;
  const Attribution a = attributor_.Attribute(record, alignment, evidence);
  model::RecordAnalysis out;
  out.path_key = a.Key(config_);
  out.kind = a.kind;
  if (a.path >= 0) out.path_name = config_.paths[static_cast<std::size_t>(a.path)].name;
  out.provider = a.provider;
  out.rule = static_cast<int>(a.rule);
  out.evidence = a.evidence;
  out.spf_aligned = alignment.spf_aligned;
  out.dkim_aligned = alignment.dkim_aligned;
  out.dmarc_pass = alignment.dmarc_pass;
  out.disagrees = alignment.reporter_disagrees;
  return out;
}

model::ReportAnalysis Analyzer::Analyze(const model::Report& report,
                                        const DnsEvidenceLookup& dns) {
  return Analyze(report.records, report.policy_published, dns);
}

model::ReportAnalysis Analyzer::Analyze(const std::vector<model::Record>& records,
                                        const model::PolicyPublished& policy,
                                        const DnsEvidenceLookup& dns) {
  model::ReportAnalysis out;
  out.fingerprint = fingerprint_;
  out.records.reserve(records.size());
  for (const model::Record& r : records) out.records.push_back(AnalyzeRecord(r, policy, dns));
  return out;
}

}  // namespace dmarcwatch::analysis
