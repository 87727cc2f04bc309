#pragma once
// Derived, never parsed: what analysis concludes about report rows, and the
// counts the store keeps of it (rollups). Shared by analysis (which
// computes them), store (which keeps and sums them) and the views (CLI,
// web, alerts), so none of those depends on another.
//
// A sending path is identified by a key: "path:<declared name>",
// "undeclared:<provider id>", "forwarder" or "unknown".

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dmarcwatch/model/ip_address.h"
#include "dmarcwatch/model/report.h"

namespace dmarcwatch::model {

// What kind of path a row came through.
//   kDirect      the organisation's own MTAs (a declared path with ips)
//   kSmarthost   a provider the organisation declared (SendGrid, SES, ...)
//   kUndeclared  a known provider sending as the domain, not declared
//   kForwarder   forwarded or mailing-list traffic, not sent by them
//   kUnknown     anything else: spoofing candidates, or a path to declare
enum class PathKind : std::uint8_t { kDirect, kSmarthost, kUndeclared, kForwarder, kUnknown };
const char* ToString(PathKind kind);
// Parses the words ToString writes; anything else is kUnknown.
PathKind PathKindFromString(std::string_view word);

// Which path one row was attributed to, and the recomputed alignment.
struct RecordAnalysis {
  std::string path_key;
  PathKind kind = PathKind::kUnknown;
  std::string path_name;  // declared path name, or ""
  std::string provider;   // catalog id, or ""
  int rule = 6;           // the attribution rule that decided (1-6)
  std::string evidence;   // what matched, for a person
  bool spf_aligned = false;
  bool dkim_aligned = false;
  bool dmarc_pass = false;
  bool disagrees = false;  // the reporter's policy_evaluated says otherwise
};

struct ReportAnalysis {
  std::string fingerprint;  // of the configuration the analysis used
  std::vector<RecordAnalysis> records;  // parallel to Report::records
};

// Message counts over a set of rows. Sums saturate.
struct Counts {
  std::uint64_t messages = 0;
  std::uint64_t dmarc_pass = 0;
  std::uint64_t spf_aligned = 0;
  std::uint64_t dkim_aligned = 0;
  std::uint64_t disagreements = 0;  // messages whose reporter disagreed
  std::uint64_t quarantined = 0;    // disposition applied by the receiver
  std::uint64_t rejected = 0;
  std::uint64_t rows = 0;

  void Add(const Counts& other);
  std::uint64_t dmarc_fail() const { return messages - dmarc_pass; }
};

struct PathRef {
  std::string key;
  PathKind kind = PathKind::kUnknown;
  std::string name;
  std::string provider;
};

// One path over a period.
struct PathTotals {
  PathRef path;
  Counts counts;
  std::uint64_t sources = 0;    // distinct source IPs
  std::uint64_t reporters = 0;  // distinct reporters
  std::int64_t first_day = 0;   // DayNumber of the first and last report
  std::int64_t last_day = 0;
};

struct DailyCounts {
  std::int64_t day = 0;  // DayNumber (UTC)
  std::string path_key;  // empty when summed over paths
  Counts counts;
};

struct ReporterCounts {
  std::string path_key;
  std::string reporter;  // report_metadata/org_name
  Counts counts;
};

// What the reports said about how a group of messages authenticated: a
// row without its source IP and count.
struct AuthSignature {
  std::string header_from;
  std::optional<std::string> envelope_from;
  std::vector<DkimAuthResult> dkim;
  std::vector<SpfAuthResult> spf;
  std::vector<PolicyOverride> reasons;
  AppliedDisposition disposition = AppliedDisposition::kUnknown;
};

// One empty signature, shared: what a SourceCounts holds until it is given
// its own.
const std::shared_ptr<const AuthSignature>& EmptySignature();

// Messages from one source IP with one signature, over a period.
struct SourceCounts {
  std::string path_key;
  IpAddress ip;
  // Never null. Shared: a period's tens of thousands of groups have a few
  // hundred signatures, and readers tally per signature, not per group.
  std::shared_ptr<const AuthSignature> signature = EmptySignature();
  Counts counts;
  std::int64_t first_day = 0;
  std::int64_t last_day = 0;
};

// A period of whole UTC days and, optionally, one policy domain and one
// path: what the path views ask the rollups for.
struct RollupQuery {
  std::optional<std::string> domain;  // compared lower-case
  std::int64_t from_day = 0;          // DayNumber, inclusive
  std::int64_t to_day = 0;            // DayNumber, inclusive
  std::optional<std::string> path_key;
  std::uint32_t limit = 10000;        // for row-producing queries
};

// The policy a domain published, as the newest report for it says.
struct PublishedPolicy {
  std::string domain;
  PolicyPublished policy;
  UnixTime as_of = 0;  // end of that report's range
};

}  // namespace dmarcwatch::model
