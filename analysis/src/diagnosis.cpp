#include "dmarcwatch/analysis/diagnosis.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>

#include "dmarcwatch/model/text.h"

namespace dmarcwatch::analysis {
namespace {

using model::DkimResult;
using model::SpfResult;

std::string N(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string Plural(std::uint64_t n, const char* one, const char* many) {
  return N(n) + " " + (n == 1 ? one : many);
}

// Collects the groups behind one finding, and their evidence.
class Accumulator {
 public:
  // `ips`: the distinct source addresses of the path being diagnosed,
  // which Add names by index.
  explicit Accumulator(const std::vector<model::IpAddress>& ips) : ips_(ips) {}

  void Add(const model::SourceCounts& g, std::uint32_t ip, std::uint64_t messages,
           std::uint64_t failing) {
    messages_ += messages;
    failing_ += failing;
    // The path's addresses are still being named: grow with them.
    if (ip >= ip_messages_.size()) ip_messages_.resize(ips_.size(), kUnseen);
    std::uint64_t& sum = ip_messages_[ip];
    if (sum == kUnseen) {
      sum = 0;
      ++sources_;
    }
    sum = std::min(model::SaturatingAdd(sum, messages), kUnseen - 1);
    std::uint64_t& by_signature = signature_messages_[g.signature.get()];
    by_signature = model::SaturatingAdd(by_signature, messages);
  }
  bool empty() const { return messages_ == 0; }
  std::uint64_t messages() const { return messages_; }
  std::uint64_t failing() const { return failing_; }
  std::uint64_t sources() const { return sources_; }
  // The `max` addresses of most messages, ties in text order. Only the
  // addresses that can make the list are formatted.
  std::vector<std::string> Ips(std::size_t max = 10) const {
    std::vector<std::pair<std::uint64_t, std::uint32_t>> seen;  // messages, index
    for (std::uint32_t i = 0; i < ip_messages_.size(); ++i) {
      if (ip_messages_[i] != kUnseen) seen.emplace_back(ip_messages_[i], i);
    }
    if (seen.size() > max && max > 0) {
      const auto more = [](const auto& a, const auto& b) { return a.first > b.first; };
      std::nth_element(seen.begin(), seen.begin() + static_cast<std::ptrdiff_t>(max - 1),
                       seen.end(), more);
      const std::uint64_t least = seen[max - 1].first;
      std::erase_if(seen, [&](const auto& x) { return x.first < least; });
    }
    std::vector<std::pair<std::uint64_t, std::string>> listed;
    for (const auto& [n, i] : seen) listed.emplace_back(n, ips_[i].ToString());
    std::sort(listed.begin(), listed.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    std::vector<std::string> out;
    for (std::size_t k = 0; k < listed.size() && k < max; ++k) out.push_back(listed[k].second);
    return out;
  }
  std::vector<std::string> Dkim() const { return Top(Texts().dkim, 5); }
  std::vector<std::string> Envelopes() const { return Top(Texts().envelopes, 5); }

  Evidence MakeEvidence() const {
    const Tallies t = Texts();
    Evidence e;
    e.ips = Ips();
    e.header_from = Top(t.header_from, 5);
    e.envelope_domains = Top(t.envelopes, 5);
    e.dkim = Top(t.dkim, 5);
    e.spf = Top(t.spf, 5);
    return e;
  }

 private:
  // Hash maps: a large period adds tens of thousands of groups, and the
  // order is only needed for the few listed at the end (Top).
  using Tally = std::unordered_map<std::string, std::uint64_t>;
  struct Tallies {
    Tally header_from, envelopes, dkim, spf;
  };
  static void Count(Tally& t, const std::string& key, std::uint64_t n) {
    std::uint64_t& sum = t[key];
    sum = model::SaturatingAdd(sum, n);
  }
  // The messages of each signature under each text it shows: the groups
  // of a period share a few hundred signatures, so the texts are built
  // once per signature, not once per group.
  Tallies Texts() const {
    Tallies t;
    for (const auto& [signature, messages] : signature_messages_) {
      Count(t.header_from, signature->header_from, messages);
      if (signature->envelope_from) Count(t.envelopes, *signature->envelope_from, messages);
      for (const auto& d : signature->dkim) {
        std::string text = "d=" + (d.domain.empty() ? std::string("(none)") : d.domain);
        if (d.selector) text += " s=" + *d.selector;
        text += std::string(" ") + model::ToString(d.result);
        Count(t.dkim, text, messages);
      }
      for (const auto& s : signature->spf) {
        std::string text = (s.domain.empty() ? std::string("(none)") : s.domain) + " " +
                           model::ToString(s.result);
        if (s.scope == model::SpfScope::kHelo) text += " (helo)";
        Count(t.spf, text, messages);
      }
    }
    return t;
  }
  // The `max` largest, ties in text order.
  static std::vector<std::string> Top(const Tally& t, std::size_t max) {
    std::vector<std::pair<std::string, std::uint64_t>> v(t.begin(), t.end());
    const auto before = [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    };
    const std::size_t n = std::min(max, v.size());
    std::partial_sort(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n), v.end(), before);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(v[i].first);
    return out;
  }

  // Sums are kept below kUnseen, which marks an address not added.
  static constexpr std::uint64_t kUnseen = std::numeric_limits<std::uint64_t>::max();

  const std::vector<model::IpAddress>& ips_;
  std::uint64_t messages_ = 0;
  std::uint64_t failing_ = 0;
  std::uint64_t sources_ = 0;
  // Per address index: a large period adds tens of thousands of groups to
  // several accumulators, and a vector indexed once per group is cheaper
  // than a hash map each.
  std::vector<std::uint64_t> ip_messages_;
  std::unordered_map<const model::AuthSignature*, std::uint64_t> signature_messages_;
};

// True when `d` is the policy domain or under it: what relaxed alignment
// with it means for this view.
bool Ours(std::string_view d, const std::string& domain) {
  return !d.empty() && DomainMatches(d, domain);
}

std::string PolicyWord(const DomainContext& ctx) {
  return ctx.policy ? model::ToString(ctx.policy->p) : "unknown";
}

std::string IpMechanisms(const std::vector<std::string>& ips) {
  std::string out;
  for (const std::string& ip : ips) {
    if (!out.empty()) out += " ";
    out += (ip.find(':') == std::string::npos ? "ip4:" : "ip6:") + ip;
  }
  return out;
}

Finding Make(std::string code, Severity severity, const std::string& path_key, std::string title,
             const Accumulator& acc, std::string advice) {
  Finding f;
  f.code = std::move(code);
  f.severity = severity;
  f.path_key = path_key;
  f.title = std::move(title);
  f.messages = acc.messages();
  f.sources = acc.sources();
  f.advice = std::move(advice);
  f.evidence = acc.MakeEvidence();
  return f;
}

const SpfExpansion* FindSpf(const DomainContext& ctx, std::string_view domain) {
  for (const SpfExpansion& e : ctx.spf) {
    if (model::EqualsIgnoreCase(e.domain, domain)) return &e;
  }
  return nullptr;
}

}  // namespace

const char* ToString(Severity s) {
  switch (s) {
    case Severity::kCritical: return "critical";
    case Severity::kWarning: return "warning";
    case Severity::kInfo: break;
  }
  return "info";
}

bool MoreImportant(const Finding& a, const Finding& b) {
  if (a.severity != b.severity) return a.severity < b.severity;
  if (a.messages != b.messages) return a.messages > b.messages;
  return a.code < b.code;
}

Diagnoser::Diagnoser(const AnalysisConfig& config, const Catalog& catalog)
    : config_(config), catalog_(catalog) {}

const DeclaredPath* Diagnoser::Declared(const model::PathRef& path) const {
  if (path.kind != model::PathKind::kDirect && path.kind != model::PathKind::kSmarthost) {
    return nullptr;
  }
  for (const DeclaredPath& p : config_.paths) {
    if (p.name == path.name) return &p;
  }
  return nullptr;
}

std::vector<Finding> Diagnoser::DiagnosePath(const model::PathTotals& path,
                                             const std::vector<model::SourceCounts>& sources,
                                             const DomainContext& ctx) const {
  std::vector<Finding> out;
  const std::string& key = path.path.key;
  const std::string& domain = ctx.domain;
  const DeclaredPath* declared = Declared(path.path);
  const Provider* provider = catalog_.ById(path.path.provider);
  const std::string label =
      declared != nullptr ? declared->name
                          : (provider != nullptr ? provider->name : std::string(model::ToString(
                                                                        path.path.kind)));

  // The path's distinct source addresses, each named by an index once.
  std::vector<model::IpAddress> ips;
  std::unordered_map<model::IpAddress, std::uint32_t> ip_index;
  Accumulator provider_dkim(ips), dkim_failing(ips), dkim_missing(ips), return_path(ips),
      spf_fail(ips), other_fail(ips), all_failing(ips), unknown_fail(ips), unknown_pass(ips),
      everything(ips);
  for (const model::SourceCounts& g : sources) {
    if (g.path_key != key) continue;
    auto [at, added] = ip_index.emplace(g.ip, static_cast<std::uint32_t>(ips.size()));
    if (added) ips.push_back(g.ip);
    const std::uint32_t ip = at->second;
    const model::Counts& c = g.counts;
    const std::uint64_t failing = c.messages - std::min(c.dmarc_pass, c.messages);
    const std::uint64_t no_dkim = c.messages - std::min(c.dkim_aligned, c.messages);
    const std::uint64_t no_spf = c.messages - std::min(c.spf_aligned, c.messages);
    everything.Add(g, ip, c.messages, failing);
    if (failing > 0) all_failing.Add(g, ip, failing, failing);

    bool explained = false;
    if (no_dkim > 0) {
      bool foreign_signature = false;  // a signature, but for someone else's domain
      bool ours_failing = false;       // a signature for our domain that did not verify
      for (const auto& d : g.signature->dkim) {
        if (Ours(d.domain, domain)) {
          if (d.result != DkimResult::kPass && d.result != DkimResult::kNone) ours_failing = true;
        } else if (!d.domain.empty() && d.result == DkimResult::kPass) {
          foreign_signature = true;
        }
      }
      if (ours_failing) {
        dkim_failing.Add(g, ip, no_dkim, failing);
        explained = true;
      } else if (foreign_signature && path.path.kind != model::PathKind::kForwarder) {
        provider_dkim.Add(g, ip, no_dkim, failing);
        explained = true;
      } else if (declared != nullptr) {
        dkim_missing.Add(g, ip, no_dkim, failing);
        explained = true;
      }
    }
    if (no_spf > 0) {
      bool foreign_pass = false, ours_not_pass = false;
      for (const auto& s : g.signature->spf) {
        if (s.scope == model::SpfScope::kHelo) continue;
        const std::string_view d =
            !s.domain.empty() ? std::string_view(s.domain)
                              : std::string_view(g.signature->envelope_from.value_or(""));
        if (Ours(d, domain)) {
          if (s.result != SpfResult::kPass) ours_not_pass = true;
        } else if (!d.empty() && s.result == SpfResult::kPass) {
          foreign_pass = true;
        }
      }
      if (g.signature->spf.empty() && g.signature->envelope_from &&
          Ours(*g.signature->envelope_from, domain)) {
        ours_not_pass = true;
      }
      if (ours_not_pass) {
        spf_fail.Add(g, ip, no_spf, failing);
        explained = true;
      } else if (foreign_pass && path.path.kind == model::PathKind::kSmarthost) {
        return_path.Add(g, ip, no_spf, failing);
        explained = true;
      }
    }
    if (path.path.kind == model::PathKind::kUnknown) {
      if (failing > 0) unknown_fail.Add(g, ip, failing, failing);
      if (c.dmarc_pass > 0) unknown_pass.Add(g, ip, c.dmarc_pass, 0);
    } else if (!explained && failing > 0) {
      other_fail.Add(g, ip, failing, failing);
    }
  }

  const auto severity_for = [](const Accumulator& a) {
    return a.failing() > 0 ? Severity::kCritical : Severity::kWarning;
  };

  switch (path.path.kind) {
    case model::PathKind::kSmarthost:
    case model::PathKind::kDirect: {
      const bool smarthost = path.path.kind == model::PathKind::kSmarthost;
      if (!provider_dkim.empty()) {
        const std::vector<std::string> seen = provider_dkim.Dkim();
        std::string advice;
        if (smarthost && provider != nullptr && !provider->dkim_setup.empty()) {
          advice = "Set up DKIM for " + domain + " in " + provider->name + " so that it signs with d=" +
                   domain + ": " + provider->dkim_setup;
        } else {
          advice = "Sign mail on " + label + " with a DKIM key for " + domain +
                   ": publish its public key as TXT at <selector>._domainkey." + domain +
                   " and configure the signer with d=" + domain + ".";
        }
        out.push_back(Make("dkim_provider_domain", severity_for(provider_dkim), key,
                           label + " signs with " +
                               (seen.empty() ? std::string("another domain") : seen.front()) +
                               ", not with " + domain,
                           provider_dkim, advice));
      }
      if (!dkim_failing.empty()) {
        std::string where;
        for (const std::string& d : dkim_failing.Dkim()) {
          if (d.find(" s=") == std::string::npos) continue;
          const std::string sel = d.substr(d.find(" s=") + 3, d.rfind(' ') - d.find(" s=") - 3);
          const std::string dom = d.substr(2, d.find(' ') - 2);
          where = sel + "._domainkey." + dom;
          break;
        }
        out.push_back(Make(
            "dkim_failing", severity_for(dkim_failing), key,
            "DKIM signatures for " + domain + " from " + label + " do not verify", dkim_failing,
            "Check that the public key published at " +
                (where.empty() ? "<selector>._domainkey." + domain : where) +
                " matches the private key " + label +
                " signs with (a rotated key or a truncated TXT record are the usual causes), and "
                "that nothing modifies messages after signing."));
      }
      if (!dkim_missing.empty()) {
        out.push_back(Make(
            "dkim_missing", severity_for(dkim_missing), key,
            label + " sends mail without a DKIM signature for " + domain, dkim_missing,
            smarthost && provider != nullptr && !provider->dkim_setup.empty()
                ? "Set up DKIM for " + domain + " in " + provider->name + ": " + provider->dkim_setup
                : "Sign outbound mail on " + label + " with DKIM, d=" + domain +
                      ", and publish the public key as TXT at <selector>._domainkey." + domain +
                      ". Without it, forwarded mail from this path fails DMARC."));
      }
      if (!spf_fail.empty()) {
        const std::vector<std::string> envs = spf_fail.Envelopes();
        const std::string env = envs.empty() ? domain : envs.front();
        std::string advice;
        if (smarthost && provider != nullptr && !provider->spf_includes.empty()) {
          advice = "Add include:" + provider->spf_includes.front() + " to the SPF record (TXT) of " +
                   env + ", which " + provider->name + " uses as its return-path.";
        } else {
          advice = "Add " + IpMechanisms(spf_fail.Ips()) + " to the SPF record (TXT) of " + env +
                   ", before its all mechanism, e.g. \"v=spf1 " + IpMechanisms(spf_fail.Ips()) +
                   " ... -all\".";
        }
        out.push_back(Make(smarthost ? "spf_not_authorised" : "direct_ip_spf_fail",
                           severity_for(spf_fail), key,
                           smarthost ? "SPF of " + env + " does not authorise " + label
                                     : "Mail from " + Plural(spf_fail.sources(), "IP", "IPs") +
                                           " of " + label + " fails SPF for " + env,
                           spf_fail, advice));
      }
      if (!return_path.empty()) {
        const bool dkim_carries = return_path.failing() == 0;
        const bool dkim_only = provider != nullptr && (provider->custom_return_path ==
                                                           CustomReturnPath::kNo ||
                                                       provider->custom_return_path ==
                                                           CustomReturnPath::kNotApplicable);
        if (!(dkim_only && dkim_carries)) {
          const std::vector<std::string> envs = return_path.Envelopes();
          std::string advice;
          if (provider != nullptr && !provider->return_path_setup.empty() && !dkim_only) {
            advice = "Set a custom return-path (MAIL FROM) under " + domain + " in " +
                     provider->name + ": " + provider->return_path_setup;
          } else if (dkim_only) {
            advice = provider->name +
                     " cannot use your domain as its return-path, so SPF never aligns: make "
                     "sure its DKIM signs with d=" + domain + ".";
          } else {
            advice = "Use an envelope sender (MAIL FROM) under " + domain + " on " + label +
                     " and authorise it in that domain's SPF record.";
          }
          if (declared != nullptr && declared->return_path_domains.empty() && !dkim_only) {
            advice += " Then add it to return_path_domains of this path in the configuration.";
          }
          if (dkim_carries) {
            advice += " DMARC passes on DKIM alone today; an aligned return-path keeps it "
                      "passing if DKIM breaks.";
          }
          out.push_back(Make("return_path_not_aligned",
                             dkim_carries ? Severity::kInfo : Severity::kCritical, key,
                             label + " uses " +
                                 (envs.empty() ? std::string("another domain") : envs.front()) +
                                 " as return-path, not a domain under " + domain,
                             return_path, advice));
        }
      }
      if (!other_fail.empty()) {
        out.push_back(Make("dmarc_failing", Severity::kCritical, key,
                           Plural(other_fail.messages(), "message", "messages") + " from " +
                               label + " failed DMARC",
                           other_fail,
                           "Compare the evidence with what " + label +
                               " should send: DKIM d=" + domain + " passing, or an SPF pass for "
                               "an envelope under " + domain + "."));
      }
      if (!all_failing.empty() && ctx.policy) {
        const model::Disposition p = ctx.policy->p;
        std::string now = "With p=" + PolicyWord(ctx) + " ";
        now += p == model::Disposition::kNone ? "they are delivered today"
                                              : (p == model::Disposition::kQuarantine
                                                     ? "they go to spam today"
                                                     : "they are refused today");
        out.push_back(Make(
            "policy_readiness",
            p == model::Disposition::kNone ? Severity::kWarning : Severity::kCritical, key,
            Plural(all_failing.messages(), "legitimate message", "legitimate messages") +
                " from " + label + " fail DMARC",
            all_failing,
            now + "; under p=quarantine they would go to spam, under p=reject they would be "
                  "refused. Fix the findings above for " + label +
                  " before making the policy of " + domain + " stricter."));
      }
      break;
    }
    case model::PathKind::kUndeclared: {
      const std::string name = provider != nullptr ? provider->name : path.path.provider;
      std::string advice = "If your organisation uses " + name +
                           ", declare it so its mail is checked against what you set up:\n"
                           "  [[paths]]\n  name = \"" + name + "\"\n  provider = \"" +
                           path.path.provider + "\"\n  dkim_domains = [\"" + domain + "\"]";
      const std::vector<std::string> envs = everything.Envelopes();
      for (const std::string& e : envs) {
        if (Ours(e, domain)) {
          advice += "\n  return_path_domains = [\"" + e + "\"]";
          break;
        }
      }
      if (provider != nullptr && !provider->dkim_setup.empty()) {
        advice += "\nand set it up: " + provider->dkim_setup;
      }
      advice += "\nIf nobody uses " + name + ", an account there sends as " + domain +
                ": report it to " + name + " with the evidence" +
                (everything.failing() > 0 ? ", and p=reject will stop what fails DMARC." : ".");
      out.push_back(Make("undeclared_provider",
                         everything.failing() > 0 ? Severity::kCritical : Severity::kWarning, key,
                         name + " sends as " + domain + " but is not a declared path", everything,
                         advice));
      break;
    }
    case model::PathKind::kForwarder: {
      if (!everything.empty()) {
        const std::uint64_t passing = everything.messages() - everything.failing();
        out.push_back(Make(
            "forwarded", Severity::kInfo, key,
            Plural(everything.messages(), "message was", "messages were") +
                " forwarded or sent through mailing lists; " + N(passing) +
                " still passed DMARC on an intact DKIM signature",
            everything,
            "Nothing to fix on your side: forwarding breaks SPF. Keep DKIM signing on every path "
            "so forwarded mail keeps passing; list operators can add ARC or rewrite the From."));
      }
      break;
    }
    case model::PathKind::kUnknown: {
      if (!unknown_fail.empty()) {
        const model::Disposition p =
            ctx.policy ? ctx.policy->p : model::Disposition::kUnknown;
        std::string advice;
        Severity severity = Severity::kCritical;
        if (p == model::Disposition::kReject) {
          severity = Severity::kInfo;
          advice = "p=reject refuses these at the receivers that enforce DMARC: nothing to fix.";
        } else {
          severity = p == model::Disposition::kQuarantine ? Severity::kWarning : Severity::kCritical;
          advice = std::string("They are spoofing candidates. With p=") + PolicyWord(ctx) +
                   (p == model::Disposition::kQuarantine ? " they go to spam"
                                                         : " they were delivered") +
                   ". Once every declared path passes DMARC, publish a stricter policy: "
                   "_dmarc." + domain + " TXT \"v=DMARC1; p=" +
                   (p == model::Disposition::kQuarantine ? "reject" : "quarantine") +
                   "; rua=mailto:...\"" +
                   (p == model::Disposition::kQuarantine ? "." : ", then p=reject.");
        }
        out.push_back(Make("unknown_failing", severity, key,
                           Plural(unknown_fail.messages(), "message", "messages") + " from " +
                               Plural(unknown_fail.sources(), "unknown source", "unknown sources") +
                               " failed DMARC as " + domain,
                           unknown_fail, advice));
      }
      if (!unknown_pass.empty()) {
        out.push_back(Make(
            "unknown_passing", Severity::kWarning, key,
            Plural(unknown_pass.messages(), "message", "messages") + " from " +
                Plural(unknown_pass.sources(), "source", "sources") +
                " passed DMARC but match no declared path",
            unknown_pass,
            "These senders hold a valid DKIM key or SPF authorisation for " + domain +
                ": find out who runs the IPs in the evidence, then declare the path "
                "([[paths]] with kind = \"direct\" and their ips, or a smarthost with its "
                "provider). If nobody should, remove what authorises them."));
      }
      break;
    }
  }
  std::sort(out.begin(), out.end(), MoreImportant);
  return out;
}

std::vector<Finding> Diagnoser::DiagnoseDomain(const std::vector<model::PathTotals>& paths,
                                               const DomainContext& ctx) const {
  std::vector<Finding> out;
  const std::string& domain = ctx.domain;

  std::uint64_t disagreements = 0, legit = 0, legit_failing = 0;
  std::vector<std::string> failing_paths;
  for (const model::PathTotals& p : paths) {
    disagreements = model::SaturatingAdd(disagreements, p.counts.disagreements);
    if (p.path.kind == model::PathKind::kDirect || p.path.kind == model::PathKind::kSmarthost) {
      legit += p.counts.messages;
      const std::uint64_t f = p.counts.messages - std::min(p.counts.dmarc_pass, p.counts.messages);
      legit_failing += f;
      if (f > 0) failing_paths.push_back(p.path.name);
    }
  }
  if (disagreements > 0) {
    Finding f;
    f.code = "reporter_disagreement";
    f.severity = Severity::kInfo;
    f.title = "Reporters' verdicts differ from the recomputed alignment for " +
              Plural(disagreements, "message", "messages");
    f.messages = disagreements;
    f.advice =
        "Nothing to change: a receiver evaluated differently (a local policy, an older "
        "public-suffix list, ARC). dmarcwatch counts its own recomputation.";
    out.push_back(std::move(f));
  }
  if (ctx.policy && legit > 0) {
    const model::Disposition p = ctx.policy->p;
    Finding f;
    f.code = "policy_readiness";
    f.messages = legit_failing;
    if (legit_failing == 0) {
      f.severity = Severity::kInfo;
      f.title = "Every declared path of " + domain + " passes DMARC";
      f.advice = p == model::Disposition::kReject
                     ? "p=reject is in place."
                     : std::string("Nothing legitimate would be lost under a stricter policy: "
                                   "publish _dmarc.") +
                           domain + " TXT \"v=DMARC1; p=" +
                           (p == model::Disposition::kNone ? "quarantine" : "reject") +
                           "; rua=mailto:...\" and watch the next reports.";
    } else {
      f.severity = p == model::Disposition::kNone ? Severity::kWarning : Severity::kCritical;
      std::string names;
      for (const std::string& n : failing_paths) names += (names.empty() ? "" : ", ") + n;
      f.title = Plural(legit_failing, "legitimate message", "legitimate messages") + " of " +
                domain + " fail DMARC (" + names + ")";
      f.advice = "Under p=quarantine they would go to spam, under p=reject they would be "
                 "refused. Fix those paths before making the policy stricter (p=" +
                 PolicyWord(ctx) + " today).";
      f.evidence.notes = failing_paths;
    }
    out.push_back(std::move(f));
  }

  if (ctx.dns_checked) {
    const SpfExpansion* root = FindSpf(ctx, domain);
    if (root == nullptr || !root->found) {
      Finding f;
      f.code = "spf_missing";
      f.severity = Severity::kCritical;
      f.title = domain + " publishes no valid SPF record";
      f.advice = "Publish one TXT record at " + domain +
                 " starting with \"v=spf1\" that lists your direct IPs and your providers' "
                 "includes, ending in -all or ~all.";
      if (root != nullptr) f.evidence.notes = root->problems;
      out.push_back(std::move(f));
    } else if (root->over_limit) {
      Finding f;
      f.code = "spf_too_many_lookups";
      f.severity = Severity::kCritical;
      f.title = "The SPF record of " + domain + " needs " + std::to_string(root->lookups) +
                " DNS lookups; the limit is 10";
      f.advice = "Receivers answer permerror and SPF fails for all mail (RFC 7208 §4.6.4). "
                 "Remove includes you no longer use, or replace an include by the ip4:/ip6: "
                 "ranges it lists.";
      f.evidence.notes = root->includes;
      out.push_back(std::move(f));
    }
    for (const DeclaredPath& p : config_.paths) {
      // SPF is checked where the path's envelope lives: its return-path
      // domains, or the domain itself.
      std::vector<std::string> where = p.return_path_domains;
      if (where.empty()) where.push_back(domain);
      for (const std::string& d : where) {
        if (!DomainMatches(d, domain)) continue;
        const SpfExpansion* spf = FindSpf(ctx, d);
        if (spf == nullptr || !spf->found) {
          if (d == domain) continue;  // reported above
          Finding f;
          f.code = "spf_include_missing";
          f.severity = Severity::kWarning;
          f.path_key = "path:" + p.name;
          f.title = "The return-path domain " + d + " of " + p.name + " has no SPF record";
          const Provider* prov = catalog_.ById(p.provider);
          f.advice = "Publish TXT \"v=spf1 " +
                     (prov != nullptr && !prov->spf_includes.empty()
                          ? "include:" + prov->spf_includes.front()
                          : std::string("...")) +
                     " -all\" at " + d + ".";
          out.push_back(std::move(f));
          continue;
        }
        if (p.kind == model::PathKind::kDirect) {
          std::vector<std::string> missing;
          for (const model::IpNetwork& net : p.ips) {
            // The whole block must be authorised, not just its first address.
            if (spf->Authorizing(net.address()) == nullptr ||
                spf->Authorizing(net.last()) == nullptr) {
              missing.push_back(net.ToString());
            }
          }
          if (!missing.empty()) {
            Finding f;
            f.code = "spf_ip_missing";
            f.severity = Severity::kWarning;
            f.path_key = "path:" + p.name;
            f.title = "The SPF record of " + d + " does not authorise " + p.name + " (" +
                      missing.front() + (missing.size() > 1 ? ", ..." : "") + ")";
            std::string mech;
            for (const std::string& m : missing) {
              mech += (mech.empty() ? "" : " ") + std::string(m.find(':') == std::string::npos
                                                                  ? "ip4:"
                                                                  : "ip6:") + m;
            }
            f.advice = "Add " + mech + " to the SPF record (TXT) of " + d + ".";
            f.evidence.ips = missing;
            out.push_back(std::move(f));
          }
          continue;
        }
        const Provider* prov = catalog_.ById(p.provider);
        if (prov == nullptr || prov->spf_includes.empty()) continue;
        bool included = false;
        for (const std::string& inc : prov->spf_includes) {
          for (const std::string& reached : spf->includes) {
            if (DomainMatches(reached, inc)) included = true;
          }
        }
        // Without a custom return-path the provider's own domain carries
        // SPF, and the customer's record needs no include.
        const bool needs_include = !p.return_path_domains.empty() ||
                                   prov->custom_return_path == CustomReturnPath::kNotApplicable;
        if (!included && needs_include) {
          Finding f;
          f.code = "spf_include_missing";
          f.severity = Severity::kWarning;
          f.path_key = "path:" + p.name;
          f.title = "The SPF record of " + d + " does not include " + prov->spf_includes.front() +
                    " for " + p.name;
          f.advice = "Add include:" + prov->spf_includes.front() + " to the SPF record (TXT) of " +
                     d + ".";
          f.evidence.notes = spf->includes;
          out.push_back(std::move(f));
        }
      }
    }
  }
  std::sort(out.begin(), out.end(), MoreImportant);
  return out;
}

}  // namespace dmarcwatch::analysis
