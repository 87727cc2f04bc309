#include "dmarcwatch/analysis/attribution.h"

#include <algorithm>
#include <cstdio>

#include "dmarcwatch/model/text.h"

namespace dmarcwatch::analysis {
namespace {

// FNV-1a, 64 bits: enough to notice that a configuration changed.
class Fnv {
 public:
  void Add(std::string_view s) {
    for (unsigned char c : s) {
      h_ ^= c;
      h_ *= 0x100000001b3ULL;
    }
    h_ ^= 0xff;  // field separator
    h_ *= 0x100000001b3ULL;
  }
  std::string Hex() const {
    char buf[17];
    std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h_));
    return buf;
  }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

bool ContainsDomain(const std::vector<std::string>& list, std::string_view domain) {
  for (const std::string& d : list) {
    if (model::EqualsIgnoreCase(d, domain)) return true;
  }
  return false;
}

}  // namespace

std::string AnalysisConfig::Fingerprint() const {
  Fnv h;
  h.Add("v1");
  for (const auto& d : domains) h.Add(d);
  for (const DeclaredPath& p : paths) {
    h.Add("path");
    h.Add(p.name);
    h.Add(model::ToString(p.kind));
    h.Add(p.provider);
    for (const auto& n : p.ips) h.Add(n.ToString());
    h.Add("|");
    for (const auto& d : p.dkim_domains) h.Add(d);
    h.Add("|");
    for (const auto& s : p.dkim_selectors) h.Add(s);
    h.Add("|");
    for (const auto& r : p.return_path_domains) h.Add(r);
  }
  return h.Hex();
}

std::string Attribution::Key(const AnalysisConfig& config) const {
  switch (kind) {
    case PathKind::kDirect:
    case PathKind::kSmarthost:
      return "path:" + config.paths[static_cast<std::size_t>(path)].name;
    case PathKind::kUndeclared:
      return "undeclared:" + provider;
    case PathKind::kForwarder:
      return "forwarder";
    case PathKind::kUnknown:
      break;
  }
  return "unknown";
}

Attributor::Attributor(const AnalysisConfig& config, const Catalog& catalog)
    : config_(config), catalog_(catalog) {}

int Attributor::PathForProvider(std::string_view id) const {
  for (std::size_t i = 0; i < config_.paths.size(); ++i) {
    if (config_.paths[i].provider == id) return static_cast<int>(i);
  }
  // A path through a provider that runs on `id` (Resend on Amazon SES)
  // explains evidence that names the platform.
  for (std::size_t i = 0; i < config_.paths.size(); ++i) {
    const Provider* p = catalog_.ById(config_.paths[i].provider);
    if (p != nullptr && std::find(p->via.begin(), p->via.end(), id) != p->via.end()) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

Attribution Attributor::ForProvider(const Provider& provider, Rule rule,
                                    std::string evidence) const {
  Attribution a;
  a.rule = rule;
  a.evidence = std::move(evidence);
  const int path = PathForProvider(provider.id);
  if (path >= 0) {
    const DeclaredPath& p = config_.paths[static_cast<std::size_t>(path)];
    a.kind = p.kind;
    a.path = path;
    a.provider = p.provider;
  } else {
    a.kind = PathKind::kUndeclared;
    a.provider = provider.id;
  }
  return a;
}

Attribution Attributor::Attribute(const model::Record& record, const AlignmentOutcome& alignment,
                                  const IpDnsEvidence* dns) const {
  auto declared = [&](std::size_t i, Rule rule, std::string evidence) {
    Attribution a;
    a.kind = config_.paths[i].kind;
    a.path = static_cast<int>(i);
    a.provider = config_.paths[i].provider;
    a.rule = rule;
    a.evidence = std::move(evidence);
    return a;
  };

  // Rule 1: the source IP is one the organisation declared.
  for (std::size_t i = 0; i < config_.paths.size(); ++i) {
    for (const model::IpNetwork& net : config_.paths[i].ips) {
      if (net.Contains(record.source_ip)) {
        return declared(i, Rule::kDeclaredIp,
                        "ip " + record.source_ip.ToString() + " in " + net.ToString());
      }
    }
  }

  // Rule 2: the receiver says it was forwarded or came through a list.
  for (const auto& reason : record.policy_evaluated.reasons) {
    if (reason.type == model::PolicyOverride::kForwarded ||
        reason.type == model::PolicyOverride::kMailingList ||
        reason.type == model::PolicyOverride::kTrustedForwarder) {
      Attribution a;
      a.kind = PathKind::kForwarder;
      a.rule = Rule::kForwardReason;
      a.evidence = std::string("reason ") + model::ToString(reason.type);
      return a;
    }
  }

  // Rule 3: evidence that names a path or a provider. What a declared path
  // set up (its selectors, its return-path) is the most specific.
  const auto& dkim = record.auth_results.dkim;
  std::vector<std::string_view> envelopes;
  if (record.identifiers.envelope_from && !record.identifiers.envelope_from->empty()) {
    envelopes.push_back(*record.identifiers.envelope_from);
  }
  for (const auto& spf : record.auth_results.spf) {
    if (spf.scope == model::SpfScope::kHelo) continue;
    std::string_view d = SpfDomain(record, spf);
    if (!d.empty() && std::find(envelopes.begin(), envelopes.end(), d) == envelopes.end()) {
      envelopes.push_back(d);
    }
  }
  for (std::size_t i = 0; i < config_.paths.size(); ++i) {
    const DeclaredPath& p = config_.paths[i];
    for (const auto& sig : dkim) {
      // Only a verified signature: a failing one on the organisation's own
      // domain is what a forger copying the selector leaves, and claiming
      // it would blame the path for spoofing (docs/attribution.md).
      if (sig.result == model::DkimResult::kPass && sig.selector &&
          ContainsDomain(p.dkim_domains, sig.domain) &&
          ContainsDomain(p.dkim_selectors, *sig.selector)) {
        return declared(i, Rule::kProviderEvidence,
                        "dkim d=" + sig.domain + " s=" + *sig.selector);
      }
    }
    for (std::string_view env : envelopes) {
      for (const std::string& rp : p.return_path_domains) {
        if (DomainMatches(env, rp)) {
          return declared(i, Rule::kProviderEvidence, "envelope " + std::string(env));
        }
      }
    }
  }
  // A provider's own signing or bounce domain. A row can carry several
  // (GitHub mail relayed through SendGrid); one a declared path explains wins.
  std::vector<std::pair<const Provider*, std::string>> candidates;
  for (const auto& sig : dkim) {
    if (const Provider* p = catalog_.ByDkimDomain(sig.domain)) {
      candidates.emplace_back(p, "dkim d=" + sig.domain);
    }
  }
  for (std::string_view env : envelopes) {
    if (const Provider* p = catalog_.ByReturnPathDomain(env)) {
      candidates.emplace_back(p, "envelope " + std::string(env));
    }
  }
  for (const auto& [provider, evidence] : candidates) {
    if (PathForProvider(provider->id) >= 0) {
      return ForProvider(*provider, Rule::kProviderEvidence, evidence);
    }
  }
  if (!candidates.empty()) {
    return ForProvider(*candidates.front().first, Rule::kProviderEvidence,
                       candidates.front().second);
  }

  // Rule 4: the organisation's own signature survived, the envelope did
  // not: a forwarder relayed it.
  if (alignment.dkim_aligned && !alignment.spf_aligned) {
    Attribution a;
    a.kind = PathKind::kForwarder;
    a.rule = Rule::kIntactSignature;
    a.evidence = "aligned dkim d=" +
                 dkim[static_cast<std::size_t>(alignment.aligned_dkim)].domain +
                 " passed, spf not aligned";
    return a;
  }

  // Rule 5: what DNS knows about the IP.
  if (dns != nullptr) {
    if (!dns->spf_paths.empty()) {
      const auto i = static_cast<std::size_t>(dns->spf_paths.front());
      if (i < config_.paths.size()) {
        return declared(i, Rule::kDns,
                        "ip authorised by the SPF include of " + config_.paths[i].name);
      }
    }
    for (const std::string& name : dns->confirmed_ptrs) {
      if (const Provider* p = catalog_.ByPtr(name)) {
        return ForProvider(*p, Rule::kDns, "ptr " + name);
      }
    }
  }

  Attribution a;
  a.kind = PathKind::kUnknown;
  a.rule = Rule::kNothing;
  return a;
}

}  // namespace dmarcwatch::analysis
