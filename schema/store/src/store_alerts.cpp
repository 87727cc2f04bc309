// Store: alert incidents, the alert outbox and alert marks (alerts.h).

#include "dmarcwatch/store/alerts.h"

#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>

#include <algorithm>
#include <limits>

#include "store_impl.h"

namespace dmarcwatch::store {
namespace {

// alert_incidents, without id.
struct IncidentData {
  std::string rule;
  std::string domain;
  std::string subject;
  std::string state;
  std::string severity;
  std::string title;
  double value = 0;
  std::int64_t opened_at = 0;
  std::int64_t first_seen = 0;
  std::int64_t last_seen = 0;
  NullableInt clear_since;
  NullableInt resolved_at;
  std::int64_t acknowledged = 0;
  NullableInt acknowledged_at;
  NullableInt last_notified_at;
  double notified_value = 0;
  std::string notified_severity;
  std::int64_t notifications = 0;
  std::string evaluation;

  static constexpr std::array<std::string_view, 19> kColumns = {
      "rule",           "domain",           "subject",        "state",
      "severity",       "title",            "value",          "opened_at",
      "first_seen",     "last_seen",        "clear_since",    "resolved_at",
      "acknowledged",   "acknowledged_at",  "last_notified_at", "notified_value",
      "notified_severity", "notifications", "evaluation"};
  template <typename Self>
  static auto Fields(Self& r) {
    return std::tie(r.rule, r.domain, r.subject, r.state, r.severity, r.title, r.value,
                    r.opened_at, r.first_seen, r.last_seen, r.clear_since, r.resolved_at,
                    r.acknowledged, r.acknowledged_at, r.last_notified_at, r.notified_value,
                    r.notified_severity, r.notifications, r.evaluation);
  }
};

// alert_outbox, without id.
struct MessageData {
  std::string message_id;
  std::string kind;
  NullableInt incident_id;
  std::string notice;
  std::string recipient;
  std::string subject;
  std::string body_text;
  std::string body_html;
  std::string state;
  std::int64_t attempts = 0;
  std::int64_t next_attempt_at = 0;
  std::int64_t locked_until = 0;
  NullableText last_error;
  NullableInt last_attempt_at;
  std::int64_t created_at = 0;
  NullableInt sent_at;

  static constexpr std::array<std::string_view, 16> kColumns = {
      "message_id", "kind",     "incident_id", "notice",          "recipient",    "subject",
      "body_text",  "body_html", "state",      "attempts",        "next_attempt_at",
      "locked_until", "last_error", "last_attempt_at", "created_at", "sent_at"};
  template <typename Self>
  static auto Fields(Self& r) {
    return std::tie(r.message_id, r.kind, r.incident_id, r.notice, r.recipient, r.subject,
                    r.body_text, r.body_html, r.state, r.attempts, r.next_attempt_at,
                    r.locked_until, r.last_error, r.last_attempt_at, r.created_at, r.sent_at);
  }
};

}  // namespace
}  // namespace dmarcwatch::store

namespace Poco::Data {
template <>
class TypeHandler<dmarcwatch::store::IncidentData>
    : public RowTypeHandler<dmarcwatch::store::IncidentData> {};
template <>
class TypeHandler<dmarcwatch::store::MessageData>
    : public RowTypeHandler<dmarcwatch::store::MessageData> {};
}  // namespace Poco::Data

namespace dmarcwatch::store {
namespace {

template <typename Row>
std::string Columns() {
  std::string out;
  for (std::string_view c : Row::kColumns) {
    if (!out.empty()) out += ", ";
    out += c;
  }
  return out;
}

template <typename Row>
std::string Placeholders() {
  std::string out;
  for (std::size_t k = 0; k < Row::kColumns.size(); ++k) out += k == 0 ? "?" : ", ?";
  return out;
}

template <typename Row>
std::string Assignments() {
  std::string out;
  for (std::string_view c : Row::kColumns) {
    if (!out.empty()) out += ", ";
    out += std::string(c) + " = ?";
  }
  return out;
}

NullableInt ToNullable(const std::optional<std::int64_t>& v) {
  return v ? NullableInt(*v) : NullableInt();
}
std::optional<std::int64_t> FromNullable(const NullableInt& v) {
  return v.isNull() ? std::nullopt : std::optional<std::int64_t>(v.value());
}

IncidentData ToData(const AlertIncidentRow& r) {
  IncidentData d;
  d.rule = r.rule;
  d.domain = r.domain;
  d.subject = r.subject;
  d.state = r.state;
  d.severity = r.severity;
  d.title = r.title;
  d.value = r.value;
  d.opened_at = r.opened_at;
  d.first_seen = r.first_seen;
  d.last_seen = r.last_seen;
  d.clear_since = ToNullable(r.clear_since);
  d.resolved_at = ToNullable(r.resolved_at);
  d.acknowledged = r.acknowledged ? 1 : 0;
  d.acknowledged_at = ToNullable(r.acknowledged_at);
  d.last_notified_at = ToNullable(r.last_notified_at);
  d.notified_value = r.notified_value;
  d.notified_severity = r.notified_severity;
  d.notifications = r.notifications;
  d.evaluation = r.evaluation;
  return d;
}

AlertIncidentRow FromData(std::int64_t id, const IncidentData& d) {
  AlertIncidentRow r;
  r.id = id;
  r.rule = d.rule;
  r.domain = d.domain;
  r.subject = d.subject;
  r.state = d.state;
  r.severity = d.severity;
  r.title = d.title;
  r.value = d.value;
  r.opened_at = d.opened_at;
  r.first_seen = d.first_seen;
  r.last_seen = d.last_seen;
  r.clear_since = FromNullable(d.clear_since);
  r.resolved_at = FromNullable(d.resolved_at);
  r.acknowledged = d.acknowledged != 0;
  r.acknowledged_at = FromNullable(d.acknowledged_at);
  r.last_notified_at = FromNullable(d.last_notified_at);
  r.notified_value = d.notified_value;
  r.notified_severity = d.notified_severity;
  r.notifications = d.notifications;
  r.evaluation = d.evaluation;
  return r;
}

AlertMessageRow FromData(std::int64_t id, const MessageData& d) {
  AlertMessageRow r;
  r.id = id;
  r.message_id = d.message_id;
  r.kind = d.kind;
  r.incident_id = FromNullable(d.incident_id);
  r.notice = d.notice;
  r.recipient = d.recipient;
  r.subject = d.subject;
  r.body_text = d.body_text;
  r.body_html = d.body_html;
  r.state = d.state;
  r.attempts = d.attempts;
  r.next_attempt_at = d.next_attempt_at;
  r.last_error = d.last_error.isNull() ? std::string() : d.last_error.value();
  r.last_attempt_at = FromNullable(d.last_attempt_at);
  r.created_at = d.created_at;
  r.sent_at = FromNullable(d.sent_at);
  return r;
}

using Impl = internal::Access::Impl;

// Incidents matching `where` (with its one bound value, if any), newest first.
std::vector<AlertIncidentRow> SelectIncidents(Impl& i, const std::string& where,
                                              std::optional<std::int64_t> id,
                                              std::uint32_t limit) {
  std::vector<std::int64_t> ids;
  std::vector<IncidentData> rows;
  Poco::Data::Statement st(i.session);
  std::int64_t lim = limit;
  st << i.dialect.Sql("SELECT id, " + Columns<IncidentData>() + " FROM alert_incidents " + where +
                      " ORDER BY id DESC LIMIT ?"),
      into(ids), into(rows);
  if (id) st.addBind(bind(*id));
  st.addBind(bind(lim));
  st.execute();
  std::vector<AlertIncidentRow> out;
  for (std::size_t k = 0; k < ids.size() && k < rows.size(); ++k) {
    out.push_back(FromData(ids[k], rows[k]));
  }
  return out;
}

std::vector<AlertMessageRow> SelectMessages(Impl& i, const std::string& where,
                                            const std::vector<std::int64_t>& bound_ids,
                                            const std::string& order, std::uint32_t limit) {
  std::vector<std::int64_t> ids;
  std::vector<MessageData> rows;
  Poco::Data::Statement st(i.session);
  std::int64_t lim = limit;
  st << i.dialect.Sql("SELECT id, " + Columns<MessageData>() + " FROM alert_outbox " + where +
                      " ORDER BY " + order + " LIMIT ?"),
      into(ids), into(rows);
  for (const std::int64_t& b : bound_ids) st.addBind(bind(b));
  st.addBind(bind(lim));
  st.execute();
  std::vector<AlertMessageRow> out;
  for (std::size_t k = 0; k < ids.size() && k < rows.size(); ++k) {
    out.push_back(FromData(ids[k], rows[k]));
  }
  return out;
}

std::optional<std::int64_t> SelectMark(Impl& i, const std::string& name, const std::string& scope) {
  std::vector<std::int64_t> values;
  std::string n = name, s = scope;
  i.session << i.dialect.Sql("SELECT value FROM alert_marks WHERE name = ? AND scope = ?"),
      into(values), use(n), use(s), now;
  if (values.empty()) return std::nullopt;
  return values.front();
}

}  // namespace

struct AlertTransaction::State {
  explicit State(Impl& impl) : i(impl) {}
  Impl& i;
  std::unique_ptr<Impl::WriteTransaction> tx;
  Status failure;

  // Runs one operation of the transaction; the first failure sticks.
  template <typename Fn>
  auto Do(const char* op, Fn&& fn) -> decltype(fn()) {
    if (!failure.ok()) return failure;
    auto result = i.Run(op, std::forward<Fn>(fn));
    if constexpr (std::is_same_v<decltype(result), Status>) {
      if (!result.ok()) failure = result;
    } else {
      if (!result.ok()) failure = result.status();
    }
    return result;
  }
};

AlertTransaction::AlertTransaction(std::unique_ptr<State> state) : state_(std::move(state)) {}

AlertTransaction::~AlertTransaction() = default;  // the WriteTransaction rolls back

Result<std::unique_ptr<AlertTransaction>> BeginAlertTransaction(Store& store) {
  Impl& i = internal::Access::Of(store);
  auto state = std::make_unique<AlertTransaction::State>(i);
  Status begun = i.Run("begin_alerts", [&]() -> Status {
    state->tx = std::make_unique<Impl::WriteTransaction>(i);
    return Status::Ok();
  });
  if (!begun.ok()) return begun;
  return std::unique_ptr<AlertTransaction>(new AlertTransaction(std::move(state)));
}

Result<std::vector<AlertIncidentRow>> AlertTransaction::OpenIncidents() {
  return state_->Do("open_incidents", [&]() -> Result<std::vector<AlertIncidentRow>> {
    return SelectIncidents(state_->i, "WHERE state = 'open'", std::nullopt,
                           std::numeric_limits<std::uint32_t>::max());
  });
}

Result<std::int64_t> AlertTransaction::InsertIncident(const AlertIncidentRow& row) {
  Impl& i = state_->i;
  return state_->Do("insert_incident", [&]() -> Result<std::int64_t> {
    std::int64_t existing = 0;
    std::string rule = row.rule, domain = row.domain, subject = row.subject;
    i.session << i.dialect.Sql(
        "SELECT COUNT(*) FROM alert_incidents WHERE state = 'open' AND rule = ? AND domain = ? "
        "AND subject = ?"),
        into(existing), use(rule), use(domain), use(subject), now;
    if (existing != 0 && row.state == "open") {
      return Status(StatusCode::kAlreadyExists, "incident_open",
                    "an open incident exists for " + model::Printable(rule + " " + domain + " " +
                                                                      subject));
    }
    IncidentData data = ToData(row);
    std::int64_t id = 0;
    Poco::Data::Statement st(i.session);
    st << i.dialect.Sql("INSERT INTO alert_incidents (" + Columns<IncidentData>() +
                        ") VALUES (" + Placeholders<IncidentData>() + ")" +
                        i.dialect.ReturningId()),
        use(data);
    if (i.dialect.insert_returning) st.addExtract(into(id));
    st.execute();
    if (!i.dialect.insert_returning) {
      i.session << i.dialect.last_insert_id_query, into(id), now;
    }
    return id;
  });
}

Status AlertTransaction::UpdateIncident(const AlertIncidentRow& row) {
  Impl& i = state_->i;
  return state_->Do("update_incident", [&]() -> Status {
    IncidentData data = ToData(row);
    std::int64_t id = row.id;
    Poco::Data::Statement st(i.session);
    st << i.dialect.Sql("UPDATE alert_incidents SET " + Assignments<IncidentData>() +
                        " WHERE id = ?"),
        use(data), use(id);
    if (st.execute() == 0) return Status::NotFound("no incident " + std::to_string(row.id));
    return Status::Ok();
  });
}

Status AlertTransaction::Enqueue(const AlertMessageRow& row) {
  Impl& i = state_->i;
  return state_->Do("enqueue_alert", [&]() -> Status {
    MessageData d;
    d.message_id = row.message_id;
    d.kind = row.kind;
    d.incident_id = ToNullable(row.incident_id);
    d.notice = row.notice;
    d.recipient = row.recipient;
    d.subject = row.subject;
    d.body_text = row.body_text;
    d.body_html = row.body_html;
    d.state = "queued";
    d.attempts = 0;
    d.next_attempt_at = row.next_attempt_at;
    d.locked_until = 0;
    d.created_at = row.created_at;
    i.session << i.dialect.Sql("INSERT INTO alert_outbox (" + Columns<MessageData>() +
                               ") VALUES (" + Placeholders<MessageData>() + ")"),
        use(d), now;
    return Status::Ok();
  });
}

Result<std::optional<std::int64_t>> AlertTransaction::GetMark(const std::string& name,
                                                              const std::string& scope) {
  return state_->Do("get_alert_mark", [&]() -> Result<std::optional<std::int64_t>> {
    return SelectMark(state_->i, name, scope);
  });
}

Status AlertTransaction::SetMark(const std::string& name, const std::string& scope,
                                 std::int64_t value) {
  Impl& i = state_->i;
  return state_->Do("set_alert_mark", [&]() -> Status {
    std::string n = name, s = scope;
    std::int64_t v = value;
    i.session << i.dialect.Sql("INSERT INTO alert_marks (name, scope, value) VALUES (?, ?, ?)" +
                               i.dialect.OnConflictUpdate("name, scope", "value = excluded.value")),
        use(n), use(s), use(v), now;
    return Status::Ok();
  });
}

Status AlertTransaction::Commit() {
  if (!state_->failure.ok()) return state_->failure;
  if (!state_->tx) return Status(StatusCode::kFailedPrecondition, "not_open", "no transaction");
  Status done = state_->i.Run("commit_alerts", [&]() -> Status {
    state_->tx->Commit();
    return Status::Ok();
  });
  if (done.ok()) state_->tx.reset();
  return done;
}

Result<std::vector<AlertIncidentRow>> ListAlertIncidents(Store& store, bool include_resolved,
                                                         std::uint32_t limit) {
  Impl& i = internal::Access::Of(store);
  return i.Run("list_incidents", [&]() -> Result<std::vector<AlertIncidentRow>> {
    return SelectIncidents(i, include_resolved ? "" : "WHERE state = 'open'", std::nullopt, limit);
  });
}

Result<OpenIncidentCounts> CountOpenAlertIncidents(Store& store) {
  Impl& i = internal::Access::Of(store);
  return i.Run("count_incidents", [&]() -> Result<OpenIncidentCounts> {
    std::int64_t open = 0, unacknowledged = 0;
    i.session << "SELECT (SELECT COUNT(*) FROM alert_incidents WHERE state = 'open'),"
                 " (SELECT COUNT(*) FROM alert_incidents WHERE state = 'open'"
                 " AND acknowledged = 0)",
        into(open), into(unacknowledged), now;
    OpenIncidentCounts c;
    c.open = static_cast<std::uint64_t>(std::max<std::int64_t>(open, 0));
    c.unacknowledged = static_cast<std::uint64_t>(std::max<std::int64_t>(unacknowledged, 0));
    return c;
  });
}

Result<std::optional<AlertIncidentRow>> GetAlertIncident(Store& store, std::int64_t id) {
  Impl& i = internal::Access::Of(store);
  return i.Run("get_incident", [&]() -> Result<std::optional<AlertIncidentRow>> {
    std::vector<AlertIncidentRow> rows = SelectIncidents(i, "WHERE id = ?", id, 1);
    if (rows.empty()) return std::optional<AlertIncidentRow>();
    return std::optional<AlertIncidentRow>(std::move(rows.front()));
  });
}

Result<std::optional<std::int64_t>> GetAlertMark(Store& store, const std::string& name,
                                                 const std::string& scope) {
  Impl& i = internal::Access::Of(store);
  return i.Run("get_alert_mark", [&]() -> Result<std::optional<std::int64_t>> {
    return SelectMark(i, name, scope);
  });
}

Status AcknowledgeAlertIncident(Store& store, std::int64_t id, model::UnixTime at) {
  Impl& i = internal::Access::Of(store);
  return i.Run("ack_incident", [&]() -> Status {
    std::vector<std::string> states;
    std::int64_t key = id;
    i.session << i.dialect.Sql("SELECT state FROM alert_incidents WHERE id = ?"), into(states),
        use(key), now;
    if (states.empty()) return Status::NotFound("no incident " + std::to_string(id));
    if (states.front() != "open") {
      return Status(StatusCode::kFailedPrecondition, "incident_resolved",
                    "incident " + std::to_string(id) + " is resolved");
    }
    std::int64_t when = at;
    i.session << i.dialect.Sql(
        "UPDATE alert_incidents SET acknowledged = 1, acknowledged_at = ? "
        "WHERE id = ? AND acknowledged = 0"),
        use(when), use(key), now;
    return Status::Ok();
  });
}

Result<std::vector<AlertMessageRow>> ClaimAlertMessages(Store& store, model::UnixTime at,
                                                        model::UnixTime lease_until,
                                                        bool ignore_backoff, std::uint32_t limit) {
  Impl& i = internal::Access::Of(store);
  return i.Run("claim_alerts", [&]() -> Result<std::vector<AlertMessageRow>> {
    Impl::WriteTransaction tx(i);
    std::int64_t when = at, until = lease_until, lim = limit;
    std::vector<std::int64_t> candidates;
    Poco::Data::Statement pick(i.session);
    pick << i.dialect.Sql(std::string("SELECT id FROM alert_outbox WHERE state = 'queued' AND "
                                      "locked_until <= ?") +
                          (ignore_backoff ? "" : " AND next_attempt_at <= ?") +
                          " ORDER BY next_attempt_at, id LIMIT ?"),
        into(candidates), bind(when);
    if (!ignore_backoff) pick.addBind(bind(when));
    pick.addBind(bind(lim));
    pick.execute();
    std::vector<std::int64_t> claimed;
    for (std::int64_t id : candidates) {
      std::int64_t key = id;
      Poco::Data::Statement lock(i.session);
      // The same condition again: on PostgreSQL a concurrent claim that
      // committed first makes this update match nothing.
      lock << i.dialect.Sql(
          "UPDATE alert_outbox SET locked_until = ? WHERE id = ? AND state = 'queued' AND "
          "locked_until <= ?"),
          use(until), use(key), use(when);
      if (lock.execute() == 1) claimed.push_back(id);
    }
    tx.Commit();
    std::vector<AlertMessageRow> out;
    for (std::int64_t id : claimed) {
      std::vector<AlertMessageRow> rows = SelectMessages(i, "WHERE id = ?", {id}, "id", 1);
      for (AlertMessageRow& r : rows) out.push_back(std::move(r));
    }
    return out;
  });
}

Status MarkAlertMessageSent(Store& store, std::int64_t id, model::UnixTime at) {
  Impl& i = internal::Access::Of(store);
  return i.Run("mark_alert_sent", [&]() -> Status {
    std::int64_t key = id, when = at;
    i.session << i.dialect.Sql(
        "UPDATE alert_outbox SET state = 'sent', sent_at = ?, last_attempt_at = ?, "
        "locked_until = 0 WHERE id = ?"),
        use(when), use(when), use(key), now;
    return Status::Ok();
  });
}

Status MarkAlertMessageRetry(Store& store, std::int64_t id, std::int64_t attempts,
                             model::UnixTime next_attempt_at, const std::string& error,
                             model::UnixTime at) {
  Impl& i = internal::Access::Of(store);
  return i.Run("mark_alert_retry", [&]() -> Status {
    std::int64_t key = id, tries = attempts, next = next_attempt_at, when = at;
    std::string why = model::Printable(error, 1000);
    i.session << i.dialect.Sql(
        "UPDATE alert_outbox SET attempts = ?, next_attempt_at = ?, last_error = ?, "
        "last_attempt_at = ?, locked_until = 0 WHERE id = ? AND state = 'queued'"),
        use(tries), use(next), use(why), use(when), use(key), now;
    return Status::Ok();
  });
}

Status MarkAlertMessageFailed(Store& store, std::int64_t id, std::int64_t attempts,
                              const std::string& error, model::UnixTime at) {
  Impl& i = internal::Access::Of(store);
  return i.Run("mark_alert_failed", [&]() -> Status {
    std::int64_t key = id, tries = attempts, when = at;
    std::string why = model::Printable(error, 1000);
    i.session << i.dialect.Sql(
        "UPDATE alert_outbox SET state = 'failed', attempts = ?, last_error = ?, "
        "last_attempt_at = ?, locked_until = 0 WHERE id = ? AND state = 'queued'"),
        use(tries), use(why), use(when), use(key), now;
    return Status::Ok();
  });
}

Result<AlertOutboxSummary> GetAlertOutboxSummary(Store& store) {
  Impl& i = internal::Access::Of(store);
  return i.Run("alert_outbox_summary", [&]() -> Result<AlertOutboxSummary> {
    AlertOutboxSummary s;
    std::vector<std::string> states;
    std::vector<std::int64_t> counts, oldest, next, last_sent;
    i.session << "SELECT state, COUNT(*), MIN(created_at), MIN(next_attempt_at), "
                 "COALESCE(MAX(sent_at), -1) FROM alert_outbox GROUP BY state",
        into(states), into(counts), into(oldest), into(next), into(last_sent), now;
    for (std::size_t k = 0; k < states.size(); ++k) {
      const std::uint64_t n = counts[k] < 0 ? 0 : static_cast<std::uint64_t>(counts[k]);
      if (states[k] == "queued") {
        s.queued = n;
        s.oldest_queued_at = oldest[k];
        s.next_attempt_at = next[k];
      } else if (states[k] == "sent") {
        s.sent = n;
        if (last_sent[k] >= 0) s.last_sent_at = last_sent[k];
      } else if (states[k] == "failed") {
        s.failed = n;
      }
    }
    std::vector<std::string> errors;
    std::vector<std::int64_t> when;
    i.session << "SELECT last_error, COALESCE(last_attempt_at, created_at) FROM alert_outbox "
                 "WHERE last_error IS NOT NULL AND state <> 'sent' "
                 "ORDER BY COALESCE(last_attempt_at, created_at) DESC, id DESC LIMIT 1",
        into(errors), into(when), now;
    if (!errors.empty()) {
      s.last_error = errors.front();
      s.last_error_at = when.front();
    }
    return s;
  });
}

Result<std::vector<AlertMessageRow>> ListAlertMessages(Store& store, std::uint32_t limit) {
  Impl& i = internal::Access::Of(store);
  return i.Run("list_alert_messages", [&]() -> Result<std::vector<AlertMessageRow>> {
    return SelectMessages(i, "", {}, "id DESC", limit);
  });
}

}  // namespace dmarcwatch::store
