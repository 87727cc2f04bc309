// What several dmarcwatch processes share through one database: alert
// incidents, marks and the outbox, dashboard sessions, the mailbox polling
// lock, and concurrent saves of one report key. Built into store_test
// (SQLite) and store_pg_test (a real PostgreSQL, store_backend.h); each
// Store stands for one process with its own connection.

#include <boost/test/unit_test.hpp>
#include <atomic>
#include <barrier>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dmarcwatch/model/report.h"
#include "dmarcwatch/store/alerts.h"
#include "dmarcwatch/store/mailboxes.h"
#include "dmarcwatch/store/sessions.h"
#include "dmarcwatch/store/store.h"
#include "store_backend.h"

namespace {

namespace m = dmarcwatch::model;
namespace store = dmarcwatch::store;
using dmarcwatch::StatusCode;
using dmarcwatch::testing::DatabaseIn;
using dmarcwatch::testing::kOnPostgres;

template <typename T>
std::string Why(const dmarcwatch::Result<T>& r) {
  return r.ok() ? std::string("ok") : r.status().ToString();
}

// A database two Stores can open: a file for SQLite (":memory:" would be
// one per connection), a fresh database for PostgreSQL.
class SharedDatabase {
 public:
  SharedDatabase() {
    std::string pattern = "/tmp/dmarcwatch-shared-XXXXXX";
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
    uri_ = DatabaseIn(*this, "shared.db");
  }
  ~SharedDatabase() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  SharedDatabase(const SharedDatabase&) = delete;
  SharedDatabase& operator=(const SharedDatabase&) = delete;
  std::string File(const std::string& name) const { return dir_ + "/" + name; }
  const std::string& Uri() const { return uri_; }

  std::unique_ptr<store::Store> Open() const {
    store::StoreOptions o;
    o.database = uri_;
    o.busy_timeout_ms = 10000;
    auto s = store::Store::Open(o);
    BOOST_REQUIRE_MESSAGE(s.ok(), Why(s));
    return std::move(*s);
  }

 private:
  std::string dir_;
  std::string uri_;
};

store::AlertIncidentRow Incident(const std::string& subject) {
  store::AlertIncidentRow r;
  r.rule = "pass_rate";
  r.domain = "example.com";
  r.subject = subject;
  r.state = "open";
  r.severity = "warning";
  r.title = "Pass rate of " + subject + " fell";
  r.value = 0.625;
  r.opened_at = 1000;
  r.first_seen = 1000;
  r.last_seen = 1000;
  r.notified_value = 0.625;
  r.notified_severity = "warning";
  r.evaluation = R"({"pass_rate":0.625})";
  return r;
}

store::AlertMessageRow Message(const std::string& id, std::optional<std::int64_t> incident) {
  store::AlertMessageRow r;
  r.message_id = id;
  r.kind = "incident";
  r.incident_id = incident;
  r.notice = "opened";
  r.recipient = "ops@example.com";
  r.subject = "Subject " + id;
  r.body_text = "text";
  r.body_html = "<p>html</p>";
  r.next_attempt_at = 1000;
  r.created_at = 1000;
  return r;
}

m::Report KeyedReport(const std::string& report_id, std::uint64_t count) {
  m::Report r;
  r.report_metadata.org_name = "org";
  r.report_metadata.email = "noreply@org.example";
  r.report_metadata.report_id = report_id;
  r.report_metadata.date_range = {0, 86399};
  r.policy_published.domain = "example.com";
  r.policy_published.p = m::Disposition::kReject;
  m::Record rec;
  rec.source_ip = m::IpAddress::V4(0xc0000201u);
  rec.count = count;
  rec.policy_evaluated.disposition = m::AppliedDisposition::kNone;
  rec.policy_evaluated.dkim = m::DmarcResult::kPass;
  rec.policy_evaluated.spf = m::DmarcResult::kPass;
  rec.identifiers.header_from = "example.com";
  r.records.push_back(rec);
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(shared_store)

BOOST_AUTO_TEST_CASE(incidents_marks_and_the_outbox_round_trip_and_are_claimed_once) {
  SharedDatabase db;
  auto a = db.Open();
  auto b = db.Open();

  std::int64_t incident = 0;
  {
    auto tx = store::BeginAlertTransaction(*a);
    BOOST_REQUIRE_MESSAGE(tx.ok(), Why(tx));
    auto open = (*tx)->OpenIncidents();
    BOOST_REQUIRE_MESSAGE(open.ok(), Why(open));
    BOOST_TEST(open->empty());
    auto id = (*tx)->InsertIncident(Incident("path:SendGrid"));
    BOOST_REQUIRE_MESSAGE(id.ok(), Why(id));
    incident = *id;
    BOOST_TEST(incident > 0);
    // A second open incident for the same subject is refused.
    BOOST_TEST(((*tx)->InsertIncident(Incident("path:SendGrid")).status().code() ==
                StatusCode::kAlreadyExists));
  }
  // The refused insert failed the transaction; nothing was committed.
  {
    auto listed = store::ListAlertIncidents(*b, true, 10);
    BOOST_REQUIRE_MESSAGE(listed.ok(), Why(listed));
    BOOST_TEST(listed->empty());
  }
  {
    auto tx = store::BeginAlertTransaction(*a);
    BOOST_REQUIRE_MESSAGE(tx.ok(), Why(tx));
    auto id = (*tx)->InsertIncident(Incident("path:SendGrid"));
    BOOST_REQUIRE_MESSAGE(id.ok(), Why(id));
    incident = *id;
    BOOST_REQUIRE((*tx)->Enqueue(Message("<m1@dmarcwatch>", incident)).ok());
    BOOST_REQUIRE((*tx)->Enqueue(Message("<m2@dmarcwatch>", std::nullopt)).ok());
    BOOST_REQUIRE((*tx)->SetMark("evaluated", "example.com", 19887).ok());
    BOOST_REQUIRE((*tx)->SetMark("evaluated", "example.com", 19888).ok());  // upsert
    auto mark = (*tx)->GetMark("evaluated", "example.com");
    BOOST_REQUIRE(mark.ok());
    BOOST_TEST(mark->value_or(-1) == 19888);
    BOOST_REQUIRE((*tx)->Commit().ok());
  }
  // Another process sees it all.
  auto got = store::GetAlertIncident(*b, incident);
  BOOST_REQUIRE_MESSAGE(got.ok(), Why(got));
  BOOST_REQUIRE(got->has_value());
  const store::AlertIncidentRow& row = **got;
  BOOST_TEST(row.subject == "path:SendGrid");
  BOOST_TEST(row.value == 0.625);
  BOOST_TEST(!row.acknowledged);
  BOOST_TEST(!row.clear_since.has_value());
  BOOST_TEST(row.evaluation == R"({"pass_rate":0.625})");
  BOOST_TEST(store::GetAlertMark(*b, "evaluated", "example.com")->value_or(-1) == 19888);
  BOOST_TEST(!store::GetAlertMark(*b, "evaluated", "other.example")->has_value());

  const auto counted = [&](store::Store& s) {
    auto c = store::CountOpenAlertIncidents(s);
    BOOST_REQUIRE_MESSAGE(c.ok(), Why(c));
    return std::make_pair(c->open, c->unacknowledged);
  };
  BOOST_TEST((counted(*a) == std::make_pair<std::uint64_t, std::uint64_t>(1, 1)));
  BOOST_REQUIRE(store::AcknowledgeAlertIncident(*b, incident, 1500).ok());
  BOOST_TEST((counted(*a) == std::make_pair<std::uint64_t, std::uint64_t>(1, 0)));
  got = store::GetAlertIncident(*a, incident);
  BOOST_TEST((*got)->acknowledged);
  BOOST_TEST((*got)->acknowledged_at.value_or(0) == 1500);
  BOOST_TEST((store::AcknowledgeAlertIncident(*b, incident + 1000, 1500).code() ==
              StatusCode::kNotFound));

  // Resolve it: an update, then a new open incident for the subject is allowed.
  {
    auto tx = store::BeginAlertTransaction(*a);
    BOOST_REQUIRE(tx.ok());
    store::AlertIncidentRow resolved = **got;
    resolved.state = "resolved";
    resolved.resolved_at = 2000;
    resolved.clear_since = 1900;
    BOOST_REQUIRE((*tx)->UpdateIncident(resolved).ok());
    auto again = (*tx)->InsertIncident(Incident("path:SendGrid"));
    BOOST_REQUIRE_MESSAGE(again.ok(), Why(again));
    BOOST_TEST(*again > incident);
    BOOST_REQUIRE((*tx)->Commit().ok());
  }
  BOOST_TEST(store::ListAlertIncidents(*b, false, 10)->size() == 1u);
  BOOST_TEST(store::ListAlertIncidents(*b, true, 10)->size() == 2u);
  BOOST_TEST(store::ListAlertIncidents(*b, true, 1)->size() == 1u);  // LIMIT binds
  // The resolved one is not counted; the new one is not acknowledged.
  BOOST_TEST((counted(*b) == std::make_pair<std::uint64_t, std::uint64_t>(1, 1)));

  // Both processes claim at once: each message goes to exactly one.
  auto claim_a = store::ClaimAlertMessages(*a, 1000, 1600, false, 10);
  auto claim_b = store::ClaimAlertMessages(*b, 1000, 1600, false, 10);
  BOOST_REQUIRE_MESSAGE(claim_a.ok(), Why(claim_a));
  BOOST_REQUIRE_MESSAGE(claim_b.ok(), Why(claim_b));
  BOOST_TEST(claim_a->size() == 2u);
  BOOST_TEST(claim_b->empty());
  const store::AlertMessageRow& first = claim_a->front();
  BOOST_TEST(first.message_id == "<m1@dmarcwatch>");
  BOOST_TEST(first.incident_id.value_or(0) == incident);
  BOOST_TEST(first.body_html == "<p>html</p>");
  BOOST_TEST(!(*claim_a)[1].incident_id.has_value());

  BOOST_REQUIRE(store::MarkAlertMessageSent(*a, first.id, 1010).ok());
  BOOST_REQUIRE(
      store::MarkAlertMessageRetry(*a, (*claim_a)[1].id, 1, 1300, "451 try later", 1010).ok());
  auto summary = store::GetAlertOutboxSummary(*b);
  BOOST_REQUIRE_MESSAGE(summary.ok(), Why(summary));
  BOOST_TEST(summary->sent == 1u);
  BOOST_TEST(summary->queued == 1u);
  BOOST_TEST(summary->failed == 0u);
  BOOST_TEST(summary->last_sent_at.value_or(0) == 1010);
  BOOST_TEST(summary->next_attempt_at.value_or(0) == 1300);
  BOOST_TEST(summary->last_error == "451 try later");
  // Backing off until 1300, unless told to ignore it; the lease was released.
  BOOST_TEST(store::ClaimAlertMessages(*b, 1100, 1700, false, 10)->empty());
  auto forced = store::ClaimAlertMessages(*b, 1100, 1700, true, 10);
  BOOST_REQUIRE(forced.ok());
  BOOST_TEST(forced->size() == 1u);
  BOOST_REQUIRE(store::MarkAlertMessageFailed(*b, (*claim_a)[1].id, 2, "550 no", 1110).ok());
  summary = store::GetAlertOutboxSummary(*a);
  BOOST_TEST(summary->failed == 1u);
  BOOST_TEST(summary->queued == 0u);
  auto listed = store::ListAlertMessages(*a, 10);
  BOOST_REQUIRE(listed.ok());
  BOOST_TEST(listed->size() == 2u);
  BOOST_TEST(listed->front().state == "failed");  // newest first
  BOOST_TEST(listed->front().attempts == 2);
}

BOOST_AUTO_TEST_CASE(sessions_are_shared_expire_and_are_purged) {
  SharedDatabase db;
  auto a = db.Open();
  auto b = db.Open();
  store::SessionRecord s{"alice", "csrf-1", 100, 200};
  BOOST_REQUIRE(store::PutSession(*a, "hash-1", s).ok());
  BOOST_REQUIRE(store::PutSession(*a, "hash-2", {"", "csrf-2", 100, 150}).ok());
  auto got = store::GetSession(*b, "hash-1", 120);
  BOOST_REQUIRE_MESSAGE(got.ok(), Why(got));
  BOOST_REQUIRE(got->has_value());
  BOOST_TEST((*got)->user == "alice");
  BOOST_TEST((*got)->csrf_token == "csrf-1");
  BOOST_TEST((*got)->expires_at == 200);
  BOOST_TEST(!store::GetSession(*b, "hash-1", 200)->has_value());  // expired
  BOOST_TEST(!store::GetSession(*b, "nope", 120)->has_value());
  BOOST_REQUIRE(store::PurgeSessions(*b, 160).ok());
  BOOST_TEST(!store::GetSession(*a, "hash-2", 120)->has_value());  // purged
  BOOST_TEST(store::GetSession(*a, "hash-1", 120)->has_value());
  BOOST_REQUIRE(store::DeleteSession(*b, "hash-1").ok());
  BOOST_TEST(!store::GetSession(*a, "hash-1", 120)->has_value());
}

BOOST_AUTO_TEST_CASE(one_store_at_a_time_holds_a_mailboxs_poll_lock) {
  SharedDatabase db;
  auto a = db.Open();
  auto b = db.Open();
  auto first = store::TryLockMailbox(*a, "rua");
  BOOST_REQUIRE_MESSAGE(first.ok(), Why(first));
  BOOST_TEST(*first);
  auto second = store::TryLockMailbox(*b, "rua");
  BOOST_REQUIRE_MESSAGE(second.ok(), Why(second));
  auto other = store::TryLockMailbox(*b, "ruf");
  BOOST_REQUIRE(other.ok());
  BOOST_TEST(*other);  // another mailbox is not affected
  BOOST_TEST(!*second);
  BOOST_TEST((store::UnlockMailbox(*b, "rua").code() == StatusCode::kFailedPrecondition));
  // Re-entrant: held until unlocked as many times as granted.
  auto again = store::TryLockMailbox(*a, "rua");
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(*again);
  BOOST_REQUIRE(store::UnlockMailbox(*a, "rua").ok());
  BOOST_TEST(!*store::TryLockMailbox(*b, "rua"));
  BOOST_REQUIRE(store::UnlockMailbox(*a, "rua").ok());
  auto now_b = store::TryLockMailbox(*b, "rua");
  BOOST_REQUIRE(now_b.ok());
  BOOST_TEST(*now_b);
  // A process that goes away (its connection or lock file closes) releases
  // its locks.
  b.reset();
  auto after = store::TryLockMailbox(*a, "rua");
  BOOST_REQUIRE(after.ok());
  BOOST_TEST(*after);
}

// Every round, the workers try the lock at the same moment, and whoever
// got it keeps it until all have tried: exactly one wins each round. (A
// version that let the rounds drift apart could find nobody refused on a
// loaded machine, where the threads ran one after the other.)
BOOST_AUTO_TEST_CASE(concurrent_pollers_never_hold_one_mailbox_together) {
  SharedDatabase db;
  constexpr int kWorkers = 4;
  constexpr int kRounds = 60;
  std::vector<std::unique_ptr<store::Store>> stores;
  for (int w = 0; w < kWorkers; ++w) stores.push_back(db.Open());
  std::barrier all_ready(kWorkers);
  std::barrier all_tried(kWorkers);
  std::vector<std::atomic<int>> winners(kRounds);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      store::Store& s = *stores[w];
      for (int r = 0; r < kRounds; ++r) {
        all_ready.arrive_and_wait();
        auto got = store::TryLockMailbox(s, "rua");
        const bool won = got.ok() && *got;
        if (!got.ok()) ++errors;
        if (won) ++winners[r];
        all_tried.arrive_and_wait();
        if (won && !store::UnlockMailbox(s, "rua").ok()) ++errors;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  BOOST_TEST(errors.load() == 0);
  int rounds_without_one_winner = 0;
  for (const auto& n : winners) rounds_without_one_winner += n.load() == 1 ? 0 : 1;
  BOOST_TEST(rounds_without_one_winner == 0);
}

BOOST_AUTO_TEST_CASE(concurrent_saves_of_one_key_store_one_first_copy) {
  // Four processes save, at once, reports sharing a key: two contents,
  // each sent twice. Exactly one is the first copy (new), the other
  // content is a conflict pointing at it, and the repeats are duplicates.
  SharedDatabase db;
  constexpr int kKeys = 30;
  constexpr int kWorkers = 4;
  std::vector<std::unique_ptr<store::Store>> stores;
  for (int w = 0; w < kWorkers; ++w) stores.push_back(db.Open());
  std::vector<std::vector<std::string>> outcomes(kWorkers);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      store::Store& s = *stores[w];
      store::InputRecord input;
      input.sha256 = "input-" + std::to_string(w % 2);
      input.channel = "file";
      input.origin = "/spool/" + input.sha256;
      input.name = input.sha256 + ".xml";
      input.received_at = 1;
      input.size = 3;
      input.raw = "raw";
      auto id = s.PutInput(input);
      if (!id.ok()) {
        outcomes[w].push_back(Why(id));
        return;
      }
      const int content = w % 2;
      for (int k = 0; k < kKeys; ++k) {
        auto saved = s.SaveReport(*id, KeyedReport("k" + std::to_string(k), 10 + content),
                                  "digest-" + std::to_string(content), 1);
        outcomes[w].push_back(saved.ok() ? store::ToString(saved->kind) : Why(saved));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  int news = 0, conflicts = 0, duplicates = 0;
  for (const auto& list : outcomes) {
    for (const std::string& o : list) {
      if (o == "new") {
        ++news;
      } else if (o == "conflict") {
        ++conflicts;
      } else if (o == "duplicate") {
        ++duplicates;
      } else {
        BOOST_ERROR("unexpected outcome: " << o);
      }
    }
  }
  BOOST_TEST(news == kKeys);
  BOOST_TEST(conflicts == kKeys);
  BOOST_TEST(duplicates == 2 * kKeys);
  auto totals = stores[0]->GetTotals();
  BOOST_REQUIRE(totals.ok());
  BOOST_TEST(totals->inputs == 2u);
  BOOST_TEST(totals->reports == std::uint64_t{2 * kKeys});
  BOOST_TEST(totals->conflicts == std::uint64_t{kKeys});
}

// Processes re-analysing one report at once (`reanalyze` beside serve's
// DNS pass) take turns: every call succeeds, and the rollups hold the
// report once, under the analysis that was written last. On PostgreSQL the
// second writer used to read the records and rollups the first one was
// replacing.
BOOST_AUTO_TEST_CASE(concurrent_reanalyses_of_one_report_take_turns) {
  SharedDatabase db;
  constexpr int kWorkers = 4;
  constexpr int kRounds = 15;
  m::Report report = KeyedReport("r", 5);
  for (std::uint32_t k = 1; k < 3; ++k) {
    m::Record more = report.records[0];
    more.source_ip = m::IpAddress::V4(0xc0000201u + k);
    more.count = 5 + k;
    report.records.push_back(more);
  }
  // Every record on one path, named after the worker.
  const auto all_on = [&](const std::string& path) {
    m::ReportAnalysis a;
    a.fingerprint = "fp-" + path;
    for (std::size_t k = 0; k < report.records.size(); ++k) {
      m::RecordAnalysis& r = a.records.emplace_back();
      r.path_key = "path:" + path;
      r.kind = m::PathKind::kDirect;
      r.path_name = path;
      r.rule = 1;
      r.evidence = "test";
      r.spf_aligned = r.dkim_aligned = r.dmarc_pass = true;
    }
    return a;
  };
  std::vector<std::unique_ptr<store::Store>> stores;
  for (int w = 0; w < kWorkers; ++w) stores.push_back(db.Open());
  store::InputRecord input;
  input.sha256 = "in";
  input.channel = "file";
  input.origin = "/spool/in";
  input.name = "in.xml";
  input.raw = "raw";
  auto input_id = stores[0]->PutInput(input);
  BOOST_REQUIRE_MESSAGE(input_id.ok(), Why(input_id));
  const m::ReportAnalysis first = all_on("first");
  auto saved = stores[0]->SaveReport(*input_id, report, "d", 1, &first);
  BOOST_REQUIRE_MESSAGE(saved.ok(), Why(saved));
  const std::int64_t id = saved->report_row_id;

  std::vector<std::string> failures(kWorkers);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      const m::ReportAnalysis mine = all_on("w" + std::to_string(w));
      for (int round = 0; round < kRounds; ++round) {
        const dmarcwatch::Status st = stores[w]->ReplaceAnalysis(id, mine);
        if (!st.ok()) failures[w] += st.ToString() + "; ";
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int w = 0; w < kWorkers; ++w) {
    BOOST_TEST(failures[w].empty(), "worker " << w << ": " << failures[w]);
  }

  m::RollupQuery all;
  all.from_day = -100000;
  all.to_day = 100000;
  auto paths = stores[0]->QueryPathTotals(all);
  BOOST_REQUIRE_MESSAGE(paths.ok(), Why(paths));
  BOOST_REQUIRE_EQUAL(paths->size(), 1u);
  BOOST_TEST(paths->front().counts.messages == 18u);  // 5 + 6 + 7, once
  BOOST_TEST(paths->front().counts.rows == 3u);
  auto analysis = stores[0]->GetAnalysis(id);
  BOOST_REQUIRE_MESSAGE(analysis.ok(), Why(analysis));
  BOOST_REQUIRE_EQUAL(analysis->records.size(), 3u);
  BOOST_TEST(analysis->records[0].path_key == paths->front().path.key);
  auto stored = stores[0]->GetReport(id);
  BOOST_REQUIRE_MESSAGE(stored.ok(), Why(stored));
  BOOST_TEST(stored->records.size() == 3u);
}

// Processes started together on a new store all open it. On a new SQLite
// file the first opens race to switch it to WAL, where SQLite answers
// "database is locked" without waiting; Open retries that.
BOOST_AUTO_TEST_CASE(stores_opened_at_once_on_a_new_database_all_open) {
  const int rounds = kOnPostgres ? 2 : 40;
  constexpr int kWorkers = 4;
  int failures = 0;
  std::string first_failure;
  for (int round = 0; round < rounds; ++round) {
    SharedDatabase db;
    std::atomic<int> ready{0};
    std::vector<std::string> outcomes(kWorkers);
    std::vector<std::thread> threads;
    for (int w = 0; w < kWorkers; ++w) {
      threads.emplace_back([&, w] {
        ++ready;
        while (ready.load() < kWorkers) std::this_thread::yield();
        store::StoreOptions o;
        o.database = db.Uri();
        auto s = store::Store::Open(o);
        outcomes[w] = s.ok() ? "ok" : Why(s);
      });
    }
    for (std::thread& t : threads) t.join();
    for (const std::string& o : outcomes) {
      if (o == "ok") continue;
      if (failures++ == 0) first_failure = o;
    }
    auto migrations = db.Open()->AppliedMigrations();
    BOOST_REQUIRE(migrations.ok());
    BOOST_TEST(!migrations->empty());
  }
  BOOST_TEST(failures == 0, failures << " of " << rounds * kWorkers
                                     << " opens failed; the first: " << first_failure);
}

BOOST_AUTO_TEST_SUITE_END()
