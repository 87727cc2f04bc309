#pragma once
// Attribution: which of the organisation's sending paths a report row
// belongs to — a declared path (its own MTAs, or a smarthost it set up), a
// provider it did not declare, a forwarder, or an unknown source.
//
// Rules, first match wins (docs/attribution.md explains each):
//  1. the source IP is inside a declared path's `ips`        -> that path
//  2. policy_evaluated has a reason forwarded, mailing_list or
//     trusted_forwarder                                     -> forwarder
//  3. provider evidence in the row: a DKIM result (pass or fail) signed
//     with a provider's own domain, a passing signature with a declared
//     path's dkim_selectors on its dkim_domains, or an SPF/envelope domain
//     equal to or under a declared path's return_path_domains or a
//     provider's bounce domain
//                                       -> that provider: the declared path
//                                          naming it, else "undeclared"
//  4. an aligned DKIM pass, SPF not aligned, and none of the above
//                                       -> forwarder (signature intact,
//                                          relayed by someone else)
//  5. with DNS: a declared path's SPF include authorises the IP, or the IP
//     has a forward-confirmed PTR under a provider's PTR domains
//                                       -> that provider, as in rule 3
//  6. otherwise                         -> unknown
// A declared path's dkim_domains alone never claim a row: every forwarded
// message carries d=example.com too. They say what "set up right" means.
//
// Pure: no I/O (DNS evidence is passed in), no clock. Thread-compatible.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dmarcwatch/analysis/alignment.h"
#include "dmarcwatch/analysis/catalog.h"
#include "dmarcwatch/model/analysis.h"
#include "dmarcwatch/model/ip_address.h"
#include "dmarcwatch/model/report.h"

namespace dmarcwatch::analysis {

using model::PathKind;

// A sending path the organisation declared in its configuration.
struct DeclaredPath {
  std::string name;
  PathKind kind = PathKind::kSmarthost;  // kDirect or kSmarthost
  std::string provider;                  // catalog id; smarthosts only
  std::vector<model::IpNetwork> ips;
  std::vector<std::string> dkim_domains;       // the d= expected when set up right
  std::vector<std::string> dkim_selectors;     // selectors it signs with on dkim_domains
  std::vector<std::string> return_path_domains;  // envelope domains it uses
};

struct AnalysisConfig {
  std::vector<std::string> domains;  // monitored domains
  std::vector<DeclaredPath> paths;
  // A digest of everything above that changes attribution; stored with
  // each analysed record so a configuration change is noticed.
  std::string Fingerprint() const;
};

// Which rule decided (for explanations and tests).
enum class Rule : std::uint8_t {
  kDeclaredIp = 1,
  kForwardReason = 2,
  kProviderEvidence = 3,
  kIntactSignature = 4,
  kDns = 5,
  kNothing = 6,
};

struct Attribution {
  PathKind kind = PathKind::kUnknown;
  int path = -1;          // index into AnalysisConfig::paths, for direct/smarthost
  std::string provider;   // catalog id for smarthost/undeclared, else empty
  Rule rule = Rule::kNothing;
  std::string evidence;   // what matched: "ip 192.0.2.7 in 192.0.2.0/28", "dkim d=sendgrid.info"

  // A stable key for storage and rollups: "path:<name>", "undeclared:<id>",
  // "forwarder", "unknown".
  std::string Key(const AnalysisConfig& config) const;
};

// What DNS said about one source IP (rule 5), prepared off the ingest path.
struct IpDnsEvidence {
  std::vector<std::string> confirmed_ptrs;  // forward-confirmed PTR names
  std::vector<int> spf_paths;               // declared paths whose include authorises the IP
};

class Attributor {
 public:
  // REQUIRES: config and catalog outlive the Attributor.
  Attributor(const AnalysisConfig& config, const Catalog& catalog);

  // `dns` is null when DNS is off or has nothing on this IP.
  Attribution Attribute(const model::Record& record, const AlignmentOutcome& alignment,
                        const IpDnsEvidence* dns) const;

  // The declared path naming provider `id` (directly, or through a
  // provider that runs on it: a Resend path claims amazon-ses evidence), or -1.
  int PathForProvider(std::string_view id) const;

 private:
  Attribution ForProvider(const Provider& provider, Rule rule, std::string evidence) const;

  const AnalysisConfig& config_;
  const Catalog& catalog_;
};

}  // namespace dmarcwatch::analysis
