// MakeAresResolver: the Resolver of dns.h on c-ares (1.18).
//
// One c-ares channel per resolver, driven synchronously inside Resolve():
// queries are started up to DnsOptions::max_in_flight at a time, the sockets
// c-ares reports through its socket-state callback are poll()ed, and
// ares_process_fd() reads answers and fires c-ares' own per-try timeouts.
// Every batch also has a deadline of its own (see BatchDeadline), after
// which whatever is outstanding is cancelled and answered kTimeout, so a
// server that never answers, or a library bug, cannot hang the caller.
//
// poll() rather than select(): select() cannot watch descriptors above
// FD_SETSIZE, which a long-running process may well have.

#include <ares.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "dmarcwatch/analysis/dns.h"
#include "dmarcwatch/model/check.h"
#include "dmarcwatch/model/ip_address.h"
#include "dmarcwatch/model/text.h"
#include "dns_name.h"

namespace dmarcwatch::analysis {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Caps on what one answer may hold. A DNS message is at most 65535 octets
// (RFC 1035 §4.2.2), so answers are bounded anyway; these keep them small
// and predictable for callers.
constexpr int kMaxAddressesPerAnswer = 64;
constexpr std::size_t kMaxValuesPerAnswer = 64;
// A TXT record (all its strings joined) longer than this is dropped rather
// than cut: a cut SPF record would be parsed as something the domain never
// published. RFC 7208 §3.4 asks SPF records to fit in a 512-octet UDP answer.
constexpr std::size_t kMaxTxtRecordBytes = 8192;

// RFC 1035 §3.2.2 and §3.2.4; AAAA is RFC 3596 §2.1.
constexpr int kClassIn = 1;
constexpr int kTypeA = 1;
constexpr int kTypePtr = 12;
constexpr int kTypeMx = 15;
constexpr int kTypeTxt = 16;
constexpr int kTypeAaaa = 28;

int WireType(DnsType type) {
  switch (type) {
    case DnsType::kA:
      return kTypeA;
    case DnsType::kAaaa:
      return kTypeAaaa;
    case DnsType::kPtr:
      return kTypePtr;
    case DnsType::kTxt:
      return kTypeTxt;
    case DnsType::kMx:
      return kTypeMx;
  }
  return kTypeA;
}

// c-ares needs ares_library_init() once per process before any channel.
int InitAresLibrary() {
  static std::once_flag once;
  static int status = ARES_SUCCESS;
  std::call_once(once, [] { status = ares_library_init(ARES_LIB_INIT_ALL); });
  return status;
}

// The status a query's callback reports, as one of ours.
DnsRcode MapStatus(int status) {
  switch (status) {
    case ARES_SUCCESS:
      return DnsRcode::kOk;
    case ARES_ENOTFOUND:
      return DnsRcode::kNxDomain;
    case ARES_ENODATA:
      return DnsRcode::kNoData;
    case ARES_ETIMEOUT:
      return DnsRcode::kTimeout;
    // Only our own batch deadline cancels queries (ares_cancel), so a
    // cancelled query is one that ran out of time.
    case ARES_ECANCELLED:
      return DnsRcode::kTimeout;
    case ARES_ESERVFAIL:
      return DnsRcode::kServFail;
    default:
      return DnsRcode::kError;
  }
}

// Canonical text (RFC 5952 for IPv6) of an address in network byte order.
std::string AddressText(int family, const void* bytes) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family, bytes, buf, sizeof(buf)) == nullptr) return {};
  const auto parsed = model::IpAddress::Parse(buf);
  return parsed ? parsed->ToString() : std::string();
}

std::uint32_t NonNegativeTtl(int ttl) { return ttl > 0 ? static_cast<std::uint32_t>(ttl) : 0; }

// The per-type parsers fill `answer` from a reply c-ares accepted (the
// query's status was ARES_SUCCESS). `fallback_ttl` is used where c-ares 1.18
// does not report TTLs (PTR, MX, TXT).

void ParseA(const unsigned char* abuf, int alen, DnsAnswer& answer) {
  ares_addrttl addrs[kMaxAddressesPerAnswer];
  int count = kMaxAddressesPerAnswer;
  const int status = ares_parse_a_reply(abuf, alen, nullptr, addrs, &count);
  if (status != ARES_SUCCESS) {
    answer.rcode = MapStatus(status);
    return;
  }
  bool first = true;
  for (int i = 0; i < count; ++i) {
    std::string text = AddressText(AF_INET, &addrs[i].ipaddr);
    if (text.empty()) continue;
    answer.values.push_back(std::move(text));
    // The set lives as long as its shortest TTL; c-ares already folds the
    // TTL of any CNAME on the way into each address's TTL.
    const std::uint32_t ttl = NonNegativeTtl(addrs[i].ttl);
    answer.ttl = first ? ttl : std::min(answer.ttl, ttl);
    first = false;
  }
}

void ParseAaaa(const unsigned char* abuf, int alen, DnsAnswer& answer) {
  ares_addr6ttl addrs[kMaxAddressesPerAnswer];
  int count = kMaxAddressesPerAnswer;
  const int status = ares_parse_aaaa_reply(abuf, alen, nullptr, addrs, &count);
  if (status != ARES_SUCCESS) {
    answer.rcode = MapStatus(status);
    return;
  }
  bool first = true;
  for (int i = 0; i < count; ++i) {
    std::string text = AddressText(AF_INET6, &addrs[i].ip6addr);
    if (text.empty()) continue;
    answer.values.push_back(std::move(text));
    const std::uint32_t ttl = NonNegativeTtl(addrs[i].ttl);
    answer.ttl = first ? ttl : std::min(answer.ttl, ttl);
    first = false;
  }
}

void ParsePtr(const unsigned char* abuf, int alen, std::uint32_t fallback_ttl, DnsAnswer& answer) {
  // ares_parse_ptr_reply copies an address into the hostent it builds; we
  // asked by name and do not need it, so it gets a zero placeholder.
  unsigned char placeholder[16] = {};
  hostent* host = nullptr;
  const int status =
      ares_parse_ptr_reply(abuf, alen, placeholder, sizeof(placeholder), AF_INET6, &host);
  if (status != ARES_SUCCESS || host == nullptr) {
    answer.rcode = status != ARES_SUCCESS ? MapStatus(status) : DnsRcode::kError;
    if (host != nullptr) ares_free_hostent(host);
    return;
  }
  // c-ares 1.18 lists every PTR target in h_aliases (h_name is the last one).
  if (host->h_aliases != nullptr) {
    for (char** alias = host->h_aliases; *alias != nullptr; ++alias) {
      if (answer.values.size() >= kMaxValuesPerAnswer) break;
      std::string name = internal::CanonicalDnsName(*alias);
      if (!name.empty()) answer.values.push_back(std::move(name));
    }
  }
  if (answer.values.empty() && host->h_name != nullptr) {
    std::string name = internal::CanonicalDnsName(host->h_name);
    if (!name.empty()) answer.values.push_back(std::move(name));
  }
  ares_free_hostent(host);
  answer.ttl = fallback_ttl;
}

void ParseMx(const unsigned char* abuf, int alen, std::uint32_t fallback_ttl, DnsAnswer& answer) {
  ares_mx_reply* head = nullptr;
  const int status = ares_parse_mx_reply(abuf, alen, &head);
  if (status != ARES_SUCCESS) {
    answer.rcode = MapStatus(status);
    if (head != nullptr) ares_free_data(head);
    return;
  }
  std::vector<std::pair<unsigned short, std::string>> hosts;
  for (const ares_mx_reply* mx = head; mx != nullptr; mx = mx->next) {
    if (hosts.size() >= kMaxValuesPerAnswer) break;
    std::string name = mx->host != nullptr ? internal::CanonicalDnsName(mx->host) : std::string();
    // RFC 7505: an MX whose exchange is the root ("null MX") says the domain
    // accepts no mail; it names no host.
    if (name.empty()) continue;
    hosts.emplace_back(mx->priority, std::move(name));
  }
  ares_free_data(head);
  // RFC 5321 §5.1: lower preference first; equal ones keep the server's order.
  std::stable_sort(hosts.begin(), hosts.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& host : hosts) answer.values.push_back(std::move(host.second));
  answer.ttl = fallback_ttl;
}

void ParseTxt(const unsigned char* abuf, int alen, std::uint32_t fallback_ttl, DnsAnswer& answer) {
  ares_txt_ext* head = nullptr;
  const int status = ares_parse_txt_reply_ext(abuf, alen, &head);
  if (status != ARES_SUCCESS) {
    answer.rcode = MapStatus(status);
    if (head != nullptr) ares_free_data(head);
    return;
  }
  // One TXT record may hold several character-strings (RFC 1035 §3.3.14);
  // RFC 7208 §3.3 joins them without a separator, and so do we for all TXT.
  std::vector<std::string> records;
  bool current_too_long = false;
  for (const ares_txt_ext* chunk = head; chunk != nullptr; chunk = chunk->next) {
    if (chunk->record_start != 0 || records.empty()) {
      if (current_too_long) records.pop_back();
      current_too_long = false;
      if (records.size() >= kMaxValuesPerAnswer) break;
      records.emplace_back();
    }
    if (current_too_long) continue;
    if (records.back().size() + chunk->length > kMaxTxtRecordBytes) {
      current_too_long = true;
      continue;
    }
    records.back().append(reinterpret_cast<const char*>(chunk->txt), chunk->length);
  }
  if (current_too_long) records.pop_back();
  ares_free_data(head);
  answer.values = std::move(records);
  answer.ttl = fallback_ttl;
}

// Refuses every question without touching the network (DnsOptions::enabled
// is false: offline mode).
class DisabledResolver final : public Resolver {
 public:
  std::vector<DnsAnswer> Resolve(const std::vector<DnsQuestion>& questions) override {
    return std::vector<DnsAnswer>(questions.size());
  }
};

class AresResolver final : public Resolver {
 public:
  static Result<std::unique_ptr<Resolver>> Create(const DnsOptions& options);

  ~AresResolver() override {
    if (channel_ != nullptr) ares_destroy(channel_);
  }
  AresResolver(const AresResolver&) = delete;
  AresResolver& operator=(const AresResolver&) = delete;

  std::vector<DnsAnswer> Resolve(const std::vector<DnsQuestion>& questions) override;

 private:
  // One distinct question of a batch. c-ares holds a pointer to it while
  // the query is outstanding, so the vector holding these never reallocates
  // during a batch.
  struct Query {
    AresResolver* owner = nullptr;
    DnsType type = DnsType::kA;
    std::string name;
    DnsAnswer answer;  // kError until the callback fills it
    bool done = false;
  };
  struct Socket {
    ares_socket_t fd;
    bool read;
    bool write;
  };

  explicit AresResolver(const DnsOptions& options) : options_(options) {}
  Status Init();
  void Run(std::vector<Query>& queries);
  void Start(Query& query);
  milliseconds BatchDeadline(std::size_t query_count) const;

  static void OnSocketState(void* data, ares_socket_t fd, int readable, int writable);
  static void OnReply(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  void Complete(Query& query, int status, const unsigned char* abuf, int alen) noexcept;

  DnsOptions options_;
  ares_channel channel_ = nullptr;
  int server_count_ = 1;
  int in_flight_ = 0;
  std::vector<Socket> sockets_;  // what c-ares wants watched
};

Result<std::unique_ptr<Resolver>> AresResolver::Create(const DnsOptions& options) {
  if (options.timeout_ms <= 0 || options.tries <= 0 || options.max_in_flight <= 0) {
    return Status::InvalidInput("dns_options",
                                "DNS timeout_ms, tries and max_in_flight must be positive");
  }
  std::unique_ptr<AresResolver> resolver(new AresResolver(options));
  DMARC_RETURN_IF_ERROR(resolver->Init());
  return std::unique_ptr<Resolver>(std::move(resolver));
}

Status AresResolver::Init() {
  if (const int status = InitAresLibrary(); status != ARES_SUCCESS) {
    return Status::Unavailable("dns_init",
                               std::string("c-ares library init failed: ") + ares_strerror(status));
  }
  ares_options opts{};
  // ARES_FLAG_NOCHECKRESP stays off: a SERVFAIL, REFUSED or NOTIMP answer
  // makes c-ares try the next server (and the next try) instead of ending
  // the query. EDNS (RFC 6891) lets larger TXT answers come over UDP.
  opts.flags = ARES_FLAG_EDNS;
  opts.timeout = options_.timeout_ms;  // milliseconds with ARES_OPT_TIMEOUTMS
  opts.tries = options_.tries;
  opts.sock_state_cb = &AresResolver::OnSocketState;
  opts.sock_state_cb_data = this;
  const int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB;
  if (const int status = ares_init_options(&channel_, &opts, mask); status != ARES_SUCCESS) {
    channel_ = nullptr;
    return Status::Unavailable("dns_init",
                               std::string("c-ares init failed: ") + ares_strerror(status));
  }
  if (!options_.servers.empty()) {
    std::string csv;
    for (const std::string& server : options_.servers) {
      // The list is comma-separated for c-ares; a comma or an empty entry
      // in one server would silently become something else.
      if (server.empty() || server.find(',') != std::string::npos) {
        return Status::Unavailable(
            "dns_server", "not a DNS server address: \"" + model::Printable(server) + "\"");
      }
      if (!csv.empty()) csv += ',';
      csv += server;
    }
    if (const int status = ares_set_servers_ports_csv(channel_, csv.c_str());
        status != ARES_SUCCESS) {
      return Status::Unavailable("dns_server", "not a DNS server address list: \"" +
                                                   model::Printable(csv) +
                                                   "\": " + ares_strerror(status));
    }
  }
  // How many servers c-ares ended up with (from the list or resolv.conf):
  // each try goes to each server in turn, which the deadline allows for.
  ares_addr_port_node* servers = nullptr;
  if (ares_get_servers_ports(channel_, &servers) == ARES_SUCCESS) {
    int count = 0;
    for (const ares_addr_port_node* node = servers; node != nullptr; node = node->next) ++count;
    server_count_ = std::max(count, 1);
    if (count == 0) {
      ares_free_data(servers);
      return Status::Unavailable("dns_server", "no DNS server configured");
    }
  }
  if (servers != nullptr) ares_free_data(servers);
  return Status::Ok();
}

// A query gets timeout_ms × tries × 2 per server (c-ares doubles the wait on
// later rounds, so a full schedule takes about timeout × (2^tries − 1); the
// factor 2 covers tries = 2 and cuts longer schedules short rather than let
// them run for minutes). A batch runs in waves of max_in_flight queries, so
// its deadline is that budget once per wave: 10,000 questions against a dead
// server take long, but finitely long, and each is honestly tried.
milliseconds AresResolver::BatchDeadline(std::size_t query_count) const {
  const auto per_query =
      static_cast<std::int64_t>(options_.timeout_ms) * options_.tries * 2 * server_count_;
  const auto waves = static_cast<std::int64_t>(
      (query_count + static_cast<std::size_t>(options_.max_in_flight) - 1) /
      static_cast<std::size_t>(options_.max_in_flight));
  return milliseconds(per_query * std::max<std::int64_t>(waves, 1));
}

std::vector<DnsAnswer> AresResolver::Resolve(const std::vector<DnsQuestion>& questions) {
  std::vector<DnsAnswer> answers(questions.size());  // kError by default
  std::vector<Query> queries;
  try {
    // A name that is not a name gets kError without a query; identical
    // questions in one batch are asked once.
    constexpr std::size_t kNone = static_cast<std::size_t>(-1);
    std::vector<std::size_t> query_of(questions.size(), kNone);
    std::map<std::pair<DnsType, std::string>, std::size_t> index;
    queries.reserve(questions.size());
    for (std::size_t i = 0; i < questions.size(); ++i) {
      auto name = internal::NormalizeDnsName(questions[i].name);
      if (!name) continue;
      auto [it, inserted] = index.emplace(std::make_pair(questions[i].type, *name), queries.size());
      if (inserted) {
        Query query;
        query.owner = this;
        query.type = questions[i].type;
        query.name = std::move(*name);
        queries.push_back(std::move(query));
      }
      query_of[i] = it->second;
    }
    Run(queries);
    for (std::size_t i = 0; i < questions.size(); ++i) {
      if (query_of[i] != kNone) answers[i] = queries[query_of[i]].answer;
    }
  } catch (...) {
    // Only allocation can throw here. Nothing may stay outstanding in
    // c-ares pointing at `queries`, which is about to go away.
    if (in_flight_ > 0) ares_cancel(channel_);
    for (DnsAnswer& answer : answers) answer = DnsAnswer{};
  }
  return answers;
}

void AresResolver::Start(Query& query) {
  // The callback may run inside ares_query (for instance when no socket
  // can be opened), so the count goes up first.
  ++in_flight_;
  ares_query(channel_, query.name.c_str(), kClassIn, WireType(query.type), &AresResolver::OnReply,
             &query);
}

void AresResolver::Run(std::vector<Query>& queries) {
  if (queries.empty()) return;
  const std::size_t max_in_flight = static_cast<std::size_t>(options_.max_in_flight);
  const Clock::time_point deadline = Clock::now() + BatchDeadline(queries.size());
  std::size_t next = 0;
  std::vector<pollfd> fds;
  while (true) {
    while (next < queries.size() && static_cast<std::size_t>(in_flight_) < max_in_flight) {
      Start(queries[next++]);
    }
    if (next == queries.size() && in_flight_ == 0) break;

    const Clock::time_point now = Clock::now();
    if (now >= deadline) break;

    // Wake for c-ares' next retransmission or timeout, or the batch deadline.
    const auto remaining = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now);
    timeval max_wait{};
    max_wait.tv_sec = static_cast<decltype(max_wait.tv_sec)>(remaining.count() / 1000000);
    max_wait.tv_usec = static_cast<decltype(max_wait.tv_usec)>(remaining.count() % 1000000);
    timeval wait_storage{};
    const timeval* wait = ares_timeout(channel_, &max_wait, &wait_storage);
    // Round up so we do not spin on a sub-millisecond remainder.
    const std::int64_t wait_ms =
        static_cast<std::int64_t>(wait->tv_sec) * 1000 + (wait->tv_usec + 999) / 1000;

    fds.clear();
    for (const Socket& socket : sockets_) {
      pollfd pfd{};
      pfd.fd = socket.fd;
      pfd.events = static_cast<short>((socket.read ? POLLIN : 0) | (socket.write ? POLLOUT : 0));
      fds.push_back(pfd);
    }
    const int ready = poll(fds.data(), static_cast<nfds_t>(fds.size()),
                           static_cast<int>(std::min<std::int64_t>(wait_ms, 60000)));
    if (ready < 0) {
      if (errno == EINTR) continue;
      // poll itself failed (no memory, bad descriptor): nothing here will
      // get better by waiting, so end the batch.
      break;
    }
    if (ready == 0) {
      // No socket activity: let c-ares retransmit or time out queries.
      ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      continue;
    }
    for (const pollfd& pfd : fds) {
      if (pfd.revents == 0) continue;
      // Errors and hang-ups are handed to c-ares as readable: its read
      // fails and it closes the socket and fails over.
      const bool readable = (pfd.revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL)) != 0;
      const bool writable = (pfd.revents & POLLOUT) != 0;
      ares_process_fd(channel_, readable ? pfd.fd : ARES_SOCKET_BAD,
                      writable ? pfd.fd : ARES_SOCKET_BAD);
    }
  }
  if (in_flight_ > 0) {
    // The batch deadline passed: every outstanding callback fires now, with
    // ARES_ECANCELLED, before `queries` can go away.
    ares_cancel(channel_);
  }
  DMARC_CHECK(in_flight_ == 0);
  for (Query& query : queries) {
    if (!query.done) query.answer.rcode = DnsRcode::kTimeout;  // never sent: out of time
  }
}

void AresResolver::OnSocketState(void* data, ares_socket_t fd, int readable, int writable) {
  auto* self = static_cast<AresResolver*>(data);
  auto it = std::find_if(self->sockets_.begin(), self->sockets_.end(),
                         [fd](const Socket& s) { return s.fd == fd; });
  if (readable == 0 && writable == 0) {
    if (it != self->sockets_.end()) self->sockets_.erase(it);
    return;
  }
  if (it != self->sockets_.end()) {
    it->read = readable != 0;
    it->write = writable != 0;
    return;
  }
  try {
    self->sockets_.push_back(Socket{fd, readable != 0, writable != 0});
  } catch (...) {
    // Out of memory: the socket goes unwatched and its queries end by
    // c-ares' own timeout. No exception may cross back into C.
  }
}

void AresResolver::OnReply(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* query = static_cast<Query*>(arg);
  query->owner->Complete(*query, status, abuf, alen);
}

void AresResolver::Complete(Query& query, int status, const unsigned char* abuf,
                            int alen) noexcept {
  --in_flight_;
  query.done = true;
  try {
    query.answer = DnsAnswer{};
    query.answer.rcode = MapStatus(status);
    if (status != ARES_SUCCESS || abuf == nullptr) {
      if (status == ARES_SUCCESS) query.answer.rcode = DnsRcode::kError;
      return;
    }
    switch (query.type) {
      case DnsType::kA:
        ParseA(abuf, alen, query.answer);
        break;
      case DnsType::kAaaa:
        ParseAaaa(abuf, alen, query.answer);
        break;
      case DnsType::kPtr:
        ParsePtr(abuf, alen, options_.min_ttl, query.answer);
        break;
      case DnsType::kMx:
        ParseMx(abuf, alen, options_.min_ttl, query.answer);
        break;
      case DnsType::kTxt:
        ParseTxt(abuf, alen, options_.min_ttl, query.answer);
        break;
    }
    // kOk means there is something to use (dns.h); an answer whose records
    // were all unusable (a null MX, only over-long TXT) is "no data".
    if (query.answer.rcode == DnsRcode::kOk && query.answer.values.empty()) {
      query.answer.rcode = DnsRcode::kNoData;
    }
    if (query.answer.rcode != DnsRcode::kOk) {
      query.answer.values.clear();
      query.answer.ttl = 0;
    }
  } catch (...) {
    query.answer = DnsAnswer{};
  }
}

}  // namespace

Result<std::unique_ptr<Resolver>> MakeAresResolver(const DnsOptions& options) {
  try {
    if (!options.enabled) return std::unique_ptr<Resolver>(new DisabledResolver());
    return AresResolver::Create(options);
  } catch (...) {
    return Status::Internal("cannot create the DNS resolver");
  }
}

}  // namespace dmarcwatch::analysis
