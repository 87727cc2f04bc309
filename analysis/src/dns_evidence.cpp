#include "dmarcwatch/analysis/dns_evidence.h"

#include <algorithm>
#include <set>

namespace dmarcwatch::analysis {

namespace {

// Private, loopback, link-local and shared (CGNAT) addresses have no
// public reverse DNS and no provider behind them: asking costs a timeout.
bool Global(const model::IpAddress& ip) {
  static const std::vector<model::IpNetwork> kLocal = [] {
    std::vector<model::IpNetwork> v;
    for (const char* n : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8",
                          "169.254.0.0/16", "100.64.0.0/10", "0.0.0.0/8", "fc00::/7",
                          "fe80::/10", "::1/128"}) {
      v.push_back(*model::IpNetwork::Parse(n));
    }
    return v;
  }();
  for (const model::IpNetwork& n : kLocal) {
    if (n.Contains(ip)) return false;
  }
  return true;
}

}  // namespace

DnsEvidence DnsEvidence::Gather(Resolver& resolver, const AnalysisConfig& config,
                                const Catalog& catalog, const std::vector<model::IpAddress>& all) {
  DnsEvidence out;
  std::vector<model::IpAddress> ips;
  for (const model::IpAddress& ip : all) {
    if (Global(ip)) ips.push_back(ip);
  }
  if (ips.empty()) return out;

  // Each declared smarthost's provider includes, expanded once.
  std::vector<std::pair<int, SpfExpansion>> includes;
  for (std::size_t p = 0; p < config.paths.size(); ++p) {
    const Provider* provider = catalog.ById(config.paths[p].provider);
    if (provider == nullptr) continue;
    for (const std::string& include : provider->spf_includes) {
      includes.emplace_back(static_cast<int>(p), ExpandSpf(resolver, include));
    }
  }

  const std::vector<PtrResult> ptrs = ForwardConfirmedPtrs(resolver, ips);
  for (std::size_t i = 0; i < ips.size(); ++i) {
    IpDnsEvidence e;
    if (i < ptrs.size()) e.confirmed_ptrs = ptrs[i].confirmed;
    for (const auto& [path, spf] : includes) {
      if (spf.Authorizing(ips[i]) != nullptr &&
          std::find(e.spf_paths.begin(), e.spf_paths.end(), path) == e.spf_paths.end()) {
        e.spf_paths.push_back(path);
      }
    }
    if (!e.confirmed_ptrs.empty() || !e.spf_paths.empty()) {
      out.by_ip_[ips[i].ToString()] = std::move(e);
    }
  }
  return out;
}

const IpDnsEvidence* DnsEvidence::Find(const model::IpAddress& ip) const {
  auto it = by_ip_.find(ip.ToString());
  return it == by_ip_.end() ? nullptr : &it->second;
}

DnsEvidenceLookup DnsEvidence::Lookup() const {
  return [this](const model::IpAddress& ip) { return Find(ip); };
}

std::vector<SpfExpansion> SpfForDomain(Resolver& resolver, const AnalysisConfig& config,
                                       const std::string& domain) {
  std::set<std::string> names = {domain};
  for (const DeclaredPath& p : config.paths) {
    for (const std::string& d : p.return_path_domains) {
      if (DomainMatches(d, domain)) names.insert(d);
    }
  }
  std::vector<SpfExpansion> out;
  for (const std::string& n : names) out.push_back(ExpandSpf(resolver, n));
  return out;
}

}  // namespace dmarcwatch::analysis
