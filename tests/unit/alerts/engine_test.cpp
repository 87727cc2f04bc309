// AlertEngine over an in-memory store: one notification across repeated
// checks and restarts, reminders, resolution, acknowledgement, atomicity,
// dry runs and digests.

#include <boost/test/unit_test.hpp>

#include "dmarcwatch/alerts/engine.h"
#include "dmarcwatch/alerts/memory_store.h"
#include "fixtures.h"

namespace dmarcwatch::alerts {
namespace {

using namespace testing;

const std::int64_t kNov1 = kOct1 + 31;

struct Fixture {
  FakeRollups rollups;
  analysis::AnalysisConfig config = DemoConfig();
  AlertsOptions options = DemoOptions();
  MemoryAlertStore store;

  Fixture() {
    rollups.SetPolicy("example.com", model::Disposition::kNone);
    Background(rollups, kOct1, kOct1 + 60);
  }

  std::unique_ptr<AlertEngine> Engine() {
    auto e = AlertEngine::Create(options, config, analysis::Catalog::Builtin(), rollups, nullptr,
                                 store);
    BOOST_REQUIRE_MESSAGE(e.ok(), (e.ok() ? std::string() : e.status().ToString()));
    return std::move(*e);
  }

  EvaluationResult Evaluate(AlertEngine& engine, model::UnixTime now, bool dry_run = false) {
    EvaluateRequest req;
    req.as_of = now;
    req.dry_run = dry_run;
    auto r = engine.Evaluate(req);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.status().ToString()));
    return *r;
  }

  EvaluationResult Evaluate(model::UnixTime now, bool dry_run = false) {
    auto engine = Engine();
    return Evaluate(*engine, now, dry_run);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(engine)

BOOST_AUTO_TEST_CASE(repeated_checks_send_one_notification) {
  Fixture f;
  for (std::int64_t d = kOct1; d <= kOct1 + 30; ++d) f.rollups.Add(SendGridBad(d, 10));
  auto engine = f.Engine();
  const EvaluationResult first = f.Evaluate(*engine, At(kNov1));
  BOOST_TEST(first.opened == 1u);
  BOOST_TEST(first.queued == 1u);
  BOOST_REQUIRE(f.store.messages().size() == 1u);
  BOOST_TEST(f.store.messages()[0].subject ==
             "[dmarcwatch] example.com: SendGrid fails DMARC (0.0% over 3 days)");
  BOOST_TEST(f.store.messages()[0].recipient == "postmaster@example.com");
  BOOST_TEST((f.store.messages()[0].incident_id == f.store.incidents()[0].id));

  BOOST_TEST(f.Evaluate(*engine, At(kNov1)).queued == 0u);
  BOOST_TEST(f.Evaluate(*engine, At(kNov1, 12)).queued == 0u);
  const EvaluationResult next_day = f.Evaluate(*engine, At(kNov1 + 1));
  BOOST_TEST(next_day.firing >= 1u);
  BOOST_TEST(next_day.queued == 0u);
  BOOST_TEST(f.store.messages().size() == 1u);
  BOOST_TEST(f.store.incidents().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_restart_neither_repeats_nor_forgets) {
  Fixture f;
  for (std::int64_t d = kOct1; d <= kOct1 + 30; ++d) f.rollups.Add(SendGridBad(d, 10));
  BOOST_TEST(f.Evaluate(At(kNov1)).queued == 1u);
  // New engines over the same store: the incident is remembered.
  BOOST_TEST(f.Evaluate(At(kNov1)).queued == 0u);
  BOOST_TEST(f.Evaluate(At(kNov1, 6)).queued == 0u);
  BOOST_REQUIRE(f.store.incidents().size() == 1u);
  BOOST_TEST(f.store.incidents()[0].notifications == 1u);
  // ... and so is when it last notified: the reminder comes after 7 days.
  for (std::int64_t d = kOct1 + 31; d <= kOct1 + 40; ++d) f.rollups.Add(SendGridBad(d, 10));
  BOOST_TEST(f.Evaluate(At(kNov1 + 7) - 1).queued == 0u);
  const EvaluationResult reminded = f.Evaluate(At(kNov1 + 7));
  BOOST_TEST(reminded.reminded == 1u);
  BOOST_TEST(f.store.messages().back().subject.find("[dmarcwatch] still open: ") == 0u);
}

BOOST_AUTO_TEST_CASE(an_incident_resolves_once_clear_for_resolve_after) {
  Fixture f;
  for (std::int64_t d = kOct1; d <= kOct1 + 30; ++d) f.rollups.Add(SendGridBad(d, 10));
  for (std::int64_t d = kOct1 + 31; d <= kOct1 + 40; ++d) f.rollups.Add(SendGridBad(d, 10, 10));
  BOOST_TEST(f.Evaluate(At(kNov1)).opened == 1u);
  // Window 11-01..11-03: all passing. Clear since 11-04.
  BOOST_TEST(f.Evaluate(At(kNov1 + 3)).queued == 0u);
  BOOST_TEST(f.Evaluate(At(kNov1 + 5) - 1).queued == 0u);
  const EvaluationResult resolved = f.Evaluate(At(kNov1 + 5));
  BOOST_TEST(resolved.resolved == 1u);
  BOOST_TEST(f.store.incidents()[0].state == IncidentState::kResolved);
  const OutboxMessage& m = f.store.messages().back();
  BOOST_TEST(m.notice == "resolved");
  BOOST_TEST(m.subject == "[dmarcwatch] resolved: example.com: SendGrid fails DMARC (0.0% over 3 days)");
  BOOST_TEST(m.text.find("100.0% of 30 messages") != std::string::npos);
  // Nothing more after resolution.
  BOOST_TEST(f.Evaluate(At(kNov1 + 6)).queued == 0u);
}

BOOST_AUTO_TEST_CASE(an_acknowledged_incident_is_not_reminded_but_its_resolution_is_mailed) {
  Fixture f;
  for (std::int64_t d = kOct1; d <= kOct1 + 38; ++d) f.rollups.Add(SendGridBad(d, 10));
  f.Evaluate(At(kNov1));
  const std::int64_t id = f.store.incidents()[0].id;
  BOOST_TEST(f.store.Acknowledge(id, At(kNov1, 1)).ok());
  BOOST_TEST(f.store.Acknowledge(id, At(kNov1, 2)).ok());  // twice is fine
  BOOST_TEST((f.store.incidents()[0].acknowledged_at == At(kNov1, 1)));
  BOOST_TEST(f.Evaluate(At(kNov1 + 7)).queued == 0u);  // a reminder would be due
  // SendGrid fixed from 11-09: clear from the 11-12 evaluation, resolved on the 14th.
  for (std::int64_t d = kOct1 + 39; d <= kOct1 + 45; ++d) f.rollups.Add(SendGridBad(d, 10, 10));
  BOOST_TEST(f.Evaluate(At(kNov1 + 11)).queued == 0u);
  BOOST_TEST(f.Evaluate(At(kNov1 + 13)).resolved == 1u);
  BOOST_TEST(f.store.messages().size() == 2u);
  // A resolved incident cannot be acknowledged.
  BOOST_TEST((f.store.Acknowledge(id, At(kNov1 + 14)).code() == StatusCode::kFailedPrecondition));
  BOOST_TEST((f.store.Acknowledge(999, At(kNov1 + 14)).code() == StatusCode::kNotFound));
}

BOOST_AUTO_TEST_CASE(a_failed_commit_loses_nothing) {
  Fixture f;
  for (std::int64_t d = kOct1; d <= kOct1 + 30; ++d) f.rollups.Add(SendGridBad(d, 10));
  auto engine = f.Engine();
  f.store.FailNextCommit();
  EvaluateRequest req;
  req.as_of = At(kNov1);
  BOOST_TEST(!engine->Evaluate(req).ok());
  BOOST_TEST(f.store.incidents().empty());
  BOOST_TEST(f.store.messages().empty());
  // The next evaluation opens it and queues its mail.
  BOOST_TEST(f.Evaluate(*engine, At(kNov1, 1)).queued == 1u);
}

BOOST_AUTO_TEST_CASE(a_dry_run_renders_and_changes_nothing) {
  Fixture f;
  for (std::int64_t d = kOct1; d <= kOct1 + 30; ++d) f.rollups.Add(SendGridBad(d, 10));
  const EvaluationResult dry = f.Evaluate(At(kNov1), true);
  BOOST_REQUIRE(dry.notifications.size() == 1u);
  BOOST_TEST(dry.notifications[0].incident_id == 0);
  BOOST_TEST(dry.notifications[0].content.text.find("New incident (critical).") == 0u);
  BOOST_TEST(f.store.incidents().empty());
  BOOST_TEST(f.store.messages().empty());
  BOOST_TEST(!f.store.GetMark("evaluated", "example.com")->has_value());
  BOOST_TEST(f.Evaluate(At(kNov1)).queued == 1u);
}

BOOST_AUTO_TEST_CASE(each_recipient_gets_its_own_message) {
  Fixture f;
  f.options.recipients = {"a@example.com", "b@example.com"};
  for (std::int64_t d = kOct1; d <= kOct1 + 30; ++d) f.rollups.Add(SendGridBad(d, 10));
  EvaluateRequest req;
  req.as_of = At(kNov1);
  req.queued_at = At(kNov1 + 400);  // a backfill: mail is dated now
  auto r = f.Engine()->Evaluate(req);
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE(f.store.messages().size() == 2u);
  const OutboxMessage& a = f.store.messages()[0];
  const OutboxMessage& b = f.store.messages()[1];
  BOOST_TEST(a.recipient == "a@example.com");
  BOOST_TEST(b.recipient == "b@example.com");
  BOOST_TEST(a.message_id != b.message_id);
  BOOST_TEST(a.subject == b.subject);
  BOOST_TEST(a.created_at == At(kNov1 + 400));
  BOOST_TEST(a.next_attempt_at == At(kNov1 + 400));
  BOOST_TEST(f.store.incidents()[0].opened_at == At(kNov1));
}

BOOST_AUTO_TEST_CASE(the_demo_story_opens_the_alerts_a_postmaster_wants) {
  Fixture f;
  for (std::int64_t d = kOct1; d <= kOct1 + 30; ++d) {
    f.rollups.Add(SendGridBad(d, 400));
    f.rollups.Add(Spoof(d, 95));
    f.rollups.Add(OfficeSpfFail(d, 30));
    if (d >= kOct1 + 11) f.rollups.Add(MailgunRow(d, 60));
  }
  f.rollups.Add(Spoof(kOct1 + 19, 1900, "45.93.101.6"));
  const EvaluationResult r = f.Evaluate(At(kNov1));
  std::set<std::string> subjects;
  for (const Notification& n : r.notifications) subjects.insert(n.content.subject);
  BOOST_TEST(r.opened == 4u);
  BOOST_TEST(subjects.count("[dmarcwatch] example.com: SendGrid fails DMARC (0.0% over 3 days)") == 1u);
  BOOST_TEST(subjects.count("[dmarcwatch] example.com: new undeclared sender Mailgun (Sinch)") == 1u);
  BOOST_TEST(subjects.count("[dmarcwatch] example.com: 1,995 messages from unknown sources failed "
                            "DMARC on 2026-10-20") == 1u);
  BOOST_TEST(subjects.count("[dmarcwatch] example.com: Office MTA: 192.0.2.7 fails SPF") == 1u);
  // Again: nothing new; the day after, nothing new either.
  BOOST_TEST(f.Evaluate(At(kNov1)).queued == 0u);
  BOOST_TEST(f.Evaluate(At(kNov1 + 1)).queued == 0u);
}

BOOST_AUTO_TEST_CASE(a_daily_digest_goes_once_a_day_to_each_recipient) {
  Fixture f;
  f.options.digest = Digest::kDaily;
  f.options.recipients = {"a@example.com", "b@example.com"};
  const EvaluationResult first = f.Evaluate(At(kNov1, 6));
  BOOST_REQUIRE(first.digests.size() == 1u);
  BOOST_TEST(first.queued == 2u);
  BOOST_TEST(first.digests[0].subject.find("[dmarcwatch] daily digest, 2026-10-31: example.com") ==
             0u);
  BOOST_TEST(first.digests[0].text.find("Office MTA") != std::string::npos);
  BOOST_TEST(first.digests[0].html.find("<table") != std::string::npos);
  BOOST_TEST(f.Evaluate(At(kNov1, 18)).queued == 0u);
  BOOST_TEST(f.Evaluate(At(kNov1 + 1, 6)).queued == 2u);
  // A recipient added later gets the next one too, and only once.
  f.options.recipients.push_back("c@example.com");
  BOOST_TEST(f.Evaluate(At(kNov1 + 1, 7)).queued == 1u);
}

BOOST_AUTO_TEST_CASE(a_weekly_digest_goes_once_a_week) {
  Fixture f;
  f.options.digest = Digest::kWeekly;
  // 2026-11-01 is a Sunday; the week starts on Monday 11-02.
  BOOST_TEST(f.Evaluate(At(kNov1)).digests.size() == 1u);
  BOOST_TEST(f.Evaluate(At(kNov1, 23)).digests.empty());
  const EvaluationResult monday = f.Evaluate(At(kNov1 + 1));
  BOOST_REQUIRE(monday.digests.size() == 1u);
  BOOST_TEST(monday.digests[0].subject.find("weekly digest, 2026-10-26 to 2026-11-01") !=
             std::string::npos);
  BOOST_TEST(f.Evaluate(At(kNov1 + 6)).digests.empty());
  BOOST_TEST(f.Evaluate(At(kNov1 + 8)).digests.size() == 1u);
}

BOOST_AUTO_TEST_CASE(unusable_options_are_refused) {
  Fixture f;
  f.options.window = 3600;
  auto short_window = AlertEngine::Create(f.options, f.config, analysis::Catalog::Builtin(),
                                          f.rollups, nullptr, f.store);
  BOOST_TEST(!short_window.ok());
  f.options = DemoOptions();
  f.options.from = "";
  auto no_from = AlertEngine::Create(f.options, f.config, analysis::Catalog::Builtin(), f.rollups,
                                     nullptr, f.store);
  BOOST_TEST(!no_from.ok());
}

BOOST_AUTO_TEST_CASE(mailbox_health_opens_and_resolves_an_ingest_incident) {
  Fixture f;
  auto engine = f.Engine();
  EvaluateRequest req;
  req.as_of = At(kNov1);
  req.mailboxes = std::vector<MailboxHealth>{{"rua", 5, "connection refused", std::nullopt,
                                              At(kNov1)}};
  auto r = engine->Evaluate(req);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->opened == 1u);
  BOOST_TEST(f.store.messages().back().subject ==
             "[dmarcwatch] mailbox rua: 5 failed polls in a row");
  BOOST_TEST(f.store.messages().back().text.find("connection refused") != std::string::npos);
  // Without mailbox health, nothing changes.
  req.mailboxes.reset();
  req.as_of = At(kNov1 + 3);
  BOOST_TEST(engine->Evaluate(req)->queued == 0u);
  req.mailboxes = std::vector<MailboxHealth>{{"rua", 0, "", At(kNov1 + 3), std::nullopt}};
  BOOST_TEST(engine->Evaluate(req)->queued == 0u);  // clear since now
  req.as_of = At(kNov1 + 5);
  BOOST_TEST(engine->Evaluate(req)->resolved == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace dmarcwatch::alerts
