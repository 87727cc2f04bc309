#pragma once
// Dashboard sessions in the store (0005_sessions.sql): the web server
// keeps no session state of its own, so any number of processes can serve
// the dashboard from one database. Only a hash of the session token is
// stored; a stolen database does not hand out sessions.

#include <optional>
#include <string>

#include "dmarcwatch/model/report.h"
#include "dmarcwatch/model/status.h"
#include "dmarcwatch/store/store.h"

namespace dmarcwatch::store {

struct SessionRecord {
  std::string user;        // "" for the anonymous loopback session
  std::string csrf_token;
  model::UnixTime created_at = 0;
  model::UnixTime expires_at = 0;
};

Status PutSession(Store& store, const std::string& token_hash, const SessionRecord& session);
// The session, if it exists and has not expired at `now`.
Result<std::optional<SessionRecord>> GetSession(Store& store, const std::string& token_hash,
                                                model::UnixTime now);
Status DeleteSession(Store& store, const std::string& token_hash);
// Removes expired sessions.
Status PurgeSessions(Store& store, model::UnixTime now);

}  // namespace dmarcwatch::store
