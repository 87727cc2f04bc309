#pragma once
// Generator: deterministic, realistic DMARC aggregate reports for the demo
// data in samples/demo and for benchmark load.
//
// What it does: builds model::Report values the way real reporters shape
// them (row per source IP and authentication outcome, reporter-specific XML
// quirks), writes them as XML, gzip, zip or a report email, and knows for
// every row which sending path produced it (the ground truth that the
// scenario test compares dmarcwatch's attribution against).
//
// What it deliberately does not do: parse, validate DNS, or use a clock or
// the environment. Every number comes from a seeded splitmix64 stream
// (Rng), never from std::*_distribution, whose output is implementation
// defined; the same options give byte-identical files on every machine.
// gzip MTIME is 0; a zip entry's time is the report's end time, in UTC
// whatever TZ says; an email's Date and Message-ID derive from the report.
//
// Alignment here (ComputeAlignment) uses "the last two labels" as the
// organisational domain. That is exact for every name the generator writes
// (all sit directly under a one-label public suffix) and is not a Public
// Suffix List implementation: do not reuse it for real data.
//
// Threading: no shared state; every function may run concurrently with
// any other on different arguments.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "dmarcwatch/model/report.h"
#include "dmarcwatch/model/status.h"

namespace dmarcwatch::bench {

// ---- Randomness --------------------------------------------------------------

// splitmix64: tiny, fast, and the same sequence on every platform.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t Next();
  // Uniform in [0, n), without modulo bias. REQUIRES: n > 0.
  std::uint64_t Below(std::uint64_t n);
  // Uniform in [lo, hi]. REQUIRES: lo <= hi.
  std::int64_t Between(std::int64_t lo, std::int64_t hi);
  // Uniform in [0, 1), 53 random bits.
  double Unit();
  bool Chance(double probability) { return Unit() < probability; }

 private:
  std::uint64_t state_;
};

// An independent stream seed for (seed, label, n): each traffic class and day
// draws from its own stream, so changing one class does not shift the
// numbers of every other.
std::uint64_t DeriveSeed(std::uint64_t seed, std::string_view label, std::uint64_t n = 0);

// ---- Writing reports -----------------------------------------------------------

// How a reporter lays out its XML. The defaults are a plain, indented
// RFC 7489 document.
struct XmlStyle {
  std::string declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
  std::string indent = "  ";   // per level; "" with newline "" gives one line
  std::string newline = "\n";  // "\r\n" for reporters that send CRLF
  // Extra attributes on <feedback>, written as given (trusted, not escaped).
  std::string root_attributes;
};

// Escapes text for element content: & < > become entities and CR becomes
// &#13; (a parser would otherwise normalise it away). Control characters
// that XML 1.0 cannot carry at all become '?'.
std::string EscapeXml(std::string_view text);

// The report as XML. Absent optionals are not written; an SPF scope of
// kUnspecified writes no <scope>; report.xml_namespace becomes xmlns="…".
std::string WriteReportXml(const model::Report& report, const XmlStyle& style = {});

// A gzip file (RFC 1952) holding `data`, with FNAME `entry_name`, MTIME 0
// and OS 3, at compression level 9.
Result<std::string> Gzip(std::string_view data, std::string_view entry_name);

// A zip archive with one deflated entry (libarchive, in memory). Its time is
// `mtime` in UTC: libarchive writes the DOS time field in local time, so the
// generator rewrites that field, keeping the archive identical in any TZ.
Result<std::string> Zip(std::string_view data, std::string_view entry_name, model::UnixTime mtime);

// Base64 (RFC 2045 §6.8) in lines of 76 characters ending in CRLF.
std::string Base64(std::string_view data);

// "Fri, 02 Oct 2026 03:04:05 +0000" (RFC 5322 §3.3), UTC.
std::string FormatRfc5322Date(model::UnixTime t);

struct EmailOptions {
  std::string from;  // "noreply-dmarc-support@google.com"
  std::string to = "dmarc-reports@example.com";
  std::string submitter;          // Subject's "Submitter:", e.g. "mail.ru"
  std::string message_id_domain;  // right-hand side of Message-ID
  std::string attachment_name;    // "mail.ru!example.com!…!….xml.gz"
  std::string attachment_type;    // "application/gzip", "application/zip"
};

// A report email as RFC 7489 §7.2.1.1 describes it: multipart/mixed with a
// short text part and the attachment in base64. Subject "Report Domain: D
// Submitter: S Report-ID: <ID>"; Date is the report's end plus a delay
// derived from the report id; Message-ID derives from the same. Header
// values are stripped of control characters, so a report id cannot inject
// header lines. CRLF line endings.
std::string WriteReportEmail(const model::Report& report, std::string_view attachment,
                             const EmailOptions& options);

// ---- Ground truth --------------------------------------------------------------

// RFC 7489 §3.1, recomputed from a row's auth_results (never copied from
// policy_evaluated), under the policy's adkim/aspf.
struct AlignmentFlags {
  bool spf_aligned = false;   // an SPF pass, scope mfrom or unspecified, aligned domain
  bool dkim_aligned = false;  // a DKIM pass for an aligned domain
  bool dmarc_pass = false;    // either
};
AlignmentFlags ComputeAlignment(const model::Record& record, const model::PolicyPublished& policy);
// True when the reporter's policy_evaluated dkim/spf verdicts differ from
// the recomputed alignment.
bool ReporterDisagrees(const model::Record& record, const AlignmentFlags& flags);

// One line of TRUTH.tsv: one generated row and the path it belongs to.
struct TruthRow {
  std::string file;  // relative to the output directory
  std::string report_id;
  std::string policy_domain;
  std::uint32_t row = 0;  // 1-based position of the <record> in the report
  std::string source_ip;
  std::uint64_t count = 0;
  std::string kind;      // direct | smarthost | undeclared | forwarder | unknown
  std::string name;      // configured path name (direct, smarthost), else ""
  std::string provider;  // catalog id (smarthost, undeclared), else ""
  AlignmentFlags flags;
  bool reporter_disagrees = false;
};

// The header line and one line per row, tab-separated, LF endings.
std::string FormatTruthTsv(const std::vector<TruthRow>& rows);

struct GeneratedFile {
  std::string name;  // file name, no directory
  std::string bytes;
};

// ---- The demo --------------------------------------------------------------------

struct DemoOptions {
  model::UnixTime start = 1790812800;  // 2026-10-01T00:00:00Z; REQUIRES: a UTC midnight
  int days = 31;                       // REQUIRES: 1..3660
  std::uint64_t seed = 2026;
};

struct DemoOutput {
  std::vector<GeneratedFile> files;  // one report per file
  std::vector<TruthRow> truth;       // file order, then row order
};

// The example.com / example.net story of samples/demo/README.md: six
// reporters, one report each per UTC day, traffic from the organisation's
// declared paths, an undeclared Mailgun, forwarders, mailing lists and
// spoofers. Fails only on invalid options or a compression library error.
Result<DemoOutput> BuildDemo(const DemoOptions& options);

// ---- Synthetic load ------------------------------------------------------------

enum class Container : std::uint8_t { kXml, kGzip, kZip, kEmail };

struct SyntheticOptions {
  std::string domain = "example.com";
  model::UnixTime start = 1790812800;   // REQUIRES: a UTC midnight
  std::uint64_t reports = 100;          // normal reports
  std::uint64_t rows_per_report = 100;  // REQUIRES: >= 1
  std::uint32_t reporters = 6;          // REQUIRES: >= 1; the first six are the demo's
  double ipv6_share = 0.2;              // of rows; REQUIRES: 0..1
  double fail_share = 0.3;              // of rows failing DMARC; REQUIRES: 0..1
  std::vector<Container> formats = {Container::kXml};  // cycled over reports; non-empty
  // > 0: one more report with this many rows, in formats.front(). About 700
  // bytes of XML a row: past ~90,000 rows an .xml file is over dmarcwatch's
  // default 64 MiB input limit, so choose gz or zip first for big ones.
  std::uint64_t huge_rows = 0;
  // 0: every row has its own source IP (the worst case for the per-source
  // rollups). N > 0: rows draw from N senders that send again every day,
  // as real traffic does; a sender keeps its address family and whether it
  // fails DMARC, so the rows' shares still follow ipv6_share and fail_share.
  std::uint64_t sources = 0;
  std::uint64_t seed = 1;
};

struct SyntheticSummary {
  std::uint64_t files = 0;
  std::uint64_t rows = 0;
  std::uint64_t messages = 0;
};

// Receives each file as soon as it is built, so a large run never holds
// more than one report in memory. A failed Status stops the run.
using FileSink = std::function<Status(const GeneratedFile& file)>;

// Reports with distinct source IPs across the whole run, or from a pool of
// `sources` senders (IPv4 from 16.0.0.0/4, IPv6 from 2001:db8::/32), and a
// random pass/fail mix. Report i
// comes from reporter i % reporters, for day i / reporters.
Result<SyntheticSummary> BuildSynthetic(const SyntheticOptions& options, const FileSink& sink);

}  // namespace dmarcwatch::bench
