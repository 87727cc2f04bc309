// Mailbox ingestion state and ingest runs (dmarcwatch/store/mailboxes.h),
// against a real SQLite database in memory, or a fresh PostgreSQL database
// (store_pg_test).

#include "dmarcwatch/store/mailboxes.h"
#include "store_backend.h"

#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace store = dmarcwatch::store;
using store::MessageState;
using store::SourceKind;
using dmarcwatch::testing::FreshDatabase;

std::unique_ptr<store::Store> Memory() {
  store::StoreOptions o;
  o.database = FreshDatabase();
  auto s = store::Store::Open(o);
  BOOST_REQUIRE(s.ok());
  return std::move(*s);
}

store::MailboxMessage Message(std::uint32_t uidvalidity, std::uint32_t uid, MessageState state,
                              bool usable) {
  store::MailboxMessage m;
  m.mailbox = "rua";
  m.folder = "INBOX";
  m.uidvalidity = uidvalidity;
  m.uid = uid;
  m.size = 1000 + uid;
  m.state = state;
  m.usable = usable;
  m.reason = usable ? "" : "smtp_tls_report";
  m.target_folder = usable ? "Archive/DMARC" : "Archive/Invalid";
  m.first_seen = 100;
  m.updated_at = 100 + uid;
  return m;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mailboxes)

BOOST_AUTO_TEST_CASE(records_messages_per_uidvalidity_and_moves_their_state_on) {
  auto s = Memory();
  BOOST_TEST(!store::LastUidvalidity(*s, "rua", "INBOX")->has_value());
  store::MailboxMessage first = Message(7, 2, MessageState::kImported, true);
  first.sha256 = std::string(64, 'a');
  BOOST_REQUIRE(store::RecordMailboxMessage(*s, first).ok());
  BOOST_REQUIRE(store::RecordMailboxMessage(*s, Message(7, 1, MessageState::kInvalid, false)).ok());
  BOOST_REQUIRE(store::RecordMailboxMessage(*s, Message(9, 1, MessageState::kImported, true)).ok());

  auto seven = store::ListMailboxMessages(*s, "rua", "INBOX", 7);
  BOOST_REQUIRE(seven.ok());
  BOOST_REQUIRE_EQUAL(seven->size(), 2u);
  BOOST_TEST(seven->at(0).uid == 1u);  // ascending UID
  BOOST_TEST(!seven->at(0).usable);
  BOOST_TEST(seven->at(0).reason == "smtp_tls_report");
  BOOST_TEST(!seven->at(0).sha256.has_value());
  BOOST_TEST(!seven->at(0).input_id.has_value());
  BOOST_TEST(*seven->at(1).sha256 == std::string(64, 'a'));
  BOOST_TEST(seven->at(1).size == 1002u);
  // Another folder or mailbox sees nothing of these.
  BOOST_TEST(store::ListMailboxMessages(*s, "rua", "Other", 7)->empty());
  BOOST_TEST(store::ListMailboxMessages(*s, "other", "INBOX", 7)->empty());
  // The UIDVALIDITY recorded last.
  BOOST_TEST(store::LastUidvalidity(*s, "rua", "INBOX")->value() == 9u);  // inserted last

  BOOST_REQUIRE(store::SetMailboxMessageState(*s, "rua", "INBOX", 7, {1, 2, 99}, MessageState::kMoved,
                                              500)
                    .ok());
  seven = store::ListMailboxMessages(*s, "rua", "INBOX", 7);
  for (const auto& m : *seven) {
    BOOST_TEST((m.state == MessageState::kMoved));
    BOOST_TEST(m.updated_at == 500);
    BOOST_TEST(m.first_seen == 100);
  }
  // The other UIDVALIDITY is untouched, and recording again replaces.
  BOOST_TEST((store::ListMailboxMessages(*s, "rua", "INBOX", 9)->at(0).state ==
              MessageState::kImported));
  store::MailboxMessage again = Message(9, 1, MessageState::kMarked, true);
  BOOST_REQUIRE(store::RecordMailboxMessage(*s, again).ok());
  auto nine = store::ListMailboxMessages(*s, "rua", "INBOX", 9);
  BOOST_REQUIRE_EQUAL(nine->size(), 1u);
  BOOST_TEST((nine->at(0).state == MessageState::kMarked));
}

BOOST_AUTO_TEST_CASE(records_runs_their_totals_and_the_failure_streak) {
  auto s = Memory();
  BOOST_TEST(*store::IngestFailureStreak(*s, SourceKind::kMailbox, "rua") == 0u);
  auto add = [&](std::int64_t at, bool failed, bool finished) {
    auto id = store::StartIngestRun(*s, SourceKind::kMailbox, "rua", at);
    BOOST_REQUIRE(id.ok());
    if (!finished) return;
    store::IngestRun r;
    r.id = *id;
    r.started_at = at;
    r.finished_at = at + 5;
    r.uidvalidity = 42;
    r.seen = 3;
    r.imported = 2;
    r.invalid = 1;
    r.moved = 3;
    r.reports_new = 2;
    if (failed) {
      r.error_reason = "auth_failed";
      r.error_message = "the server refused the login";
    }
    BOOST_REQUIRE(store::FinishIngestRun(*s, r).ok());
  };
  add(100, false, true);
  add(200, true, true);
  add(300, false, false);  // its process died
  add(400, true, true);
  add(500, false, false);  // running now
  // Another source's runs do not count.
  BOOST_REQUIRE(store::StartIngestRun(*s, SourceKind::kWatch, "rua", 600).ok());

  auto runs = store::RecentIngestRuns(*s, SourceKind::kMailbox, "rua", 10);
  BOOST_REQUIRE(runs.ok());
  BOOST_REQUIRE_EQUAL(runs->size(), 5u);
  BOOST_TEST(runs->at(0).started_at == 500);  // newest first
  BOOST_TEST(!runs->at(0).finished_at.has_value());
  BOOST_TEST(!runs->at(0).uidvalidity.has_value());
  BOOST_TEST(runs->at(1).failed());
  BOOST_TEST(*runs->at(1).error_reason == "auth_failed");
  BOOST_TEST(runs->at(4).uidvalidity.value() == 42u);
  BOOST_TEST(!runs->at(4).failed());
  // 400 failed, 300 died, 200 failed; 100 did its work.
  BOOST_TEST(*store::IngestFailureStreak(*s, SourceKind::kMailbox, "rua") == 3u);
  auto last_failed = store::LastFailedIngestRun(*s, SourceKind::kMailbox, "rua");
  BOOST_REQUIRE(last_failed.ok());
  BOOST_TEST((*last_failed)->started_at == 400);
  auto totals = store::GetIngestTotals(*s, SourceKind::kMailbox, "rua");
  BOOST_REQUIRE(totals.ok());
  BOOST_TEST(totals->runs == 5u);
  BOOST_TEST(totals->failed_runs == 2u);
  BOOST_TEST(totals->seen == 9u);
  BOOST_TEST(totals->imported == 6u);
  BOOST_TEST(totals->reports_new == 6u);
  BOOST_TEST(store::GetIngestTotals(*s, SourceKind::kWatch, "none")->runs == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
