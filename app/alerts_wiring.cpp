// The alerts module wired to the store and the configuration (alerts_wiring.h).

#include "alerts_wiring.h"

#include <Poco/Environment.h>

#include "dmarcwatch/alerts/smtp.h"
#include "dmarcwatch/store/alerts.h"
#include "dmarcwatch/store/mailboxes.h"

namespace dmarcwatch::app {
namespace {

analysis::Severity SeverityFrom(const std::string& word) {
  if (word == "critical") return analysis::Severity::kCritical;
  if (word == "info") return analysis::Severity::kInfo;
  return analysis::Severity::kWarning;
}

alerts::Incident FromRow(const store::AlertIncidentRow& r) {
  alerts::Incident i;
  i.id = r.id;
  i.rule = alerts::RuleFromString(r.rule);
  i.domain = r.domain;
  i.subject = r.subject;
  i.state = r.state == "open" ? alerts::IncidentState::kOpen : alerts::IncidentState::kResolved;
  i.severity = SeverityFrom(r.severity);
  i.title = r.title;
  i.value = r.value;
  i.opened_at = r.opened_at;
  i.first_seen = r.first_seen;
  i.last_seen = r.last_seen;
  i.clear_since = r.clear_since;
  i.resolved_at = r.resolved_at;
  i.acknowledged = r.acknowledged;
  i.acknowledged_at = r.acknowledged_at;
  i.last_notified_at = r.last_notified_at;
  i.notified_value = r.notified_value;
  i.notified_severity = SeverityFrom(r.notified_severity);
  i.notifications = static_cast<std::uint32_t>(r.notifications < 0 ? 0 : r.notifications);
  i.evaluation_json = r.evaluation;
  return i;
}

store::AlertIncidentRow ToRow(const alerts::Incident& i) {
  store::AlertIncidentRow r;
  r.id = i.id;
  r.rule = alerts::ToString(i.rule);
  r.domain = i.domain;
  r.subject = i.subject;
  r.state = alerts::ToString(i.state);
  r.severity = analysis::ToString(i.severity);
  r.title = i.title;
  r.value = i.value;
  r.opened_at = i.opened_at;
  r.first_seen = i.first_seen;
  r.last_seen = i.last_seen;
  r.clear_since = i.clear_since;
  r.resolved_at = i.resolved_at;
  r.acknowledged = i.acknowledged;
  r.acknowledged_at = i.acknowledged_at;
  r.last_notified_at = i.last_notified_at;
  r.notified_value = i.notified_value;
  r.notified_severity = analysis::ToString(i.notified_severity);
  r.notifications = i.notifications;
  r.evaluation = i.evaluation_json.empty() ? "{}" : i.evaluation_json;
  return r;
}

alerts::OutboxMessage FromRow(const store::AlertMessageRow& r) {
  alerts::OutboxMessage m;
  m.id = r.id;
  m.message_id = r.message_id;
  m.kind = r.kind;
  m.incident_id = r.incident_id;
  m.notice = r.notice;
  m.recipient = r.recipient;
  m.subject = r.subject;
  m.text = r.body_text;
  m.html = r.body_html;
  m.state = r.state == "sent"     ? alerts::OutboxState::kSent
            : r.state == "failed" ? alerts::OutboxState::kFailed
                                  : alerts::OutboxState::kQueued;
  m.attempts = static_cast<std::uint32_t>(r.attempts < 0 ? 0 : r.attempts);
  m.next_attempt_at = r.next_attempt_at;
  m.last_error = r.last_error;
  m.created_at = r.created_at;
  m.sent_at = r.sent_at;
  return m;
}

class StoreTransaction : public alerts::IncidentTransaction {
 public:
  explicit StoreTransaction(std::unique_ptr<store::AlertTransaction> tx) : tx_(std::move(tx)) {}

  Result<std::vector<alerts::Incident>> OpenIncidents() override {
    auto rows = tx_->OpenIncidents();
    if (!rows.ok()) return rows.status();
    std::vector<alerts::Incident> out;
    for (const store::AlertIncidentRow& r : *rows) out.push_back(FromRow(r));
    return out;
  }
  Result<std::int64_t> InsertIncident(const alerts::Incident& incident) override {
    return tx_->InsertIncident(ToRow(incident));
  }
  Status UpdateIncident(const alerts::Incident& incident) override {
    return tx_->UpdateIncident(ToRow(incident));
  }
  Status Enqueue(const alerts::OutboxMessage& m) override {
    store::AlertMessageRow r;
    r.message_id = m.message_id;
    r.kind = m.kind;
    r.incident_id = m.incident_id;
    r.notice = m.notice;
    r.recipient = m.recipient;
    r.subject = m.subject;
    r.body_text = m.text;
    r.body_html = m.html;
    r.next_attempt_at = m.next_attempt_at;
    r.created_at = m.created_at;
    return tx_->Enqueue(r);
  }
  Result<std::optional<std::int64_t>> GetMark(const std::string& name,
                                              const std::string& scope) override {
    return tx_->GetMark(name, scope);
  }
  Status SetMark(const std::string& name, const std::string& scope, std::int64_t value) override {
    return tx_->SetMark(name, scope, value);
  }
  Status Commit() override { return tx_->Commit(); }

 private:
  std::unique_ptr<store::AlertTransaction> tx_;
};

}  // namespace

Result<std::unique_ptr<alerts::IncidentTransaction>> StoreAlertState::Begin() {
  auto tx = store::BeginAlertTransaction(store_);
  if (!tx.ok()) return tx.status();
  return std::unique_ptr<alerts::IncidentTransaction>(new StoreTransaction(std::move(*tx)));
}

Result<std::vector<alerts::Incident>> StoreAlertState::ListIncidents(bool include_resolved,
                                                                     std::uint32_t limit) {
  auto rows = store::ListAlertIncidents(store_, include_resolved, limit);
  if (!rows.ok()) return rows.status();
  std::vector<alerts::Incident> out;
  for (const store::AlertIncidentRow& r : *rows) out.push_back(FromRow(r));
  return out;
}

Result<std::optional<alerts::Incident>> StoreAlertState::GetIncident(std::int64_t id) {
  auto row = store::GetAlertIncident(store_, id);
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<alerts::Incident>();
  return std::optional<alerts::Incident>(FromRow(**row));
}

Result<std::optional<std::int64_t>> StoreAlertState::GetMark(const std::string& name,
                                                             const std::string& scope) {
  return store::GetAlertMark(store_, name, scope);
}

Status StoreAlertState::Acknowledge(std::int64_t id, model::UnixTime now) {
  return store::AcknowledgeAlertIncident(store_, id, now);
}

Result<std::vector<alerts::OutboxMessage>> StoreAlertState::Claim(model::UnixTime now,
                                                                  model::UnixTime lease_until,
                                                                  bool ignore_backoff,
                                                                  std::uint32_t limit) {
  auto rows = store::ClaimAlertMessages(store_, now, lease_until, ignore_backoff, limit);
  if (!rows.ok()) return rows.status();
  std::vector<alerts::OutboxMessage> out;
  for (const store::AlertMessageRow& r : *rows) out.push_back(FromRow(r));
  return out;
}

Status StoreAlertState::MarkSent(std::int64_t id, model::UnixTime at) {
  return store::MarkAlertMessageSent(store_, id, at);
}

Status StoreAlertState::MarkRetry(std::int64_t id, std::uint32_t attempts,
                                  model::UnixTime next_attempt_at, const std::string& error,
                                  model::UnixTime at) {
  return store::MarkAlertMessageRetry(store_, id, attempts, next_attempt_at, error, at);
}

Status StoreAlertState::MarkFailed(std::int64_t id, std::uint32_t attempts,
                                   const std::string& error, model::UnixTime at) {
  return store::MarkAlertMessageFailed(store_, id, attempts, error, at);
}

Result<alerts::OutboxStatus> StoreAlertState::GetStatus() { return ReadOutboxStatus(store_); }

Result<std::vector<alerts::OutboxMessage>> StoreAlertState::ListMessages(std::uint32_t limit) {
  auto rows = store::ListAlertMessages(store_, limit);
  if (!rows.ok()) return rows.status();
  std::vector<alerts::OutboxMessage> out;
  for (const store::AlertMessageRow& r : *rows) out.push_back(FromRow(r));
  return out;
}

Result<alerts::OutboxStatus> ReadOutboxStatus(store::Store& store) {
  auto summary = store::GetAlertOutboxSummary(store);
  if (!summary.ok()) return summary.status();
  alerts::OutboxStatus s;
  s.queued = summary->queued;
  s.failed = summary->failed;
  s.sent = summary->sent;
  s.oldest_queued_at = summary->oldest_queued_at;
  s.next_attempt_at = summary->next_attempt_at;
  s.last_sent_at = summary->last_sent_at;
  s.last_error = summary->last_error;
  s.last_error_at = summary->last_error_at;
  return s;
}

Result<std::vector<alerts::MailboxHealth>> MailboxHealthFrom(const Config& config,
                                                            store::Store& store) {
  std::vector<alerts::MailboxHealth> out;
  for (const MailboxConfig& m : config.mailboxes) {
    alerts::MailboxHealth h;
    h.name = m.name;
    auto streak = store::IngestFailureStreak(store, store::SourceKind::kMailbox, m.name);
    if (!streak.ok()) return streak.status();
    h.consecutive_failures = *streak;
    auto failed = store::LastFailedIngestRun(store, store::SourceKind::kMailbox, m.name);
    if (!failed.ok()) return failed.status();
    if (*failed) {
      const store::IngestRun& f = **failed;
      h.last_failure = f.finished_at.value_or(f.started_at);
      h.last_error = f.error_reason.value_or("unfinished") +
                     (f.error_message.empty() ? "" : ": " + f.error_message);
    }
    auto recent = store::RecentIngestRuns(store, store::SourceKind::kMailbox, m.name, 50);
    if (!recent.ok()) return recent.status();
    for (const store::IngestRun& r : *recent) {
      if (r.finished_at && !r.failed()) {
        h.last_success = *r.finished_at;
        break;
      }
    }
    out.push_back(std::move(h));
  }
  return out;
}

std::string DashboardBase(const Config& config) {
  if (!config.alerts.dashboard_url.empty()) return config.alerts.dashboard_url;
  if (!config.web.public_url.empty()) return config.web.public_url;
  std::string listen = config.web.listen;
  if (listen.empty()) return {};
  const std::string scheme = config.web.tls_cert.empty() ? "http://" : "https://";
  // A wildcard address is no place to point a browser at: the machine's name is.
  for (const std::string wildcard : {"0.0.0.0:", "[::]:"}) {
    if (listen.rfind(wildcard, 0) == 0) {
      listen = Poco::Environment::nodeName() + ":" + listen.substr(wildcard.size());
    }
  }
  return scheme + listen;
}

alerts::AlertsOptions AlertsOptionsFrom(const Config& config) {
  const AlertsConfig& a = config.alerts;
  alerts::AlertsOptions o;
  o.recipients = a.recipients;
  o.from = a.smtp.from;
  o.dashboard_url = DashboardBase(config);
  o.digest = a.digest == "daily"    ? alerts::Digest::kDaily
             : a.digest == "weekly" ? alerts::Digest::kWeekly
                                    : alerts::Digest::kNone;
  o.domains = config.domains;
  o.pass_rate_below = a.pass_rate_below;
  o.min_messages = a.min_messages;
  o.window = a.window;
  o.unknown_failures_per_day = a.unknown_failures_per_day;
  o.reporter_silence = a.reporter_silence;
  o.ingest_failure_streak = a.ingest_failure_streak;
  o.renotify = a.renotify;
  o.worsen_step = a.worsen_step;
  o.resolve_after = a.resolve_after;
  return o;
}

alerts::OutboxOptions OutboxOptionsFrom(const Config& config) {
  alerts::OutboxOptions o;
  o.retry_max = config.alerts.retry_max;
  // A claimed message is left alone for as long as a whole session may
  // take: every step of it can use the full timeout.
  o.lease = std::max<std::int64_t>(600, config.alerts.smtp.timeout * 10);
  return o;
}

Result<alerts::SmtpOptions> SmtpOptionsFrom(const Config& config) {
  const SmtpConfig& s = config.alerts.smtp;
  alerts::SmtpOptions o;
  o.host = s.host;
  o.port = s.port;
  o.tls = s.tls == "implicit" ? alerts::SmtpTls::kImplicit
          : s.tls == "none"   ? alerts::SmtpTls::kNone
                              : alerts::SmtpTls::kStartTls;
  o.ca_file = s.ca_file;
  o.username = s.username;
  o.from = s.from;
  o.timeout = s.timeout > 0 ? s.timeout : 30;
  if (!s.username.empty()) {
    auto password = ReadSecretFile(s.password_file);
    if (!password.ok()) return password.status();
    o.password = std::move(*password);
  }
  return o;
}

Result<std::unique_ptr<AlertsService>> AlertsService::Create(const Config& config,
                                                             store::Store& store,
                                                             AnalysisService& analysis) {
  std::unique_ptr<AlertsService> service(new AlertsService(config, store));
  auto engine = alerts::AlertEngine::Create(
      AlertsOptionsFrom(config), analysis.analyzer().config(), analysis.analyzer().catalog(),
      analysis.rollups(), analysis.resolver(), service->state_);
  if (!engine.ok()) return engine.status();
  service->engine_ = std::move(*engine);
  return service;
}

Result<alerts::Outbox*> AlertsService::outbox() {
  if (outbox_) return outbox_.get();
  if (config_.alerts.smtp.host.empty() || config_.alerts.smtp.from.empty()) {
    return Status(StatusCode::kFailedPrecondition, "smtp_not_configured",
                  "alerts.smtp.host and alerts.smtp.from are needed to send mail");
  }
  auto options = SmtpOptionsFrom(config_);
  if (!options.ok()) return options.status();
  auto transport = alerts::MakeSmtpTransport(*options);
  if (!transport.ok()) return transport.status();
  auto outbox = alerts::Outbox::Create(OutboxOptionsFrom(config_), config_.alerts.smtp.from,
                                       state_, std::move(*transport));
  if (!outbox.ok()) return outbox.status();
  outbox_ = std::move(*outbox);
  return outbox_.get();
}

}  // namespace dmarcwatch::app
