#include "period_answers.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "dmarcwatch/model/text.h"

namespace dmarcwatch::store {
namespace {

// The first byte of every body; a change of layout takes a new value, and
// bodies of the old one are then recomputed.
constexpr char kPathTotalsFormat = 'P';
// 'S': one signature per group; 'T': addresses as text, a path key per group.
constexpr char kSourcesFormat = 'U';

class Writer {
 public:
  Writer() = default;
  explicit Writer(char format) { out_.push_back(format); }
  void U(std::uint64_t v) {  // LEB128
    do {
      std::uint8_t b = v & 0x7f;
      v >>= 7;
      if (v != 0) b |= 0x80;
      out_.push_back(static_cast<char>(b));
    } while (v != 0);
  }
  void I(std::int64_t v) {  // zigzag, so small negatives stay short
    U((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
  }
  void S(std::string_view s) {
    U(s.size());
    out_.append(s);
  }
  void Raw(std::string_view bytes) { out_.append(bytes); }
  void Ip(const model::IpAddress& ip) {  // 4 or 6, then the address's bytes
    const bool v4 = ip.is_v4();
    U(v4 ? 4 : 6);
    out_.append(reinterpret_cast<const char*>(ip.bytes().data()), v4 ? 4 : 16);
  }
  void OptS(const std::optional<std::string>& s) {
    U(s ? 1 : 0);
    if (s) S(*s);
  }
  template <typename Enum>
  void E(Enum e) {
    U(static_cast<std::uint64_t>(e));
  }
  void C(const model::Counts& c) {
    for (std::uint64_t v : {c.messages, c.dmarc_pass, c.spf_aligned, c.dkim_aligned,
                            c.disagreements, c.quarantined, c.rejected, c.rows}) {
      U(v);
    }
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Every read checks the bounds; after the first failure ok() is false and
// the values read are zero or empty.
class Reader {
 public:
  Reader(std::string_view body, char format) : in_(body) {
    ok_ = !in_.empty() && in_[0] == format;
    at_ = 1;
  }
  bool ok() const { return ok_; }
  bool done() const { return at_ == in_.size(); }
  std::uint64_t U() {
    std::uint64_t v = 0;
    for (int shift = 0; ok_; shift += 7) {
      if (at_ >= in_.size() || shift > 63) {
        ok_ = false;
        break;
      }
      const auto b = static_cast<std::uint8_t>(in_[at_++]);
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return 0;
  }
  std::int64_t I() {
    const std::uint64_t u = U();
    return static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1);
  }
  std::string S() {
    const std::uint64_t n = U();
    if (!ok_ || n > in_.size() - at_) {
      ok_ = false;
      return {};
    }
    std::string s(in_.substr(at_, n));
    at_ += n;
    return s;
  }
  std::optional<std::string> OptS() {
    if (U() == 0) return std::nullopt;
    return S();
  }
  model::IpAddress Ip() {
    const std::uint64_t family = U();
    const std::size_t n = family == 4 ? 4 : 16;
    if (!ok_ || (family != 4 && family != 6) || n > in_.size() - at_) {
      ok_ = false;
      return {};
    }
    std::array<std::uint8_t, 16> b{};
    std::copy_n(reinterpret_cast<const std::uint8_t*>(in_.data() + at_), n, b.begin());
    at_ += n;
    if (family == 6) return model::IpAddress::V6(b);
    return model::IpAddress::V4(std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 |
                                std::uint32_t{b[2]} << 8 | b[3]);
  }
  // Enums end with kUnknown; a larger value (a damaged body) reads as it.
  template <typename Enum>
  Enum E() {
    const std::uint64_t v = U();
    return v > static_cast<std::uint64_t>(Enum::kUnknown) ? Enum::kUnknown : static_cast<Enum>(v);
  }
  model::Counts C() {
    model::Counts c;
    for (std::uint64_t* v : {&c.messages, &c.dmarc_pass, &c.spf_aligned, &c.dkim_aligned,
                             &c.disagreements, &c.quarantined, &c.rejected, &c.rows}) {
      *v = U();
    }
    return c;
  }
  // A count of items that could fit in what is left (each takes a byte at
  // least), so that a damaged count cannot reserve unbounded memory.
  std::uint64_t Count() {
    const std::uint64_t n = U();
    if (n > in_.size() - at_) ok_ = false;
    return ok_ ? n : 0;
  }

 private:
  std::string_view in_;
  std::size_t at_ = 0;
  bool ok_ = false;
};

void WriteSignature(Writer& w, const model::AuthSignature& s) {
  w.S(s.header_from);
  w.OptS(s.envelope_from);
  w.U(s.dkim.size());
  for (const model::DkimAuthResult& d : s.dkim) {
    w.S(d.domain);
    w.OptS(d.selector);
    w.E(d.result);
    w.OptS(d.human_result);
  }
  w.U(s.spf.size());
  for (const model::SpfAuthResult& p : s.spf) {
    w.S(p.domain);
    w.E(p.scope);
    w.E(p.result);
    w.OptS(p.human_result);
  }
  w.U(s.reasons.size());
  for (model::PolicyOverride r : s.reasons) w.E(r);
  w.E(s.disposition);
}

model::AuthSignature ReadSignature(Reader& r) {
  model::AuthSignature s;
  s.header_from = r.S();
  s.envelope_from = r.OptS();
  for (std::uint64_t n = r.Count(); n > 0 && r.ok(); --n) {
    model::DkimAuthResult d;
    d.domain = r.S();
    d.selector = r.OptS();
    d.result = r.E<model::DkimResult>();
    d.human_result = r.OptS();
    s.dkim.push_back(std::move(d));
  }
  for (std::uint64_t n = r.Count(); n > 0 && r.ok(); --n) {
    model::SpfAuthResult p;
    p.domain = r.S();
    p.scope = r.E<model::SpfScope>();
    p.result = r.E<model::SpfResult>();
    p.human_result = r.OptS();
    s.spf.push_back(std::move(p));
  }
  for (std::uint64_t n = r.Count(); n > 0 && r.ok(); --n) {
    s.reasons.push_back(r.E<model::PolicyOverride>());
  }
  s.disposition = r.E<model::AppliedDisposition>();
  return s;
}

}  // namespace

std::string EncodePathTotals(const std::vector<model::PathTotals>& totals) {
  Writer w(kPathTotalsFormat);
  w.U(totals.size());
  for (const model::PathTotals& t : totals) {
    w.S(t.path.key);
    w.S(model::ToString(t.path.kind));
    w.S(t.path.name);
    w.S(t.path.provider);
    w.C(t.counts);
    w.U(t.sources);
    w.U(t.reporters);
    w.I(t.first_day);
    w.I(t.last_day);
  }
  return w.Take();
}

std::optional<std::vector<model::PathTotals>> DecodePathTotals(std::string_view body) {
  Reader r(body, kPathTotalsFormat);
  std::vector<model::PathTotals> out;
  for (std::uint64_t n = r.Count(); n > 0 && r.ok(); --n) {
    model::PathTotals t;
    t.path.key = r.S();
    t.path.kind = model::PathKindFromString(r.S());
    t.path.name = r.S();
    t.path.provider = r.S();
    t.counts = r.C();
    t.sources = r.U();
    t.reporters = r.U();
    t.first_day = r.I();
    t.last_day = r.I();
    out.push_back(std::move(t));
  }
  if (!r.ok() || !r.done()) return std::nullopt;
  return out;
}

std::string EncodeSources(const std::vector<model::SourceCounts>& sources) {
  // Groups share few signatures and paths (hundreds and a handful among
  // hundreds of thousands of groups on a large store): each is written once
  // and named by index.
  std::unordered_map<const model::AuthSignature*, std::uint64_t> by_pointer;
  std::unordered_map<std::string, std::uint64_t> by_text;
  std::unordered_map<std::string, std::uint64_t> paths;
  std::vector<std::uint64_t> signature_refs, path_refs;
  signature_refs.reserve(sources.size());
  path_refs.reserve(sources.size());
  std::string signatures, path_keys;
  for (const model::SourceCounts& s : sources) {
    auto known = by_pointer.find(s.signature.get());
    if (known == by_pointer.end()) {
      Writer one;
      WriteSignature(one, *s.signature);
      auto [at, added] = by_text.emplace(one.Take(), by_text.size());
      if (added) signatures += at->first;
      known = by_pointer.emplace(s.signature.get(), at->second).first;
    }
    signature_refs.push_back(known->second);
    auto [path, added] = paths.emplace(s.path_key, paths.size());
    if (added) {
      Writer one;
      one.S(s.path_key);
      path_keys += one.Take();
    }
    path_refs.push_back(path->second);
  }
  Writer w(kSourcesFormat);
  w.U(by_text.size());
  w.Raw(signatures);
  w.U(paths.size());
  w.Raw(path_keys);
  w.U(sources.size());
  for (std::size_t k = 0; k < sources.size(); ++k) {
    const model::SourceCounts& s = sources[k];
    w.U(path_refs[k]);
    w.Ip(s.ip);
    w.U(signature_refs[k]);
    w.C(s.counts);
    w.I(s.first_day);
    w.I(s.last_day);
  }
  return w.Take();
}

std::optional<std::vector<model::SourceCounts>> DecodeSources(std::string_view body,
                                                              std::size_t max_groups) {
  Reader r(body, kSourcesFormat);
  std::vector<std::shared_ptr<const model::AuthSignature>> signatures;
  for (std::uint64_t n = r.Count(); n > 0 && r.ok(); --n) {
    signatures.push_back(std::make_shared<const model::AuthSignature>(ReadSignature(r)));
  }
  std::vector<std::string> path_keys;
  for (std::uint64_t n = r.Count(); n > 0 && r.ok(); --n) path_keys.push_back(r.S());
  std::vector<model::SourceCounts> out;
  const std::uint64_t n = std::min<std::uint64_t>(r.Count(), max_groups);
  out.reserve(n);
  for (std::uint64_t k = 0; k < n && r.ok(); ++k) {
    model::SourceCounts s;
    const std::uint64_t path = r.U();
    if (path >= path_keys.size()) return std::nullopt;
    s.path_key = path_keys[path];
    s.ip = r.Ip();
    const std::uint64_t ref = r.U();
    if (ref >= signatures.size()) return std::nullopt;
    s.signature = signatures[ref];
    s.counts = r.C();
    s.first_day = r.I();
    s.last_day = r.I();
    out.push_back(std::move(s));
  }
  // Groups past max_groups are not read, nor checked.
  if (!r.ok()) return std::nullopt;
  return out;
}

std::string AnswerKey(std::string_view kind, const model::RollupQuery& filter) {
  std::string key(kind);
  key += '\n';
  key += filter.domain ? "domain " + model::AsciiLower(*filter.domain) : std::string("domain *");
  key += "\nfrom " + std::to_string(filter.from_day) + "\nto " + std::to_string(filter.to_day);
  key += filter.path_key ? "\npath " + *filter.path_key : std::string("\npath *");
  key += "\nlimit " + std::to_string(filter.limit);
  return key;
}

}  // namespace dmarcwatch::store
