#pragma once
// DMARC identifier alignment (RFC 7489 §3.1), recomputed from a report row's
// identifiers and auth_results and the published adkim/aspf, rather than
// copied from the reporter's policy_evaluated (which is kept, and compared).
//
//   spf_aligned  an SPF result "pass" with scope mfrom (or no scope given),
//                for a domain aligned with header_from;
//   dkim_aligned a DKIM result "pass" for a domain aligned with header_from;
//   dmarc_pass   either of them.
// Relaxed alignment: the two domains have the same organisational domain
// (the registrable domain by the Public Suffix List, RFC 7489 §3.2). Strict:
// they are equal.
//
// OrgDomains answers "organisational domain of X" from libpsl with the list
// Debian's `publicsuffix` package installs (or libpsl's built-in copy,
// whichever is newer). It memoises answers; not thread-safe: use one per
// thread.

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "dmarcwatch/model/report.h"
#include "dmarcwatch/model/status.h"

namespace dmarcwatch::analysis {

class OrgDomains {
 public:
  // kUnavailable when no Public Suffix List can be loaded.
  static Result<OrgDomains> Create();
  OrgDomains(OrgDomains&&) noexcept;
  OrgDomains& operator=(OrgDomains&&) noexcept;
  ~OrgDomains();

  // The organisational domain of `domain` (lower-case, no trailing dot):
  // "mail.example.co.uk" -> "example.co.uk". A public suffix, or a name the
  // list cannot place, is its own organisational domain.
  const std::string& Of(std::string_view domain);
  // RFC 7489 §3.1: strict = equal; relaxed = same organisational domain.
  // Empty domains never align.
  bool Aligned(std::string_view a, std::string_view b, model::Alignment mode);

 private:
  struct Psl;
  OrgDomains() = default;
  std::unique_ptr<Psl> psl_;
  std::unordered_map<std::string, std::string> memo_;
};

struct AlignmentOutcome {
  bool spf_aligned = false;
  bool dkim_aligned = false;
  bool dmarc_pass = false;
  // The reporter's policy_evaluated dkim/spf say otherwise (only counted
  // where the reporter said pass or fail).
  bool reporter_disagrees = false;
  // Index into auth_results.dkim of the aligned passing signature, or -1.
  int aligned_dkim = -1;
  // Index into auth_results.spf of the passing mfrom result, aligned or
  // not, or -1.
  int spf_pass = -1;
};

// The domain an SPF result was evaluated for: its <domain>, or the
// envelope_from when the reporter left that empty.
std::string_view SpfDomain(const model::Record& record, const model::SpfAuthResult& spf);

AlignmentOutcome Align(const model::Record& record, const model::PolicyPublished& policy,
                       OrgDomains& org);

}  // namespace dmarcwatch::analysis
