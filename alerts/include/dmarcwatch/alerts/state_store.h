#pragma once
// Where the alerts module keeps its state: incidents, the outbox of alert
// emails, and a few marks (the last evaluation of each domain, the last
// digest sent to each recipient). The module declares these interfaces and
// never includes the store; app/ implements them over the store
// (app/alerts_wiring.h), and MemoryAlertStore (memory_store.h) implements
// them in memory for tests.
//
// Atomicity is the contract that makes a restart neither repeat nor forget
// an alert: one evaluation writes its incident changes, the messages they
// notify with and its marks through one IncidentTransaction, committed
// together or not at all. A message is queued in the same transaction as
// the incident change it reports.
//
// Implementations return Status/Result and never throw.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dmarcwatch/alerts/incident.h"
#include "dmarcwatch/model/status.h"

namespace dmarcwatch::alerts {

enum class OutboxState : std::uint8_t { kQueued, kSent, kFailed };
const char* ToString(OutboxState state);  // "queued", "sent", "failed"

// One email to one recipient. The outbox keeps one row per recipient so
// that a recipient the server refuses, or one delivered before a failure,
// is never mixed up with the others.
struct OutboxMessage {
  std::int64_t id = 0;            // assigned by the store
  std::string message_id;         // "<...@domain>": stable across retries
  std::string kind;               // "incident" or "digest"
  std::optional<std::int64_t> incident_id;
  std::string notice;             // "opened", "worsened", "reminder", "resolved", "digest"
  std::string recipient;
  std::string subject;
  std::string text;               // the text/plain part
  std::string html;               // the text/html part
  OutboxState state = OutboxState::kQueued;
  std::uint32_t attempts = 0;     // failed attempts so far
  model::UnixTime next_attempt_at = 0;
  std::string last_error;
  model::UnixTime created_at = 0;
  std::optional<model::UnixTime> sent_at;
};

// What `dmarcwatch status` shows about the outbox: plain data.
struct OutboxStatus {
  std::uint64_t queued = 0;
  std::uint64_t failed = 0;  // gave up after retry_max, or refused for good
  std::uint64_t sent = 0;
  std::optional<model::UnixTime> oldest_queued_at;
  std::optional<model::UnixTime> next_attempt_at;
  std::optional<model::UnixTime> last_sent_at;
  // The newest error of any message (queued, or failed), and when.
  std::string last_error;
  std::optional<model::UnixTime> last_error_at;
};

// One evaluation's writes. Destroying it without Commit() discards them.
class IncidentTransaction {
 public:
  virtual ~IncidentTransaction() = default;
  // The open incidents, read inside the transaction so that two
  // evaluators cannot both open the same one.
  virtual Result<std::vector<Incident>> OpenIncidents() = 0;
  // Returns the new incident's id. kAlreadyExists when an open incident
  // has the same key.
  virtual Result<std::int64_t> InsertIncident(const Incident& incident) = 0;
  // REQUIRES: incident.id from InsertIncident or OpenIncidents.
  virtual Status UpdateIncident(const Incident& incident) = 0;
  // Queues a message (state queued, attempts 0).
  virtual Status Enqueue(const OutboxMessage& message) = 0;
  virtual Result<std::optional<std::int64_t>> GetMark(const std::string& name,
                                                      const std::string& scope) = 0;
  virtual Status SetMark(const std::string& name, const std::string& scope,
                         std::int64_t value) = 0;
  virtual Status Commit() = 0;
};

class IncidentStore {
 public:
  virtual ~IncidentStore() = default;
  virtual Result<std::unique_ptr<IncidentTransaction>> Begin() = 0;
  // Newest first; resolved ones too when include_resolved.
  virtual Result<std::vector<Incident>> ListIncidents(bool include_resolved,
                                                      std::uint32_t limit) = 0;
  virtual Result<std::optional<Incident>> GetIncident(std::int64_t id) = 0;
  virtual Result<std::optional<std::int64_t>> GetMark(const std::string& name,
                                                      const std::string& scope) = 0;
  // kNotFound for no such incident; kFailedPrecondition when it is
  // resolved. Acknowledging twice is not an error.
  virtual Status Acknowledge(std::int64_t id, model::UnixTime now) = 0;
};

class OutboxStore {
 public:
  virtual ~OutboxStore() = default;
  // Claims up to `limit` queued messages, oldest first, that are due
  // (next_attempt_at <= now, or any queued one when ignore_backoff) and not
  // claimed by someone else (their lease ended): each claimed message is
  // leased until lease_until. A claim is atomic, so two deliverers never
  // send the same message at once.
  virtual Result<std::vector<OutboxMessage>> Claim(model::UnixTime now, model::UnixTime lease_until,
                                                   bool ignore_backoff, std::uint32_t limit) = 0;
  virtual Status MarkSent(std::int64_t id, model::UnixTime at) = 0;
  virtual Status MarkRetry(std::int64_t id, std::uint32_t attempts, model::UnixTime next_attempt_at,
                           const std::string& error, model::UnixTime at) = 0;
  virtual Status MarkFailed(std::int64_t id, std::uint32_t attempts, const std::string& error,
                            model::UnixTime at) = 0;
  virtual Result<OutboxStatus> GetStatus() = 0;
  // Newest first.
  virtual Result<std::vector<OutboxMessage>> ListMessages(std::uint32_t limit) = 0;
};

}  // namespace dmarcwatch::alerts
