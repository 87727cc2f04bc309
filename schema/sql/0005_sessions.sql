-- 0005: dashboard login sessions, kept in the store so that several
-- dmarcwatch processes can serve the dashboard from one database.
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,          -- hex SHA-256 of the cookie value, never the value
  user_name TEXT NOT NULL,              -- '' for the anonymous loopback session
  csrf_token TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
