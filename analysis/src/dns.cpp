// The resolver-independent half of dns.h: names, the in-memory cache, the
// caching layer and forward-confirmed reverse DNS. The c-ares resolver is in
// ares_resolver.cpp.

#include "dmarcwatch/analysis/dns.h"

#include <algorithm>
#include <map>
#include <utility>

#include "dmarcwatch/model/text.h"
#include "dns_name.h"

namespace dmarcwatch::analysis {

const char* ToString(DnsType type) {
  switch (type) {
    case DnsType::kA:
      return "A";
    case DnsType::kAaaa:
      return "AAAA";
    case DnsType::kPtr:
      return "PTR";
    case DnsType::kTxt:
      return "TXT";
    case DnsType::kMx:
      return "MX";
  }
  return "?";
}

const char* ToString(DnsRcode rcode) {
  switch (rcode) {
    case DnsRcode::kOk:
      return "ok";
    case DnsRcode::kNoData:
      return "nodata";
    case DnsRcode::kNxDomain:
      return "nxdomain";
    case DnsRcode::kTimeout:
      return "timeout";
    case DnsRcode::kServFail:
      return "servfail";
    case DnsRcode::kError:
      return "error";
  }
  return "?";
}

namespace internal {

std::string CanonicalDnsName(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return model::AsciiLower(name);
}

std::optional<std::string> NormalizeDnsName(std::string_view name) {
  std::string out = CanonicalDnsName(name);
  if (out.empty() || out.size() > kMaxDnsNameLength) return std::nullopt;
  std::size_t label_length = 0;
  for (const char c : out) {
    if (c == '.') {
      if (label_length == 0) return std::nullopt;
      label_length = 0;
      continue;
    }
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!allowed) return std::nullopt;
    if (++label_length > kMaxDnsLabelLength) return std::nullopt;
  }
  // A trailing empty label ("a..", or "." alone) was caught above or here.
  if (label_length == 0) return std::nullopt;
  return out;
}

std::vector<DnsAnswer> ResolveAll(Resolver& resolver, const std::vector<DnsQuestion>& questions) {
  if (questions.empty()) return {};
  std::vector<DnsAnswer> answers;
  try {
    answers = resolver.Resolve(questions);
  } catch (...) {
    // Resolvers promise not to throw; one that does must not take analysis
    // down with it. Its answers are simply unknown.
    answers.clear();
  }
  // Default-constructed answers are kError.
  answers.resize(questions.size());
  return answers;
}

}  // namespace internal

// ---------------------------------------------------------------------------
// MemoryDnsCache
//
// entries_ is kept sorted by key so a lookup is a binary search; the cache is
// bounded so a long-running one-shot command cannot grow without limit.

namespace {

constexpr std::size_t kMaxMemoryCacheEntries = 100000;

std::string CacheKey(DnsType type, const std::string& name) {
  std::string key = ToString(type);
  key += ' ';
  key += name;
  return key;
}

}  // namespace

std::optional<DnsAnswer> MemoryDnsCache::Get(DnsType type, const std::string& name,
                                             model::UnixTime now) {
  const std::string key = CacheKey(type, name);
  auto it =
      std::lower_bound(entries_.begin(), entries_.end(), key,
                       [](const auto& entry, const std::string& k) { return entry.first < k; });
  if (it == entries_.end() || it->first != key) return std::nullopt;
  if (it->second.expires_at <= now) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.answer;
}

void MemoryDnsCache::Put(DnsType type, const std::string& name, const DnsAnswer& answer,
                         model::UnixTime expires_at) {
  std::string key = CacheKey(type, name);
  auto it =
      std::lower_bound(entries_.begin(), entries_.end(), key,
                       [](const auto& entry, const std::string& k) { return entry.first < k; });
  if (it != entries_.end() && it->first == key) {
    it->second = Entry{answer, expires_at};
    return;
  }
  if (entries_.size() >= kMaxMemoryCacheEntries) {
    // Full: drop the entry that expires first. Linear, but only at the cap.
    auto victim = std::min_element(
        entries_.begin(), entries_.end(),
        [](const auto& a, const auto& b) { return a.second.expires_at < b.second.expires_at; });
    const bool before = victim < it;
    entries_.erase(victim);
    if (before) --it;
  }
  entries_.emplace(it, std::move(key), Entry{answer, expires_at});
}

std::size_t MemoryDnsCache::size() const { return entries_.size(); }

// ---------------------------------------------------------------------------
// CachingResolver

CachingResolver::CachingResolver(Resolver& upstream, DnsCache& cache, DnsOptions options,
                                 std::function<model::UnixTime()> clock)
    : upstream_(upstream), cache_(cache), options_(std::move(options)), clock_(std::move(clock)) {}

std::vector<DnsAnswer> CachingResolver::Resolve(const std::vector<DnsQuestion>& questions) {
  std::vector<DnsAnswer> answers(questions.size());
  try {
    const model::UnixTime now = clock_();
    constexpr std::size_t kNone = static_cast<std::size_t>(-1);
    std::vector<std::size_t> upstream_index(questions.size(), kNone);
    std::vector<DnsQuestion> upstream_questions;
    std::map<std::pair<DnsType, std::string>, std::size_t> seen;

    for (std::size_t i = 0; i < questions.size(); ++i) {
      const DnsType type = questions[i].type;
      std::string name = internal::CanonicalDnsName(questions[i].name);
      if (auto cached = cache_.Get(type, name, now)) {
        answers[i] = std::move(*cached);
        ++hits_;
        continue;
      }
      // Every question not answered from the cache is a miss, also a
      // duplicate within the batch, which is sent upstream only once.
      ++misses_;
      auto [it, inserted] = seen.emplace(std::make_pair(type, name), upstream_questions.size());
      if (inserted) upstream_questions.push_back(DnsQuestion{type, std::move(name)});
      upstream_index[i] = it->second;
    }
    if (upstream_questions.empty()) return answers;

    const std::vector<DnsAnswer> fresh = internal::ResolveAll(upstream_, upstream_questions);
    // The TTL runs from when the answer arrived, not from when we asked.
    const model::UnixTime received = clock_();
    for (std::size_t k = 0; k < fresh.size(); ++k) {
      const DnsAnswer& answer = fresh[k];
      std::uint32_t ttl = 0;
      switch (answer.rcode) {
        case DnsRcode::kOk:
          ttl = std::min(std::max(answer.ttl, options_.min_ttl), options_.max_ttl);
          break;
        case DnsRcode::kNoData:
        case DnsRcode::kNxDomain:
          // RFC 2308 §5 takes the negative TTL from the SOA in the answer;
          // the resolver interface does not carry it, so one configured
          // value applies to all negative answers.
          ttl = options_.negative_ttl;
          break;
        case DnsRcode::kTimeout:
        case DnsRcode::kServFail:
        case DnsRcode::kError:
          // RFC 2308 §7 allows caching server failures for up to five
          // minutes; we do not, so the next run asks again.
          continue;
      }
      if (ttl == 0) continue;
      cache_.Put(upstream_questions[k].type, upstream_questions[k].name, answer,
                 received + static_cast<model::UnixTime>(ttl));
    }
    for (std::size_t i = 0; i < questions.size(); ++i) {
      if (upstream_index[i] != kNone) answers[i] = fresh[upstream_index[i]];
    }
  } catch (...) {
    // A cache implementation or the clock threw: whatever was not answered
    // yet stays kError rather than escaping the module API.
  }
  return answers;
}

// ---------------------------------------------------------------------------
// ForwardConfirmedPtrs

namespace {

// A host with more PTR names than this is unusual; the rest are ignored so
// one address cannot fan out into hundreds of forward lookups.
constexpr std::size_t kMaxPtrNamesPerIp = 10;

}  // namespace

std::vector<PtrResult> ForwardConfirmedPtrs(Resolver& resolver,
                                            const std::vector<model::IpAddress>& ips) {
  std::vector<PtrResult> results(ips.size());
  try {
    // Reporters sometimes write IPv4 sources as ::ffff:a.b.c.d; the host
    // behind it has an in-addr.arpa PTR and A records, not ip6.arpa/AAAA.
    std::vector<model::IpAddress> effective;
    effective.reserve(ips.size());
    std::vector<DnsQuestion> ptr_questions;
    ptr_questions.reserve(ips.size());
    for (const model::IpAddress& ip : ips) {
      effective.push_back(ip.MappedV4().value_or(ip));
      ptr_questions.push_back(DnsQuestion{DnsType::kPtr, effective.back().ReverseName()});
    }
    const std::vector<DnsAnswer> ptrs = internal::ResolveAll(resolver, ptr_questions);

    std::map<std::pair<DnsType, std::string>, std::size_t> forward_index;
    std::vector<DnsQuestion> forward_questions;
    for (std::size_t i = 0; i < ips.size(); ++i) {
      PtrResult& result = results[i];
      result.rcode = ptrs[i].rcode;
      if (ptrs[i].rcode != DnsRcode::kOk) continue;
      const DnsType type = effective[i].is_v4() ? DnsType::kA : DnsType::kAaaa;
      for (const std::string& value : ptrs[i].values) {
        if (result.names.size() >= kMaxPtrNamesPerIp) break;
        std::string name = internal::CanonicalDnsName(value);
        if (name.empty() ||
            std::find(result.names.begin(), result.names.end(), name) != result.names.end()) {
          continue;
        }
        if (forward_index.emplace(std::make_pair(type, name), forward_questions.size()).second) {
          forward_questions.push_back(DnsQuestion{type, name});
        }
        result.names.push_back(std::move(name));
      }
    }
    const std::vector<DnsAnswer> forward = internal::ResolveAll(resolver, forward_questions);

    for (std::size_t i = 0; i < ips.size(); ++i) {
      const DnsType type = effective[i].is_v4() ? DnsType::kA : DnsType::kAaaa;
      for (const std::string& name : results[i].names) {
        const DnsAnswer& answer = forward[forward_index.at(std::make_pair(type, name))];
        if (answer.rcode != DnsRcode::kOk) continue;
        // Compare addresses, not text: "2001:db8::1" and "2001:DB8:0::1" are
        // the same host.
        const bool confirmed =
            std::any_of(answer.values.begin(), answer.values.end(), [&](const std::string& text) {
              const auto address = model::IpAddress::Parse(text);
              return address && *address == effective[i];
            });
        if (confirmed) results[i].confirmed.push_back(name);
      }
    }
  } catch (...) {
    // Out of memory or a misbehaving resolver: what is filled in stays,
    // the rest reads as kError.
  }
  return results;
}

}  // namespace dmarcwatch::analysis
