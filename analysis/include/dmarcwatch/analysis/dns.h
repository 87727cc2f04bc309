#pragma once
// DNS for analysis: the narrow interface through which analysis does its
// only I/O, a c-ares implementation of it, and a caching layer.
//
// Resolver::Resolve takes a batch of questions and answers them all,
// concurrently (up to DnsOptions::max_in_flight at a time), each within
// DnsOptions::timeout_ms per try; it never throws and never blocks longer
// than the batch deadline. Callers run it off the ingest path (after a batch
// is committed), so DNS never slows or blocks ingest.
//
// CachingResolver keeps answers in a DnsCache (the store implements one, so
// the cache survives restarts) for their TTL, clamped to
// [min_ttl, max_ttl]; "no such name" and "no data" are cached too (negative
// caching, RFC 2308) for negative_ttl; timeouts and server failures are not
// cached.
//
// Thread-compatible: one Resolver per thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dmarcwatch/model/report.h"
#include "dmarcwatch/model/status.h"

namespace dmarcwatch::analysis {

enum class DnsType { kA, kAaaa, kPtr, kTxt, kMx };
const char* ToString(DnsType type);

struct DnsQuestion {
  DnsType type = DnsType::kA;
  std::string name;  // without the trailing dot; lower-case
};

enum class DnsRcode {
  kOk,        // values holds the answers (may be empty only for kNoData)
  kNoData,    // the name exists, no record of this type
  kNxDomain,  // no such name
  kTimeout,   // no answer in time (retryable, not cached)
  kServFail,  // the server failed (retryable, not cached)
  kError,     // anything else (bad name, refused)
};
const char* ToString(DnsRcode rcode);

struct DnsAnswer {
  DnsRcode rcode = DnsRcode::kError;
  // A/AAAA: addresses as text; PTR/MX: host names (MX without preference,
  // lowest preference first); TXT: each record's strings joined.
  std::vector<std::string> values;
  // Seconds. A/AAAA: the smallest TTL of the set. PTR/MX/TXT: c-ares 1.18
  // does not report their TTLs, so the c-ares resolver sets
  // DnsOptions::min_ttl.
  std::uint32_t ttl = 0;
};

struct DnsOptions {
  bool enabled = true;                 // false: --offline, every answer is kError
  std::vector<std::string> servers;    // "127.0.0.1:5353"; empty: /etc/resolv.conf
  int timeout_ms = 2000;               // per try
  int tries = 2;
  int max_in_flight = 64;              // concurrency cap
  std::uint32_t min_ttl = 300;
  std::uint32_t max_ttl = 86400;
  std::uint32_t negative_ttl = 3600;
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  // One answer per question, in order.
  virtual std::vector<DnsAnswer> Resolve(const std::vector<DnsQuestion>& questions) = 0;
};

// c-ares. kUnavailable when c-ares cannot be initialised or a server
// address is not valid; kInvalidInput when timeout_ms, tries or
// max_in_flight is not positive. With options.enabled false, the resolver
// answers kError to everything without opening a socket.
//
// Names are lower-cased and lose a trailing dot; a name that is empty,
// longer than 253, has an empty or over-long label, or holds anything but
// letters, digits, '-' and '_' is answered kError without a query.
// Identical questions in one batch are asked once. Answers are capped (64
// values; a TXT record over 8 KiB is dropped, not cut); an MX answer that is
// only a null MX (RFC 7505) is kNoData. A batch gets timeout_ms × tries × 2
// (× the number of servers) per wave of max_in_flight questions; what is
// still unanswered then is kTimeout.
Result<std::unique_ptr<Resolver>> MakeAresResolver(const DnsOptions& options);

// Where answers are kept between runs.
class DnsCache {
 public:
  virtual ~DnsCache() = default;
  // The answer stored for (type, name), if it has not expired at `now`.
  virtual std::optional<DnsAnswer> Get(DnsType type, const std::string& name,
                                       model::UnixTime now) = 0;
  virtual void Put(DnsType type, const std::string& name, const DnsAnswer& answer,
                   model::UnixTime expires_at) = 0;
};

// A DnsCache in memory, for tests and one-shot commands.
class MemoryDnsCache : public DnsCache {
 public:
  std::optional<DnsAnswer> Get(DnsType type, const std::string& name,
                               model::UnixTime now) override;
  void Put(DnsType type, const std::string& name, const DnsAnswer& answer,
           model::UnixTime expires_at) override;
  std::size_t size() const;

 private:
  struct Entry {
    DnsAnswer answer;
    model::UnixTime expires_at;
  };
  std::vector<std::pair<std::string, Entry>> entries_;  // key: "<type> <name>"
};

class CachingResolver : public Resolver {
 public:
  // REQUIRES: `upstream` and `cache` outlive this object.
  CachingResolver(Resolver& upstream, DnsCache& cache, DnsOptions options,
                  std::function<model::UnixTime()> clock);
  std::vector<DnsAnswer> Resolve(const std::vector<DnsQuestion>& questions) override;
  // Questions answered from the cache / not answered from it so far (a
  // question repeated within one batch counts each time, but is sent
  // upstream once).
  std::uint64_t hits() const { return hits_; }
  std::uint64_t misses() const { return misses_; }

 private:
  Resolver& upstream_;
  DnsCache& cache_;
  DnsOptions options_;
  std::function<model::UnixTime()> clock_;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
};

// Reverse DNS with forward confirmation (FCrDNS): the PTR names of each
// address, and those of them whose A/AAAA records lead back to it. Two
// batches: all PTRs, then the A (IPv4) or AAAA (IPv6) records of every name
// found. At most 10 names per address are kept. An IPv4-mapped IPv6 address
// is looked up as the IPv4 address it carries.
struct PtrResult {
  std::vector<std::string> names;
  std::vector<std::string> confirmed;
  DnsRcode rcode = DnsRcode::kError;  // of the PTR query
};
std::vector<PtrResult> ForwardConfirmedPtrs(Resolver& resolver,
                                            const std::vector<model::IpAddress>& ips);

}  // namespace dmarcwatch::analysis
