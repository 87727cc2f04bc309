#include "dmarcwatch/analysis/alignment.h"

#include <libpsl.h>

#include "dmarcwatch/model/text.h"

namespace dmarcwatch::analysis {

struct OrgDomains::Psl {
  psl_ctx_t* ctx = nullptr;
  bool owned = false;
  ~Psl() {
    if (owned) psl_free(ctx);
  }
};

Result<OrgDomains> OrgDomains::Create() {
  OrgDomains org;
  org.psl_ = std::make_unique<Psl>();
  // The newer of libpsl's built-in list and the distribution's
  // (/usr/share/publicsuffix, from Debian's `publicsuffix` package).
  org.psl_->ctx = psl_latest(nullptr);
  org.psl_->owned = org.psl_->ctx != nullptr;
  if (org.psl_->ctx == nullptr) {
    org.psl_->ctx = const_cast<psl_ctx_t*>(psl_builtin());
    org.psl_->owned = false;
  }
  if (org.psl_->ctx == nullptr) {
    return Status::Unavailable("psl_unavailable",
                               "no Public Suffix List could be loaded (install publicsuffix)");
  }
  return org;
}

OrgDomains::OrgDomains(OrgDomains&&) noexcept = default;
OrgDomains& OrgDomains::operator=(OrgDomains&&) noexcept = default;
OrgDomains::~OrgDomains() = default;

const std::string& OrgDomains::Of(std::string_view domain) {
  auto it = memo_.find(std::string(domain));
  if (it != memo_.end()) return it->second;
  // Bounded: report domains repeat heavily, but an attacker can send many
  // distinct ones.
  if (memo_.size() > 100000) memo_.clear();
  std::string key(domain);
  std::string lower = model::AsciiLower(domain);
  if (!lower.empty() && lower.back() == '.') lower.pop_back();
  const char* registrable = psl_registrable_domain(psl_->ctx, lower.c_str());
  std::string org = registrable != nullptr ? std::string(registrable) : lower;
  return memo_.emplace(std::move(key), std::move(org)).first->second;
}

bool OrgDomains::Aligned(std::string_view a, std::string_view b, model::Alignment mode) {
  if (a.empty() || b.empty()) return false;
  if (model::EqualsIgnoreCase(a, b)) return true;
  if (mode == model::Alignment::kStrict) return false;
  const std::string org_a = Of(a);
  return org_a == Of(b);
}

std::string_view SpfDomain(const model::Record& record, const model::SpfAuthResult& spf) {
  if (!spf.domain.empty()) return spf.domain;
  if (spf.scope != model::SpfScope::kHelo && record.identifiers.envelope_from) {
    return *record.identifiers.envelope_from;
  }
  return {};
}

AlignmentOutcome Align(const model::Record& record, const model::PolicyPublished& policy,
                       OrgDomains& org) {
  AlignmentOutcome out;
  const std::string& from = record.identifiers.header_from;
  const auto& dkim = record.auth_results.dkim;
  for (std::size_t i = 0; i < dkim.size(); ++i) {
    if (dkim[i].result != model::DkimResult::kPass) continue;
    if (org.Aligned(dkim[i].domain, from, policy.EffectiveAdkim())) {
      out.dkim_aligned = true;
      out.aligned_dkim = static_cast<int>(i);
      break;
    }
  }
  const auto& spf = record.auth_results.spf;
  for (std::size_t i = 0; i < spf.size(); ++i) {
    // RFC 7489 §3.1.2: DMARC uses the MAIL FROM identity; a HELO result
    // does not count (RFC 9990 §3: scope absent means mfrom).
    if (spf[i].result != model::SpfResult::kPass || spf[i].scope == model::SpfScope::kHelo ||
        spf[i].scope == model::SpfScope::kUnknown) {
      continue;
    }
    if (out.spf_pass < 0) out.spf_pass = static_cast<int>(i);
    if (org.Aligned(SpfDomain(record, spf[i]), from, policy.EffectiveAspf())) {
      out.spf_aligned = true;
      out.spf_pass = static_cast<int>(i);
      break;
    }
  }
  out.dmarc_pass = out.spf_aligned || out.dkim_aligned;

  const auto& pe = record.policy_evaluated;
  auto disagrees = [](model::DmarcResult said, bool computed) {
    return said != model::DmarcResult::kUnknown && (said == model::DmarcResult::kPass) != computed;
  };
  out.reporter_disagrees = disagrees(pe.dkim, out.dkim_aligned) || disagrees(pe.spf, out.spf_aligned);
  return out;
}

}  // namespace dmarcwatch::analysis
