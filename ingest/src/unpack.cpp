#include "dmarcwatch/ingest/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <exception>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dmarcwatch/model/text.h"
#include "mime.h"

namespace dmarcwatch::ingest {
namespace {

using model::ParseWarning;
using model::Printable;

// gzip inside gzip is legal, so max_depth is a knob; this cap keeps the
// recursion of Unpacker::Process shallow whatever the configuration says.
constexpr std::uint32_t kMaxSupportedDepth = 32;
// Output is produced this much at a time; with GrowTo, a buffer never
// reaches past limit + 1.
constexpr std::size_t kInflateChunk = 64 * 1024;
constexpr std::size_t kZipReadChunk = 64 * 1024;
// How far into an email part "<feedback" is looked for.
constexpr std::size_t kReportSniffBytes = 4096;
constexpr std::size_t kExcerptBytes = 32;
constexpr std::size_t kMaxNameBytes = 255;
// The chain word of an RFC 6591 failure report (Abuse Reporting Format),
// which is recognised in emails but has no PayloadKind.
constexpr std::string_view kFailureReportWord = "arf";

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

bool EndsWithIgnoreCase(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() &&
         model::EqualsIgnoreCase(s.substr(s.size() - suffix.size()), suffix);
}

std::string_view SkipBomAndSpace(std::string_view s) {
  if (StartsWith(s, "\xEF\xBB\xBF")) s.remove_prefix(3);
  const std::size_t first = s.find_first_not_of(" \t\r\n");
  return first == std::string_view::npos ? std::string_view() : s.substr(first);
}

// RFC 1950 §2.2: CM = 8 (deflate) with a 32 KiB window (0x78), no preset
// dictionary, and CMF*256 + FLG a multiple of 31.
bool IsZlibHeader(unsigned char cmf, unsigned char flg) {
  return cmf == 0x78 && (flg & 0x20) == 0 && ((cmf << 8) | flg) % 31 == 0;
}

// The first line is "Field-Name: value" (RFC 5322 §2.2) or an mbox "From "
// line (RFC 4155). Requiring whitespace or the line end after the colon
// keeps text such as "http://..." from counting as mail.
bool LooksLikeEmail(std::string_view b) {
  if (StartsWith(b, "From ")) return true;
  // RFC 5322 §2.1.1: a line is at most 998 characters.
  const std::size_t colon = b.substr(0, 998).find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  for (std::size_t i = 0; i < colon; ++i) {
    const auto c = static_cast<unsigned char>(b[i]);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  if (colon + 1 == b.size()) return true;
  const char after = b[colon + 1];
  return after == ' ' || after == '\t' || after == '\r' || after == '\n';
}

// Inside an email, only XML that announces itself is taken for a report:
// an XML declaration, or a <feedback> element near the start. An HTML body
// is neither.
bool LooksLikeReport(std::string_view data) {
  if (StartsWith(SkipBomAndSpace(data), "<?xml")) return true;
  return data.substr(0, kReportSniffBytes).find("<feedback") != std::string_view::npos;
}

std::string Join(const std::string& chain, std::string_view word) {
  if (chain.empty()) return std::string(word);
  std::string out = chain;
  out += '>';
  out += word;
  return out;
}

std::uint64_t SaturatingAddOne(std::uint64_t v) {
  return v == std::numeric_limits<std::uint64_t>::max() ? v : v + 1;
}

std::uint64_t SaturatingMul(std::uint64_t a, std::uint64_t b) {
  std::uint64_t product = 0;
  return __builtin_mul_overflow(a, b, &product) ? std::numeric_limits<std::uint64_t>::max()
                                                : product;
}

// Makes room for `n` bytes without ever reserving more than `cap`, so
// geometric growth cannot take a buffer past limit + 1.
// REQUIRES: n <= cap
void GrowTo(std::string& s, std::size_t n, std::uint64_t cap) {
  if (n <= s.capacity()) return;
  const std::uint64_t doubled = static_cast<std::uint64_t>(s.capacity()) * 2;
  s.reserve(
      static_cast<std::size_t>(std::min<std::uint64_t>(std::max<std::uint64_t>(doubled, n), cap)));
}

// Reserves room for output whose size a header declares (gzip ISIZE, a zip
// entry's size): the declared size and one chunk, so that a declaration
// that tells the truth costs no doubling (which overshoots by up to the
// size) and no ShrinkIfWasteful copy (another copy of the whole payload)
// for a payload of hundreds of megabytes. It is only a hint from the data:
// never more than the budget allows (`cap`) or than the ratio limit lets
// `compressed` bytes inflate to; a smaller declaration just means growing
// as usual.
void ReserveDeclared(std::string& s, std::uint64_t declared, std::uint64_t cap,
                     std::uint64_t compressed, const UnpackLimits& limits) {
  if (declared == 0) return;
  const std::uint64_t by_ratio = std::max<std::uint64_t>(
      limits.ratio_check_after_bytes, SaturatingMul(compressed, limits.max_inflate_ratio));
  const std::uint64_t want = std::min({declared + kInflateChunk, cap, by_ratio});
  if (want > s.capacity()) s.reserve(static_cast<std::size_t>(want));
}

// Gives back spare capacity when it is worth a copy: the payload is kept
// until the caller is done with the whole input.
void ShrinkIfWasteful(std::string& s) {
  constexpr std::size_t kTolerated = 1024 * 1024;
  if (s.capacity() - s.size() > kTolerated) s.shrink_to_fit();
}

Status Limit(std::string_view knob, std::string_view what, std::uint64_t limit) {
  std::string message(what);
  message += " exceeds ";
  message += knob;
  message += " (" + std::to_string(limit) + ")";
  return Status::LimitExceeded(std::string(knob), std::move(message));
}

// Names come from the data (zip entries, attachment filenames): masked and
// capped like anything else that reaches a log line.
std::string SanitiseName(std::string_view name) {
  return Printable(model::TrimAscii(name), kMaxNameBytes);
}

// "report.xml.gz" -> "report.xml": the name of what a compressed layer
// holds. A gzip FNAME header is not used; the name the sender gave is
// the one a person recognises.
std::string StripCompressionSuffix(const std::string& name, PayloadKind kind) {
  static constexpr std::array<std::string_view, 2> kGzip = {".gz", ".gzip"};
  static constexpr std::array<std::string_view, 2> kZlib = {".zlib", ".zz"};
  for (const std::string_view suffix : kind == PayloadKind::kGzip ? kGzip : kZlib) {
    if (EndsWithIgnoreCase(name, suffix)) return name.substr(0, name.size() - suffix.size());
  }
  return name;
}

// The bytes of one layer: a view into memory someone else owns, or a buffer
// this layer owns (inflated output, a zip entry, a decoded MIME part), so a
// layer can be handed on without a copy and released once unpacked.
class Bytes {
 public:
  static Bytes View(std::string_view view) {
    Bytes b;
    b.view_ = view;
    return b;
  }
  static Bytes Own(std::string owned) {
    Bytes b;
    b.owned_ = std::move(owned);
    b.is_owned_ = true;
    return b;
  }
  std::string_view data() const { return is_owned_ ? std::string_view(owned_) : view_; }
  // Moves the bytes out (copies them when they are a view).
  std::string Take() {
    if (is_owned_) {
      is_owned_ = false;
      return std::move(owned_);
    }
    return std::string(view_);
  }
  void Release() {
    std::string().swap(owned_);
    view_ = {};
    is_owned_ = false;
  }

 private:
  std::string owned_;
  std::string_view view_;
  bool is_owned_ = false;
};

// ---------------------------------------------------------------------------
// gzip (RFC 1952) and zlib (RFC 1950) streams.

struct Inflated {
  std::string bytes;
  std::uint64_t trailing_bytes = 0;  // after the last member, ignored
};

class InflateStream {
 public:
  explicit InflateStream(int window_bits) { ok_ = inflateInit2(&zs_, window_bits) == Z_OK; }
  ~InflateStream() {
    if (ok_) inflateEnd(&zs_);
  }
  InflateStream(const InflateStream&) = delete;
  InflateStream& operator=(const InflateStream&) = delete;
  bool ok() const { return ok_; }
  z_stream* get() { return &zs_; }

 private:
  z_stream zs_{};
  bool ok_ = false;
};

Status Corrupt(PayloadKind kind, std::string detail) {
  const bool gzip = kind == PayloadKind::kGzip;
  return Status::InvalidInput(
      gzip ? "corrupt_gzip" : "corrupt_zlib",
      std::string(gzip ? "corrupt gzip stream: " : "corrupt zlib stream: ") + detail);
}

// The bytes a payload may inflate to: max_inflated_bytes, or less when
// earlier payloads of the same input used part of it.
struct InflateBudget {
  std::uint64_t bytes = 0;
  bool is_total = false;  // `bytes` is what is left of the input's total

  Status Exceeded(const UnpackLimits& limits) const {
    return Limit("max_inflated_bytes", is_total ? "total inflated size" : "inflated size",
                 limits.max_inflated_bytes);
  }
};

// The little-endian number of `bytes` bytes at `pos` (gzip trailers, zip
// headers).
std::uint32_t Le(std::string_view d, std::size_t pos, int bytes) {
  std::uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) {
    v = (v << 8) | static_cast<unsigned char>(d[pos + static_cast<std::size_t>(i)]);
  }
  return v;
}

// Inflates the whole of `in`, in chunks, stopping at budget + 1 bytes and
// when the ratio of output to consumed input passes max_inflate_ratio.
// gzip: members follow one another (RFC 1952 §2.2) and their data is
// concatenated; bytes after the last member that do not start another one
// are counted in trailing_bytes. A stream that ends early is corrupt.
Result<Inflated> Inflate(std::string_view in, PayloadKind kind, const UnpackLimits& limits,
                         InflateBudget budget) {
  const bool gzip = kind == PayloadKind::kGzip;
  InflateStream stream(gzip ? 16 + MAX_WBITS : MAX_WBITS);
  if (!stream.ok()) return Status::Internal("zlib could not be initialised");
  z_stream* zs = stream.get();

  const std::uint64_t cap = SaturatingAddOne(budget.bytes);
  Inflated result;
  std::string& out = result.bytes;
  if (gzip && in.size() >= 18) {
    // ISIZE, the last four bytes (RFC 1952 §2.3.1): the size of the last
    // member's data mod 2^32, which is all of it for the usual one member.
    ReserveDeclared(out, Le(in, in.size() - 4, 4), cap, in.size(), limits);
  }
  std::size_t used = 0;
  std::size_t fed = 0;  // bytes of `in` handed to zlib so far
  for (;;) {
    if (zs->avail_in == 0 && fed < in.size()) {
      const std::size_t n = std::min<std::size_t>(in.size() - fed, UINT_MAX);
      // zlib's API takes a non-const pointer; it does not write through it.
      zs->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + fed));
      zs->avail_in = static_cast<uInt>(n);
      fed += n;
    }
    const std::size_t room = static_cast<std::size_t>(
        std::min<std::uint64_t>(kInflateChunk, cap - static_cast<std::uint64_t>(used)));
    GrowTo(out, used + room, cap);
    out.resize(used + room);
    zs->next_out = reinterpret_cast<Bytef*>(out.data() + used);
    zs->avail_out = static_cast<uInt>(room);
    const uInt avail_in_before = zs->avail_in;
    const int rc = inflate(zs, Z_NO_FLUSH);
    const std::size_t produced = room - zs->avail_out;
    used += produced;
    out.resize(used);

    if (used > budget.bytes) return budget.Exceeded(limits);
    const std::uint64_t consumed = std::max<std::uint64_t>(fed - zs->avail_in, 1);
    if (used > limits.ratio_check_after_bytes && used / consumed > limits.max_inflate_ratio) {
      return Limit("max_inflate_ratio", "inflate ratio", limits.max_inflate_ratio);
    }

    switch (rc) {
      case Z_OK:
        continue;
      case Z_STREAM_END: {
        const std::string_view rest = in.substr(fed - zs->avail_in);
        if (gzip && rest.size() >= 2 && static_cast<unsigned char>(rest[0]) == 0x1f &&
            static_cast<unsigned char>(rest[1]) == 0x8b) {
          if (inflateReset(zs) != Z_OK) return Corrupt(kind, "cannot start the next member");
          continue;
        }
        result.trailing_bytes = rest.size();
        ShrinkIfWasteful(out);
        return result;
      }
      case Z_BUF_ERROR:
        // No progress was possible: zlib wants input and there is none.
        if (zs->avail_in == 0 && fed == in.size()) {
          return Corrupt(kind, "unexpected end of data (truncated)");
        }
        if (produced == 0 && zs->avail_in == avail_in_before) {
          return Corrupt(kind, "no progress");
        }
        continue;
      default:
        return Corrupt(
            kind, zs->msg != nullptr ? Printable(zs->msg) : "inflate error " + std::to_string(rc));
    }
  }
}

// ---------------------------------------------------------------------------
// zip (PKWARE APPNOTE), read with libarchive from memory.

std::uint64_t Le64(std::string_view d, std::size_t pos) {
  return (static_cast<std::uint64_t>(Le(d, pos + 4, 4)) << 32) | Le(d, pos, 4);
}

struct ZipDirectory {
  bool found = false;
  std::uint64_t entries = 0;
};

// Finds the end of central directory record (APPNOTE 4.3.16, or the zip64
// one of 4.3.14) and counts the central directory records before it, up to
// stop_after + 1. The entry limit is checked here, before libarchive reads
// the central directory into memory: it allocates per record, so a
// directory of a million empty names would cost far more than its bytes.
// The larger of the declared and the counted number is returned, so that
// neither a lying count nor a lying size hides entries.
ZipDirectory ScanZipDirectory(std::string_view d, std::uint64_t stop_after) {
  constexpr std::size_t kEocdBytes = 22;
  constexpr std::size_t kMaxComment = 0xffff;
  constexpr std::size_t kZip64LocatorBytes = 20;
  constexpr std::size_t kZip64EocdBytes = 56;
  constexpr std::size_t kCentralHeaderBytes = 46;
  ZipDirectory dir;
  if (d.size() < kEocdBytes) return dir;
  const std::size_t lowest =
      d.size() > kEocdBytes + kMaxComment ? d.size() - kEocdBytes - kMaxComment : 0;
  std::size_t eocd = d.size() - kEocdBytes + 1;
  while (eocd-- > lowest) {
    if (std::memcmp(d.data() + eocd, "PK\x05\x06", 4) == 0) {
      dir.found = true;
      break;
    }
  }
  if (!dir.found) return dir;

  std::uint64_t declared = Le(d, eocd + 10, 2);
  std::uint64_t cd_size = Le(d, eocd + 12, 4);
  std::size_t cd_end = eocd;
  if ((declared == 0xffff || cd_size == 0xffffffff) && eocd >= kZip64LocatorBytes &&
      std::memcmp(d.data() + eocd - kZip64LocatorBytes, "PK\x06\x07", 4) == 0) {
    const std::uint64_t z64 = Le64(d, eocd - kZip64LocatorBytes + 8);
    if (z64 <= eocd - kZip64LocatorBytes && eocd - kZip64LocatorBytes - z64 >= kZip64EocdBytes &&
        std::memcmp(d.data() + z64, "PK\x06\x06", 4) == 0) {
      declared = Le64(d, static_cast<std::size_t>(z64) + 32);
      cd_size = Le64(d, static_cast<std::size_t>(z64) + 40);
      cd_end = static_cast<std::size_t>(z64);
    }
  }
  // Measured back from the end, which also finds the directory of an
  // archive with bytes prepended to it.
  std::size_t pos = cd_size <= cd_end ? cd_end - static_cast<std::size_t>(cd_size) : 0;
  std::uint64_t counted = 0;
  while (counted <= stop_after && pos + kCentralHeaderBytes <= cd_end &&
         std::memcmp(d.data() + pos, "PK\x01\x02", 4) == 0) {
    ++counted;
    pos += kCentralHeaderBytes + Le(d, pos + 28, 2) + Le(d, pos + 30, 2) + Le(d, pos + 32, 2);
  }
  dir.entries = std::max(declared, counted);
  return dir;
}

class ArchiveReader {
 public:
  ArchiveReader() : a_(archive_read_new()) {}
  ~ArchiveReader() {
    if (a_ != nullptr) archive_read_free(a_);
  }
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;
  archive* get() const { return a_; }

 private:
  archive* a_;
};

std::string ArchiveError(archive* a) {
  const char* message = archive_error_string(a);
  return message != nullptr ? Printable(message) : std::string("unknown error");
}

Status CorruptZip(archive* a) {
  return Status::InvalidInput("corrupt_zip", "corrupt zip archive: " + ArchiveError(a));
}

bool IsDirectoryEntry(archive_entry* entry, std::string_view raw_name) {
  return archive_entry_filetype(entry) == AE_IFDIR ||
         (!raw_name.empty() && (raw_name.back() == '/' || raw_name.back() == '\\'));
}

// Resource forks and Finder metadata that macOS adds to archives it makes:
// "__MACOSX/..." and AppleDouble "._name" files. Never reports.
bool IsMacMetadata(std::string_view raw_name) {
  if (StartsWith(raw_name, "__MACOSX/")) return true;
  const std::size_t slash = raw_name.find_last_of('/');
  const std::string_view base =
      slash == std::string_view::npos ? raw_name : raw_name.substr(slash + 1);
  return StartsWith(base, "._");
}

struct EntryRead {
  Status status;
  bool stop_archive = false;  // the archive as a whole cannot go on
};

// Reads the current entry's data into *out, bounded like Inflate. The ratio
// is measured for the archive as a whole (all entries inflated so far
// against the archive's size): libarchive does not expose an entry's
// compressed size, and a whole-archive ratio also catches many entries
// that each stay under the per-entry limit.
EntryRead ReadEntry(archive* a, archive_entry* entry, std::uint64_t archive_size,
                    std::uint64_t* archive_inflated, const UnpackLimits& limits,
                    InflateBudget budget, std::string* out) {
  EntryRead result;
  // The declared size is only a hint, but one over the budget needs no
  // inflating to be refused.
  if (archive_entry_size_is_set(entry) != 0 && archive_entry_size(entry) > 0 &&
      static_cast<std::uint64_t>(archive_entry_size(entry)) > budget.bytes) {
    result.status = budget.Exceeded(limits);
    return result;
  }
  const std::uint64_t cap = SaturatingAddOne(budget.bytes);
  if (archive_entry_size_is_set(entry) != 0 && archive_entry_size(entry) > 0) {
    ReserveDeclared(*out, static_cast<std::uint64_t>(archive_entry_size(entry)), cap,
                    archive_size, limits);
  }
  std::size_t used = 0;
  for (;;) {
    const std::size_t room = static_cast<std::size_t>(
        std::min<std::uint64_t>(kZipReadChunk, cap - static_cast<std::uint64_t>(used)));
    GrowTo(*out, used + room, cap);
    out->resize(used + room);
    const la_ssize_t n = archive_read_data(a, out->data() + used, room);
    if (n < 0) {
      out->resize(used);
      result.status = CorruptZip(a);
      result.stop_archive = n == ARCHIVE_FATAL;
      return result;
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
    *archive_inflated += static_cast<std::uint64_t>(n);
    if (used > budget.bytes) {
      out->resize(used);
      result.status = budget.Exceeded(limits);
      return result;
    }
    if (*archive_inflated > limits.ratio_check_after_bytes &&
        *archive_inflated / std::max<std::uint64_t>(archive_size, 1) > limits.max_inflate_ratio) {
      out->resize(used);
      result.status = Limit("max_inflate_ratio", "inflate ratio", limits.max_inflate_ratio);
      result.stop_archive = true;
      return result;
    }
  }
  out->resize(used);
  ShrinkIfWasteful(*out);
  return result;
}

// ---------------------------------------------------------------------------

enum class Origin : std::uint8_t {
  kInput,      // the bytes Unpack was given
  kContainer,  // what a gzip, zlib or zip layer held
  kEmailPart,  // a leaf part of an email, to be told apart from a human body
};

// Where a layer sits: how it was reached and what it inherits.
struct Layer {
  std::string chain;  // words so far; empty for the input itself
  std::string name;
  std::uint32_t depth = 0;  // containers opened on the way here
  bool inside_zip = false;
  bool named = false;  // an email part with a filename of its own
  std::vector<ParseWarning> warnings;
};

class Unpacker {
 public:
  Unpacker(const UnpackLimits& limits, Unpacked& out)
      : limits_(limits), out_(out), max_depth_(std::min(limits.max_depth, kMaxSupportedDepth)) {}

  void Process(Bytes bytes, const Layer& at, Origin origin);

 private:
  void OpenCompressed(Bytes bytes, PayloadKind kind, const Layer& at, const std::string& chain);
  void OpenZip(Bytes bytes, const Layer& at, const std::string& chain);
  void OpenEmail(Bytes bytes, const Layer& at, const std::string& chain, bool is_input,
                 bool nested_in_email);
  void HandlePart(internal::MimePart&& part, const Layer& email);

  // False, with a failure recorded, when opening one more container would
  // pass max_depth.
  bool AdmitDepth(const Layer& at, const std::string& chain);
  // False when max_candidates parts of the email were already tried; the
  // first refusal is recorded as a failure.
  bool AdmitCandidate(const std::string& chain, const std::string& name);

  // max_inflated_bytes bounds each payload and also everything one input
  // inflates to, so that many entries or attachments, each under the
  // limit, cannot together hold an unbounded amount of memory.
  InflateBudget Budget() const {
    const std::uint64_t left = limits_.max_inflated_bytes - inflated_total_;
    return InflateBudget{left, inflated_total_ > 0};
  }
  void Spend(std::uint64_t bytes) { inflated_total_ += bytes; }

  void AddReport(const std::string& chain, const Layer& at, std::string bytes) {
    out_.reports.push_back(Payload{chain, at.name, std::move(bytes), at.warnings});
    ++found_;
  }
  void AddFailure(const std::string& chain, const std::string& name, Status status) {
    out_.failures.push_back(PayloadFailure{chain, name, std::move(status)});
    ++found_;
  }
  // A human-readable part is recorded but does not count as something found
  // in an email.
  void AddSkipped(const std::string& chain, const std::string& name, std::string reason) {
    const bool counts = reason != "not_a_report";
    out_.skipped.push_back(Skipped{chain, name, std::move(reason)});
    if (counts) ++found_;
  }

  const UnpackLimits& limits_;
  Unpacked& out_;
  const std::uint32_t max_depth_;
  internal::MimeCounters mime_;
  std::uint32_t candidates_ = 0;
  bool candidates_refused_ = false;
  std::size_t found_ = 0;             // reports, failures and skipped reports so far
  std::uint64_t inflated_total_ = 0;  // <= limits_.max_inflated_bytes
};

bool Unpacker::AdmitDepth(const Layer& at, const std::string& chain) {
  if (at.depth < max_depth_) return true;
  AddFailure(chain, at.name, Limit("max_depth", "nesting depth", max_depth_));
  return false;
}

bool Unpacker::AdmitCandidate(const std::string& chain, const std::string& name) {
  if (candidates_ < limits_.max_candidates) {
    ++candidates_;
    return true;
  }
  if (!candidates_refused_) {
    candidates_refused_ = true;
    AddFailure(chain, name,
               Limit("max_candidates", "number of candidate parts", limits_.max_candidates));
  }
  return false;
}

void Unpacker::Process(Bytes bytes, const Layer& at, Origin origin) {
  const std::string_view data = bytes.data();
  const PayloadKind kind = DetectKind(data);
  const std::string chain = Join(at.chain, ChainWord(kind));
  const bool in_email = origin == Origin::kEmailPart;
  switch (kind) {
    case PayloadKind::kEmpty:
      if (in_email && !at.named) {
        AddSkipped(chain, at.name, "not_a_report");
        return;
      }
      AddFailure(chain, at.name,
                 Status::InvalidInput(origin == Origin::kInput ? "empty_input" : "empty_payload",
                                      "empty payload (0 bytes)"));
      return;
    case PayloadKind::kXml:
      if (in_email) {
        if (!LooksLikeReport(data)) {
          AddSkipped(chain, at.name, "not_a_report");
          return;
        }
        if (!AdmitCandidate(chain, at.name)) return;
      }
      AddReport(chain, at, bytes.Take());
      return;
    case PayloadKind::kJson:
      // RFC 8460 SMTP TLS reports: recognised, not imported yet.
      if (in_email && !AdmitCandidate(chain, at.name)) return;
      AddSkipped(chain, at.name, "smtp_tls_report");
      return;
    case PayloadKind::kUnknown:
      if (in_email) {
        // A report pasted into a text body after a line of prose.
        if (LooksLikeReport(data)) {
          const std::string xml_chain = Join(at.chain, ChainWord(PayloadKind::kXml));
          if (AdmitCandidate(xml_chain, at.name)) AddReport(xml_chain, at, bytes.Take());
          return;
        }
        AddSkipped(chain, at.name, "not_a_report");
        return;
      }
      AddFailure(chain, at.name,
                 Status::InvalidInput("unrecognised_payload",
                                      "unrecognised payload (" + std::to_string(data.size()) +
                                          " bytes), starts with \"" +
                                          Printable(data.substr(0, kExcerptBytes)) + "\""));
      return;
    case PayloadKind::kEmail:
      // Inside an email only message/rfc822 parts are messages; a text part
      // that starts like a header (text/rfc822-headers, a pasted header) is
      // a human-readable body.
      if (in_email) {
        AddSkipped(chain, at.name, "not_a_report");
        return;
      }
      OpenEmail(std::move(bytes), at, chain, origin == Origin::kInput, false);
      return;
    case PayloadKind::kGzip:
    case PayloadKind::kZlib:
      if (in_email && !AdmitCandidate(chain, at.name)) return;
      OpenCompressed(std::move(bytes), kind, at, chain);
      return;
    case PayloadKind::kZip:
      if (in_email && !AdmitCandidate(chain, at.name)) return;
      if (at.inside_zip) {
        AddFailure(chain, at.name,
                   Status::InvalidInput("nested_zip", "zip archive inside a zip archive"));
        return;
      }
      OpenZip(std::move(bytes), at, chain);
      return;
  }
}

void Unpacker::OpenCompressed(Bytes bytes, PayloadKind kind, const Layer& at,
                              const std::string& chain) {
  if (!AdmitDepth(at, chain)) return;
  Result<Inflated> inflated = Inflate(bytes.data(), kind, limits_, Budget());
  if (!inflated.ok()) {
    AddFailure(chain, at.name, std::move(inflated).status());
    return;
  }
  Spend(inflated->bytes.size());
  bytes.Release();  // the compressed form is no longer needed
  Layer inner = at;
  inner.chain = chain;
  inner.name = StripCompressionSuffix(at.name, kind);
  inner.depth = at.depth + 1;
  if (inflated->trailing_bytes > 0) {
    const bool gzip = kind == PayloadKind::kGzip;
    inner.warnings.push_back(ParseWarning{gzip ? "gzip_trailing_junk" : "zlib_trailing_junk",
                                          std::to_string(inflated->trailing_bytes) +
                                              " bytes after the end of the " +
                                              (gzip ? "gzip" : "zlib") + " stream ignored"});
  }
  Process(Bytes::Own(std::move(inflated->bytes)), inner, Origin::kContainer);
}

void Unpacker::OpenZip(Bytes bytes, const Layer& at, const std::string& chain) {
  if (!AdmitDepth(at, chain)) return;
  const std::string_view data = bytes.data();
  const ZipDirectory dir = ScanZipDirectory(data, limits_.max_zip_entries);
  if (!dir.found) {
    AddFailure(chain, at.name,
               Status::InvalidInput("corrupt_zip",
                                    "corrupt zip archive: no end of central directory record "
                                    "(truncated?)"));
    return;
  }
  if (dir.entries > limits_.max_zip_entries) {
    AddFailure(chain, at.name,
               Limit("max_zip_entries", "number of zip entries", limits_.max_zip_entries));
    return;
  }

  ArchiveReader reader;
  archive* a = reader.get();
  if (a == nullptr) {
    AddFailure(chain, at.name, Status::Internal("libarchive could not be initialised"));
    return;
  }
  // Only the seekable zip reader: it works from the central directory, so
  // sizes are known before reading and a truncated archive is refused
  // instead of being scanned for headers.
  if (archive_read_support_format_zip_seekable(a) != ARCHIVE_OK ||
      archive_read_open_memory(a, data.data(), data.size()) != ARCHIVE_OK) {
    AddFailure(chain, at.name, CorruptZip(a));
    return;
  }

  Layer entry_at = at;
  entry_at.chain = chain;
  entry_at.depth = at.depth + 1;
  entry_at.inside_zip = true;
  entry_at.named = true;
  const std::size_t found_before = found_;
  std::uint32_t seen = 0;
  std::uint64_t inflated = 0;
  for (;;) {
    archive_entry* entry = nullptr;
    const int rc = archive_read_next_header(a, &entry);
    if (rc == ARCHIVE_EOF) break;
    if ((rc != ARCHIVE_OK && rc != ARCHIVE_WARN) || entry == nullptr) {
      AddFailure(chain, at.name, CorruptZip(a));
      break;
    }
    // Every entry counts, directories and macOS metadata included.
    if (++seen > limits_.max_zip_entries) {
      AddFailure(chain, at.name,
                 Limit("max_zip_entries", "number of zip entries", limits_.max_zip_entries));
      break;
    }
    const char* raw = archive_entry_pathname_utf8(entry);
    if (raw == nullptr) raw = archive_entry_pathname(entry);
    const std::string_view raw_name = raw != nullptr ? std::string_view(raw) : std::string_view();
    if (IsDirectoryEntry(entry, raw_name) || IsMacMetadata(raw_name)) continue;
    const auto type = archive_entry_filetype(entry);
    if (type != 0 && type != AE_IFREG) continue;  // symbolic links and the like
    // An entry with an empty name is still read: "<archive>#<n>".
    std::string name = SanitiseName(raw_name);
    if (name.empty()) {
      std::string base = at.name;
      if (EndsWithIgnoreCase(base, ".zip")) base.resize(base.size() - 4);
      name = base + "#" + std::to_string(seen);
    }
    if (archive_entry_is_encrypted(entry) != 0) {
      AddFailure(chain, name, Status::InvalidInput("zip_encrypted", "zip entry is encrypted"));
      continue;
    }
    std::string content;
    const EntryRead read = ReadEntry(a, entry, data.size(), &inflated, limits_, Budget(), &content);
    if (!read.status.ok()) {
      AddFailure(chain, name, read.status);
      if (read.stop_archive) break;
      continue;
    }
    Spend(content.size());
    entry_at.name = std::move(name);
    Process(Bytes::Own(std::move(content)), entry_at, Origin::kContainer);
  }
  if (found_ == found_before) {
    AddFailure(chain, at.name, Status::InvalidInput("empty_zip", "zip archive holds no files"));
  }
}

void Unpacker::OpenEmail(Bytes bytes, const Layer& at, const std::string& chain, bool is_input,
                         bool nested_in_email) {
  if (!AdmitDepth(at, chain)) return;
  Layer email = at;
  email.chain = chain;
  email.depth = at.depth + 1;
  const std::size_t found_before = found_;
  internal::MessageSummary summary;
  Status status =
      internal::WalkMessage(bytes.data(), limits_, mime_, &summary,
                            [&](internal::MimePart&& part) { HandlePart(std::move(part), email); });
  if (is_input) {
    out_.message_id = summary.message_id;
    out_.subject = summary.subject;
  }
  if (!status.ok()) AddFailure(chain, at.name, std::move(status));
  // A message inside a message is judged with the one around it.
  if (nested_in_email || found_ != found_before) return;
  // RFC 6522 §3 requires report-type. A multipart/report without it and
  // without anything importable is a machine-written report of another
  // kind; the ones seen are DMARC failure reports written as plain text.
  if (summary.content_type == "multipart/report" && !summary.report_type) {
    AddSkipped(Join(chain, kFailureReportWord), at.name, "failure_report");
    return;
  }
  AddFailure(chain, at.name,
             Status::InvalidInput("no_report_in_message", "no report found in the message"));
}

void Unpacker::HandlePart(internal::MimePart&& part, const Layer& email) {
  Layer at = email;
  at.named = !part.filename.empty();
  if (at.named) at.name = SanitiseName(part.filename);
  at.warnings.insert(at.warnings.end(), part.warnings.begin(), part.warnings.end());
  Bytes body = part.was_decoded ? Bytes::Own(std::move(part.decoded)) : Bytes::View(part.raw);
  switch (part.kind) {
    case internal::MimePartKind::kFailureReport:
      // RFC 6591 failure reports: recognised, not imported yet.
      AddSkipped(Join(email.chain, kFailureReportWord), at.name, "failure_report");
      return;
    case internal::MimePartKind::kMessage:
      OpenEmail(std::move(body), at, Join(email.chain, ChainWord(PayloadKind::kEmail)), false,
                true);
      return;
    case internal::MimePartKind::kLeaf:
      Process(std::move(body), at, Origin::kEmailPart);
      return;
  }
}

}  // namespace

PayloadKind DetectKind(std::string_view bytes) {
  if (bytes.empty()) return PayloadKind::kEmpty;
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
  if (bytes.size() >= 2 && byte(0) == 0x1f && byte(1) == 0x8b) return PayloadKind::kGzip;
  // A local file header, or the end record of an empty archive.
  if (StartsWith(bytes, std::string_view("PK\x03\x04", 4)) ||
      StartsWith(bytes, std::string_view("PK\x05\x06", 4))) {
    return PayloadKind::kZip;
  }
  if (bytes.size() >= 2 && IsZlibHeader(byte(0), byte(1))) return PayloadKind::kZlib;
  const std::string_view text = SkipBomAndSpace(bytes);
  if (!text.empty() && text[0] == '<') return PayloadKind::kXml;
  if (!text.empty() && text[0] == '{') return PayloadKind::kJson;
  if (LooksLikeEmail(bytes)) return PayloadKind::kEmail;
  return PayloadKind::kUnknown;
}

const char* ChainWord(PayloadKind kind) {
  switch (kind) {
    case PayloadKind::kXml:
      return "xml";
    case PayloadKind::kGzip:
      return "gz";
    case PayloadKind::kZip:
      return "zip";
    case PayloadKind::kZlib:
      return "zlib";
    case PayloadKind::kEmail:
      return "eml";
    case PayloadKind::kJson:
      return "json";
    case PayloadKind::kEmpty:
      return "empty";
    case PayloadKind::kUnknown:
      return "unknown";
  }
  return "unknown";
}

Unpacked Unpack(std::string_view input, std::string_view name, const UnpackLimits& limits) {
  Unpacked out;
  try {
    if (input.size() > limits.max_input_bytes) {
      out.failures.push_back(
          PayloadFailure{ChainWord(DetectKind(input)), std::string(name),
                         Limit("max_input_bytes", "input size", limits.max_input_bytes)});
      return out;
    }
    Unpacker unpacker(limits, out);
    Layer input_layer;
    input_layer.name = std::string(name);
    unpacker.Process(Bytes::View(input), input_layer, Origin::kInput);
  } catch (const std::exception& e) {
    // Only allocation failure is expected here; nothing below throws on
    // input.
    out.failures.push_back(PayloadFailure{
        "", std::string(name), Status::Internal("unpacking stopped: " + Printable(e.what()))});
  }
  return out;
}

}  // namespace dmarcwatch::ingest
