#pragma once
// DnsEvidence: what attribution rule 5 needs to know about source IPs, and
// what the SPF check of a domain needs, gathered through the Resolver in
// batches (never on the ingest path: the caller runs it after a batch of
// reports is committed, and re-attributes what it changes).
//
// For each IP: its forward-confirmed PTR names, and which declared paths'
// provider SPF includes authorise it (each include expanded once per
// Gather, answers cached by the Resolver).

#include <map>
#include <string>
#include <vector>

#include "dmarcwatch/analysis/analyzer.h"
#include "dmarcwatch/analysis/attribution.h"
#include "dmarcwatch/analysis/catalog.h"
#include "dmarcwatch/analysis/diagnosis.h"
#include "dmarcwatch/analysis/dns.h"
#include "dmarcwatch/analysis/spf.h"

namespace dmarcwatch::analysis {

class DnsEvidence {
 public:
  static DnsEvidence Gather(Resolver& resolver, const AnalysisConfig& config,
                            const Catalog& catalog, const std::vector<model::IpAddress>& ips);

  const IpDnsEvidence* Find(const model::IpAddress& ip) const;
  // A lookup for Analyzer::Analyze; valid while this object lives.
  DnsEvidenceLookup Lookup() const;
  std::size_t size() const { return by_ip_.size(); }

 private:
  std::map<std::string, IpDnsEvidence> by_ip_;
};

// The SPF expansions the domain-level diagnosis needs: the domain's own
// record and that of each declared path's return-path domains under it.
std::vector<SpfExpansion> SpfForDomain(Resolver& resolver, const AnalysisConfig& config,
                                       const std::string& domain);

}  // namespace dmarcwatch::analysis
