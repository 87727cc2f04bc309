// Outbox (outbox.h): claims due messages, sends them, records the outcome.

#include "dmarcwatch/alerts/outbox.h"

#include <Poco/Logger.h>

#include "dmarcwatch/alerts/message.h"
#include "dmarcwatch/model/text.h"
#include "dmarcwatch/model/time.h"

namespace dmarcwatch::alerts {
namespace {

constexpr const char* kLogger = "dmarc.alerts";

std::string LogValue(std::string_view s) {
  std::string out = model::Printable(s);
  for (char& c : out) {
    if (c == '"') c = '\'';
  }
  return out;
}

}  // namespace

const char* ToString(OutboxState state) {
  switch (state) {
    case OutboxState::kQueued: return "queued";
    case OutboxState::kSent: return "sent";
    case OutboxState::kFailed: break;
  }
  return "failed";
}

std::int64_t RetryDelay(const OutboxOptions& options, std::uint32_t attempts) {
  std::int64_t delay = options.first_retry < 1 ? 1 : options.first_retry;
  for (std::uint32_t i = 1; i < attempts && delay < options.max_interval; ++i) delay *= 2;
  return std::min(delay, std::max<std::int64_t>(options.max_interval, 1));
}

Result<std::unique_ptr<Outbox>> Outbox::Create(OutboxOptions options, std::string from,
                                               OutboxStore& store,
                                               std::unique_ptr<MailTransport> transport) {
  if (transport == nullptr) return Status::InvalidInput("bad_option", "no mail transport");
  if (from.find('@') == std::string::npos) {
    return Status::InvalidInput("bad_option", "the outbox needs a from address");
  }
  if (options.retry_max < 0 || options.lease < 1 || options.max_per_run < 1) {
    return Status::InvalidInput("bad_option", "retry_max >= 0, lease >= 1, max_per_run >= 1");
  }
  return std::unique_ptr<Outbox>(
      new Outbox(options, std::move(from), store, std::move(transport)));
}

Outbox::Outbox(OutboxOptions options, std::string from, OutboxStore& store,
               std::unique_ptr<MailTransport> transport)
    : options_(options), from_(std::move(from)), store_(store), transport_(std::move(transport)) {}

Result<DeliveryResult> Outbox::Deliver(model::UnixTime now, bool ignore_backoff) {
  Poco::Logger& log = Poco::Logger::get(kLogger);
  DeliveryResult result;
  auto claimed = store_.Claim(now, now + options_.lease, ignore_backoff, options_.max_per_run);
  if (!claimed.ok()) return claimed.status();
  result.claimed = static_cast<std::uint32_t>(claimed->size());
  if (claimed->empty()) return result;

  // One failed attempt: retried with backoff, or given up.
  auto failed_attempt = [&](const OutboxMessage& m, const Status& why) -> Status {
    const std::uint32_t attempts = m.attempts + 1;
    const std::string error = model::Printable(why.message(), 300);
    result.last_error = error;
    const bool refused = why.code() == StatusCode::kInvalidInput;
    const model::UnixTime next = now + RetryDelay(options_, attempts);
    if (refused || next > m.created_at + options_.retry_max) {
      ++result.failed;
      const std::string final_error =
          refused ? error
                  : "gave up after " + std::to_string(attempts) + " attempts: " + error;
      log.error("event=mail_failed id=" + std::to_string(m.id) + " message_id=\"" +
                LogValue(m.message_id) + "\" recipient=\"" + LogValue(m.recipient) +
                "\" attempts=" + std::to_string(attempts) + " error=\"" + LogValue(final_error) +
                "\"");
      return store_.MarkFailed(m.id, attempts, final_error, now);
    }
    ++result.retrying;
    log.error("event=mail_retry id=" + std::to_string(m.id) + " message_id=\"" +
              LogValue(m.message_id) + "\" attempts=" + std::to_string(attempts) +
              " next_attempt=" + model::FormatIso8601(next) + " reason=" + why.reason() +
              " error=\"" + LogValue(error) + "\"");
    return store_.MarkRetry(m.id, attempts, next, error, now);
  };

  const Status opened = transport_->Open();
  if (!opened.ok()) {
    log.error("event=smtp_unavailable reason=" + opened.reason() + " error=\"" +
              LogValue(opened.message()) + "\" messages=" + std::to_string(claimed->size()));
    for (const OutboxMessage& m : *claimed) DMARC_RETURN_IF_ERROR(failed_attempt(m, opened));
    return result;
  }
  Status store_error;
  for (const OutboxMessage& m : *claimed) {
    Status sent = transport_->usable()
                      ? transport_->Send(from_, m.recipient, BuildMime(m, from_))
                      : Status::Unavailable("smtp_session_lost",
                                            "the SMTP session ended before this message");
    if (sent.ok()) {
      // Right after the server accepted the data, before anything else:
      // the window for a duplicate stays as small as it can be.
      store_error = store_.MarkSent(m.id, now);
      if (!store_error.ok()) break;
      ++result.sent;
      log.information("event=mail_sent id=" + std::to_string(m.id) + " message_id=\"" +
                      LogValue(m.message_id) + "\" recipient=\"" + LogValue(m.recipient) +
                      "\" notice=" + LogValue(m.notice) +
                      " attempts=" + std::to_string(m.attempts + 1));
      continue;
    }
    store_error = failed_attempt(m, sent);
    if (!store_error.ok()) break;
  }
  transport_->Close();
  if (!store_error.ok()) return store_error;
  return result;
}

}  // namespace dmarcwatch::alerts
