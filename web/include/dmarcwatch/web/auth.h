#pragma once
// Credentials for the dashboard and the upload API: Argon2id password and
// token hashes (libsodium's crypto_pwhash_str, parameters kept in the hash),
// random tokens, and login rate limiting.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "dmarcwatch/model/report.h"
#include "dmarcwatch/model/status.h"

namespace dmarcwatch::web {

// An Argon2id hash of `secret` ("$argon2id$v=19$m=...,t=...,p=...$salt$hash"),
// with libsodium's interactive limits (about 64 MiB and 0.1 s per check).
Result<std::string> HashSecret(std::string_view secret);
// Constant-time verification; false for a malformed hash.
bool VerifySecret(const std::string& hash, std::string_view secret);
// `bytes` random bytes from the system CSPRNG, as lower-case hex.
std::string RandomToken(std::size_t bytes = 32);
// Lower-case hex SHA-256.
std::string Sha256(std::string_view data);
// Compares without leaking where two strings first differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Counts failed logins per key (a user name, a client address) in a
// sliding window. Thread-safe.
class LoginLimiter {
 public:
  LoginLimiter(int attempts, std::int64_t window_seconds)
      : attempts_(attempts), window_(window_seconds) {}
  // True when `key` may try again at `now`.
  bool Allowed(const std::string& key, model::UnixTime now);
  void Failed(const std::string& key, model::UnixTime now);
  void Succeeded(const std::string& key);

 private:
  void Expire(std::deque<model::UnixTime>& times, model::UnixTime now) const;
  int attempts_;
  std::int64_t window_;
  std::mutex mu_;
  std::map<std::string, std::deque<model::UnixTime>> failures_;
};

}  // namespace dmarcwatch::web
