#include "dmarcwatch/web/auth.h"

#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>
#include <sodium.h>

#include <mutex>

#include "dmarcwatch/model/text.h"

namespace dmarcwatch::web {
namespace {

bool SodiumReady() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

}  // namespace

Result<std::string> HashSecret(std::string_view secret) {
  if (!SodiumReady()) return Status::Internal("libsodium could not be initialised");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, secret.data(), secret.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status(StatusCode::kUnavailable, "out_of_memory", "not enough memory to hash");
  }
  return std::string(out);
}

bool VerifySecret(const std::string& hash, std::string_view secret) {
  if (!SodiumReady() || hash.size() >= crypto_pwhash_STRBYTES ||
      hash.rfind("$argon2id$", 0) != 0) {
    return false;
  }
  return crypto_pwhash_str_verify(hash.c_str(), secret.data(), secret.size()) == 0;
}

std::string RandomToken(std::size_t bytes) {
  SodiumReady();
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  return model::HexEncode(raw);
}

std::string Sha256(std::string_view data) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update(data.data(), static_cast<unsigned>(data.size()));
  return Poco::DigestEngine::digestToHex(engine.digest());
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  SodiumReady();
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

void LoginLimiter::Expire(std::deque<model::UnixTime>& times, model::UnixTime now) const {
  while (!times.empty() && times.front() <= now - window_) times.pop_front();
}

bool LoginLimiter::Allowed(const std::string& key, model::UnixTime now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(key);
  if (it == failures_.end()) return true;
  Expire(it->second, now);
  return static_cast<int>(it->second.size()) < attempts_;
}

void LoginLimiter::Failed(const std::string& key, model::UnixTime now) {
  std::lock_guard<std::mutex> lock(mu_);
  // Bounded: an attacker cycling names or addresses cannot grow this forever.
  if (failures_.size() > 100000) failures_.clear();
  auto& times = failures_[key];
  Expire(times, now);
  times.push_back(now);
}

void LoginLimiter::Succeeded(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(key);
}

}  // namespace dmarcwatch::web
