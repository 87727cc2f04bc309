#pragma once
// Diagnosis: from what the rollups say about each path of a domain to
// findings — a stable code, a severity, the messages and sources affected,
// the evidence (IPs, identifiers, DKIM d= and selector, envelope domain),
// and advice in plain words naming the DNS record or provider setting to
// change. docs/findings.md lists every code.
//
// Pure: the caller passes the rollups, the domain's published policy and
// (with DNS on) its SPF expansion. No I/O, no clock, no logging.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dmarcwatch/analysis/attribution.h"
#include "dmarcwatch/analysis/catalog.h"
#include "dmarcwatch/analysis/spf.h"
#include "dmarcwatch/model/analysis.h"

namespace dmarcwatch::analysis {

enum class Severity : std::uint8_t { kCritical, kWarning, kInfo };
const char* ToString(Severity severity);  // "critical", "warning", "info"

struct Evidence {
  std::vector<std::string> ips;               // most messages first, at most 10
  std::vector<std::string> header_from;       // at most 5
  std::vector<std::string> envelope_domains;  // at most 5
  std::vector<std::string> dkim;              // "d=sendgrid.info s=smtpapi pass", at most 5
  std::vector<std::string> spf;               // "sendgrid.net pass", at most 5
  std::vector<std::string> notes;             // anything else ("include:sendgrid.net")
};

struct Finding {
  std::string code;       // stable: "dkim_provider_domain", "direct_ip_spf_fail", ...
  Severity severity = Severity::kInfo;
  std::string path_key;   // "" for findings about the domain as a whole
  std::string title;      // one line
  std::uint64_t messages = 0;  // messages affected
  std::uint64_t sources = 0;   // distinct source IPs affected
  std::string advice;     // what to change, naming the record or setting
  Evidence evidence;
};

// Most severe first, then most messages.
bool MoreImportant(const Finding& a, const Finding& b);

struct DomainContext {
  std::string domain;                            // the policy domain
  std::optional<model::PolicyPublished> policy;  // as the newest report says
  // DNS on: the domain's published SPF, and that of each declared path's
  // return-path domains, keyed by domain. Empty when DNS is off.
  std::vector<SpfExpansion> spf;
  bool dns_checked = false;
};

class Diagnoser {
 public:
  // REQUIRES: config and catalog outlive the Diagnoser.
  Diagnoser(const AnalysisConfig& config, const Catalog& catalog);

  // Findings for one path, from its totals and its source groups (those of
  // `sources` whose path_key is the path's; others are ignored).
  std::vector<Finding> DiagnosePath(const model::PathTotals& path,
                                    const std::vector<model::SourceCounts>& sources,
                                    const DomainContext& domain) const;

  // Findings about the domain as a whole: its SPF record against the
  // declared paths, reporter disagreement, readiness for a stricter policy.
  std::vector<Finding> DiagnoseDomain(const std::vector<model::PathTotals>& paths,
                                      const DomainContext& domain) const;

 private:
  const DeclaredPath* Declared(const model::PathRef& path) const;

  const AnalysisConfig& config_;
  const Catalog& catalog_;
};

}  // namespace dmarcwatch::analysis
