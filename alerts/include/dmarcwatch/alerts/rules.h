#pragma once
// The alert rules: what each one measures, over which days, and when it
// fires, is clear, or cannot tell. docs/alerts.md describes each rule with
// its default threshold and configuration key.
//
//   pass_rate            a declared path's DMARC pass rate over the window is
//                        below pass_rate_below, with at least min_messages
//   undeclared_provider  a catalog provider not declared as a path sends as
//                        the domain, and is new: not seen before the period
//                        looked at, nor on the domain's first day of data
//   unknown_failures     unknown sources failed DMARC more than
//                        unknown_failures_per_day times on one day
//   direct_ip_spf_fail   mail from a direct path's IPs fails SPF (the
//                        direct_ip_spf_fail finding)
//   spf_include_missing  a declared path's SPF include is not in the
//                        published record (DNS on; the finding of that name)
//   reporter_silence     reporters that reported on most days of the weeks
//                        before have sent nothing for reporter_silence
//   ingest_failures      a mailbox failed ingest_failure_streak polls in a row
//                        (the caller reports mailbox health)
//
// Periods, in whole UTC days. `today` is the day holding `now`; its reports
// usually arrive tomorrow, so the window is the `window` days ending
// yesterday. Events (a day over the unknown-failures limit, a provider's
// first messages) are looked for since the previous evaluation, and at
// least over the window: the lookback. The first evaluation, or one after
// a long pause, looks back catch_up_days, so a backfill still reports the
// spike of three weeks ago once.
//
// A rule says "unknown" rather than "clear" when the domain has no data at
// all in the window (a broken intake must not resolve every incident), when
// DNS is off, or when the caller did not report mailbox health.
//
// Reads rollups through analysis::RollupReader and DNS through the
// analysis Resolver; no other I/O, no clock.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dmarcwatch/alerts/incident.h"
#include "dmarcwatch/alerts/options.h"
#include "dmarcwatch/analysis/attribution.h"
#include "dmarcwatch/analysis/catalog.h"
#include "dmarcwatch/analysis/dns.h"
#include "dmarcwatch/analysis/domain_report.h"
#include "dmarcwatch/model/status.h"

namespace dmarcwatch::alerts {

// The health of one report mailbox, as the poller knows it. The alerts
// module does not poll; the caller passes this in.
struct MailboxHealth {
  std::string name;
  std::uint32_t consecutive_failures = 0;  // failed polls since the last success
  std::string last_error;                  // one line; shown in the alert
  std::optional<model::UnixTime> last_success;
  std::optional<model::UnixTime> last_failure;
};

struct Periods {
  std::int64_t today = 0;          // DayNumber(now)
  std::int64_t window_from = 0;    // the window: `window` days ending yesterday
  std::int64_t window_to = 0;
  std::int64_t lookback_from = 0;  // events since the last evaluation; <= window_from

  int window_days() const { return static_cast<int>(window_to - window_from + 1); }
};

// `last_evaluated_to`: window_to of the previous evaluation of the domain,
// if any.
Periods ComputePeriods(const AlertsOptions& options, model::UnixTime now,
                       std::optional<std::int64_t> last_evaluated_to);

struct RuleContext {
  const AlertsOptions& options;
  const analysis::AnalysisConfig& analysis;
  const analysis::Catalog& catalog;
  analysis::RollupReader& reader;
  analysis::Resolver* resolver = nullptr;  // null: DNS off
  model::UnixTime now = 0;
  std::string domain;                      // lower-case
  Periods periods;
  // Open incidents (any domain): a provider that is no longer new keeps
  // its open incident firing while it still sends.
  const std::vector<Incident>* open = nullptr;
};

// Every rule about one domain. Fails only when the rollups cannot be read.
Result<std::vector<Observation>> EvaluateDomain(const RuleContext& context);

// The ingest_failures rule. Mailboxes with an open incident that are not
// in `mailboxes` (removed from the configuration) are clear.
std::vector<Observation> EvaluateMailboxes(const AlertsOptions& options,
                                           const std::vector<MailboxHealth>& mailboxes,
                                           const std::vector<Incident>& open, model::UnixTime now);

}  // namespace dmarcwatch::alerts
