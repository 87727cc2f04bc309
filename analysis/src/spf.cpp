// ExpandSpf: fetch an SPF record (RFC 7208) and flatten it into the
// networks it authorises, counting DNS lookups the way §4.6.4 does.
//
// Each record is handled in three steps: parse all its terms, resolve what
// they need in one batch (then the MX hosts' addresses in a second), and
// walk the terms in order, recursing into include and redirect targets.
// Lookups are therefore counted level by level; the total is the same as
// in a depth-first walk whenever the hard cap is not reached.
//
// What is deliberately not done: evaluating the record for a connecting IP
// (no check_host()), expanding macros (§7), resolving exists/ptr (their
// result depends on the connecting IP), and tracking "-"/"~"/"?" networks
// that precede a "+" one (Authorizing() reports the first "+" match).

#include "dmarcwatch/analysis/spf.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>
#include <utility>

#include "dmarcwatch/model/text.h"
#include "dns_name.h"

namespace dmarcwatch::analysis {
namespace {

// RFC 7208 §4.6.4: at most 10 terms that cause DNS lookups, at most 2 of
// them void. Past 10 a receiver returns permerror; we keep expanding up to
// kHardLookupCap so the admin sees how far over the record really is.
constexpr int kLookupLimit = 10;
constexpr int kVoidLookupLimit = 2;
constexpr int kHardLookupCap = 20;
// Records in one include/redirect chain, the queried domain's included. A
// chain of 10 nested includes is within the lookup limit and is followed;
// the 11th level is counted but not followed, since it is over the limit.
constexpr std::size_t kMaxDepth = 11;
// §4.6.4: an "mx" mechanism may look up the addresses of at most 10 hosts.
constexpr std::size_t kMaxMxHosts = 10;
constexpr std::size_t kMaxNetworks = 10000;
constexpr std::size_t kMaxProblems = 100;
// How much of a term or domain a problem line quotes.
constexpr std::size_t kQuoteBytes = 120;

enum class Qualifier { kPass, kFail, kSoftFail, kNeutral };

enum class Kind { kAll, kInclude, kA, kMx, kPtr, kIp4, kIp6, kExists, kRedirect };

struct Term {
  std::string text;  // as written, for problem lines
  Kind kind = Kind::kAll;
  Qualifier qualifier = Qualifier::kPass;
  std::string domain;  // target; empty means the domain of the record
  bool macro = false;  // the domain-spec holds a macro (§7), so it is not resolved
  std::optional<model::IpNetwork> network;  // ip4/ip6
  int cidr4 = 32;
  int cidr6 = 128;
};

struct ParsedRecord {
  std::vector<Term> mechanisms;  // in order, up to and including "all"
  std::optional<Term> redirect;  // only when there is no "all" (§6.1)
};

std::string Quote(std::string_view text) { return model::Printable(text, kQuoteBytes); }

bool IsLookupTerm(Kind kind) {
  return kind == Kind::kInclude || kind == Kind::kA || kind == Kind::kMx || kind == Kind::kPtr ||
         kind == Kind::kExists || kind == Kind::kRedirect;
}

bool IsSpfRecord(std::string_view txt) {
  // §4.5: "v=spf1" (case-insensitive) followed by a space or the end;
  // "v=spf10" is not SPF.
  return txt.size() >= 6 && model::EqualsIgnoreCase(txt.substr(0, 6), "v=spf1") &&
         (txt.size() == 6 || txt[6] == ' ');
}

bool IsVoid(DnsRcode rcode) { return rcode == DnsRcode::kNoData || rcode == DnsRcode::kNxDomain; }

bool IsFailure(DnsRcode rcode) {
  return rcode == DnsRcode::kTimeout || rcode == DnsRcode::kServFail || rcode == DnsRcode::kError;
}

// The outcome of looking for the SPF record among a name's TXT records.
struct Selection {
  enum class Kind { kOne, kNone, kSeveral, kLookupFailed } kind = Kind::kNone;
  std::string record;
};

Selection SelectSpfRecord(const DnsAnswer& answer) {
  Selection selection;
  if (IsFailure(answer.rcode)) {
    selection.kind = Selection::Kind::kLookupFailed;
    return selection;
  }
  int count = 0;
  for (const std::string& txt : answer.values) {
    if (!IsSpfRecord(txt)) continue;
    if (++count == 1) selection.record = txt;
  }
  if (count == 1) {
    selection.kind = Selection::Kind::kOne;
  } else {
    selection.kind = count == 0 ? Selection::Kind::kNone : Selection::Kind::kSeveral;
    selection.record.clear();
  }
  return selection;
}

// ip4-cidr-length / ip6-cidr-length of §5.6: decimal without leading zeros,
// at most `max`.
std::optional<int> ParseCidrLength(std::string_view digits, int max) {
  if (digits.empty() || digits.size() > 3) return std::nullopt;
  if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
  int value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  if (value < 0 || value > max) return std::nullopt;
  return value;
}

// dual-cidr-length of §5.6: "", "/24", "//64" or "/24//64".
bool ParseDualCidr(std::string_view text, int& cidr4, int& cidr6) {
  if (text.empty()) return true;
  if (text.substr(0, 2) == "//") {
    const auto v6 = ParseCidrLength(text.substr(2), 128);
    if (!v6) return false;
    cidr6 = *v6;
    return true;
  }
  if (text[0] != '/') return false;
  text.remove_prefix(1);
  const std::size_t slash = text.find('/');
  const auto v4 = ParseCidrLength(text.substr(0, slash), 32);
  if (!v4) return false;
  cidr4 = *v4;
  if (slash == std::string_view::npos) return true;
  const std::string_view rest = text.substr(slash);
  if (rest.substr(0, 2) != "//") return false;
  const auto v6 = ParseCidrLength(rest.substr(2), 128);
  if (!v6) return false;
  cidr6 = *v6;
  return true;
}

// The network of `prefix_length` bits holding `ip` (host bits cleared).
std::optional<model::IpNetwork> MaskedNetwork(const model::IpAddress& ip, int prefix_length) {
  std::array<std::uint8_t, 16> bytes = ip.bytes();
  const int max = ip.is_v4() ? 32 : 128;
  for (int bit = prefix_length; bit < max; ++bit) {
    bytes[static_cast<std::size_t>(bit / 8)] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(ip.is_v4() ? AF_INET : AF_INET6, bytes.data(), buf, sizeof(buf)) == nullptr) {
    return std::nullopt;
  }
  return model::IpNetwork::Parse(std::string(buf) + "/" + std::to_string(prefix_length));
}

bool IsModifierName(std::string_view name) {
  // §12: name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
  if (name.empty()) return false;
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(name[0])) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) {
    return alpha(c) || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

// Checks a domain-spec that holds no macro: something we can ask DNS about.
bool IsPlainDomain(std::string_view spec) {
  return spec.find('/') == std::string_view::npos && internal::NormalizeDnsName(spec).has_value();
}

// Parses one term. Returns nullopt for a term that contributes nothing (an
// ignored modifier, or an invalid term, which also adds a problem).
std::optional<Term> ParseTerm(std::string_view token, const std::string& domain,
                              std::vector<std::string>& problems) {
  Term term;
  term.text = std::string(token);
  const auto invalid = [&](std::string_view why) {
    problems.push_back(domain + ": " + std::string(why) + " \"" + Quote(term.text) + "\"");
    return std::nullopt;
  };

  // §4.6.1: a modifier is name=value; its '=' comes before any ':' or '/'.
  const std::size_t first = token.find_first_of(":/=");
  if (first != std::string_view::npos && token[first] == '=') {
    const std::string_view name = token.substr(0, first);
    const std::string_view value = token.substr(first + 1);
    if (!IsModifierName(name)) return invalid("unknown term");
    if (model::EqualsIgnoreCase(name, "redirect")) {
      term.kind = Kind::kRedirect;
      term.macro = value.find('%') != std::string_view::npos;
      if (value.empty() || (!term.macro && !IsPlainDomain(value))) {
        return invalid("invalid redirect domain");
      }
      term.domain = internal::CanonicalDnsName(value);
      return term;
    }
    // exp= (§6.2) only matters when a message is rejected; unknown
    // modifiers MUST be ignored (§6).
    return std::nullopt;
  }

  if (!token.empty() &&
      (token[0] == '+' || token[0] == '-' || token[0] == '~' || token[0] == '?')) {
    switch (token[0]) {
      case '-':
        term.qualifier = Qualifier::kFail;
        break;
      case '~':
        term.qualifier = Qualifier::kSoftFail;
        break;
      case '?':
        term.qualifier = Qualifier::kNeutral;
        break;
      default:
        term.qualifier = Qualifier::kPass;
        break;
    }
    token.remove_prefix(1);
  }
  const std::size_t name_end = token.find_first_of(":/");
  const std::string name = model::AsciiLower(token.substr(0, name_end));
  const std::string_view args =
      name_end == std::string_view::npos ? std::string_view() : token.substr(name_end);

  // A required or optional ":domain-spec" (include, exists, ptr).
  const auto domain_arg = [&](bool required) -> bool {
    if (args.empty()) return !required;
    if (args[0] != ':' || args.size() == 1) return false;
    const std::string_view spec = args.substr(1);
    term.macro = spec.find('%') != std::string_view::npos;
    if (!term.macro && !IsPlainDomain(spec)) return false;
    term.domain = internal::CanonicalDnsName(spec);
    return true;
  };

  if (name == "all") {
    term.kind = Kind::kAll;
    if (!args.empty()) return invalid("invalid all");
    return term;
  }
  if (name == "include" || name == "exists") {
    term.kind = name == "include" ? Kind::kInclude : Kind::kExists;
    if (!domain_arg(true)) return invalid("invalid " + name + " domain");
    return term;
  }
  if (name == "ptr") {
    term.kind = Kind::kPtr;
    if (!domain_arg(false)) return invalid("invalid ptr domain");
    return term;
  }
  if (name == "a" || name == "mx") {
    term.kind = name == "a" ? Kind::kA : Kind::kMx;
    std::string_view cidr = args;
    if (!args.empty() && args[0] == ':') {
      const std::string_view spec = args.substr(1);
      term.macro = spec.find('%') != std::string_view::npos;
      if (term.macro) {
        // The target is known only per message; its CIDR does not matter
        // because nothing is flattened.
        term.domain = std::string(spec);
        return term;
      }
      const std::size_t slash = spec.find('/');
      const std::string_view target = spec.substr(0, slash);
      if (!IsPlainDomain(target)) return invalid("invalid " + name + " domain");
      term.domain = internal::CanonicalDnsName(target);
      cidr = slash == std::string_view::npos ? std::string_view() : spec.substr(slash);
    }
    if (!ParseDualCidr(cidr, term.cidr4, term.cidr6)) return invalid("invalid CIDR length in");
    return term;
  }
  if (name == "ip4" || name == "ip6") {
    const bool v4 = name == "ip4";
    term.kind = v4 ? Kind::kIp4 : Kind::kIp6;
    if (args.size() < 2 || args[0] != ':') return invalid("invalid " + name);
    const std::string_view value = args.substr(1);
    const std::size_t slash = value.find('/');
    const auto address = model::IpAddress::Parse(value.substr(0, slash));
    if (!address || address->is_v4() != v4) return invalid("invalid " + name + " address");
    const int max = v4 ? 32 : 128;
    int length = max;
    if (slash != std::string_view::npos) {
      const auto parsed = ParseCidrLength(value.substr(slash + 1), max);
      if (!parsed) return invalid("invalid CIDR length in");
      length = *parsed;
    }
    term.network = MaskedNetwork(*address, length);
    if (!term.network) return invalid("invalid " + name);
    // Receivers mask the host bits (§5.6), so this is valid SPF; it is
    // still worth a line because it usually means a typo.
    if (!(term.network->address() == *address)) {
      problems.push_back(domain + ": \"" + Quote(term.text) + "\" has host bits set; it means " +
                         term.network->ToString());
    }
    return term;
  }
  // §4.6.1 / §5: an unknown mechanism is a permerror.
  return invalid("unknown mechanism");
}

ParsedRecord ParseRecord(std::string_view record, const std::string& domain,
                         std::vector<std::string>& problems) {
  ParsedRecord parsed;
  std::string_view rest = record.substr(std::min<std::size_t>(6, record.size()));  // "v=spf1"
  bool has_all = false;
  bool ignored_after_all = false;
  int redirects = 0;
  int exps = 0;
  while (!rest.empty()) {
    // §4.6.1: terms are separated by one or more spaces.
    const std::size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const std::size_t end = rest.find(' ');
    const std::string_view token = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);

    const std::size_t first = token.find_first_of(":/=");
    const bool is_modifier = first != std::string_view::npos && token[first] == '=';
    if (is_modifier) {
      const std::string_view name = token.substr(0, first);
      if (model::EqualsIgnoreCase(name, "redirect")) ++redirects;
      if (model::EqualsIgnoreCase(name, "exp")) ++exps;
    } else if (has_all) {
      // §5.1: mechanisms after "all" are never tested and MUST be ignored.
      ignored_after_all = true;
      continue;
    }
    auto term = ParseTerm(token, domain, problems);
    if (!term) continue;
    if (term->kind == Kind::kRedirect) {
      if (!parsed.redirect) parsed.redirect = std::move(*term);
      continue;
    }
    if (term->kind == Kind::kAll) has_all = true;
    parsed.mechanisms.push_back(std::move(*term));
  }
  if (ignored_after_all) {
    problems.push_back(domain + ": terms after \"all\" are ignored (RFC 7208 §5.1)");
  }
  if (redirects > 1 || exps > 1) {
    problems.push_back(domain +
                       ": redirect= or exp= appears more than once (RFC 7208 §6: permerror)");
  }
  // §6.1: redirect is ignored when the record has "all" anywhere.
  if (has_all) parsed.redirect.reset();
  return parsed;
}

class Expander {
 public:
  Expander(Resolver& resolver, SpfExpansion& out) : resolver_(resolver), out_(out) {}

  // Expands the record of `domain`. `authorising` is false below an include
  // whose qualifier is not "+": its networks are then no authorisation.
  void Expand(const std::string& domain, const std::string& record, bool authorising);
  // Adds the whole-tree problems (lookup limits, caps).
  void Finish();

 private:
  // What one lookup term of a record asked, by index into that record's
  // question batches.
  struct Lookup {
    const Term* term = nullptr;
    std::string target;
    bool resolve = false;  // false: counted, but not resolved (dynamic, loop, cap)
    std::size_t first_question = 0;
    std::vector<std::string> mx_hosts;
    std::size_t first_host_question = 0;
  };

  // Counts one DNS-querying term; false once the hard cap is reached.
  bool CountLookup() {
    if (out_.lookups >= kHardLookupCap) {
      capped_ = true;
      return false;
    }
    ++out_.lookups;
    return true;
  }
  void AddProblem(std::string problem) {
    if (out_.problems.size() < kMaxProblems) {
      out_.problems.push_back(std::move(problem));
    } else {
      problems_capped_ = true;
    }
  }
  void AddNetwork(const model::IpNetwork& network) {
    if (out_.networks.size() >= kMaxNetworks) {
      networks_capped_ = true;
      return;
    }
    out_.networks.push_back(SpfNetwork{network, Via()});
  }
  void AddAddresses(const DnsAnswer& answer, int prefix_length) {
    if (answer.rcode != DnsRcode::kOk) return;
    for (const std::string& text : answer.values) {
      const auto ip = model::IpAddress::Parse(text);
      if (!ip) continue;
      if (const auto network = MaskedNetwork(*ip, prefix_length)) AddNetwork(*network);
    }
  }
  void NoteInclude(const std::string& target) {
    if (std::find(out_.includes.begin(), out_.includes.end(), target) == out_.includes.end()) {
      out_.includes.push_back(target);
    }
  }
  std::string Via() const {
    std::string via;
    for (const std::string& domain : chain_) {
      if (!via.empty()) via += " > ";
      via += domain;
    }
    return via;
  }
  void Descend(const std::string& domain, const Term& term, const std::string& target,
               const DnsAnswer& answer, bool authorising);

  Resolver& resolver_;
  SpfExpansion& out_;
  std::vector<std::string> chain_;  // include/redirect path to the current record
  bool capped_ = false;
  bool networks_capped_ = false;
  bool problems_capped_ = false;
};

void Expander::Expand(const std::string& domain, const std::string& record, bool authorising) {
  std::vector<std::string> problems;
  const ParsedRecord parsed = ParseRecord(record, domain, problems);
  for (std::string& problem : problems) AddProblem(std::move(problem));
  chain_.push_back(domain);

  std::vector<const Term*> terms;
  for (const Term& term : parsed.mechanisms) terms.push_back(&term);
  if (parsed.redirect) terms.push_back(&*parsed.redirect);

  // 1. Count the lookups of this record and collect its questions.
  std::vector<Lookup> lookups;
  std::vector<DnsQuestion> questions;
  for (const Term* term : terms) {
    if (!IsLookupTerm(term->kind)) continue;
    if (!CountLookup()) continue;
    Lookup lookup;
    lookup.term = term;
    lookup.target = term->domain.empty() ? domain : term->domain;
    const bool descends = term->kind == Kind::kInclude || term->kind == Kind::kRedirect;
    if (term->kind == Kind::kPtr) {
      AddProblem(domain + ": \"" + Quote(term->text) +
                 "\": the ptr mechanism is deprecated (RFC 7208 §5.5)");
    }
    if (term->macro || term->kind == Kind::kPtr || term->kind == Kind::kExists) {
      // The answer depends on the connecting IP or the message.
      out_.dynamic = true;
    } else if (descends && std::find(chain_.begin(), chain_.end(), lookup.target) != chain_.end()) {
      NoteInclude(lookup.target);
      AddProblem("loop: " + Via() + " > " + Quote(lookup.target) + " (not followed)");
    } else if (descends && chain_.size() >= kMaxDepth) {
      NoteInclude(lookup.target);
      AddProblem(Via() + " > " + Quote(lookup.target) + ": nested too deeply (not followed)");
    } else {
      if (descends) NoteInclude(lookup.target);
      lookup.resolve = true;
      lookup.first_question = questions.size();
      switch (term->kind) {
        case Kind::kInclude:
        case Kind::kRedirect:
          questions.push_back(DnsQuestion{DnsType::kTxt, lookup.target});
          break;
        case Kind::kA:
          questions.push_back(DnsQuestion{DnsType::kA, lookup.target});
          questions.push_back(DnsQuestion{DnsType::kAaaa, lookup.target});
          break;
        case Kind::kMx:
          questions.push_back(DnsQuestion{DnsType::kMx, lookup.target});
          break;
        default:
          break;
      }
    }
    lookups.push_back(std::move(lookup));
  }
  const std::vector<DnsAnswer> answers = internal::ResolveAll(resolver_, questions);

  // 2. The addresses of the MX hosts (§5.4), at most 10 per mechanism.
  std::vector<DnsQuestion> host_questions;
  for (Lookup& lookup : lookups) {
    if (!lookup.resolve || lookup.term->kind != Kind::kMx) continue;
    const DnsAnswer& mx = answers[lookup.first_question];
    if (mx.rcode != DnsRcode::kOk) continue;
    if (mx.values.size() > kMaxMxHosts) {
      AddProblem(domain + ": \"" + Quote(lookup.term->text) + "\": " + Quote(lookup.target) +
                 " has more than 10 MX hosts (RFC 7208 §4.6.4: permerror)");
    }
    // Hosts of an mx that authorises nothing are not worth asking about.
    if (lookup.term->qualifier != Qualifier::kPass || !authorising) continue;
    lookup.first_host_question = host_questions.size();
    for (std::size_t i = 0; i < mx.values.size() && i < kMaxMxHosts; ++i) {
      lookup.mx_hosts.push_back(mx.values[i]);
      host_questions.push_back(DnsQuestion{DnsType::kA, mx.values[i]});
      host_questions.push_back(DnsQuestion{DnsType::kAaaa, mx.values[i]});
    }
  }
  const std::vector<DnsAnswer> host_answers = internal::ResolveAll(resolver_, host_questions);

  // 3. Walk the terms in order.
  std::size_t next_lookup = 0;
  for (const Term* term : terms) {
    const bool pass = term->qualifier == Qualifier::kPass;
    if (term->kind == Kind::kIp4 || term->kind == Kind::kIp6) {
      if (pass && authorising && term->network) AddNetwork(*term->network);
      continue;
    }
    if (!IsLookupTerm(term->kind)) continue;
    if (next_lookup >= lookups.size() || lookups[next_lookup].term != term) continue;  // capped
    const Lookup& lookup = lookups[next_lookup++];
    if (!lookup.resolve) continue;
    const std::string where = domain + ": \"" + Quote(term->text) + "\"";
    switch (term->kind) {
      case Kind::kA: {
        const DnsAnswer& a = answers[lookup.first_question];
        const DnsAnswer& aaaa = answers[lookup.first_question + 1];
        // A receiver asks for one family; we ask both, and call the
        // lookup void only when neither has an address.
        if (IsVoid(a.rcode) && IsVoid(aaaa.rcode)) ++out_.void_lookups;
        if (IsFailure(a.rcode) || IsFailure(aaaa.rcode)) {
          AddProblem(where + ": lookup failed (" +
                     ToString(IsFailure(a.rcode) ? a.rcode : aaaa.rcode) + ")");
        }
        if (pass && authorising) {
          AddAddresses(a, term->cidr4);
          AddAddresses(aaaa, term->cidr6);
        }
        break;
      }
      case Kind::kMx: {
        const DnsAnswer& mx = answers[lookup.first_question];
        if (IsVoid(mx.rcode)) ++out_.void_lookups;
        if (IsFailure(mx.rcode)) {
          AddProblem(where + ": lookup failed (" + ToString(mx.rcode) + ")");
        }
        if (!pass || !authorising) break;
        for (std::size_t i = 0; i < lookup.mx_hosts.size(); ++i) {
          AddAddresses(host_answers[lookup.first_host_question + 2 * i], term->cidr4);
          AddAddresses(host_answers[lookup.first_host_question + 2 * i + 1], term->cidr6);
        }
        break;
      }
      case Kind::kInclude:
        // §5.2: an include matches when the included record passes, so
        // only a "+include" makes its networks authorisations.
        Descend(domain, *term, lookup.target, answers[lookup.first_question], authorising && pass);
        break;
      case Kind::kRedirect:
        // §6.1: the redirect target's result becomes this record's result.
        Descend(domain, *term, lookup.target, answers[lookup.first_question], authorising);
        break;
      default:
        break;
    }
  }
  chain_.pop_back();
}

void Expander::Descend(const std::string& domain, const Term& term, const std::string& target,
                       const DnsAnswer& answer, bool authorising) {
  if (IsVoid(answer.rcode)) ++out_.void_lookups;
  const Selection selection = SelectSpfRecord(answer);
  const std::string where = domain + ": \"" + Quote(term.text) + "\"";
  // §5.2 and §6.1: a target without exactly one SPF record is a permerror;
  // a failed lookup is a temperror.
  switch (selection.kind) {
    case Selection::Kind::kOne:
      Expand(target, selection.record, authorising);
      break;
    case Selection::Kind::kNone:
      AddProblem(where + ": " + Quote(target) + " has no SPF record (permerror)");
      break;
    case Selection::Kind::kSeveral:
      AddProblem(where + ": " + Quote(target) +
                 " has several SPF records (RFC 7208 §4.5: permerror)");
      break;
    case Selection::Kind::kLookupFailed:
      AddProblem(where + ": TXT lookup failed (" + ToString(answer.rcode) + "; temperror)");
      break;
  }
}

void Expander::Finish() {
  out_.over_limit = out_.lookups > kLookupLimit;
  if (out_.over_limit) AddProblem("more than 10 DNS lookups (RFC 7208 §4.6.4)");
  if (out_.void_lookups > kVoidLookupLimit) {
    AddProblem("more than 2 void lookups (RFC 7208 §4.6.4)");
  }
  if (capped_) {
    AddProblem("expansion stopped after " + std::to_string(kHardLookupCap) +
               " DNS lookups; later terms were not counted or expanded");
  }
  if (networks_capped_) {
    AddProblem("more than " + std::to_string(kMaxNetworks) + " networks; the rest are ignored");
  }
  if (problems_capped_ && !out_.problems.empty()) {
    out_.problems.back() = "further problems omitted";
  }
}

}  // namespace

const SpfNetwork* SpfExpansion::Authorizing(const model::IpAddress& ip) const {
  for (const SpfNetwork& network : networks) {
    if (network.network.Contains(ip)) return &network;
  }
  return nullptr;
}

bool SpfExpansion::Includes(const std::string& include_domain) const {
  const std::string wanted = internal::CanonicalDnsName(include_domain);
  return std::any_of(includes.begin(), includes.end(),
                     [&](const std::string& d) { return model::EqualsIgnoreCase(d, wanted); });
}

SpfExpansion ExpandSpf(Resolver& resolver, const std::string& domain) {
  SpfExpansion out;
  try {
    out.domain = internal::CanonicalDnsName(domain);
    if (!internal::NormalizeDnsName(domain)) {
      out.problems.push_back("\"" + Quote(domain) + "\" is not a domain name");
      return out;
    }
    const std::vector<DnsAnswer> answers =
        internal::ResolveAll(resolver, {DnsQuestion{DnsType::kTxt, out.domain}});
    out.rcode = answers[0].rcode;
    const Selection selection = SelectSpfRecord(answers[0]);
    switch (selection.kind) {
      case Selection::Kind::kOne:
        break;
      case Selection::Kind::kNone:
        out.problems.push_back(
            out.domain + ": no SPF record" +
            (answers[0].rcode == DnsRcode::kNxDomain ? " (the domain does not exist)" : ""));
        return out;
      case Selection::Kind::kSeveral:
        // §4.5: more than one record is a permerror; none of them applies.
        out.problems.push_back(out.domain + ": several SPF records (RFC 7208 §4.5: permerror)");
        return out;
      case Selection::Kind::kLookupFailed:
        out.problems.push_back(out.domain + ": TXT lookup failed (" + ToString(answers[0].rcode) +
                               "; temperror)");
        return out;
    }
    out.found = true;
    out.record = selection.record;
    Expander expander(resolver, out);
    expander.Expand(out.domain, out.record, /*authorising=*/true);
    expander.Finish();
  } catch (...) {
    // Allocation failure: report what was found so far.
    try {
      out.problems.push_back("expansion aborted: out of memory");
    } catch (...) {
    }
  }
  return out;
}

}  // namespace dmarcwatch::analysis
