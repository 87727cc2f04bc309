// The outbox: backoff schedule, a mail server down then up (delivered
// later, exactly once), refusals, giving up after retry_max, leases.

#include <boost/test/unit_test.hpp>

#include "dmarcwatch/alerts/memory_store.h"
#include "dmarcwatch/alerts/message.h"
#include "dmarcwatch/alerts/outbox.h"
#include "fixtures.h"

namespace dmarcwatch::alerts {
namespace {

using namespace testing;

const model::UnixTime kT0 = At(kOct1 + 31);

// A mail server in a test: up or down, refusing some recipients, and
// recording what it accepted.
struct FakeServer {
  bool up = true;
  std::set<std::string> refused;     // 5xx for these recipients
  int break_after = -1;              // drop the session after this many messages
  std::vector<std::pair<std::string, std::string>> accepted;  // (recipient, data)
  int sessions = 0;
};

class FakeTransport : public MailTransport {
 public:
  explicit FakeTransport(FakeServer& server) : server_(server) {}
  Status Open() override {
    if (!server_.up) return Status::Unavailable("smtp_unavailable", "connection refused");
    ++server_.sessions;
    open_ = true;
    sent_ = 0;
    return Status::Ok();
  }
  Status Send(const std::string& from, const std::string& to, const std::string& data) override {
    BOOST_TEST(from == "dmarcwatch@example.com");
    if (server_.break_after >= 0 && sent_ >= server_.break_after) {
      open_ = false;
      return Status::Unavailable("smtp_unavailable", "connection reset");
    }
    if (server_.refused.count(to) != 0) {
      return Status::InvalidInput("smtp_refused", "recipient " + to + " refused: 550 no such user");
    }
    server_.accepted.emplace_back(to, data);
    ++sent_;
    return Status::Ok();
  }
  bool usable() const override { return open_; }
  void Close() override { open_ = false; }

 private:
  FakeServer& server_;
  bool open_ = false;
  int sent_ = 0;
};

struct Fixture {
  MemoryAlertStore store;
  FakeServer server;
  OutboxOptions options;  // 1 min doubling to 1 h, retry_max 3 days
  std::unique_ptr<Outbox> outbox;

  Fixture() {
    auto o = Outbox::Create(options, "dmarcwatch@example.com", store,
                            std::make_unique<FakeTransport>(server));
    BOOST_REQUIRE(o.ok());
    outbox = std::move(*o);
  }

  void Queue(const std::string& to, model::UnixTime at, std::int64_t incident = 1) {
    auto tx = store.Begin();
    OutboxMessage m;
    m.kind = "incident";
    m.incident_id = incident;
    m.notice = "opened";
    m.recipient = to;
    m.subject = "[dmarcwatch] example.com: SendGrid fails DMARC";
    m.text = "text\n";
    m.html = "<p>html</p>\n";
    m.created_at = at;
    m.next_attempt_at = at;
    m.message_id = MakeMessageId("dmarcwatch@example.com", at, incident, "opened", to);
    BOOST_REQUIRE((*tx)->Enqueue(m).ok());
    BOOST_REQUIRE((*tx)->Commit().ok());
  }

  DeliveryResult Deliver(model::UnixTime now, bool force = false) {
    auto r = outbox->Deliver(now, force);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.status().ToString()));
    return *r;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(outbox)

BOOST_AUTO_TEST_CASE(retries_back_off_exponentially_up_to_an_hour) {
  OutboxOptions o;
  const std::vector<std::int64_t> expected = {60, 120, 240, 480, 960, 1920, 3600, 3600, 3600};
  for (std::uint32_t attempts = 1; attempts <= expected.size(); ++attempts) {
    BOOST_TEST(RetryDelay(o, attempts) == expected[attempts - 1]);
  }
  BOOST_TEST(RetryDelay(o, 1000) == 3600);
}

BOOST_AUTO_TEST_CASE(a_server_down_then_up_delivers_later_exactly_once) {
  Fixture f;
  f.Queue("postmaster@example.com", kT0);
  f.server.up = false;
  DeliveryResult down = f.Deliver(kT0);
  BOOST_TEST(down.retrying == 1u);
  BOOST_TEST(down.last_error.find("connection refused") != std::string::npos);
  BOOST_TEST(f.store.messages()[0].attempts == 1u);
  BOOST_TEST(f.store.messages()[0].next_attempt_at == kT0 + 60);
  auto status = f.store.GetStatus();
  BOOST_TEST(status->queued == 1u);
  BOOST_TEST(status->last_error.find("connection refused") != std::string::npos);

  // Not due yet: not even a connection.
  f.server.up = true;
  BOOST_TEST(f.Deliver(kT0 + 59).claimed == 0u);
  BOOST_TEST(f.server.sessions == 0);
  // Due: delivered, once.
  BOOST_TEST(f.Deliver(kT0 + 60).sent == 1u);
  BOOST_TEST(f.Deliver(kT0 + 120).claimed == 0u);
  BOOST_TEST(f.Deliver(kT0 + 86400, true).claimed == 0u);
  BOOST_REQUIRE(f.server.accepted.size() == 1u);
  BOOST_TEST(f.server.accepted[0].first == "postmaster@example.com");
  BOOST_TEST(f.server.accepted[0].second.find("Message-ID: " + f.store.messages()[0].message_id) !=
             std::string::npos);
  BOOST_TEST(f.store.messages()[0].state == OutboxState::kSent);
  BOOST_TEST((f.store.messages()[0].sent_at == kT0 + 60));
  BOOST_TEST(f.store.GetStatus()->queued == 0u);
  BOOST_TEST(f.store.GetStatus()->sent == 1u);
}

BOOST_AUTO_TEST_CASE(send_now_ignores_the_backoff) {
  Fixture f;
  f.Queue("postmaster@example.com", kT0);
  f.server.up = false;
  f.Deliver(kT0);
  f.server.up = true;
  BOOST_TEST(f.Deliver(kT0 + 1).claimed == 0u);
  BOOST_TEST(f.Deliver(kT0 + 1, true).sent == 1u);
}

BOOST_AUTO_TEST_CASE(a_refused_recipient_fails_at_once_and_the_others_are_delivered) {
  Fixture f;
  f.Queue("nobody@example.com", kT0);
  f.Queue("postmaster@example.com", kT0);
  f.server.refused = {"nobody@example.com"};
  const DeliveryResult r = f.Deliver(kT0);
  BOOST_TEST(r.failed == 1u);
  BOOST_TEST(r.sent == 1u);
  BOOST_TEST(f.store.messages()[0].state == OutboxState::kFailed);
  BOOST_TEST(f.store.messages()[0].last_error.find("550") != std::string::npos);
  BOOST_TEST(f.store.GetStatus()->failed == 1u);
  BOOST_TEST(f.Deliver(kT0 + 86400, true).claimed == 0u);
}

BOOST_AUTO_TEST_CASE(a_message_is_given_up_after_retry_max_and_that_shows) {
  Fixture f;
  f.Queue("postmaster@example.com", kT0);
  f.server.up = false;
  model::UnixTime now = kT0;
  int attempts = 0;
  while (true) {
    const DeliveryResult r = f.Deliver(now);
    if (r.claimed == 0) break;
    ++attempts;
    if (r.failed == 1u) break;
    now = f.store.messages()[0].next_attempt_at;
  }
  const OutboxMessage& m = f.store.messages()[0];
  BOOST_TEST(m.state == OutboxState::kFailed);
  BOOST_TEST(m.last_error.find("gave up after") == 0u);
  BOOST_TEST(now >= kT0 + 3 * kDay - 3600);
  BOOST_TEST(now <= kT0 + 3 * kDay);
  BOOST_TEST(attempts > 70);  // 7 to reach the hour, then hourly for three days
  BOOST_TEST(f.store.GetStatus()->failed == 1u);
  BOOST_TEST(f.store.GetStatus()->queued == 0u);
}

BOOST_AUTO_TEST_CASE(a_session_lost_midway_keeps_the_rest_queued) {
  Fixture f;
  f.Queue("a@example.com", kT0);
  f.Queue("b@example.com", kT0);
  f.Queue("c@example.com", kT0);
  f.server.break_after = 1;
  const DeliveryResult r = f.Deliver(kT0);
  BOOST_TEST(r.sent == 1u);
  BOOST_TEST(r.retrying == 2u);
  f.server.break_after = -1;
  BOOST_TEST(f.Deliver(kT0 + 60).sent == 2u);
  BOOST_TEST(f.server.accepted.size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_claimed_message_is_leased_and_reclaimed_after_a_crash) {
  Fixture f;
  f.Queue("postmaster@example.com", kT0);
  auto first = f.store.Claim(kT0, kT0 + 600, false, 10);
  BOOST_REQUIRE(first->size() == 1u);
  // Another deliverer at the same time gets nothing.
  BOOST_TEST(f.store.Claim(kT0 + 1, kT0 + 601, true, 10)->empty());
  // The first one crashed before marking it: once the lease ends it is
  // delivered again, with the same Message-ID (at least once).
  BOOST_TEST(f.Deliver(kT0 + 599).claimed == 0u);
  BOOST_TEST(f.Deliver(kT0 + 600).sent == 1u);
  BOOST_TEST(f.server.accepted[0].second.find((*first)[0].message_id) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_outbox_needs_a_transport_and_a_sender) {
  MemoryAlertStore store;
  BOOST_TEST(!Outbox::Create(OutboxOptions{}, "dmarcwatch@example.com", store, nullptr).ok());
  FakeServer server;
  BOOST_TEST(!Outbox::Create(OutboxOptions{}, "nobody", store,
                             std::make_unique<FakeTransport>(server))
                  .ok());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace dmarcwatch::alerts
