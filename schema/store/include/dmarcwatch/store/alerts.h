#pragma once
// Alert state in the store (0004_alerts.sql): incidents, the outbox of
// alert emails, and marks. The rows are the store's own types (the store
// knows nothing of the alerts module); app/alerts_wiring.cpp converts them.
//
//   - AlertTransaction is one evaluation's unit of work: its incident
//     changes, the messages they notify with and its marks are committed
//     together or not at all (destroying it uncommitted rolls back). On
//     SQLite it holds the write lock from BeginAlertTransaction() to
//     Commit(), so keep it short: read the rollups before beginning.
//   - One open incident per (rule, domain, subject): a unique index, so a
//     second insert fails with kAlreadyExists.
//   - Claiming outbox messages is atomic: a claimed message is leased
//     (locked_until) and no other deliverer claims it until the lease ends
//     or the message is marked.
//
// Times are Unix seconds. Nothing here throws.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dmarcwatch/model/report.h"
#include "dmarcwatch/model/status.h"
#include "dmarcwatch/store/store.h"

namespace dmarcwatch::store {

struct AlertIncidentRow {
  std::int64_t id = 0;
  std::string rule;
  std::string domain;
  std::string subject;
  std::string state;  // "open", "resolved"
  std::string severity;
  std::string title;
  double value = 0;
  model::UnixTime opened_at = 0;
  model::UnixTime first_seen = 0;
  model::UnixTime last_seen = 0;
  std::optional<model::UnixTime> clear_since;
  std::optional<model::UnixTime> resolved_at;
  bool acknowledged = false;
  std::optional<model::UnixTime> acknowledged_at;
  std::optional<model::UnixTime> last_notified_at;
  double notified_value = 0;
  std::string notified_severity;
  std::int64_t notifications = 0;
  std::string evaluation;  // JSON
};

struct AlertMessageRow {
  std::int64_t id = 0;
  std::string message_id;
  std::string kind;
  std::optional<std::int64_t> incident_id;
  std::string notice;
  std::string recipient;
  std::string subject;
  std::string body_text;
  std::string body_html;
  std::string state;  // "queued", "sent", "failed"
  std::int64_t attempts = 0;
  model::UnixTime next_attempt_at = 0;
  std::string last_error;  // "" when none
  std::optional<model::UnixTime> last_attempt_at;
  model::UnixTime created_at = 0;
  std::optional<model::UnixTime> sent_at;
};

struct AlertOutboxSummary {
  std::uint64_t queued = 0;
  std::uint64_t sent = 0;
  std::uint64_t failed = 0;
  std::optional<model::UnixTime> oldest_queued_at;
  std::optional<model::UnixTime> next_attempt_at;
  std::optional<model::UnixTime> last_sent_at;
  std::string last_error;  // of a message not sent; "" when none
  std::optional<model::UnixTime> last_error_at;
};

class AlertTransaction {
 public:
  ~AlertTransaction();
  AlertTransaction(const AlertTransaction&) = delete;
  AlertTransaction& operator=(const AlertTransaction&) = delete;

  Result<std::vector<AlertIncidentRow>> OpenIncidents();
  // The new row's id; kAlreadyExists when an open incident has the key.
  Result<std::int64_t> InsertIncident(const AlertIncidentRow& row);
  Status UpdateIncident(const AlertIncidentRow& row);
  // Queues a message: state, attempts and the lease are set here.
  Status Enqueue(const AlertMessageRow& row);
  Result<std::optional<std::int64_t>> GetMark(const std::string& name, const std::string& scope);
  Status SetMark(const std::string& name, const std::string& scope, std::int64_t value);
  // After a failed operation the transaction can only be rolled back:
  // Commit() then returns that failure.
  Status Commit();

 private:
  friend Result<std::unique_ptr<AlertTransaction>> BeginAlertTransaction(Store& store);
  struct State;
  explicit AlertTransaction(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// kUnavailable when another writer holds the database longer than the
// busy timeout.
Result<std::unique_ptr<AlertTransaction>> BeginAlertTransaction(Store& store);

struct OpenIncidentCounts {
  std::uint64_t open = 0;
  std::uint64_t unacknowledged = 0;  // of those open
};
// Counted by the database, however many there are.
Result<OpenIncidentCounts> CountOpenAlertIncidents(Store& store);

// Newest first.
Result<std::vector<AlertIncidentRow>> ListAlertIncidents(Store& store, bool include_resolved,
                                                         std::uint32_t limit);
Result<std::optional<AlertIncidentRow>> GetAlertIncident(Store& store, std::int64_t id);
Result<std::optional<std::int64_t>> GetAlertMark(Store& store, const std::string& name,
                                                 const std::string& scope);
// kNotFound: no such incident; kFailedPrecondition: it is resolved.
Status AcknowledgeAlertIncident(Store& store, std::int64_t id, model::UnixTime at);

// Claims queued messages (see the top of this file), oldest first.
Result<std::vector<AlertMessageRow>> ClaimAlertMessages(Store& store, model::UnixTime at,
                                                        model::UnixTime lease_until,
                                                        bool ignore_backoff, std::uint32_t limit);
Status MarkAlertMessageSent(Store& store, std::int64_t id, model::UnixTime at);
Status MarkAlertMessageRetry(Store& store, std::int64_t id, std::int64_t attempts,
                             model::UnixTime next_attempt_at, const std::string& error,
                             model::UnixTime at);
Status MarkAlertMessageFailed(Store& store, std::int64_t id, std::int64_t attempts,
                              const std::string& error, model::UnixTime at);
Result<AlertOutboxSummary> GetAlertOutboxSummary(Store& store);
// Newest first.
Result<std::vector<AlertMessageRow>> ListAlertMessages(Store& store, std::uint32_t limit);

}  // namespace dmarcwatch::store
