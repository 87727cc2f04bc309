// Generator: see generator.h.
//
// The demo is built one UTC day at a time. For each day every traffic class
// (a sending path, forwarders, spoofers) gets a message volume and a set of
// sources (an IP plus what authentication looks like from it); each message
// is then assigned to a reporter by its market share and to a source by
// weight. A report row is the count of one (reporter, source) pair, which is
// how reporters aggregate. Because a row is made from one source, the path
// it belongs to is known by construction and written to the truth as is.

#define ZLIB_CONST  // const next_in: the input is never modified
#include "generator.h"

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "dmarcwatch/model/check.h"
#include "dmarcwatch/model/ip_address.h"
#include "dmarcwatch/model/text.h"
#include "dmarcwatch/model/time.h"

namespace dmarcwatch::bench {
namespace {

using model::DkimResult;
using model::IpAddress;
using model::SpfResult;
using model::UnixTime;

constexpr UnixTime kDay = 86400;

// ---- Small helpers -----------------------------------------------------------------

// splitmix64's output function, also used to mix seeds.
std::uint64_t Mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t Fnv1a(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string Hex(std::uint64_t value, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kDigits[value & 0xf];
    value >>= 4;
  }
  return out;
}

std::string ZeroPad(std::uint64_t value, std::size_t digits) {
  std::string s = std::to_string(value);
  if (s.size() < digits) s.insert(0, digits - s.size(), '0');
  return s;
}

IpAddress V4(std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t d) {
  return IpAddress::V4((a << 24) | (b << 16) | (c << 8) | d);
}

// Every draw from an Rng is its own statement: the order in which function
// arguments or the operands of + are evaluated is unspecified, and two
// compilers would then draw the same numbers into different places.
IpAddress V4Random(Rng& rng, std::uint32_t a, std::uint32_t b) {
  const auto c = static_cast<std::uint32_t>(rng.Between(0, 255));
  const auto d = static_cast<std::uint32_t>(rng.Between(1, 254));
  return V4(a, b, c, d);
}

// Only for text this file builds, so failing to parse it is a bug.
IpAddress V6(std::string_view text) {
  auto ip = IpAddress::Parse(text);
  DMARC_CHECK(ip.has_value());
  return *ip;
}

// Picks an index by weight. REQUIRES: weights non-empty, all >= 0, sum > 0.
std::size_t PickWeighted(Rng& rng, const std::vector<double>& weights, double total) {
  double x = rng.Unit() * total;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (x < weights[i]) return i;
    x -= weights[i];
  }
  return weights.size() - 1;  // rounding left x a hair above the last weight
}

template <typename T>
void Shuffle(Rng& rng, std::vector<T>& items) {
  for (std::size_t i = items.size(); i > 1; --i) {
    const auto j = static_cast<std::size_t>(rng.Below(i));
    std::swap(items[i - 1], items[j]);
  }
}

// k distinct elements of `pool`, in random order.
template <typename T>
std::vector<T> Sample(Rng& rng, std::vector<T> pool, std::size_t k) {
  Shuffle(rng, pool);
  pool.resize(std::min(k, pool.size()));
  return pool;
}

struct CivilDate {
  std::int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};

// Days since 1970-01-01 to a proleptic Gregorian date (the well-known
// era-based conversion; exact for every int64 day count we use).
CivilDate CivilFromDays(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<std::uint64_t>(z - era * 146097);
  const std::uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const std::uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::uint64_t mp = (5 * doy + 2) / 153;
  const auto d = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  const auto m = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  return {m <= 2 ? y + 1 : y, m, d};
}

// 0 = Sunday ... 6 = Saturday. 1970-01-01 was a Thursday.
unsigned Weekday(UnixTime t) {
  const std::int64_t days = model::DayNumber(t);
  return static_cast<unsigned>(((days % 7) + 11) % 7);
}

// ---- XML writing ---------------------------------------------------------------------

class XmlWriter {
 public:
  explicit XmlWriter(const XmlStyle& style) : style_(style) {}

  void Reserve(std::size_t bytes) { out_.reserve(bytes); }
  void Raw(std::string_view text) { out_ += text; }
  void Open(std::string_view name, std::string_view attributes = {}) {
    Line();
    out_ += '<';
    out_ += name;
    if (!attributes.empty()) {
      out_ += ' ';
      out_ += attributes;
    }
    out_ += '>';
    ++depth_;
  }
  void Close(std::string_view name) {
    --depth_;
    Line();
    out_ += "</";
    out_ += name;
    out_ += '>';
  }
  void Leaf(std::string_view name, std::string_view text) {
    Line();
    out_ += '<';
    out_ += name;
    out_ += '>';
    out_ += EscapeXml(text);
    out_ += "</";
    out_ += name;
    out_ += '>';
  }
  template <typename T>
  void Optional(std::string_view name, const std::optional<T>& value) {
    if (value) Leaf(name, *value);
  }
  std::string Take() {
    out_ += style_.newline;
    return std::move(out_);
  }

 private:
  void Line() {
    if (out_.empty()) return;
    out_ += style_.newline;
    for (int i = 0; i < depth_; ++i) out_ += style_.indent;
  }

  const XmlStyle& style_;
  std::string out_;
  int depth_ = 0;
};

// ---- Gzip and zip --------------------------------------------------------------------

std::uint32_t ReadLe32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    v |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
  }
  return v;
}

void WriteLe16(std::string& s, std::size_t at, std::uint32_t v) {
  s[at] = static_cast<char>(v & 0xff);
  s[at + 1] = static_cast<char>((v >> 8) & 0xff);
}

// The MS-DOS time and date fields of a zip header (APPNOTE 4.4.6), from UTC.
// The format starts in 1980; earlier times are written as 1980-01-01.
std::pair<std::uint32_t, std::uint32_t> DosTimeDate(UnixTime t) {
  constexpr UnixTime k1980 = 315532800;
  if (t < k1980) t = k1980;
  const CivilDate date = CivilFromDays(model::DayNumber(t));
  const std::int64_t seconds = t - model::DayNumber(t) * kDay;
  const auto hour = static_cast<std::uint32_t>(seconds / 3600);
  const auto minute = static_cast<std::uint32_t>(seconds / 60 % 60);
  const auto second = static_cast<std::uint32_t>(seconds % 60);
  const auto year = static_cast<std::uint32_t>(std::min<std::int64_t>(date.year - 1980, 127));
  return {(hour << 11) | (minute << 5) | (second / 2), (year << 9) | (date.month << 5) | date.day};
}

// libarchive fills the DOS time fields through localtime(), so its output
// would change with the TZ of whoever runs the generator. The single-entry
// archive written by Zip() has a known layout: a local header at 0 and a
// central directory located by the end record; both get the UTC time.
Status SetZipDosTime(std::string& zip, UnixTime mtime) {
  constexpr std::uint32_t kLocalHeader = 0x04034b50;
  constexpr std::uint32_t kCentralHeader = 0x02014b50;
  constexpr std::uint32_t kEndRecord = 0x06054b50;
  constexpr std::size_t kEndRecordSize = 22;
  if (zip.size() < 30 + kEndRecordSize || ReadLe32(zip, 0) != kLocalHeader) {
    return Status::Internal("zip output has no local header at offset 0");
  }
  const std::size_t end_record = zip.size() - kEndRecordSize;
  if (ReadLe32(zip, end_record) != kEndRecord) {
    return Status::Internal("zip output does not end with an end-of-central-directory record");
  }
  const std::size_t central = ReadLe32(zip, end_record + 16);
  if (central + 46 > end_record || ReadLe32(zip, central) != kCentralHeader) {
    return Status::Internal("zip output has no central directory header where it says");
  }
  const auto [time, date] = DosTimeDate(mtime);
  WriteLe16(zip, 10, time);
  WriteLe16(zip, 12, date);
  WriteLe16(zip, central + 12, time);
  WriteLe16(zip, central + 14, date);
  return Status::Ok();
}

la_ssize_t AppendToString(struct archive*, void* client, const void* buffer, size_t length) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

struct ArchiveWriteFree {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct ArchiveEntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

Status ArchiveError(struct archive* a, std::string_view what) {
  const char* detail = archive_error_string(a);
  return Status::Internal(std::string(what) + ": " + (detail ? detail : "libarchive error"));
}

// ---- Email ------------------------------------------------------------------------------

// A header value cannot carry line breaks or other control bytes: they
// would start a new header line.
std::string HeaderSafe(std::string_view value) {
  std::string out(value);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return out;
}

// A quoted MIME parameter value (RFC 2045 §5.1) without quotes or
// backslashes, which would need escaping that some readers get wrong.
std::string ParameterSafe(std::string_view value) {
  std::string out = HeaderSafe(value);
  for (char& c : out) {
    if (c == '"' || c == '\\') c = '_';
  }
  return out;
}

// "Name: value" folded at spaces into lines of at most 78 characters where
// possible (RFC 5322 §2.1.1), CRLF-terminated.
std::string FoldedHeader(std::string_view name, std::string_view value) {
  std::string out;
  std::string line = std::string(name) + ":";
  std::size_t pos = 0;
  while (pos < value.size()) {
    std::size_t next = value.find(' ', pos + 1);
    if (next == std::string_view::npos) next = value.size();
    std::string_view word = value.substr(pos, next - pos);  // starts with its space
    if (pos == 0) {
      line += ' ';
      line += word;
    } else if (line.size() + word.size() > 78) {
      out += line + "\r\n";
      line = std::string(word);  // the space begins the continuation line
    } else {
      line += word;
    }
    pos = next;
  }
  return out + line + "\r\n";
}

// ---- Reporters --------------------------------------------------------------------------

enum class IdStyle : std::uint8_t {
  kDecimal19,     // google.com: "3166094538684628578"
  kHex32,         // Microsoft, GMX: "a4f4ef0654474d3faa5dca167a34a86a"
  kTimeDotMicro,  // Yahoo: "<unix time>.<6 digits>", the time it was made
  kDecimalBegin,  // Mail.Ru: 19 digits followed by the range's begin
  kUuid,          // "9f1c…-…"
};

struct ReporterProfile {
  std::string org_name;
  std::string email;
  std::optional<std::string> extra_contact_info;
  std::string file_domain;  // first field of "<reporter>!<domain>!<begin>!<end>"
  std::string submitter;    // Subject "Submitter:"
  std::string message_id_domain;
  std::optional<std::string> version;
  IdStyle id_style = IdStyle::kUuid;
  Container container = Container::kXml;
  bool writes_envelope_from = false;
  bool writes_envelope_to = false;
  bool writes_scope = false;
  bool rfc9990 = false;
  bool writes_fo = false;
  bool range_to_next_midnight = false;
  double share = 0;  // of the messages it sees
  XmlStyle style;
};

enum ReporterIndex : std::size_t { kGoogle, kMicrosoft, kYahoo, kMailRu, kGmx, kComcast };

const std::vector<ReporterProfile>& Reporters() {
  static const std::vector<ReporterProfile> kReporters = [] {
    std::vector<ReporterProfile> r(6);
    r[kGoogle].org_name = "google.com";
    r[kGoogle].email = "noreply-dmarc-support@google.com";
    r[kGoogle].extra_contact_info = "https://support.google.com/a/answer/2466580";
    r[kGoogle].file_domain = "google.com";
    r[kGoogle].submitter = "google.com";
    r[kGoogle].message_id_domain = "google.com";
    r[kGoogle].id_style = IdStyle::kDecimal19;
    r[kGoogle].container = Container::kZip;
    r[kGoogle].writes_scope = true;
    r[kGoogle].share = 0.44;
    r[kGoogle].style.declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>";

    r[kMicrosoft].org_name = "Enterprise Outlook";
    r[kMicrosoft].email = "dmarcreport@microsoft.com";
    r[kMicrosoft].file_domain = "enterprise.protection.outlook.com";
    r[kMicrosoft].submitter = "enterprise.protection.outlook.com";
    r[kMicrosoft].message_id_domain = "microsoft.com";
    r[kMicrosoft].version = "1.0";
    r[kMicrosoft].id_style = IdStyle::kHex32;
    r[kMicrosoft].container = Container::kGzip;
    r[kMicrosoft].writes_envelope_from = true;
    r[kMicrosoft].writes_envelope_to = true;
    r[kMicrosoft].writes_scope = true;
    r[kMicrosoft].writes_fo = true;
    r[kMicrosoft].range_to_next_midnight = true;
    r[kMicrosoft].share = 0.24;
    r[kMicrosoft].style.declaration = "<?xml version=\"1.0\"?>";
    r[kMicrosoft].style.newline = "\r\n";
    r[kMicrosoft].style.root_attributes =
        "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "
        "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"";

    r[kYahoo].org_name = "Yahoo";
    r[kYahoo].email = "dmarchelp@yahooinc.com";
    r[kYahoo].file_domain = "yahoo.com";
    r[kYahoo].submitter = "yahoo.com";
    r[kYahoo].message_id_domain = "dmarc.yahoo.com";
    r[kYahoo].id_style = IdStyle::kTimeDotMicro;
    r[kYahoo].container = Container::kGzip;
    r[kYahoo].share = 0.14;
    r[kYahoo].style.declaration = "<?xml version=\"1.0\"?>";

    r[kMailRu].org_name = "Mail.Ru";
    r[kMailRu].email = "dmarc_support@corp.mail.ru";
    r[kMailRu].extra_contact_info = "http://help.mail.ru/mail-help";
    r[kMailRu].file_domain = "mail.ru";
    r[kMailRu].submitter = "Mail.Ru";
    r[kMailRu].message_id_domain = "corp.mail.ru";
    r[kMailRu].id_style = IdStyle::kDecimalBegin;
    r[kMailRu].container = Container::kGzip;
    r[kMailRu].writes_scope = true;
    r[kMailRu].share = 0.08;
    r[kMailRu].style.declaration = "<?xml version='1.0' encoding='utf-8'?>";
    r[kMailRu].style.indent = "";
    r[kMailRu].style.newline = "";

    r[kGmx].org_name = "GMX";
    r[kGmx].email = "noreply-dmarc@sicher.gmx.net";
    r[kGmx].extra_contact_info = "https://postmaster.gmx.net/en/case?c=r2002";
    r[kGmx].file_domain = "gmx.net";
    r[kGmx].submitter = "gmx.net";
    r[kGmx].message_id_domain = "sicher.gmx.net";
    r[kGmx].version = "1.0";
    r[kGmx].id_style = IdStyle::kHex32;
    r[kGmx].container = Container::kXml;
    r[kGmx].writes_envelope_from = true;
    r[kGmx].writes_scope = true;
    r[kGmx].rfc9990 = true;
    r[kGmx].share = 0.06;
    r[kGmx].style.indent = "   ";

    r[kComcast].org_name = "comcast.net";
    r[kComcast].email = "dmarc_reports@comcast.net";
    r[kComcast].file_domain = "comcast.net";
    r[kComcast].submitter = "comcast.net";
    r[kComcast].message_id_domain = "comcast.net";
    r[kComcast].id_style = IdStyle::kUuid;
    r[kComcast].container = Container::kXml;
    r[kComcast].writes_envelope_from = true;
    r[kComcast].share = 0.04;
    return r;
  }();
  return kReporters;
}

// Reporters past the six real ones, for synthetic load only.
ReporterProfile SyntheticReporter(std::uint32_t index) {
  if (index < Reporters().size()) return Reporters()[index];
  ReporterProfile p;
  const std::string domain = "reporter" + std::to_string(index + 1) + ".example";
  p.org_name = domain;
  p.email = "dmarc@" + domain;
  p.file_domain = domain;
  p.submitter = domain;
  p.message_id_domain = domain;
  p.writes_envelope_from = true;
  p.share = 0.01;
  return p;
}

std::string MakeReportId(Rng& rng, IdStyle style, const model::DateRange& range) {
  switch (style) {
    case IdStyle::kDecimal19:
      return std::to_string(1000000000000000000ULL + rng.Below(9000000000000000000ULL));
    case IdStyle::kHex32: {
      const std::uint64_t high = rng.Next();
      return Hex(high, 16) + Hex(rng.Next(), 16);
    }
    case IdStyle::kTimeDotMicro: {
      const std::int64_t made = range.end + 1 + rng.Between(0, 7199);
      return std::to_string(made) + "." + ZeroPad(rng.Below(1000000), 6);
    }
    case IdStyle::kDecimalBegin:
      return std::to_string(1000000000000000000ULL + rng.Below(9000000000000000000ULL)) +
             std::to_string(range.begin);
    case IdStyle::kUuid: {
      const std::uint64_t high = rng.Next();
      const std::string h = Hex(high, 16) + Hex(rng.Next(), 16);
      // Version 4, variant 10xx, as a real UUID generator writes them.
      return h.substr(0, 8) + "-" + h.substr(8, 4) + "-4" + h.substr(13, 3) + "-" +
             "89ab"[rng.Below(4)] + h.substr(17, 3) + "-" + h.substr(20, 12);
    }
  }
  return {};
}

model::DateRange DayRange(const ReporterProfile& reporter, UnixTime begin) {
  return {begin, begin + (reporter.range_to_next_midnight ? kDay : kDay - 1)};
}

model::PolicyPublished Policy(const ReporterProfile& reporter, const std::string& domain,
                              model::Disposition p) {
  model::PolicyPublished policy;
  policy.domain = domain;
  policy.adkim = model::Alignment::kRelaxed;
  policy.aspf = model::Alignment::kRelaxed;
  policy.p = p;
  policy.sp = p;
  if (reporter.rfc9990) {
    // RFC 9990 drops pct and adds np, testing and discovery_method.
    policy.np = p;
    policy.testing = model::Testing::kNo;
    policy.discovery_method = model::DiscoveryMethod::kPsl;
  } else {
    policy.pct = 100;
  }
  if (reporter.writes_fo) policy.fo = "0";
  return policy;
}

model::Report NewReport(const ReporterProfile& reporter, const model::PolicyPublished& policy,
                        const model::DateRange& range, std::string report_id) {
  model::Report report;
  report.version = reporter.version;
  if (reporter.rfc9990) report.xml_namespace = "urn:ietf:params:xml:ns:dmarc-2.0";
  report.report_metadata.org_name = reporter.org_name;
  report.report_metadata.email = reporter.email;
  report.report_metadata.extra_contact_info = reporter.extra_contact_info;
  report.report_metadata.report_id = std::move(report_id);
  report.report_metadata.date_range = range;
  report.policy_published = policy;
  return report;
}

// Writes a report in the given container. `base` is the file name without
// extension: "google.com!example.com!1790812800!1790899199".
Result<GeneratedFile> Encode(const model::Report& report, const ReporterProfile& reporter,
                             Container container, const std::string& base) {
  std::string xml = WriteReportXml(report, reporter.style);
  switch (container) {
    case Container::kXml:
      return GeneratedFile{base + ".xml", std::move(xml)};
    case Container::kGzip: {
      auto gz = Gzip(xml, base + ".xml");
      if (!gz) return std::move(gz).status();
      return GeneratedFile{base + ".xml.gz", std::move(*gz)};
    }
    case Container::kZip: {
      auto zip = Zip(xml, base + ".xml", report.report_metadata.date_range.end);
      if (!zip) return std::move(zip).status();
      return GeneratedFile{base + ".zip", std::move(*zip)};
    }
    case Container::kEmail: {
      auto gz = Gzip(xml, base + ".xml");
      if (!gz) return std::move(gz).status();
      EmailOptions options;
      options.from = reporter.email;
      options.submitter = reporter.submitter;
      options.message_id_domain = reporter.message_id_domain;
      options.attachment_name = base + ".xml.gz";
      options.attachment_type = "application/gzip";
      return GeneratedFile{base + ".eml", WriteReportEmail(report, *gz, options)};
    }
  }
  return Status::Internal("unknown container");
}

// ---- Traffic ---------------------------------------------------------------------------

enum class Traffic : std::uint8_t {
  kOffice,          // Office MTA, IPs in SPF
  kOfficeUnlisted,  // Office MTA 192.0.2.7, missing from SPF
  kMicrosoft365,
  kSendGrid,
  kAmazonSes,
  kMailgun,         // undeclared
  kForwarded,       // reason "forwarded"
  kMailingList,     // reason "mailing_list"
  kForwardedQuiet,  // forwarded, no reason given
  kSpoof,
};

struct Attribution {
  const char* kind;
  const char* name;
  const char* provider;
};

Attribution AttributionOf(Traffic traffic) {
  switch (traffic) {
    case Traffic::kOffice:
    case Traffic::kOfficeUnlisted:
      return {"direct", "Office MTA", ""};
    case Traffic::kMicrosoft365:
      return {"smarthost", "Microsoft 365", "microsoft-365"};
    case Traffic::kSendGrid:
      return {"smarthost", "SendGrid", "sendgrid"};
    case Traffic::kAmazonSes:
      return {"smarthost", "Amazon SES", "amazon-ses"};
    case Traffic::kMailgun:
      return {"undeclared", "", "mailgun"};
    case Traffic::kForwarded:
    case Traffic::kMailingList:
    case Traffic::kForwardedQuiet:
      return {"forwarder", "", ""};
    case Traffic::kSpoof:
      return {"unknown", "", ""};
  }
  return {"unknown", "", ""};
}

// One sender as receivers see it: an IP and the authentication of its mail.
struct Source {
  Traffic traffic = Traffic::kSpoof;
  IpAddress ip;
  std::string header_from;
  std::string envelope_domain;
  SpfResult spf = SpfResult::kNone;
  std::vector<model::DkimAuthResult> dkim;
  std::vector<model::PolicyOverride> reasons;
};

model::DkimAuthResult Dkim(std::string domain, std::string selector, DkimResult result) {
  model::DkimAuthResult d;
  d.domain = std::move(domain);
  d.selector = std::move(selector);
  d.result = result;
  return d;
}

// A day's worth of one traffic class.
struct Batch {
  std::string label;                 // names the random stream
  std::vector<std::size_t> sources;  // indices into the day's sources
  std::vector<double> weights;
  std::uint64_t volume = 0;
  // The first messages go one to each reporter, so that no reporter's daily
  // report is ever empty (the parser rejects a report without records).
  bool one_to_each_reporter = false;
};

// What a reporter sees of one source.
struct RowKey {
  std::size_t source;
  std::size_t envelope_to;
  auto operator<=>(const RowKey&) const = default;
};

constexpr std::array<const char*, 4> kEnvelopeTo = {"outlook.com", "hotmail.com", "live.com",
                                                    "msn.com"};
const std::vector<double> kEnvelopeToWeights = {0.45, 0.30, 0.15, 0.10};

model::Record MakeRecord(const Source& source, std::uint64_t count, const ReporterProfile& reporter,
                         std::size_t envelope_to, const model::PolicyPublished& policy) {
  model::Record r;
  r.source_ip = source.ip;
  r.count = count;
  r.identifiers.header_from = source.header_from;
  if (reporter.writes_envelope_from) r.identifiers.envelope_from = source.envelope_domain;
  if (reporter.writes_envelope_to) r.identifiers.envelope_to = kEnvelopeTo[envelope_to];
  r.auth_results.dkim = source.dkim;
  model::SpfAuthResult spf;
  spf.domain = source.envelope_domain;
  spf.scope = reporter.writes_scope ? model::SpfScope::kMfrom : model::SpfScope::kUnspecified;
  spf.result = source.spf;
  r.auth_results.spf.push_back(std::move(spf));
  // What a correct receiver computes (RFC 7489 §3.1, §6.6.2).
  const AlignmentFlags flags = ComputeAlignment(r, policy);
  r.policy_evaluated.dkim =
      flags.dkim_aligned ? model::DmarcResult::kPass : model::DmarcResult::kFail;
  r.policy_evaluated.spf =
      flags.spf_aligned ? model::DmarcResult::kPass : model::DmarcResult::kFail;
  model::AppliedDisposition disposition = model::AppliedDisposition::kNone;
  if (!flags.dmarc_pass && policy.p == model::Disposition::kReject) {
    disposition = model::AppliedDisposition::kReject;
  } else if (!flags.dmarc_pass && policy.p == model::Disposition::kQuarantine) {
    disposition = model::AppliedDisposition::kQuarantine;
  }
  r.policy_evaluated.disposition = disposition;
  for (model::PolicyOverride reason : source.reasons) {
    r.policy_evaluated.reasons.push_back({reason, std::nullopt});
  }
  return r;
}

// A spoofer sending as `domain`: random envelope, SPF that does not pass,
// and no DKIM, a failing DKIM for the domain, or a look-alike signature.
Source MakeSpoof(Rng& rng, IpAddress ip, const std::string& domain,
                 const std::vector<std::string>& lookalikes) {
  static constexpr std::array<const char*, 5> kSelectors = {"default", "s1", "google", "k1",
                                                            "mail"};
  Source s;
  s.traffic = Traffic::kSpoof;
  s.ip = ip;
  s.header_from = domain;
  const bool own_envelope = rng.Chance(0.35);
  s.envelope_domain = own_envelope ? domain : lookalikes[rng.Below(lookalikes.size())];
  if (own_envelope) {
    s.spf = rng.Chance(0.6) ? SpfResult::kFail : SpfResult::kSoftFail;
  } else {
    static constexpr std::array<SpfResult, 3> kResults = {SpfResult::kNone, SpfResult::kSoftFail,
                                                          SpfResult::kFail};
    s.spf = kResults[rng.Below(kResults.size())];
  }
  const double dkim = rng.Unit();
  if (dkim < 0.25) {
    s.dkim.push_back(Dkim(domain, kSelectors[rng.Below(kSelectors.size())], DkimResult::kFail));
  } else if (dkim < 0.5) {
    const std::string& signer =
        own_envelope ? lookalikes[rng.Below(lookalikes.size())] : s.envelope_domain;
    const char* selector = rng.Chance(0.5) ? "default" : "dkim";
    s.dkim.push_back(
        Dkim(signer, selector, rng.Chance(0.6) ? DkimResult::kPass : DkimResult::kFail));
  }
  return s;
}

IpAddress SpoofIp(Rng& rng) {
  static constexpr std::array<std::uint32_t, 4> kFirstOctets = {185, 45, 91, 103};
  const std::uint32_t a = kFirstOctets[rng.Below(kFirstOctets.size())];
  const auto b = static_cast<std::uint32_t>(rng.Between(1, 254));
  return V4Random(rng, a, b);
}

// A 32-character [a-z0-9] token, like the selectors of SES Easy DKIM.
std::string SesToken(Rng& rng) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  for (int i = 0; i < 32; ++i) out += kAlphabet[rng.Below(sizeof kAlphabet - 1)];
  return out;
}

// Pools of IPs that stay the same all month, so one provider's IPs recur
// day after day as they do in real reports.
struct Pools {
  std::vector<IpAddress> microsoft;
  std::vector<IpAddress> sendgrid;
  std::vector<IpAddress> ses;
  std::vector<IpAddress> mailgun;
  std::vector<Source> recurring_spoofers;
  std::string ses_selector;
  std::string amazonses_selector;
};

// `n` distinct addresses: the fixed ones first, then random ones from the
// /16 prefixes in `prefixes`, taken in turn.
std::vector<IpAddress> Pool(Rng& rng, std::vector<IpAddress> fixed,
                            const std::vector<std::pair<std::uint32_t, std::uint32_t>>& prefixes,
                            std::size_t n) {
  std::set<IpAddress> seen(fixed.begin(), fixed.end());
  std::vector<IpAddress> out = std::move(fixed);
  std::size_t turn = 0;
  while (out.size() < n) {
    const auto& [a, b] = prefixes[turn++ % prefixes.size()];
    IpAddress ip = V4Random(rng, a, b);
    if (seen.insert(ip).second) out.push_back(ip);
  }
  return out;
}

const std::vector<std::string> kComLookalikes = {"examp1e-billing.com", "mail.invoice-example.net",
                                                 "exarnple.com",        "example.com-verify.info",
                                                 "secure-examp1e.com",  "notify.examp1e.co"};
const std::vector<std::string> kNetLookalikes = {"examp1e.net", "example-net.info",
                                                 "mail.example-net.biz", "exannple.net"};

Pools MakePools(std::uint64_t seed) {
  Rng rng(DeriveSeed(seed, "pools"));
  Pools p;
  p.microsoft = Pool(rng, {V4(40, 107, 22, 51)}, {{40, 107}, {52, 100}}, 16);
  p.sendgrid = Pool(rng, {V4(167, 89, 118, 12)}, {{167, 89}, {149, 72}}, 10);
  p.ses = Pool(rng, {V4(54, 240, 8, 97)}, {{54, 240}, {23, 251}}, 20);
  p.mailgun = Pool(rng, {}, {{159, 135}}, 4);
  p.ses_selector = SesToken(rng);
  p.amazonses_selector = SesToken(rng);
  for (int i = 0; i < 8; ++i) {
    const IpAddress ip = SpoofIp(rng);
    p.recurring_spoofers.push_back(MakeSpoof(rng, ip, "example.com", kComLookalikes));
  }
  return p;
}

struct DemoDay {
  int index;  // 0-based day of the run
  UnixTime begin;
  bool weekend;
};

// The day's volume for a class: base, lower at weekends, ±20% day to day.
std::uint64_t Volume(Rng& rng, double base, double weekend_factor, const DemoDay& day) {
  const double factor = (day.weekend ? weekend_factor : 1.0) * (0.8 + 0.4 * rng.Unit());
  return static_cast<std::uint64_t>(std::llround(base * factor));
}

// The day's sources and batches for one policy domain.
struct DomainTraffic {
  std::vector<Source> sources;
  std::vector<Batch> batches;

  // Adds a batch over `new_sources` with random weights in [low, low + 1).
  void Add(Batch batch, std::vector<Source> new_sources, Rng& rng, double low) {
    for (Source& s : new_sources) {
      batch.sources.push_back(sources.size());
      batch.weights.push_back(low + rng.Unit());
      sources.push_back(std::move(s));
    }
    batches.push_back(std::move(batch));
  }
};

Source SimpleSource(Traffic traffic, IpAddress ip, std::string envelope, SpfResult spf,
                    std::vector<model::DkimAuthResult> dkim) {
  Source s;
  s.traffic = traffic;
  s.ip = ip;
  s.header_from = "example.com";
  s.envelope_domain = std::move(envelope);
  s.spf = spf;
  s.dkim = std::move(dkim);
  return s;
}

DomainTraffic ExampleComTraffic(std::uint64_t seed, const Pools& pools, const DemoDay& day) {
  DomainTraffic t;
  const auto stream = [&](std::string_view label) {
    return Rng(DeriveSeed(seed, label, static_cast<std::uint64_t>(day.index)));
  };
  const model::DkimAuthResult office_dkim = Dkim("example.com", "mta", DkimResult::kPass);

  {  // 1. Office MTA: six IPv4 hosts and one IPv6 host in SPF.
    Rng rng = stream("office");
    std::vector<Source> s;
    for (std::uint32_t host = 1; host <= 6; ++host) {
      s.push_back(SimpleSource(Traffic::kOffice, V4(192, 0, 2, host), "example.com",
                               SpfResult::kPass, {office_dkim}));
    }
    s.push_back(SimpleSource(Traffic::kOffice, V6("2001:db8:10::25"), "example.com",
                             SpfResult::kPass, {office_dkim}));
    Batch b{"office", {}, {}, Volume(rng, 270, 0.35, day), true};
    t.Add(std::move(b), std::move(s), rng, 0.3);
  }
  {  // 192.0.2.7: in the declared range, missing from the SPF record.
    Rng rng = stream("office-unlisted");
    Batch b{"office-unlisted", {}, {}, Volume(rng, 30, 0.35, day), false};
    t.Add(std::move(b),
          {SimpleSource(Traffic::kOfficeUnlisted, V4(192, 0, 2, 7), "example.com", SpfResult::kFail,
                        {office_dkim})},
          rng, 1);
  }
  {  // 2. Microsoft 365 without custom-domain DKIM: DMARC rests on SPF.
    Rng rng = stream("microsoft-365");
    std::vector<Source> s;
    for (const IpAddress& ip : Sample(rng, pools.microsoft, 6 + rng.Below(3))) {
      s.push_back(
          SimpleSource(Traffic::kMicrosoft365, ip, "example.com", SpfResult::kPass,
                       {Dkim("examplecom.onmicrosoft.com", "selector1", DkimResult::kPass)}));
    }
    Batch b{"microsoft-365", {}, {}, Volume(rng, 800, 0.35, day), false};
    t.Add(std::move(b), std::move(s), rng, 0.5);
  }
  {  // 3. SendGrid without domain authentication: nothing aligns.
    Rng rng = stream("sendgrid");
    std::vector<Source> s;
    for (const IpAddress& ip : Sample(rng, pools.sendgrid, 3 + rng.Below(3))) {
      s.push_back(SimpleSource(Traffic::kSendGrid, ip, "sendgrid.net", SpfResult::kPass,
                               {Dkim("sendgrid.info", "smtpapi", DkimResult::kPass)}));
    }
    Batch b{"sendgrid", {}, {}, Volume(rng, 400, 0.8, day), false};
    t.Add(std::move(b), std::move(s), rng, 0.5);
  }
  {  // 4. Amazon SES with Easy DKIM but the default MAIL FROM: DKIM-only.
    Rng rng = stream("amazon-ses");
    std::vector<Source> s;
    for (const IpAddress& ip : Sample(rng, pools.ses, 5 + rng.Below(3))) {
      s.push_back(
          SimpleSource(Traffic::kAmazonSes, ip, "us-east-1.amazonses.com", SpfResult::kPass,
                       {Dkim("example.com", pools.ses_selector, DkimResult::kPass),
                        Dkim("amazonses.com", pools.amazonses_selector, DkimResult::kPass)}));
    }
    Batch b{"amazon-ses", {}, {}, Volume(rng, 500, 0.8, day), false};
    t.Add(std::move(b), std::move(s), rng, 0.5);
  }
  if (day.index >= 11) {  // 5. Mailgun, set up by someone, declared by no one.
    Rng rng = stream("mailgun");
    std::vector<Source> s;
    for (const IpAddress& ip : Sample(rng, pools.mailgun, 2 + rng.Below(2))) {
      s.push_back(SimpleSource(Traffic::kMailgun, ip, "mg.example.com", SpfResult::kPass,
                               {Dkim("mg.example.com", "krs", DkimResult::kPass),
                                Dkim("mailgun.org", "mg", DkimResult::kPass)}));
    }
    Batch b{"mailgun", {}, {}, Volume(rng, 60, 0.8, day), false};
    t.Add(std::move(b), std::move(s), rng, 0.5);
  }
  {  // 6a. Forwarders that receivers recognise: SPF breaks, DKIM survives.
    Rng rng = stream("forwarded");
    std::vector<IpAddress> ips;
    for (std::uint32_t host = 20; host <= 30; ++host) ips.push_back(V4(198, 51, 100, host));
    std::vector<Source> s;
    for (const IpAddress& ip : Sample(rng, ips, 2 + rng.Below(4))) {
      Source f =
          SimpleSource(Traffic::kForwarded, ip, "example.com", SpfResult::kFail, {office_dkim});
      f.reasons = {model::PolicyOverride::kForwarded};
      s.push_back(std::move(f));
    }
    Batch b{"forwarded", {}, {}, Volume(rng, 20, 0.6, day), false};
    t.Add(std::move(b), std::move(s), rng, 0.3);
  }
  {  // 6b. Mailing lists: the footer breaks DKIM, the list's envelope passes SPF.
    Rng rng = stream("mailing-list");
    std::vector<Source> s;
    for (std::uint32_t host : {77u, 78u}) {
      Source f = SimpleSource(Traffic::kMailingList, V4(198, 51, 100, host), "lists.example.org",
                              SpfResult::kPass, {Dkim("example.com", "mta", DkimResult::kFail)});
      f.reasons = {model::PolicyOverride::kMailingList};
      s.push_back(std::move(f));
    }
    Batch b{"mailing-list", {}, {}, Volume(rng, 10, 0.6, day), false};
    t.Add(std::move(b), std::move(s), rng, 0.5);
  }
  {  // 6c. Forwarders nobody flags: the original signature is intact.
    Rng rng = stream("forwarded-quiet");
    std::vector<IpAddress> ips;
    for (std::uint32_t host = 50; host <= 60; ++host) ips.push_back(V4(203, 0, 113, host));
    std::vector<Source> s;
    for (const IpAddress& ip : Sample(rng, ips, 2 + rng.Below(4))) {
      const bool hard = ip.bytes()[3] % 3 == 0;  // each forwarder has a fixed SPF outcome
      s.push_back(SimpleSource(Traffic::kForwardedQuiet, ip, "example.com",
                               hard ? SpfResult::kFail : SpfResult::kSoftFail, {office_dkim}));
    }
    Batch b{"forwarded-quiet", {}, {}, Volume(rng, 15, 0.6, day), false};
    t.Add(std::move(b), std::move(s), rng, 0.3);
  }
  {  // 7. Spoofers: a few that come back, and each day's new ones; a
     // campaign on day 20.
    Rng rng = stream("spoof");
    const bool campaign = day.index == 19;
    std::vector<Source> s;
    std::set<IpAddress> seen;
    for (const Source& r : pools.recurring_spoofers) {
      if (rng.Chance(0.3) && seen.insert(r.ip).second) s.push_back(r);
    }
    const std::uint64_t wanted = campaign ? 250 + rng.Below(60) : 20 + rng.Below(15);
    while (s.size() < wanted) {
      IpAddress ip = SpoofIp(rng);
      if (seen.insert(ip).second) s.push_back(MakeSpoof(rng, ip, "example.com", kComLookalikes));
    }
    Batch b{"spoof", {}, {}, Volume(rng, campaign ? 2000 : 100, 1.0, day), false};
    // Heavy-tailed: a few sources send most of the spam.
    for (Source& src : s) {
      b.sources.push_back(t.sources.size());
      b.weights.push_back(1.0 / (0.05 + rng.Unit()));
      t.sources.push_back(std::move(src));
    }
    t.batches.push_back(std::move(b));
  }
  return t;
}

// 8. The parked domain: nothing legitimate, a little spoofing.
DomainTraffic ExampleNetTraffic(std::uint64_t seed, const DemoDay& day) {
  DomainTraffic t;
  Rng rng(DeriveSeed(seed, "parked-spoof", static_cast<std::uint64_t>(day.index)));
  std::vector<Source> s;
  std::set<IpAddress> seen;
  const std::uint64_t n = 5 + rng.Below(6);
  while (s.size() < n) {
    IpAddress ip = SpoofIp(rng);
    if (seen.insert(ip).second) s.push_back(MakeSpoof(rng, ip, "example.net", kNetLookalikes));
  }
  Batch b{"parked-spoof", {}, {}, Volume(rng, 20, 1.0, day), true};
  t.Add(std::move(b), std::move(s), rng, 0.2);
  return t;
}

struct DomainPlan {
  std::string domain;
  model::Disposition p;
  std::vector<std::size_t> reporters;  // indices into Reporters()
  DomainTraffic traffic;
};

// Assigns every message of every batch to a reporter and a source, and
// returns the counts per reporter (in plan.reporters order).
std::vector<std::map<RowKey, std::uint64_t>> Assign(std::uint64_t seed, const DomainPlan& plan,
                                                    const DemoDay& day) {
  std::vector<double> shares;
  double share_total = 0;
  for (std::size_t r : plan.reporters) {
    shares.push_back(Reporters()[r].share);
    share_total += Reporters()[r].share;
  }
  std::vector<std::map<RowKey, std::uint64_t>> counts(plan.reporters.size());
  for (const Batch& batch : plan.traffic.batches) {
    if (batch.sources.empty()) continue;
    Rng rng(DeriveSeed(seed, "assign:" + plan.domain + ":" + batch.label,
                       static_cast<std::uint64_t>(day.index)));
    double weight_total = 0;
    for (double w : batch.weights) weight_total += w;
    for (std::uint64_t m = 0; m < batch.volume; ++m) {
      const std::size_t slot = batch.one_to_each_reporter && m < plan.reporters.size()
                                   ? static_cast<std::size_t>(m)
                                   : PickWeighted(rng, shares, share_total);
      const std::size_t source = batch.sources[PickWeighted(rng, batch.weights, weight_total)];
      std::size_t envelope_to = 0;
      if (Reporters()[plan.reporters[slot]].writes_envelope_to) {
        envelope_to = PickWeighted(rng, kEnvelopeToWeights, 1.0);
      }
      ++counts[slot][RowKey{source, envelope_to}];
    }
  }
  return counts;
}

std::string FileBase(const ReporterProfile& reporter, const std::string& domain,
                     const model::DateRange& range) {
  return reporter.file_domain + "!" + domain + "!" + std::to_string(range.begin) + "!" +
         std::to_string(range.end);
}

Status BuildDemoDay(std::uint64_t seed, const Pools& pools, const DemoDay& day,
                    std::map<std::size_t, std::set<std::string>>& used_ids, DemoOutput& out) {
  std::vector<DomainPlan> plans;
  plans.push_back({"example.com",
                   model::Disposition::kNone,
                   {kGoogle, kMicrosoft, kYahoo, kMailRu, kGmx, kComcast},
                   ExampleComTraffic(seed, pools, day)});
  plans.push_back({"example.net",
                   model::Disposition::kReject,
                   {kGoogle, kYahoo},
                   ExampleNetTraffic(seed, day)});

  for (const DomainPlan& plan : plans) {
    const auto counts = Assign(seed, plan, day);
    for (std::size_t slot = 0; slot < plan.reporters.size(); ++slot) {
      const std::size_t reporter_index = plan.reporters[slot];
      const ReporterProfile& reporter = Reporters()[reporter_index];
      const model::DateRange range = DayRange(reporter, day.begin);
      const model::PolicyPublished policy = Policy(reporter, plan.domain, plan.p);

      Rng id_rng(DeriveSeed(seed, "report-id:" + reporter.org_name + ":" + plan.domain,
                            static_cast<std::uint64_t>(day.index)));
      std::string id;
      do {
        id = MakeReportId(id_rng, reporter.id_style, range);
      } while (!used_ids[reporter_index].insert(id).second);
      model::Report report = NewReport(reporter, policy, range, id);

      std::vector<std::pair<model::Record, Traffic>> rows;
      for (const auto& [key, count] : counts[slot]) {
        const Source& source = plan.traffic.sources[key.source];
        rows.emplace_back(MakeRecord(source, count, reporter, key.envelope_to, policy),
                          source.traffic);
      }
      Rng order_rng(DeriveSeed(seed, "order:" + reporter.org_name + ":" + plan.domain,
                               static_cast<std::uint64_t>(day.index)));
      Shuffle(order_rng, rows);
      // Yahoo's quirk: now and then policy_evaluated says dkim=fail although
      // the example.com signature passed, so dmarcwatch's recomputation
      // disagrees with the reporter.
      if (reporter_index == kYahoo && day.index % 7 == 3) {
        for (auto& [record, traffic] : rows) {
          if (traffic == Traffic::kOffice) {
            record.policy_evaluated.dkim = model::DmarcResult::kFail;
            break;
          }
        }
      }

      Container container = reporter.container;
      if (reporter_index == kMailRu && day.index % 7 == 2) container = Container::kEmail;
      std::vector<Traffic> traffic;
      for (auto& [record, t] : rows) {
        report.records.push_back(std::move(record));
        traffic.push_back(t);
      }
      auto file = Encode(report, reporter, container, FileBase(reporter, plan.domain, range));
      if (!file) return std::move(file).status();

      for (std::size_t i = 0; i < report.records.size(); ++i) {
        const model::Record& record = report.records[i];
        const Attribution a = AttributionOf(traffic[i]);
        TruthRow row;
        row.file = file->name;
        row.report_id = id;
        row.policy_domain = plan.domain;
        row.row = static_cast<std::uint32_t>(i + 1);
        row.source_ip = record.source_ip.ToString();
        row.count = record.count;
        row.kind = a.kind;
        row.name = a.name;
        row.provider = a.provider;
        row.flags = ComputeAlignment(record, policy);
        row.reporter_disagrees = ReporterDisagrees(record, row.flags);
        out.truth.push_back(std::move(row));
      }
      out.files.push_back(std::move(*file));
    }
  }
  return Status::Ok();
}

// The organisational domain of a name the generator writes: its last two
// labels (see generator.h for why that is enough here).
std::string_view OrgDomain(std::string_view domain) {
  while (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  const std::size_t last = domain.rfind('.');
  if (last == std::string_view::npos || last == 0) return domain;
  const std::size_t second = domain.rfind('.', last - 1);
  return second == std::string_view::npos ? domain : domain.substr(second + 1);
}

bool Aligned(std::string_view a, std::string_view b, model::Alignment mode) {
  if (a.empty() || b.empty()) return false;
  if (mode == model::Alignment::kStrict) return model::EqualsIgnoreCase(a, b);
  return model::EqualsIgnoreCase(OrgDomain(a), OrgDomain(b));
}

// ---- Synthetic ---------------------------------------------------------------------------

IpAddress SyntheticIp(std::uint64_t index, std::uint64_t salt, bool v6) {
  if (!v6) {
    // An odd multiplier is a bijection modulo 2^28: distinct for every index
    // below 2^28, spread over 16.0.0.0/4.
    const std::uint64_t host = (index * 0x9E3779B1ULL + salt) & 0x0FFFFFFFULL;
    return IpAddress::V4(static_cast<std::uint32_t>(0x10000000ULL + host));
  }
  // Mix64 is a bijection too, so the interface identifiers never repeat.
  const std::uint64_t id = Mix64(index ^ salt);
  std::string text = "2001:db8:" + Hex((salt >> 16) & 0xffff, 4) + ":0";
  for (int shift = 48; shift >= 0; shift -= 16) {
    text += ':' + Hex((id >> shift) & 0xffff, 4);
  }
  return V6(text);
}

}  // namespace

// ---- Rng -----------------------------------------------------------------------------------

std::uint64_t Rng::Next() {
  state_ += 0x9e3779b97f4a7c15ULL;
  return Mix64(state_);
}

std::uint64_t Rng::Below(std::uint64_t n) {
  // Rejects the top sliver of values that would make small results likelier.
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t x;
  do {
    x = Next();
  } while (x >= limit);
  return x % n;
}

std::int64_t Rng::Between(std::int64_t lo, std::int64_t hi) {
  const auto span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) + 1;
  if (span == 0) return static_cast<std::int64_t>(Next());  // the whole int64 range
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + Below(span));
}

double Rng::Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

std::uint64_t DeriveSeed(std::uint64_t seed, std::string_view label, std::uint64_t n) {
  return Mix64(Mix64(seed ^ Fnv1a(label)) + n * 0x9e3779b97f4a7c15ULL);
}

// ---- XML -------------------------------------------------------------------------------------

std::string EscapeXml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\r':
        out += "&#13;";
        break;
      case '\t':
      case '\n':
        out += c;
        break;
      default:
        out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
    }
  }
  return out;
}

std::string WriteReportXml(const model::Report& report, const XmlStyle& style) {
  XmlWriter w(style);
  w.Reserve(1024 + report.records.size() * 640);
  w.Raw(style.declaration);
  std::string attributes;
  if (report.xml_namespace) attributes = "xmlns=\"" + EscapeXml(*report.xml_namespace) + "\"";
  if (!style.root_attributes.empty()) {
    if (!attributes.empty()) attributes += ' ';
    attributes += style.root_attributes;
  }
  w.Open("feedback", attributes);
  w.Optional("version", report.version);

  const model::ReportMetadata& meta = report.report_metadata;
  w.Open("report_metadata");
  w.Leaf("org_name", meta.org_name);
  w.Leaf("email", meta.email);
  w.Optional("extra_contact_info", meta.extra_contact_info);
  w.Leaf("report_id", meta.report_id);
  w.Open("date_range");
  w.Leaf("begin", std::to_string(meta.date_range.begin));
  w.Leaf("end", std::to_string(meta.date_range.end));
  w.Close("date_range");
  for (const std::string& error : meta.errors) w.Leaf("error", error);
  w.Optional("generator", meta.generator);
  w.Close("report_metadata");

  const model::PolicyPublished& policy = report.policy_published;
  w.Open("policy_published");
  w.Leaf("domain", policy.domain);
  if (policy.discovery_method)
    w.Leaf("discovery_method", model::ToString(*policy.discovery_method));
  if (policy.adkim) w.Leaf("adkim", model::ToString(*policy.adkim));
  if (policy.aspf) w.Leaf("aspf", model::ToString(*policy.aspf));
  w.Leaf("p", model::ToString(policy.p));
  if (policy.sp) w.Leaf("sp", model::ToString(*policy.sp));
  if (policy.np) w.Leaf("np", model::ToString(*policy.np));
  if (policy.pct) w.Leaf("pct", std::to_string(*policy.pct));
  w.Optional("fo", policy.fo);
  if (policy.testing) w.Leaf("testing", model::ToString(*policy.testing));
  w.Close("policy_published");

  for (const model::Record& r : report.records) {
    w.Open("record");
    w.Open("row");
    w.Leaf("source_ip", r.source_ip.ToString());
    w.Leaf("count", std::to_string(r.count));
    const model::PolicyEvaluated& pe = r.policy_evaluated;
    w.Open("policy_evaluated");
    w.Leaf("disposition", model::ToString(pe.disposition));
    w.Leaf("dkim", model::ToString(pe.dkim));
    w.Leaf("spf", model::ToString(pe.spf));
    for (const model::PolicyOverrideReason& reason : pe.reasons) {
      w.Open("reason");
      w.Leaf("type", model::ToString(reason.type));
      w.Optional("comment", reason.comment);
      w.Close("reason");
    }
    w.Close("policy_evaluated");
    w.Close("row");
    w.Open("identifiers");
    w.Optional("envelope_to", r.identifiers.envelope_to);
    w.Optional("envelope_from", r.identifiers.envelope_from);
    w.Leaf("header_from", r.identifiers.header_from);
    w.Close("identifiers");
    w.Open("auth_results");
    for (const model::DkimAuthResult& d : r.auth_results.dkim) {
      w.Open("dkim");
      w.Leaf("domain", d.domain);
      w.Optional("selector", d.selector);
      w.Leaf("result", model::ToString(d.result));
      w.Optional("human_result", d.human_result);
      w.Close("dkim");
    }
    for (const model::SpfAuthResult& s : r.auth_results.spf) {
      w.Open("spf");
      w.Leaf("domain", s.domain);
      if (s.scope == model::SpfScope::kMfrom || s.scope == model::SpfScope::kHelo) {
        w.Leaf("scope", model::ToString(s.scope));
      }
      w.Leaf("result", model::ToString(s.result));
      w.Optional("human_result", s.human_result);
      w.Close("spf");
    }
    w.Close("auth_results");
    w.Close("record");
  }
  w.Close("feedback");
  return w.Take();
}

// ---- Containers ---------------------------------------------------------------------------

Result<std::string> Gzip(std::string_view data, std::string_view entry_name) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::Internal("deflateInit2 failed");
  }
  std::vector<unsigned char> name(entry_name.begin(), entry_name.end());
  name.push_back(0);
  gz_header header{};
  header.time = 0;  // MTIME 0: "no time stamp is available" (RFC 1952 §2.3.1)
  header.os = 3;    // Unix, whatever system runs the generator
  header.name = name.data();
  if (deflateSetHeader(&zs, &header) != Z_OK) {
    deflateEnd(&zs);
    return Status::Internal("deflateSetHeader failed");
  }
  std::string out;
  std::array<unsigned char, 65536> buffer;
  std::size_t consumed = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (zs.avail_in == 0 && consumed < data.size()) {
      // avail_in is 32 bits: feed very large inputs in pieces.
      const std::size_t piece = std::min<std::size_t>(data.size() - consumed, 1u << 30);
      zs.next_in = reinterpret_cast<const Bytef*>(data.data() + consumed);
      zs.avail_in = static_cast<uInt>(piece);
      consumed += piece;
    }
    zs.next_out = buffer.data();
    zs.avail_out = static_cast<uInt>(buffer.size());
    rc = deflate(&zs, consumed == data.size() ? Z_FINISH : Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      deflateEnd(&zs);
      return Status::Internal("deflate failed");
    }
    out.append(reinterpret_cast<const char*>(buffer.data()), buffer.size() - zs.avail_out);
  }
  deflateEnd(&zs);
  return out;
}

Result<std::string> Zip(std::string_view data, std::string_view entry_name, UnixTime mtime) {
  std::unique_ptr<struct archive, ArchiveWriteFree> a(archive_write_new());
  if (!a) return Status::Internal("archive_write_new failed");
  std::string out;
  if (archive_write_set_format_zip(a.get()) != ARCHIVE_OK ||
      archive_write_zip_set_compression_deflate(a.get()) != ARCHIVE_OK ||
      // No padding of the last block: a zip file ends at its end record.
      archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK ||
      archive_write_open2(a.get(), &out, nullptr, AppendToString, nullptr, nullptr) != ARCHIVE_OK) {
    return ArchiveError(a.get(), "zip setup");
  }
  std::unique_ptr<struct archive_entry, ArchiveEntryFree> entry(archive_entry_new());
  if (!entry) return Status::Internal("archive_entry_new failed");
  const std::string name(entry_name);
  archive_entry_set_pathname(entry.get(), name.c_str());
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), 0644);
  archive_entry_set_uid(entry.get(), 0);
  archive_entry_set_gid(entry.get(), 0);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(data.size()));
  archive_entry_set_mtime(entry.get(), static_cast<time_t>(mtime), 0);
  if (archive_write_header(a.get(), entry.get()) != ARCHIVE_OK) {
    return ArchiveError(a.get(), "zip entry header");
  }
  std::size_t written = 0;
  while (written < data.size()) {
    const la_ssize_t n = archive_write_data(a.get(), data.data() + written, data.size() - written);
    if (n <= 0) return ArchiveError(a.get(), "zip entry data");
    written += static_cast<std::size_t>(n);
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return ArchiveError(a.get(), "zip close");
  DMARC_RETURN_IF_ERROR(SetZipDosTime(out, mtime));
  return out;
}

std::string Base64(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4 * 78 / 76 + 4);
  std::size_t line = 0;
  for (std::size_t i = 0; i < data.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, data.size() - i);
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 3; ++k) {
      const std::uint32_t byte = k < n ? static_cast<unsigned char>(data[i + k]) : 0u;
      v = (v << 8) | byte;
    }
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += n > 1 ? kAlphabet[(v >> 6) & 63] : '=';
    out += n > 2 ? kAlphabet[v & 63] : '=';
    line += 4;
    if (line == 76) {
      out += "\r\n";
      line = 0;
    }
  }
  if (line > 0) out += "\r\n";
  return out;
}

std::string FormatRfc5322Date(UnixTime t) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::int64_t days = model::DayNumber(t);
  const CivilDate date = CivilFromDays(days);
  const std::int64_t seconds = t - days * kDay;
  return std::string(kDays[Weekday(t)]) + ", " + ZeroPad(date.day, 2) + " " +
         kMonths[date.month - 1] + " " + std::to_string(date.year) + " " +
         ZeroPad(static_cast<std::uint64_t>(seconds / 3600), 2) + ":" +
         ZeroPad(static_cast<std::uint64_t>(seconds / 60 % 60), 2) + ":" +
         ZeroPad(static_cast<std::uint64_t>(seconds % 60), 2) + " +0000";
}

std::string WriteReportEmail(const model::Report& report, std::string_view attachment,
                             const EmailOptions& options) {
  const model::ReportMetadata& meta = report.report_metadata;
  const std::uint64_t hash = Mix64(Fnv1a(meta.org_name + "\n" + meta.report_id));
  // Reporters send a while after the period ends; the delay is fixed per
  // report so the same report always gives the same email.
  const UnixTime sent = meta.date_range.end + 600 + static_cast<UnixTime>(hash % 10800);
  const std::string boundary =
      "===============" + ZeroPad(hash % 10000000000000000000ULL, 19) + "==";
  const std::string domain = HeaderSafe(report.policy_published.domain);
  const std::string name = ParameterSafe(options.attachment_name);

  std::string m;
  m += FoldedHeader("From", HeaderSafe(options.from));
  m += FoldedHeader("To", HeaderSafe(options.to));
  m += FoldedHeader("Subject", "Report Domain: " + domain +
                                   " Submitter: " + HeaderSafe(options.submitter) +
                                   " Report-ID: <" + HeaderSafe(meta.report_id) + ">");
  m += "Date: " + FormatRfc5322Date(sent) + "\r\n";
  m += "Message-ID: <dmarc-" + std::to_string(sent) + "." + Hex(hash, 16) + "@" +
       HeaderSafe(options.message_id_domain) + ">\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  m += "\r\n";
  m += "This is a multi-part message in MIME format.\r\n";
  m += "\r\n--" + boundary + "\r\n";
  m += "Content-Type: text/plain; charset=\"utf-8\"\r\n";
  m += "Content-Transfer-Encoding: 7bit\r\n";
  m += "\r\n";
  m += "This is an aggregate report from " + HeaderSafe(options.submitter) + " for " + domain +
       ".\r\n";
  m += "\r\n--" + boundary + "\r\n";
  m += "Content-Type: " + HeaderSafe(options.attachment_type) + "; name=\"" + name + "\"\r\n";
  m += "Content-Transfer-Encoding: base64\r\n";
  m += "Content-Disposition: attachment; filename=\"" + name + "\"\r\n";
  m += "\r\n";
  m += Base64(attachment);
  m += "\r\n--" + boundary + "--\r\n";
  return m;
}

// ---- Truth ---------------------------------------------------------------------------------

AlignmentFlags ComputeAlignment(const model::Record& record, const model::PolicyPublished& policy) {
  AlignmentFlags f;
  const std::string& from = record.identifiers.header_from;
  for (const model::DkimAuthResult& d : record.auth_results.dkim) {
    if (d.result == DkimResult::kPass && Aligned(d.domain, from, policy.EffectiveAdkim())) {
      f.dkim_aligned = true;
    }
  }
  for (const model::SpfAuthResult& s : record.auth_results.spf) {
    const bool mfrom =
        s.scope == model::SpfScope::kMfrom || s.scope == model::SpfScope::kUnspecified;
    if (mfrom && s.result == SpfResult::kPass && Aligned(s.domain, from, policy.EffectiveAspf())) {
      f.spf_aligned = true;
    }
  }
  f.dmarc_pass = f.dkim_aligned || f.spf_aligned;
  return f;
}

bool ReporterDisagrees(const model::Record& record, const AlignmentFlags& flags) {
  const bool dkim = record.policy_evaluated.dkim == model::DmarcResult::kPass;
  const bool spf = record.policy_evaluated.spf == model::DmarcResult::kPass;
  return dkim != flags.dkim_aligned || spf != flags.spf_aligned;
}

std::string FormatTruthTsv(const std::vector<TruthRow>& rows) {
  std::string out =
      "file\treport_id\tpolicy_domain\trow\tsource_ip\tcount\tkind\tname\tprovider\t"
      "spf_aligned\tdkim_aligned\tdmarc_pass\treporter_disagrees\n";
  const auto flag = [](bool b) { return b ? "1" : "0"; };
  for (const TruthRow& r : rows) {
    out += r.file + '\t' + r.report_id + '\t' + r.policy_domain + '\t' + std::to_string(r.row) +
           '\t' + r.source_ip + '\t' + std::to_string(r.count) + '\t' + r.kind + '\t' + r.name +
           '\t' + r.provider + '\t' + flag(r.flags.spf_aligned) + '\t' +
           flag(r.flags.dkim_aligned) + '\t' + flag(r.flags.dmarc_pass) + '\t' +
           flag(r.reporter_disagrees) + '\n';
  }
  return out;
}

// ---- Demo ------------------------------------------------------------------------------------

Result<DemoOutput> BuildDemo(const DemoOptions& options) {
  if (options.start % kDay != 0) {
    return Status::InvalidInput("bad_start", "the start must be a UTC midnight");
  }
  if (options.days < 1 || options.days > 3660) {
    return Status::InvalidInput("bad_days", "days must be between 1 and 3660");
  }
  const Pools pools = MakePools(options.seed);
  std::map<std::size_t, std::set<std::string>> used_ids;
  DemoOutput out;
  for (int d = 0; d < options.days; ++d) {
    DemoDay day;
    day.index = d;
    day.begin = options.start + d * kDay;
    const unsigned weekday = Weekday(day.begin);
    day.weekend = weekday == 0 || weekday == 6;
    DMARC_RETURN_IF_ERROR(BuildDemoDay(options.seed, pools, day, used_ids, out));
  }
  return out;
}

// ---- Synthetic -----------------------------------------------------------------------------

Result<SyntheticSummary> BuildSynthetic(const SyntheticOptions& options, const FileSink& sink) {
  if (options.start % kDay != 0) {
    return Status::InvalidInput("bad_start", "the start must be a UTC midnight");
  }
  if (options.rows_per_report == 0 || options.reporters == 0 || options.formats.empty() ||
      options.domain.empty()) {
    return Status::InvalidInput("bad_options",
                                "rows per report, reporters and formats must be non-empty");
  }
  if (!(options.ipv6_share >= 0 && options.ipv6_share <= 1 && options.fail_share >= 0 &&
        options.fail_share <= 1)) {
    return Status::InvalidInput("bad_share", "shares must be between 0 and 1");
  }
  SyntheticSummary summary;
  std::uint64_t next_ip = 0;
  const std::uint64_t ip_salt = Mix64(DeriveSeed(options.seed, "ip-salt"));
  std::map<std::uint32_t, std::set<std::string>> used_ids;
  const std::uint64_t total = options.reports + (options.huge_rows > 0 ? 1 : 0);
  for (std::uint64_t i = 0; i < total; ++i) {
    const bool huge = i == options.reports;
    const auto reporter_index = static_cast<std::uint32_t>(i % options.reporters);
    const ReporterProfile reporter = SyntheticReporter(reporter_index);
    const UnixTime begin = options.start + static_cast<UnixTime>(i / options.reporters) * kDay;
    const model::DateRange range = DayRange(reporter, begin);
    const model::PolicyPublished policy =
        Policy(reporter, options.domain, model::Disposition::kNone);

    Rng rng(DeriveSeed(options.seed, "synthetic-report", i));
    std::string id;
    do {
      id = MakeReportId(rng, reporter.id_style, range);
    } while (!used_ids[reporter_index].insert(id).second);
    model::Report report = NewReport(reporter, policy, range, id);

    const std::uint64_t rows = huge ? options.huge_rows : options.rows_per_report;
    report.records.reserve(static_cast<std::size_t>(rows));
    for (std::uint64_t k = 0; k < rows; ++k) {
      IpAddress ip;
      bool fails = false;
      if (options.sources == 0) {
        ip = SyntheticIp(next_ip++, ip_salt, rng.Chance(options.ipv6_share));
        fails = rng.Chance(options.fail_share);
      } else {
        // A sender's family and verdict derive from its index alone.
        const std::uint64_t sender = rng.Below(options.sources);
        const auto share = [&](std::string_view label) {
          return static_cast<double>(Mix64(sender ^ DeriveSeed(options.seed, label)) >> 11) *
                 0x1.0p-53;
        };
        ip = SyntheticIp(sender, ip_salt, share("sender-v6") < options.ipv6_share);
        fails = share("sender-fails") < options.fail_share;
      }
      Source s;
      if (fails) {
        s = MakeSpoof(rng, ip, options.domain, kComLookalikes);
      } else {
        s = SimpleSource(Traffic::kOffice, ip, options.domain, SpfResult::kPass,
                         {Dkim(options.domain, "mta", DkimResult::kPass)});
        s.header_from = options.domain;
      }
      // Mostly small counts with a long tail, as in real reports.
      const std::uint64_t count = rng.Chance(0.9) ? 1 + rng.Below(5) : 1 + rng.Below(500);
      std::size_t envelope_to = 0;
      if (reporter.writes_envelope_to) envelope_to = PickWeighted(rng, kEnvelopeToWeights, 1.0);
      report.records.push_back(MakeRecord(s, count, reporter, envelope_to, policy));
      summary.messages += count;
    }
    summary.rows += rows;

    const Container container =
        huge ? options.formats.front() : options.formats[i % options.formats.size()];
    auto file = Encode(report, reporter, container,
                       FileBase(reporter, options.domain, range) + "!" + std::to_string(i + 1));
    if (!file) return std::move(file).status();
    DMARC_RETURN_IF_ERROR(sink(*file));
    ++summary.files;
  }
  return summary;
}

}  // namespace dmarcwatch::bench
