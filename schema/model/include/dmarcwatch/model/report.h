#pragma once
// The DMARC aggregate report, as RFC 7489 appendix C and RFC 9990 define it.
//
// Names follow the report XML (`header_from`, `policy_evaluated`), so that a
// reader of the RFC can find every field. This is data only: no parsing, no
// I/O, no analysis. Every enumeration has kUnknown, the value a report's
// unexpected word maps to (with a ParseWarning recording the word), so that
// new vocabulary from a reporter never rejects a report. Counts are 64-bit;
// sums over them saturate (see SaturatingAdd).
//
// Fields the RFCs mark optional are std::optional, so "absent" and "empty"
// stay distinguishable; the parser never invents a value for an absent one.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "dmarcwatch/model/ip_address.h"

namespace dmarcwatch::model {

// Seconds since the Unix epoch, UTC. Reports carry 32-bit-ish values, but
// nothing here assumes that.
using UnixTime = std::int64_t;

// p=, sp=, np= of the published policy (RFC 7489 §6.3).
enum class Disposition : std::uint8_t { kNone, kQuarantine, kReject, kUnknown };
// policy_evaluated/disposition: what the receiver did. RFC 9990 adds "pass".
enum class AppliedDisposition : std::uint8_t { kNone, kPass, kQuarantine, kReject, kUnknown };
// adkim= / aspf=.
enum class Alignment : std::uint8_t { kRelaxed, kStrict, kUnknown };
// policy_evaluated/dkim and /spf: the receiver's DMARC-level verdict.
enum class DmarcResult : std::uint8_t { kPass, kFail, kUnknown };
// auth_results/dkim/result (RFC 8601 §2.7.1).
enum class DkimResult : std::uint8_t {
  kNone, kPass, kFail, kPolicy, kNeutral, kTempError, kPermError, kUnknown
};
// auth_results/spf/result (RFC 7208 §2.6).
enum class SpfResult : std::uint8_t {
  kNone, kNeutral, kPass, kFail, kSoftFail, kTempError, kPermError, kUnknown
};
// auth_results/spf/scope. Absent means "not said", which RFC 9990 treats as mfrom.
enum class SpfScope : std::uint8_t { kHelo, kMfrom, kUnspecified, kUnknown };
// policy_evaluated/reason/type (RFC 7489 §C, RFC 9990 §A).
enum class PolicyOverride : std::uint8_t {
  kForwarded, kSampledOut, kTrustedForwarder, kMailingList, kLocalPolicy,
  kPolicyTestMode, kOther, kUnknown
};
// RFC 9990 policy_published/testing (the DMARCbis t= tag).
enum class Testing : std::uint8_t { kNo, kYes, kUnknown };
// RFC 9990 policy_published/discovery_method.
enum class DiscoveryMethod : std::uint8_t { kPsl, kTreewalk, kUnknown };

struct DateRange {
  UnixTime begin = 0;
  UnixTime end = 0;
};

struct ReportMetadata {
  std::string org_name;
  std::string email;
  std::optional<std::string> extra_contact_info;
  std::string report_id;
  DateRange date_range;
  std::vector<std::string> errors;
  std::optional<std::string> generator;  // RFC 9990
};

struct PolicyPublished {
  std::string domain;
  // Absent adkim/aspf mean relaxed (RFC 7489 §6.3); kept as absent here so
  // the store shows what the reporter wrote. Use EffectiveAdkim() for logic.
  std::optional<Alignment> adkim;
  std::optional<Alignment> aspf;
  Disposition p = Disposition::kUnknown;
  std::optional<Disposition> sp;
  std::optional<Disposition> np;                  // RFC 9990
  std::optional<std::uint32_t> pct;               // RFC 7489 only
  std::optional<std::string> fo;
  std::optional<Testing> testing;                 // RFC 9990
  std::optional<DiscoveryMethod> discovery_method;  // RFC 9990

  Alignment EffectiveAdkim() const {
    return adkim && *adkim != Alignment::kUnknown ? *adkim : Alignment::kRelaxed;
  }
  Alignment EffectiveAspf() const {
    return aspf && *aspf != Alignment::kUnknown ? *aspf : Alignment::kRelaxed;
  }
};

struct PolicyOverrideReason {
  PolicyOverride type = PolicyOverride::kUnknown;
  std::optional<std::string> comment;
};

struct PolicyEvaluated {
  AppliedDisposition disposition = AppliedDisposition::kUnknown;
  DmarcResult dkim = DmarcResult::kUnknown;
  DmarcResult spf = DmarcResult::kUnknown;
  std::vector<PolicyOverrideReason> reasons;
};

struct Identifiers {
  std::string header_from;
  std::optional<std::string> envelope_from;
  std::optional<std::string> envelope_to;
};

struct DkimAuthResult {
  std::string domain;  // may be empty: some reporters write <domain></domain>
  std::optional<std::string> selector;
  DkimResult result = DkimResult::kUnknown;
  std::optional<std::string> human_result;
};

struct SpfAuthResult {
  std::string domain;
  SpfScope scope = SpfScope::kUnspecified;
  SpfResult result = SpfResult::kUnknown;
  std::optional<std::string> human_result;
};

struct AuthResults {
  std::vector<DkimAuthResult> dkim;
  std::vector<SpfAuthResult> spf;  // RFC 7489 requires one; some reporters send none
};

struct Record {
  IpAddress source_ip;
  std::uint64_t count = 0;
  PolicyEvaluated policy_evaluated;
  Identifiers identifiers;
  AuthResults auth_results;
};

// Something the parser repaired or tolerated. `code` is a stable token
// ("bom_stripped", "unknown_element", "unknown_dkim_result"); `detail` is a
// sanitised excerpt for a person.
struct ParseWarning {
  std::string code;
  std::string detail;
};

// Where a report came from. Filled by the ingest source, not the parser.
struct Provenance {
  std::string channel;           // "file", "imap", "upload", "watch"
  std::string origin;            // path, or mailbox name + UID, or token name
  std::string payload_chain;     // how it was unwrapped: "eml>zip>xml"
  std::string payload_name;      // file or attachment name, if any
  std::optional<std::string> message_id;  // Message-ID of the carrying email
  std::optional<std::string> mailbox_uid;  // "<uidvalidity>:<uid>"
  UnixTime received_at = 0;
  std::string sha256_raw;        // hex SHA-256 of the whole input as received
};

struct Report {
  std::optional<std::string> version;  // <version>, as written ("1.0", "0.1")
  std::optional<std::string> xml_namespace;  // e.g. urn:ietf:params:xml:ns:dmarc-2.0
  ReportMetadata report_metadata;
  PolicyPublished policy_published;
  std::vector<Record> records;
  std::vector<ParseWarning> warnings;
  Provenance provenance;

  // Sum of the records' counts, saturating at UINT64_MAX.
  std::uint64_t MessageCount() const;
};

inline std::uint64_t SaturatingAdd(std::uint64_t a, std::uint64_t b) {
  return b > std::numeric_limits<std::uint64_t>::max() - a
             ? std::numeric_limits<std::uint64_t>::max()
             : a + b;
}

// Canonical lower-case words, as the RFC writes them ("quarantine",
// "temperror", "mfrom"); kUnknown is "unknown".
const char* ToString(Disposition v);
const char* ToString(AppliedDisposition v);
const char* ToString(Alignment v);  // "r" / "s"
const char* ToString(DmarcResult v);
const char* ToString(DkimResult v);
const char* ToString(SpfResult v);
const char* ToString(SpfScope v);
const char* ToString(PolicyOverride v);
const char* ToString(Testing v);  // "n" / "y"
const char* ToString(DiscoveryMethod v);

}  // namespace dmarcwatch::model
