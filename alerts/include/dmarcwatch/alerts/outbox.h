#pragma once
// Outbox: delivers queued alert emails through a MailTransport (SMTP,
// smtp.h), retrying with exponential backoff, so that a mail server that
// is down delays alerts and loses none.
//
// Each Deliver(now):
//   1. claims the due messages (OutboxStore::Claim: leased, so two
//      deliverers never send one message at once);
//   2. opens one SMTP session for all of them, only when there is
//      something to send;
//   3. for each message: accepted after DATA -> marked sent at once, before
//      the next one; refused for good (5xx to RCPT or to the data) ->
//      failed; anything else (connection, TLS, timeout, 4xx) -> retried
//      after 1, 2, 4, ... minutes, at most max_interval apart, until
//      retry_max after it was queued, then failed. A session that breaks
//      ends the run: the messages not tried keep their schedule.
//
// Delivery is at least once. The one window for a duplicate is a crash (or
// a lost connection) after the server accepted the data and before the
// message is marked sent: the lease then expires and the message is sent
// again, with the same Message-ID, which receivers and mail clients use to
// drop the copy. Marking it sent before the server has accepted it would
// instead lose the alert in that window; an alert that arrives twice is
// the lesser harm.
//
// Time is a parameter (`now`); nothing here reads a clock. Failures are
// visible: OutboxStore::GetStatus() (for `dmarcwatch status`) counts
// queued and failed messages with the last error, and every attempt is
// logged under "dmarc.alerts".

#include <cstdint>
#include <memory>
#include <string>

#include "dmarcwatch/alerts/options.h"
#include "dmarcwatch/alerts/state_store.h"
#include "dmarcwatch/model/status.h"

namespace dmarcwatch::alerts {

// A way to hand a message to a mail server. One session at a time.
class MailTransport {
 public:
  virtual ~MailTransport() = default;
  // Opens a session (connect, TLS, authentication). Retryable codes for
  // what may work later (kUnavailable, kTimeout, kUnauthenticated,
  // kFailedPrecondition for a TLS or certificate problem).
  virtual Status Open() = 0;
  // Sends one message (`data`: RFC 5322, CRLF) to one recipient.
  // kInvalidInput (reason "smtp_refused") when the server refused it for
  // good; a retryable code otherwise.
  virtual Status Send(const std::string& from, const std::string& recipient,
                      const std::string& data) = 0;
  // False once the session is unusable (after a connection failure).
  virtual bool usable() const = 0;
  // Ends the session (QUIT). Never fails: the messages are already marked.
  virtual void Close() = 0;
};

struct DeliveryResult {
  std::uint32_t claimed = 0;
  std::uint32_t sent = 0;
  std::uint32_t retrying = 0;  // will be tried again
  std::uint32_t failed = 0;    // given up
  std::string last_error;      // the last failure, one line
};

// Seconds to wait after the `attempts`-th failed attempt (attempts >= 1):
// first_retry * 2^(attempts-1), at most max_interval.
std::int64_t RetryDelay(const OutboxOptions& options, std::uint32_t attempts);

class Outbox {
 public:
  // REQUIRES: `store` outlives the Outbox. `from` is the envelope sender.
  static Result<std::unique_ptr<Outbox>> Create(OutboxOptions options, std::string from,
                                                OutboxStore& store,
                                                std::unique_ptr<MailTransport> transport);
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Delivers the messages due at `now`; with ignore_backoff, every queued
  // message not claimed by another deliverer (`dmarcwatch alerts send`).
  // Fails only when the store cannot be read or written; SMTP failures are
  // in the result (and in the messages' rows).
  Result<DeliveryResult> Deliver(model::UnixTime now, bool ignore_backoff = false);

 private:
  Outbox(OutboxOptions options, std::string from, OutboxStore& store,
         std::unique_ptr<MailTransport> transport);

  OutboxOptions options_;
  std::string from_;
  OutboxStore& store_;
  std::unique_ptr<MailTransport> transport_;
};

}  // namespace dmarcwatch::alerts
