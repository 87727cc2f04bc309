#pragma once
// MemoryAlertStore: the alerts module's state (incidents, outbox, marks) in
// memory, for tests and tools. It keeps the same promises as the store the
// application uses: a transaction's writes appear together at Commit() or
// not at all, one open incident per key, and a claimed message is leased.
//
// Two engines over one MemoryAlertStore behave like two processes over
// one database (a restart is a new engine over the same store).
// Not thread-safe.

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dmarcwatch/alerts/state_store.h"

namespace dmarcwatch::alerts {

class MemoryAlertStore : public IncidentStore, public OutboxStore {
 public:
  // IncidentStore
  Result<std::unique_ptr<IncidentTransaction>> Begin() override;
  Result<std::vector<Incident>> ListIncidents(bool include_resolved, std::uint32_t limit) override;
  Result<std::optional<Incident>> GetIncident(std::int64_t id) override;
  Result<std::optional<std::int64_t>> GetMark(const std::string& name,
                                              const std::string& scope) override;
  Status Acknowledge(std::int64_t id, model::UnixTime now) override;

  // OutboxStore
  Result<std::vector<OutboxMessage>> Claim(model::UnixTime now, model::UnixTime lease_until,
                                           bool ignore_backoff, std::uint32_t limit) override;
  Status MarkSent(std::int64_t id, model::UnixTime at) override;
  Status MarkRetry(std::int64_t id, std::uint32_t attempts, model::UnixTime next_attempt_at,
                   const std::string& error, model::UnixTime at) override;
  Status MarkFailed(std::int64_t id, std::uint32_t attempts, const std::string& error,
                    model::UnixTime at) override;
  Result<OutboxStatus> GetStatus() override;
  Result<std::vector<OutboxMessage>> ListMessages(std::uint32_t limit) override;

  // For tests: everything, oldest first.
  const std::vector<Incident>& incidents() const { return state_.incidents; }
  const std::vector<OutboxMessage>& messages() const { return state_.messages; }
  // The next Commit() fails with kUnavailable (a crash before commit).
  void FailNextCommit() { fail_next_commit_ = true; }

  struct State {
    std::vector<Incident> incidents;
    std::vector<OutboxMessage> messages;
    std::map<std::pair<std::string, std::string>, std::int64_t> marks;
    std::map<std::int64_t, model::UnixTime> leases;  // message id -> leased until
    std::int64_t next_incident_id = 1;
    std::int64_t next_message_id = 1;
  };

 private:
  friend class MemoryTransaction;
  OutboxMessage* FindMessage(std::int64_t id);

  State state_;
  bool fail_next_commit_ = false;
};

}  // namespace dmarcwatch::alerts
