// The incident life cycle (Decide): open once, worse past the step,
// remind after the interval, resolve after resolve_after clear, and an
// acknowledgement that silences everything but the resolution.

#include <boost/test/unit_test.hpp>

#include "dmarcwatch/alerts/incident.h"
#include "fixtures.h"

namespace dmarcwatch::alerts {
namespace {

using namespace testing;

const model::UnixTime kT0 = At(kOct1 + 31);
constexpr std::int64_t kHour = 3600;

Observation PassRate(Verdict v, double rate,
                     analysis::Severity s = analysis::Severity::kCritical) {
  Observation o;
  o.rule = Rule::kPassRate;
  o.domain = "example.com";
  o.subject = "path:SendGrid";
  o.verdict = v;
  o.value = rate;
  o.severity = s;
  o.title = "example.com: SendGrid fails DMARC";
  return o;
}

// Applies the changes to the open set, as the store would.
void Apply(std::vector<Incident>& open, const std::vector<Change>& changes) {
  static std::int64_t next_id = 100;
  for (const Change& c : changes) {
    Incident inc = c.incident;
    if (inc.id == 0) inc.id = next_id++;
    open.erase(std::remove_if(open.begin(), open.end(),
                              [&](const Incident& i) { return i.id == inc.id; }),
               open.end());
    if (inc.state == IncidentState::kOpen) open.push_back(inc);
  }
}

struct Run {
  std::vector<Incident> open;
  LifeCycle policy;  // renotify 7d, step 10, resolve after 2d

  std::optional<Notice> Step(const Observation& o, model::UnixTime now) {
    std::vector<Observation> obs = {o};
    std::vector<Change> changes = Decide(open, obs, now, policy);
    std::optional<Notice> notice;
    for (const Change& c : changes) {
      if (c.notice) notice = c.notice;
    }
    Apply(open, changes);
    return notice;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(incidents)

BOOST_AUTO_TEST_CASE(a_firing_rule_opens_one_incident_and_notifies_once) {
  Run r;
  BOOST_TEST((r.Step(PassRate(Verdict::kFiring, 0), kT0) == Notice::kOpened));
  BOOST_REQUIRE(r.open.size() == 1u);
  BOOST_TEST(r.open.front().notifications == 1u);
  BOOST_TEST(r.open.front().opened_at == kT0);
  for (int i = 1; i <= 24; ++i) {
    BOOST_TEST(!r.Step(PassRate(Verdict::kFiring, 0), kT0 + i * kHour).has_value());
  }
  BOOST_TEST(r.open.size() == 1u);
  BOOST_TEST(r.open.front().notifications == 1u);
}

BOOST_AUTO_TEST_CASE(a_clear_or_unknown_verdict_opens_nothing) {
  Run r;
  BOOST_TEST(!r.Step(PassRate(Verdict::kClear, 100), kT0).has_value());
  BOOST_TEST(!r.Step(PassRate(Verdict::kUnknown, 0), kT0).has_value());
  BOOST_TEST(r.open.empty());
}

BOOST_AUTO_TEST_CASE(it_notifies_again_only_when_worse_past_the_step) {
  Run r;
  r.Step(PassRate(Verdict::kFiring, 80), kT0);
  BOOST_TEST(!r.Step(PassRate(Verdict::kFiring, 75), kT0 + kHour).has_value());
  BOOST_TEST(!r.Step(PassRate(Verdict::kFiring, 70.5), kT0 + 2 * kHour).has_value());
  BOOST_TEST((r.Step(PassRate(Verdict::kFiring, 70), kT0 + 3 * kHour) == Notice::kWorsened));
  // The step is measured from what was last notified (70 now).
  BOOST_TEST(!r.Step(PassRate(Verdict::kFiring, 61), kT0 + 4 * kHour).has_value());
  BOOST_TEST((r.Step(PassRate(Verdict::kFiring, 59), kT0 + 5 * kHour) == Notice::kWorsened));
  // Better is not news.
  BOOST_TEST(!r.Step(PassRate(Verdict::kFiring, 90), kT0 + 6 * kHour).has_value());
}

BOOST_AUTO_TEST_CASE(a_higher_severity_is_worse) {
  Run r;
  r.Step(PassRate(Verdict::kFiring, 80, analysis::Severity::kWarning), kT0);
  BOOST_TEST((r.Step(PassRate(Verdict::kFiring, 80, analysis::Severity::kCritical),
                     kT0 + kHour) == Notice::kWorsened));
}

BOOST_AUTO_TEST_CASE(a_count_is_worse_by_the_step_in_percent) {
  BOOST_TEST(!Worsened(Rule::kUnknownFailures, 200, 219, 10));
  BOOST_TEST(Worsened(Rule::kUnknownFailures, 200, 220, 10));
  BOOST_TEST(Worsened(Rule::kUnknownFailures, 0, 1, 10));
  BOOST_TEST(!Worsened(Rule::kUnknownFailures, 200, 150, 10));
  BOOST_TEST(Worsened(Rule::kReporterSilence, 1, 2, 10));
  BOOST_TEST(!Worsened(Rule::kReporterSilence, 2, 2, 10));
  BOOST_TEST(!Worsened(Rule::kIngestFailures, 3, 300, 10));
  BOOST_TEST(!Worsened(Rule::kUndeclaredProvider, 10, 10000, 10));
}

BOOST_AUTO_TEST_CASE(it_reminds_after_the_renotify_interval_not_before) {
  Run r;
  r.Step(PassRate(Verdict::kFiring, 0), kT0);
  BOOST_TEST(!r.Step(PassRate(Verdict::kFiring, 0), kT0 + 7 * kDay - 1).has_value());
  BOOST_TEST((r.Step(PassRate(Verdict::kFiring, 0), kT0 + 7 * kDay) == Notice::kReminder));
  BOOST_TEST(!r.Step(PassRate(Verdict::kFiring, 0), kT0 + 8 * kDay).has_value());
  BOOST_TEST((r.Step(PassRate(Verdict::kFiring, 0), kT0 + 14 * kDay) == Notice::kReminder));
  // No reminder while the rule cannot tell.
  BOOST_TEST(!r.Step(PassRate(Verdict::kUnknown, 0), kT0 + 30 * kDay).has_value());
}

BOOST_AUTO_TEST_CASE(it_resolves_after_resolve_after_clear_with_a_notification) {
  Run r;
  r.Step(PassRate(Verdict::kFiring, 0), kT0);
  BOOST_TEST(!r.Step(PassRate(Verdict::kClear, 99), kT0 + kDay).has_value());
  BOOST_TEST((r.open.front().clear_since == kT0 + kDay));
  BOOST_TEST(!r.Step(PassRate(Verdict::kClear, 99), kT0 + 3 * kDay - 1).has_value());
  // Unknown in between changes nothing.
  BOOST_TEST(!r.Step(PassRate(Verdict::kUnknown, 0), kT0 + 3 * kDay - 1).has_value());
  BOOST_TEST((r.Step(PassRate(Verdict::kClear, 99), kT0 + 3 * kDay) == Notice::kResolved));
  BOOST_TEST(r.open.empty());
  // Firing again opens a new incident.
  BOOST_TEST((r.Step(PassRate(Verdict::kFiring, 0), kT0 + 4 * kDay) == Notice::kOpened));
}

BOOST_AUTO_TEST_CASE(firing_again_before_resolution_restarts_the_clear_period) {
  Run r;
  r.Step(PassRate(Verdict::kFiring, 0), kT0);
  r.Step(PassRate(Verdict::kClear, 99), kT0 + kDay);
  r.Step(PassRate(Verdict::kFiring, 0), kT0 + 2 * kDay);
  BOOST_TEST(!r.open.front().clear_since.has_value());
  BOOST_TEST(!r.Step(PassRate(Verdict::kClear, 99), kT0 + 3 * kDay).has_value());
  BOOST_TEST(!r.Step(PassRate(Verdict::kClear, 99), kT0 + 4 * kDay).has_value());
  BOOST_TEST((r.Step(PassRate(Verdict::kClear, 99), kT0 + 5 * kDay) == Notice::kResolved));
}

BOOST_AUTO_TEST_CASE(an_acknowledged_incident_is_silent_until_it_resolves) {
  Run r;
  r.Step(PassRate(Verdict::kFiring, 80), kT0);
  r.open.front().acknowledged = true;
  BOOST_TEST(!r.Step(PassRate(Verdict::kFiring, 0), kT0 + kHour).has_value());  // worse
  BOOST_TEST(!r.Step(PassRate(Verdict::kFiring, 0), kT0 + 8 * kDay).has_value());  // reminder due
  r.Step(PassRate(Verdict::kClear, 99), kT0 + 9 * kDay);
  BOOST_TEST((r.Step(PassRate(Verdict::kClear, 99), kT0 + 11 * kDay) == Notice::kResolved));
}

BOOST_AUTO_TEST_CASE(a_change_records_what_was_notified_before) {
  std::vector<Incident> open;
  std::vector<Observation> first = {PassRate(Verdict::kFiring, 80)};
  auto opened = Decide(open, first, kT0, LifeCycle{});
  Apply(open, opened);
  std::vector<Observation> worse = {PassRate(Verdict::kFiring, 40)};
  auto changes = Decide(open, worse, kT0 + kHour, LifeCycle{});
  BOOST_REQUIRE(changes.size() == 1u);
  BOOST_TEST(changes[0].previous_value == 80.0);
  BOOST_TEST((changes[0].previously_notified_at == kT0));
  BOOST_TEST(changes[0].incident.notified_value == 40.0);
  BOOST_TEST(changes[0].incident.notifications == 2u);
  BOOST_TEST(changes[0].incident.evaluation_json.find("\"verdict\":\"firing\"") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace dmarcwatch::alerts
