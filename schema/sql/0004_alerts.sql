-- 0004: alerts. Incidents opened by the alert rules, the outbox of alert
-- emails, and small marks (the last evaluation of each domain, the last
-- digest period sent to each recipient). docs/alerts.md describes the life
-- cycle; one evaluation writes its incident changes, the messages they
-- notify with and its marks in one transaction.

-- One incident per (rule, domain, subject) while it is open; a condition
-- that fires again after resolution opens a new row.
CREATE TABLE alert_incidents (
  id {{ID}},
  rule TEXT NOT NULL,                   -- pass_rate, undeclared_provider, unknown_failures, ...
  domain TEXT NOT NULL,                 -- '' for incidents about no domain (a mailbox)
  subject TEXT NOT NULL,                -- path key (path:SendGrid, unknown), mailbox name, or ''
  state TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
  severity TEXT NOT NULL,               -- critical, warning, info
  title TEXT NOT NULL,
  value DOUBLE PRECISION NOT NULL,      -- the rule's measure at the last evaluation
  opened_at BIGINT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  clear_since BIGINT,                   -- observed clear since; NULL while it fires
  resolved_at BIGINT,
  acknowledged BIGINT NOT NULL,         -- 0 or 1
  acknowledged_at BIGINT,
  last_notified_at BIGINT,
  notified_value DOUBLE PRECISION NOT NULL,  -- the measure the last notification reported
  notified_severity TEXT NOT NULL,
  notifications BIGINT NOT NULL,
  evaluation TEXT NOT NULL              -- JSON: the last observation while it fired
);
CREATE UNIQUE INDEX alert_incidents_open ON alert_incidents (rule, domain, subject)
  WHERE state = 'open';
CREATE INDEX alert_incidents_state ON alert_incidents (state, id);

-- One email to one recipient. A message is marked sent only after the
-- server accepted its data; locked_until leases it to one deliverer.
CREATE TABLE alert_outbox (
  id {{ID}},
  message_id TEXT NOT NULL UNIQUE,      -- the Message-ID header, the same on every attempt
  kind TEXT NOT NULL,                   -- incident, digest
  incident_id BIGINT REFERENCES alert_incidents (id),
  notice TEXT NOT NULL,                 -- opened, worsened, reminder, resolved, digest
  recipient TEXT NOT NULL,
  subject TEXT NOT NULL,
  body_text TEXT NOT NULL,
  body_html TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
  attempts BIGINT NOT NULL,             -- failed attempts so far
  next_attempt_at BIGINT NOT NULL,
  locked_until BIGINT NOT NULL,         -- claimed by a deliverer until then; 0 when free
  last_error TEXT,
  last_attempt_at BIGINT,
  created_at BIGINT NOT NULL,
  sent_at BIGINT
);
CREATE INDEX alert_outbox_due ON alert_outbox (state, next_attempt_at);

-- Small named values: ('evaluated', domain) = the last day evaluated,
-- ('digest:daily', recipient) = the first day of the last period sent.
CREATE TABLE alert_marks (
  name TEXT NOT NULL,
  scope TEXT NOT NULL,
  value BIGINT NOT NULL,
  PRIMARY KEY (name, scope)
);
