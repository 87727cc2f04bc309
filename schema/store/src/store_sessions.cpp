#include "dmarcwatch/store/sessions.h"

#include "store_impl.h"

namespace dmarcwatch::store {

Status PutSession(Store& store, const std::string& token_hash, const SessionRecord& s) {
  internal::Access::Impl& i = internal::Access::Of(store);
  return i.Run("put_session", [&]() -> Status {
    std::string hash = token_hash, user = s.user, csrf = s.csrf_token;
    std::int64_t created = s.created_at, expires = s.expires_at;
    i.session << i.dialect.Sql(
        "INSERT INTO sessions (token_hash, user_name, csrf_token, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?)" +
        i.dialect.OnConflictUpdate("token_hash",
                                   "user_name = excluded.user_name, "
                                   "csrf_token = excluded.csrf_token, "
                                   "created_at = excluded.created_at, "
                                   "expires_at = excluded.expires_at")),
        use(hash), use(user), use(csrf), use(created), use(expires), now;
    return Status::Ok();
  });
}

Result<std::optional<SessionRecord>> GetSession(Store& store, const std::string& token_hash,
                                                model::UnixTime now_time) {
  internal::Access::Impl& i = internal::Access::Of(store);
  return i.Run("get_session", [&]() -> Result<std::optional<SessionRecord>> {
    SessionRecord s;
    std::string hash = token_hash;
    std::int64_t at = now_time;
    Poco::Data::Statement st(i.session);
    st << i.dialect.Sql(
        "SELECT user_name, csrf_token, created_at, expires_at FROM sessions "
        "WHERE token_hash = ? AND expires_at > ?"),
        into(s.user), into(s.csrf_token), into(s.created_at), into(s.expires_at), use(hash),
        use(at);
    if (st.execute() == 0) return std::optional<SessionRecord>();
    return std::optional<SessionRecord>(std::move(s));
  });
}

Status DeleteSession(Store& store, const std::string& token_hash) {
  internal::Access::Impl& i = internal::Access::Of(store);
  return i.Run("delete_session", [&]() -> Status {
    std::string hash = token_hash;
    i.session << i.dialect.Sql("DELETE FROM sessions WHERE token_hash = ?"), use(hash), now;
    return Status::Ok();
  });
}

Status PurgeSessions(Store& store, model::UnixTime now_time) {
  internal::Access::Impl& i = internal::Access::Of(store);
  return i.Run("purge_sessions", [&]() -> Status {
    std::int64_t at = now_time;
    i.session << i.dialect.Sql("DELETE FROM sessions WHERE expires_at <= ?"), use(at), now;
    return Status::Ok();
  });
}

}  // namespace dmarcwatch::store
