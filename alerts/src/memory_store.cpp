// MemoryAlertStore (memory_store.h): a transaction works on a copy of the
// state, which replaces the store's at Commit().

#include "dmarcwatch/alerts/memory_store.h"

#include <algorithm>

namespace dmarcwatch::alerts {

class MemoryTransaction : public IncidentTransaction {
 public:
  explicit MemoryTransaction(MemoryAlertStore& store) : store_(store), state_(store.state_) {}

  Result<std::vector<Incident>> OpenIncidents() override {
    std::vector<Incident> out;
    for (const Incident& i : state_.incidents) {
      if (i.state == IncidentState::kOpen) out.push_back(i);
    }
    return out;
  }

  Result<std::int64_t> InsertIncident(const Incident& incident) override {
    for (const Incident& i : state_.incidents) {
      if (i.state == IncidentState::kOpen && incident.state == IncidentState::kOpen &&
          i.Key() == incident.Key()) {
        return Status(StatusCode::kAlreadyExists, "incident_open",
                      "an open incident has this key: " + i.Key());
      }
    }
    Incident copy = incident;
    copy.id = state_.next_incident_id++;
    state_.incidents.push_back(copy);
    return copy.id;
  }

  Status UpdateIncident(const Incident& incident) override {
    for (Incident& i : state_.incidents) {
      if (i.id == incident.id) {
        i = incident;
        return Status::Ok();
      }
    }
    return Status::NotFound("no incident " + std::to_string(incident.id));
  }

  Status Enqueue(const OutboxMessage& message) override {
    OutboxMessage copy = message;
    copy.id = state_.next_message_id++;
    copy.state = OutboxState::kQueued;
    copy.attempts = 0;
    state_.messages.push_back(copy);
    return Status::Ok();
  }

  Result<std::optional<std::int64_t>> GetMark(const std::string& name,
                                              const std::string& scope) override {
    const auto it = state_.marks.find({name, scope});
    if (it == state_.marks.end()) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(it->second);
  }

  Status SetMark(const std::string& name, const std::string& scope, std::int64_t value) override {
    state_.marks[{name, scope}] = value;
    return Status::Ok();
  }

  Status Commit() override {
    if (store_.fail_next_commit_) {
      store_.fail_next_commit_ = false;
      return Status::Unavailable("commit_failed", "the commit failed (test)");
    }
    store_.state_ = std::move(state_);
    return Status::Ok();
  }

 private:
  MemoryAlertStore& store_;
  MemoryAlertStore::State state_;
};

Result<std::unique_ptr<IncidentTransaction>> MemoryAlertStore::Begin() {
  return std::unique_ptr<IncidentTransaction>(new MemoryTransaction(*this));
}

Result<std::vector<Incident>> MemoryAlertStore::ListIncidents(bool include_resolved,
                                                              std::uint32_t limit) {
  std::vector<Incident> out;
  for (auto it = state_.incidents.rbegin(); it != state_.incidents.rend(); ++it) {
    if (out.size() >= limit) break;
    if (include_resolved || it->state == IncidentState::kOpen) out.push_back(*it);
  }
  return out;
}

Result<std::optional<Incident>> MemoryAlertStore::GetIncident(std::int64_t id) {
  for (const Incident& i : state_.incidents) {
    if (i.id == id) return std::optional<Incident>(i);
  }
  return std::optional<Incident>();
}

Result<std::optional<std::int64_t>> MemoryAlertStore::GetMark(const std::string& name,
                                                              const std::string& scope) {
  const auto it = state_.marks.find({name, scope});
  if (it == state_.marks.end()) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(it->second);
}

Status MemoryAlertStore::Acknowledge(std::int64_t id, model::UnixTime now) {
  for (Incident& i : state_.incidents) {
    if (i.id != id) continue;
    if (i.state != IncidentState::kOpen) {
      return Status(StatusCode::kFailedPrecondition, "incident_resolved",
                    "incident " + std::to_string(id) + " is resolved");
    }
    if (!i.acknowledged) {
      i.acknowledged = true;
      i.acknowledged_at = now;
    }
    return Status::Ok();
  }
  return Status::NotFound("no incident " + std::to_string(id));
}

OutboxMessage* MemoryAlertStore::FindMessage(std::int64_t id) {
  for (OutboxMessage& m : state_.messages) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

Result<std::vector<OutboxMessage>> MemoryAlertStore::Claim(model::UnixTime now,
                                                           model::UnixTime lease_until,
                                                           bool ignore_backoff,
                                                           std::uint32_t limit) {
  std::vector<OutboxMessage> out;
  for (OutboxMessage& m : state_.messages) {
    if (out.size() >= limit) break;
    if (m.state != OutboxState::kQueued) continue;
    if (!ignore_backoff && m.next_attempt_at > now) continue;
    const auto lease = state_.leases.find(m.id);
    if (lease != state_.leases.end() && lease->second > now) continue;
    state_.leases[m.id] = lease_until;
    out.push_back(m);
  }
  return out;
}

Status MemoryAlertStore::MarkSent(std::int64_t id, model::UnixTime at) {
  OutboxMessage* m = FindMessage(id);
  if (m == nullptr) return Status::NotFound("no message " + std::to_string(id));
  m->state = OutboxState::kSent;
  m->sent_at = at;
  state_.leases.erase(id);
  return Status::Ok();
}

Status MemoryAlertStore::MarkRetry(std::int64_t id, std::uint32_t attempts,
                                   model::UnixTime next_attempt_at, const std::string& error,
                                   model::UnixTime /*at*/) {
  OutboxMessage* m = FindMessage(id);
  if (m == nullptr) return Status::NotFound("no message " + std::to_string(id));
  m->attempts = attempts;
  m->next_attempt_at = next_attempt_at;
  m->last_error = error;
  state_.leases.erase(id);
  return Status::Ok();
}

Status MemoryAlertStore::MarkFailed(std::int64_t id, std::uint32_t attempts,
                                    const std::string& error, model::UnixTime /*at*/) {
  OutboxMessage* m = FindMessage(id);
  if (m == nullptr) return Status::NotFound("no message " + std::to_string(id));
  m->state = OutboxState::kFailed;
  m->attempts = attempts;
  m->last_error = error;
  state_.leases.erase(id);
  return Status::Ok();
}

Result<OutboxStatus> MemoryAlertStore::GetStatus() {
  OutboxStatus s;
  for (const OutboxMessage& m : state_.messages) {
    switch (m.state) {
      case OutboxState::kQueued:
        ++s.queued;
        if (!s.oldest_queued_at || m.created_at < *s.oldest_queued_at) {
          s.oldest_queued_at = m.created_at;
        }
        if (!s.next_attempt_at || m.next_attempt_at < *s.next_attempt_at) {
          s.next_attempt_at = m.next_attempt_at;
        }
        break;
      case OutboxState::kSent:
        ++s.sent;
        if (m.sent_at && (!s.last_sent_at || *m.sent_at > *s.last_sent_at)) {
          s.last_sent_at = m.sent_at;
        }
        break;
      case OutboxState::kFailed: ++s.failed; break;
    }
    if (!m.last_error.empty() && m.state != OutboxState::kSent) s.last_error = m.last_error;
  }
  return s;
}

Result<std::vector<OutboxMessage>> MemoryAlertStore::ListMessages(std::uint32_t limit) {
  std::vector<OutboxMessage> out;
  for (auto it = state_.messages.rbegin(); it != state_.messages.rend() && out.size() < limit;
       ++it) {
    out.push_back(*it);
  }
  return out;
}

}  // namespace dmarcwatch::alerts
