// The alert rules on crafted rollups: each fires, and stays quiet just
// below its threshold.

#include <boost/test/unit_test.hpp>

#include "dmarcwatch/alerts/rules.h"
#include "fixtures.h"

namespace dmarcwatch::alerts {
namespace {

using namespace testing;

const std::int64_t kNov1 = kOct1 + 31;

struct Fixture {
  FakeRollups rollups;
  analysis::AnalysisConfig config = DemoConfig();
  AlertsOptions options = DemoOptions();
  std::vector<Incident> open;

  Fixture() {
    rollups.SetPolicy("example.com", model::Disposition::kNone);
    Background(rollups, kOct1, kOct1 + 30);
  }

  std::vector<Observation> Evaluate(model::UnixTime now,
                                    std::optional<std::int64_t> last_evaluated = std::nullopt,
                                    analysis::Resolver* dns = nullptr) {
    const Periods p = ComputePeriods(options, now, last_evaluated);
    RuleContext ctx{options, config,      analysis::Catalog::Builtin(), rollups, dns, now,
                    "example.com", p, &open};
    auto r = EvaluateDomain(ctx);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.status().ToString()));
    return *r;
  }

  Incident OpenIncident(Rule rule, const std::string& subject) {
    Incident i;
    i.id = 1;
    i.rule = rule;
    i.domain = "example.com";
    i.subject = subject;
    i.state = IncidentState::kOpen;
    return i;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(rules)

BOOST_AUTO_TEST_CASE(the_window_ends_yesterday_and_the_first_lookback_catches_up) {
  AlertsOptions o;
  const Periods first = ComputePeriods(o, At(kNov1, 10), std::nullopt);
  BOOST_TEST(first.today == kNov1);
  BOOST_TEST(first.window_to == kNov1 - 1);
  BOOST_TEST(first.window_from == kNov1 - 3);
  BOOST_TEST(first.lookback_from == kNov1 - 30);
  // Evaluated yesterday: the lookback is the window.
  BOOST_TEST(ComputePeriods(o, At(kNov1), kNov1 - 2).lookback_from == kNov1 - 3);
  // After a pause of ten days: since the last evaluation.
  BOOST_TEST(ComputePeriods(o, At(kNov1), kNov1 - 11).lookback_from == kNov1 - 10);
  // After a long pause: at most catch_up_days.
  BOOST_TEST(ComputePeriods(o, At(kNov1), kNov1 - 100).lookback_from == kNov1 - 30);
}

BOOST_AUTO_TEST_CASE(pass_rate_fires_for_a_declared_path_below_the_threshold) {
  Fixture f;
  for (std::int64_t d = kOct1; d <= kOct1 + 30; ++d) f.rollups.Add(SendGridBad(d, 10));
  const auto obs = f.Evaluate(At(kNov1));
  const Observation* o = Firing(obs, Rule::kPassRate, "path:SendGrid");
  BOOST_REQUIRE(o != nullptr);
  BOOST_TEST(o->title == "example.com: SendGrid fails DMARC (0.0% over 3 days)");
  BOOST_TEST(o->value == 0.0);
  BOOST_TEST(o->severity == analysis::Severity::kCritical);
  BOOST_TEST(o->details.from_day == kNov1 - 3);
  BOOST_TEST(o->details.to_day == kNov1 - 1);
  BOOST_REQUIRE(!o->details.findings.empty());
  BOOST_TEST(o->details.findings.front().code == "dkim_provider_domain");
  BOOST_TEST(o->details.findings.front().advice.find("SendGrid") != std::string::npos);
  BOOST_TEST(o->details.summary.find("30 messages") != std::string::npos);
  // Failing every day of the lookback: "since ... or earlier".
  bool since = false;
  for (const auto& [label, value] : o->details.facts) {
    if (label == "failing since") since = value == "2026-10-02 or earlier";
  }
  BOOST_TEST(since);
  // The office MTA passes: clear.
  BOOST_TEST(Clear(obs, Rule::kPassRate, "path:Office MTA") != nullptr);
}

BOOST_AUTO_TEST_CASE(pass_rate_stays_quiet_below_min_messages) {
  Fixture f;
  f.rollups.Add(SendGridBad(kNov1 - 2, 19));  // min_messages is 20
  const auto obs = f.Evaluate(At(kNov1));
  BOOST_TEST(Firing(obs, Rule::kPassRate, "path:SendGrid") == nullptr);
  BOOST_TEST(Clear(obs, Rule::kPassRate, "path:SendGrid") == nullptr);  // cannot tell

  f.rollups.Add(SendGridBad(kNov1 - 1, 1));  // 20 now
  BOOST_TEST(Firing(f.Evaluate(At(kNov1)), Rule::kPassRate, "path:SendGrid") != nullptr);
}

BOOST_AUTO_TEST_CASE(pass_rate_at_the_threshold_is_clear_and_just_below_fires) {
  Fixture f;
  f.rollups.Add(SendGridBad(kNov1 - 1, 100, 95));
  BOOST_TEST(Clear(f.Evaluate(At(kNov1)), Rule::kPassRate, "path:SendGrid") != nullptr);

  Fixture g;
  g.rollups.Add(SendGridBad(kNov1 - 1, 100, 94));
  const auto obs = g.Evaluate(At(kNov1));
  const Observation* o = Firing(obs, Rule::kPassRate, "path:SendGrid");
  BOOST_REQUIRE(o != nullptr);
  BOOST_TEST(o->value == 94.0);
  BOOST_TEST(o->title == "example.com: SendGrid fails DMARC (94.0% over 3 days)");
}

BOOST_AUTO_TEST_CASE(pass_rate_cannot_tell_when_the_domain_has_no_data) {
  Fixture f;
  f.rollups.rows.clear();
  f.rollups.Add(SendGridBad(kOct1, 100));
  const auto obs = f.Evaluate(At(kNov1));
  BOOST_TEST(OfRule(obs, Rule::kPassRate).empty());
}

BOOST_AUTO_TEST_CASE(a_new_undeclared_provider_fires) {
  Fixture f;
  for (std::int64_t d = kOct1 + 11; d <= kOct1 + 30; ++d) f.rollups.Add(MailgunRow(d, 60));
  const auto obs = f.Evaluate(At(kNov1));
  const Observation* o = Firing(obs, Rule::kUndeclaredProvider, "undeclared:mailgun");
  BOOST_REQUIRE(o != nullptr);
  BOOST_TEST(o->title.find("example.com: new undeclared sender Mailgun") == 0u);
  BOOST_TEST(o->first_seen == At(kOct1 + 11));
  BOOST_TEST(o->severity == analysis::Severity::kWarning);  // it passes DMARC
  BOOST_REQUIRE(!o->details.findings.empty());
  BOOST_TEST(o->details.findings.front().code == "undeclared_provider");
  BOOST_TEST(o->details.findings.front().advice.find("[[paths]]") != std::string::npos);
  BOOST_TEST(o->details.summary.find("2026-10-12") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_undeclared_provider_seen_before_the_lookback_is_not_new) {
  // Sending since the domain's first day of data: not new.
  Fixture f;
  for (std::int64_t d = kOct1; d <= kOct1 + 30; ++d) f.rollups.Add(MailgunRow(d, 60));
  BOOST_TEST(OfRule(f.Evaluate(At(kNov1)), Rule::kUndeclaredProvider).empty());

  // Started on the 12th, but the last evaluation was yesterday: the
  // lookback is the window, and it was seen before.
  Fixture g;
  for (std::int64_t d = kOct1 + 11; d <= kOct1 + 30; ++d) g.rollups.Add(MailgunRow(d, 60));
  BOOST_TEST(OfRule(g.Evaluate(At(kNov1), kNov1 - 2), Rule::kUndeclaredProvider).empty());
}

BOOST_AUTO_TEST_CASE(a_new_undeclared_provider_below_min_messages_stays_quiet) {
  Fixture f;
  f.rollups.Add(MailgunRow(kNov1 - 1, 19));
  BOOST_TEST(OfRule(f.Evaluate(At(kNov1)), Rule::kUndeclaredProvider).empty());
  f.rollups.Add(MailgunRow(kNov1 - 2, 1));
  BOOST_TEST(Firing(f.Evaluate(At(kNov1)), Rule::kUndeclaredProvider, "undeclared:mailgun") !=
             nullptr);
}

BOOST_AUTO_TEST_CASE(an_open_undeclared_incident_fires_while_it_sends_and_clears_after) {
  Fixture f;
  for (std::int64_t d = kOct1; d <= kOct1 + 20; ++d) f.rollups.Add(MailgunRow(d, 60));
  f.open.push_back(f.OpenIncident(Rule::kUndeclaredProvider, "undeclared:mailgun"));
  // Still sending on the 21st, inside the window of 2026-10-24.
  BOOST_TEST(Firing(f.Evaluate(At(kOct1 + 23), kOct1 + 21), Rule::kUndeclaredProvider,
                    "undeclared:mailgun") != nullptr);
  // Nothing in the window of 2026-11-01.
  BOOST_TEST(Clear(f.Evaluate(At(kNov1), kNov1 - 2), Rule::kUndeclaredProvider,
                   "undeclared:mailgun") != nullptr);
}

BOOST_AUTO_TEST_CASE(unknown_failures_fire_above_the_daily_limit) {
  Fixture f;
  for (std::int64_t d = kOct1; d <= kOct1 + 30; ++d) f.rollups.Add(Spoof(d, 90));
  f.rollups.Add(Spoof(kOct1 + 19, 11, "45.93.101.6"));  // 101 on 2026-10-20
  const auto obs = f.Evaluate(At(kNov1));
  const Observation* o = Firing(obs, Rule::kUnknownFailures, "unknown");
  BOOST_REQUIRE(o != nullptr);
  BOOST_TEST(o->value == 101.0);
  BOOST_TEST(o->title ==
             "example.com: 101 messages from unknown sources failed DMARC on 2026-10-20");
  BOOST_TEST(o->severity == analysis::Severity::kCritical);  // p=none
  BOOST_REQUIRE(o->details.items.size() == 1u);
  BOOST_TEST(o->details.items.front() == "2026-10-20: 101 messages failed DMARC");
  BOOST_REQUIRE(!o->details.findings.empty());
  BOOST_TEST(o->details.findings.front().code == "unknown_failing");
  BOOST_TEST(o->details.findings.front().evidence.ips.size() == 2u);
  BOOST_TEST(o->details.from_day == kOct1 + 19);
}

BOOST_AUTO_TEST_CASE(unknown_failures_at_the_limit_are_clear) {
  Fixture f;
  f.rollups.Add(Spoof(kOct1 + 19, 100));
  const auto obs = f.Evaluate(At(kNov1));
  BOOST_TEST(Firing(obs, Rule::kUnknownFailures, "unknown") == nullptr);
  BOOST_TEST(Clear(obs, Rule::kUnknownFailures, "unknown") != nullptr);
}

BOOST_AUTO_TEST_CASE(a_direct_ip_failing_spf_fires) {
  Fixture f;
  for (std::int64_t d = kNov1 - 3; d < kNov1; ++d) f.rollups.Add(OfficeSpfFail(d, 7));
  const auto obs = f.Evaluate(At(kNov1));
  const Observation* o = Firing(obs, Rule::kDirectIpSpfFail, "path:Office MTA");
  BOOST_REQUIRE(o != nullptr);
  BOOST_TEST(o->title == "example.com: Office MTA: 192.0.2.7 fails SPF");
  BOOST_TEST(o->value == 1.0);
  BOOST_TEST(o->details.findings.front().advice.find("ip4:192.0.2.7") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_direct_ip_failing_spf_below_min_messages_is_clear) {
  Fixture f;
  f.rollups.Add(OfficeSpfFail(kNov1 - 1, 19));
  const auto obs = f.Evaluate(At(kNov1));
  BOOST_TEST(Firing(obs, Rule::kDirectIpSpfFail, "path:Office MTA") == nullptr);
  BOOST_TEST(Clear(obs, Rule::kDirectIpSpfFail, "path:Office MTA") != nullptr);
}

BOOST_AUTO_TEST_CASE(a_missing_spf_include_fires_with_dns) {
  Fixture f;
  ScriptedDns dns;
  dns.txt["example.com"] = {"v=spf1 ip4:192.0.2.0/28 -all"};
  dns.txt["em1234.example.com"] = {"v=spf1 -all"};
  const auto obs = f.Evaluate(At(kNov1), std::nullopt, &dns);
  const Observation* o = Firing(obs, Rule::kSpfIncludeMissing, "path:SendGrid");
  BOOST_REQUIRE(o != nullptr);
  BOOST_TEST(o->title.find("example.com: SendGrid: ") == 0u);
  BOOST_TEST(o->title.find("sendgrid.net") != std::string::npos);
  BOOST_TEST(o->details.findings.front().advice.find("include:sendgrid.net") != std::string::npos);
  // The office path needs no include.
  BOOST_TEST(Clear(obs, Rule::kSpfIncludeMissing, "path:Office MTA") != nullptr);
}

BOOST_AUTO_TEST_CASE(a_present_spf_include_is_clear_and_no_dns_says_nothing) {
  Fixture f;
  ScriptedDns dns;
  dns.txt["example.com"] = {"v=spf1 ip4:192.0.2.0/28 -all"};
  dns.txt["em1234.example.com"] = {"v=spf1 include:sendgrid.net -all"};
  dns.txt["sendgrid.net"] = {"v=spf1 ip4:167.89.0.0/16 -all"};
  BOOST_TEST(Clear(f.Evaluate(At(kNov1), std::nullopt, &dns), Rule::kSpfIncludeMissing,
                   "path:SendGrid") != nullptr);
  // DNS off, or DNS failing: no verdict either way.
  BOOST_TEST(OfRule(f.Evaluate(At(kNov1)), Rule::kSpfIncludeMissing).empty());
  ScriptedDns down;
  down.failure = analysis::DnsRcode::kTimeout;
  BOOST_TEST(OfRule(f.Evaluate(At(kNov1), std::nullopt, &down), Rule::kSpfIncludeMissing).empty());
}

BOOST_AUTO_TEST_CASE(a_usual_reporter_silent_for_three_days_fires) {
  Fixture f;
  // Yahoo's last report is for 2026-10-28: three days without one by 11-01.
  std::vector<Row> kept;
  for (const Row& r : f.rollups.rows) {
    if (!(r.reporter == "Yahoo" && r.day > kOct1 + 27)) kept.push_back(r);
  }
  f.rollups.rows = kept;
  const auto obs = f.Evaluate(At(kNov1));
  const Observation* o = Firing(obs, Rule::kReporterSilence, "");
  BOOST_REQUIRE(o != nullptr);
  BOOST_TEST(o->value == 1.0);
  BOOST_TEST(o->title == "example.com: no reports from 1 usual reporter for 3 days (Yahoo)");
  BOOST_REQUIRE(o->details.items.size() == 1u);
  BOOST_TEST(o->details.items.front() == "Yahoo: last report for 2026-10-28");
}

BOOST_AUTO_TEST_CASE(a_reporter_silent_for_two_days_is_clear) {
  Fixture f;
  std::vector<Row> kept;
  for (const Row& r : f.rollups.rows) {
    if (!(r.reporter == "Yahoo" && r.day > kOct1 + 28)) kept.push_back(r);
  }
  f.rollups.rows = kept;
  const auto obs = f.Evaluate(At(kNov1));
  BOOST_TEST(Firing(obs, Rule::kReporterSilence, "") == nullptr);
  BOOST_TEST(Clear(obs, Rule::kReporterSilence, "") != nullptr);
}

BOOST_AUTO_TEST_CASE(an_occasional_reporter_is_not_missed) {
  Fixture f;
  for (std::int64_t d = kOct1; d <= kOct1 + 27; d += 3) f.rollups.Add(OfficeOk(d, 5, "Rare"));
  const auto obs = f.Evaluate(At(kNov1));
  BOOST_TEST(Clear(obs, Rule::kReporterSilence, "") != nullptr);
}

BOOST_AUTO_TEST_CASE(an_ingest_failure_streak_fires_at_the_limit) {
  AlertsOptions o;  // ingest_failure_streak = 3
  MailboxHealth two{"rua", 2, "connection refused", At(kOct1), At(kOct1, 1)};
  MailboxHealth three{"rua", 3, "connection refused", At(kOct1), At(kOct1, 2)};
  auto quiet = EvaluateMailboxes(o, {two}, {}, At(kOct1, 2));
  BOOST_REQUIRE(quiet.size() == 1u);
  BOOST_TEST((quiet.front().verdict == Verdict::kClear));
  auto fired = EvaluateMailboxes(o, {three}, {}, At(kOct1, 3));
  BOOST_REQUIRE(fired.size() == 1u);
  BOOST_TEST((fired.front().verdict == Verdict::kFiring));
  BOOST_TEST(fired.front().title == "mailbox rua: 3 failed polls in a row");
  BOOST_TEST(fired.front().domain.empty());
  BOOST_TEST(fired.front().details.summary.find("2026-10-01T00:00:00Z") != std::string::npos);
  // A mailbox with an open incident that is no longer configured is clear.
  Incident open;
  open.rule = Rule::kIngestFailures;
  open.subject = "old";
  auto gone = EvaluateMailboxes(o, {}, {open}, At(kOct1, 3));
  BOOST_REQUIRE(gone.size() == 1u);
  BOOST_TEST((gone.front().verdict == Verdict::kClear));
  BOOST_TEST(gone.front().subject == "old");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace dmarcwatch::alerts
