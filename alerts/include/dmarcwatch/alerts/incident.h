#pragma once
// Incidents: what the rules observed, and the life cycle that turns
// observations into notifications.
//
// A rule that fires opens an incident keyed by (rule, domain, subject),
// where the subject is a path key ("path:SendGrid", "undeclared:mailgun",
// "unknown"), a mailbox name, or "" for the domain as a whole. An open
// incident
//   - notifies once when it opens;
//   - notifies again only when it worsens (its measure by worsen_step, or
//     its severity) or, while its condition holds, every `renotify`;
//   - is silenced by an acknowledgement until it resolves;
//   - resolves, with a notification (acknowledged or not), once its
//     condition has been clear for resolve_after. "Clear" is something a
//     rule observes; a rule that cannot tell (no data, no DNS, mailboxes
//     not reported) leaves the incident as it is.
// The same condition firing after resolution opens a new incident.
//
// Decide() is pure: the caller passes the open incidents and this
// evaluation's observations and stores what it returns. No clock: `now`
// is a parameter.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dmarcwatch/alerts/options.h"
#include "dmarcwatch/analysis/diagnosis.h"
#include "dmarcwatch/model/report.h"

namespace dmarcwatch::alerts {

enum class Rule : std::uint8_t {
  kPassRate,           // "pass_rate"
  kUndeclaredProvider, // "undeclared_provider"
  kUnknownFailures,    // "unknown_failures"
  kDirectIpSpfFail,    // "direct_ip_spf_fail"
  kSpfIncludeMissing,  // "spf_include_missing"
  kReporterSilence,    // "reporter_silence"
  kIngestFailures,     // "ingest_failures"
  kUnknown,
};
const char* ToString(Rule rule);
Rule RuleFromString(std::string_view word);  // kUnknown for anything else

enum class Verdict : std::uint8_t { kFiring, kClear, kUnknown };

// What a notification says about its incident.
enum class Notice : std::uint8_t { kOpened, kWorsened, kReminder, kResolved };
const char* ToString(Notice notice);  // "opened", "worsened", "reminder", "resolved"

// What an alert shows beyond its title: the numbers, what to fix with the
// evidence, and the period they cover (for the dashboard link). Values
// that came from reports are kept as they are; rendering escapes them.
struct Details {
  std::string summary;  // a paragraph with the numbers
  std::vector<std::pair<std::string, std::string>> facts;  // ("messages", "1,150")
  std::vector<analysis::Finding> findings;  // what to fix, most important first
  std::vector<std::string> items;           // a list (silent reporters, days over the limit)
  std::string path_key;                     // for the link; "" for the domain as a whole
  std::int64_t from_day = 0;                // DayNumber, inclusive; 0 when no period
  std::int64_t to_day = 0;
};

struct Observation {
  Rule rule = Rule::kUnknown;
  std::string domain;   // "" for incidents about no domain (a mailbox)
  std::string subject;  // path key, mailbox name, or ""
  Verdict verdict = Verdict::kUnknown;
  analysis::Severity severity = analysis::Severity::kWarning;
  // The rule's measure: a pass rate (lower is worse), or a count (higher
  // is worse); see Worsened().
  double value = 0;
  std::string title;  // one line: domain + path + what ("example.com: SendGrid fails DMARC (...)")
  // When the data first and last showed the condition (UTC); 0 = now.
  model::UnixTime first_seen = 0;
  model::UnixTime last_seen = 0;
  Details details;

  std::string Key() const;  // "rule|domain|subject"
};

enum class IncidentState : std::uint8_t { kOpen, kResolved };
const char* ToString(IncidentState state);  // "open", "resolved"

struct Incident {
  std::int64_t id = 0;  // assigned by the store; 0 before
  Rule rule = Rule::kUnknown;
  std::string domain;
  std::string subject;
  IncidentState state = IncidentState::kOpen;
  analysis::Severity severity = analysis::Severity::kWarning;
  std::string title;
  double value = 0;
  model::UnixTime opened_at = 0;
  model::UnixTime first_seen = 0;
  model::UnixTime last_seen = 0;
  std::optional<model::UnixTime> clear_since;  // observed clear since; unset while firing
  std::optional<model::UnixTime> resolved_at;
  bool acknowledged = false;
  std::optional<model::UnixTime> acknowledged_at;
  std::optional<model::UnixTime> last_notified_at;
  double notified_value = 0;
  analysis::Severity notified_severity = analysis::Severity::kWarning;
  std::uint32_t notifications = 0;
  // The last observation, as JSON (EvaluationJson), for `alerts list` and
  // the dashboard.
  std::string evaluation_json;

  std::string Key() const;
};

// Whether an observed measure is worse than the notified one by the step:
// a pass rate by `step` percentage points lower; a count by `step` percent
// higher (and always when a count rises from zero); a count of things
// (IPs, silent reporters) whenever it grows.
bool Worsened(Rule rule, double notified, double observed, double step);

struct Change {
  Incident incident;              // as it is to be stored (id 0: to insert)
  std::optional<Notice> notice;   // set when it notifies
  const Observation* observation = nullptr;  // this evaluation's, or null
  // What the previous notification said, for "was ..., now ...".
  double previous_value = 0;
  std::optional<model::UnixTime> previously_notified_at;
};

struct LifeCycle {
  std::int64_t renotify = 7 * kDay;
  double worsen_step = 10.0;
  std::int64_t resolve_after = 2 * kDay;
};

// The changes this evaluation makes: incidents to open, to update and to
// resolve, each with the notification it sends, if any. Incidents neither
// observed nor clear are left out. REQUIRES: `open` holds open incidents
// with distinct keys; the returned observation pointers point into
// `observations`, which must outlive the result.
std::vector<Change> Decide(const std::vector<Incident>& open,
                           const std::vector<Observation>& observations, model::UnixTime now,
                           const LifeCycle& policy);

// The observation as JSON: {"verdict":...,"value":...,"summary":...,
// "facts":{...},"findings":[...],"items":[...],"path":...,"from":...,"to":...}.
std::string EvaluationJson(const Observation& observation);

}  // namespace dmarcwatch::alerts
