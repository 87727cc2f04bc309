#pragma once
// SHA-256, for the identity of inputs (their raw bytes) and of reports
// (their parsed content). OpenSSL's implementation (SHA-NI / AVX2 where the
// CPU has them): on large inputs it is many times faster than a portable
// one, and every byte of every input goes through it.

#include <memory>
#include <string>
#include <string_view>

namespace dmarcwatch::ingest {

// Incremental SHA-256. Not copyable; one per thread.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view bytes);
  // Lower-case hex of the digest; the object starts over afterwards.
  std::string HexDigest();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// Hex SHA-256 of `bytes`.
std::string Sha256Hex(std::string_view bytes);

}  // namespace dmarcwatch::ingest
