#pragma once
// The alerts module wired to the store and the configuration:
//
//  - StoreAlertState: the store as alerts::IncidentStore and
//    alerts::OutboxStore (schema/sql/0004_alerts.sql);
//  - AlertsOptionsFrom / OutboxOptionsFrom / SmtpOptionsFrom: [alerts] as
//    the module's typed options (the SMTP password read from
//    alerts.smtp.password_file with ReadSecretFile);
//  - AlertsService: an AlertEngine and an Outbox over one store, as
//    `dmarcwatch alerts` and `serve` use them;
//  - ReadOutboxStatus: what `dmarcwatch status` shows about the outbox.
//
// For serve, per process (one thread at a time per service):
//
//   auto alerts = AlertsService::Create(config, store, analysis_service);
//   // after each committed ingest batch, and on a timer (hourly) so that
//   // silence and resolution are noticed without new reports:
//   (*alerts)->engine().Evaluate(request);   // request.as_of = now,
//                                            // request.mailboxes = poller health
//   // every minute, and after an evaluation that queued messages:
//   auto outbox = (*alerts)->outbox();        // fails when SMTP is not usable
//   if (outbox.ok()) (*outbox)->Deliver(now);
//
// Nothing here runs unless alerts are configured (AlertsConfig::enabled()).

#include <memory>

#include "analysis_service.h"
#include "config.h"
#include "dmarcwatch/alerts/engine.h"
#include "dmarcwatch/alerts/outbox.h"
#include "dmarcwatch/alerts/state_store.h"
#include "dmarcwatch/store/store.h"

namespace dmarcwatch::app {

class StoreAlertState : public alerts::IncidentStore, public alerts::OutboxStore {
 public:
  explicit StoreAlertState(store::Store& store) : store_(store) {}

  Result<std::unique_ptr<alerts::IncidentTransaction>> Begin() override;
  Result<std::vector<alerts::Incident>> ListIncidents(bool include_resolved,
                                                      std::uint32_t limit) override;
  Result<std::optional<alerts::Incident>> GetIncident(std::int64_t id) override;
  Result<std::optional<std::int64_t>> GetMark(const std::string& name,
                                              const std::string& scope) override;
  Status Acknowledge(std::int64_t id, model::UnixTime now) override;

  Result<std::vector<alerts::OutboxMessage>> Claim(model::UnixTime now, model::UnixTime lease_until,
                                                   bool ignore_backoff,
                                                   std::uint32_t limit) override;
  Status MarkSent(std::int64_t id, model::UnixTime at) override;
  Status MarkRetry(std::int64_t id, std::uint32_t attempts, model::UnixTime next_attempt_at,
                   const std::string& error, model::UnixTime at) override;
  Status MarkFailed(std::int64_t id, std::uint32_t attempts, const std::string& error,
                    model::UnixTime at) override;
  Result<alerts::OutboxStatus> GetStatus() override;
  Result<std::vector<alerts::OutboxMessage>> ListMessages(std::uint32_t limit) override;

 private:
  store::Store& store_;
};

// The dashboard's base URL for links: alerts.dashboard_url, else
// web.public_url, else one derived from web.listen ("" when none).
std::string DashboardBase(const Config& config);

alerts::AlertsOptions AlertsOptionsFrom(const Config& config);
alerts::OutboxOptions OutboxOptionsFrom(const Config& config);
// Reads the password file when a username is set; its errors name the file.
Result<alerts::SmtpOptions> SmtpOptionsFrom(const Config& config);

// What `dmarcwatch status` shows about the outbox: queued and failed
// messages, the oldest queued, the next attempt, and the newest error.
Result<alerts::OutboxStatus> ReadOutboxStatus(store::Store& store);

// The health of every [[mailboxes]] entry from its recorded polls (the
// ingest runs the poller writes): failures in a row, the last error, the
// last success and failure. What the ingest_failures rule reads, in
// `serve` and in `dmarcwatch alerts check` alike.
Result<std::vector<alerts::MailboxHealth>> MailboxHealthFrom(const Config& config,
                                                            store::Store& store);

class AlertsService {
 public:
  // REQUIRES: config, store and analysis outlive the service. Builds the
  // engine; the outbox (which reads the SMTP password) is built on first use.
  static Result<std::unique_ptr<AlertsService>> Create(const Config& config, store::Store& store,
                                                       AnalysisService& analysis);

  alerts::AlertEngine& engine() { return *engine_; }
  StoreAlertState& state() { return state_; }
  // The outbox over SMTP; fails (with the reason) when SMTP is not
  // configured or the password file cannot be read. Tried again on the
  // next call after a failure.
  Result<alerts::Outbox*> outbox();

 private:
  AlertsService(const Config& config, store::Store& store) : config_(config), state_(store) {}

  const Config& config_;
  StoreAlertState state_;
  std::unique_ptr<alerts::AlertEngine> engine_;
  std::unique_ptr<alerts::Outbox> outbox_;
};

}  // namespace dmarcwatch::app
