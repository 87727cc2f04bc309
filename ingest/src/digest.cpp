#include "dmarcwatch/ingest/digest.h"

#include <openssl/evp.h>

#include "dmarcwatch/model/check.h"
#include "dmarcwatch/model/text.h"

namespace dmarcwatch::ingest {

struct Sha256::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  // Only a broken OpenSSL fails here: a bug, not input.
  DMARC_CHECK(ctx_->md != nullptr);
  DMARC_CHECK(EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) == 1);
}

Sha256::~Sha256() = default;

void Sha256::Update(std::string_view bytes) {
  DMARC_CHECK(EVP_DigestUpdate(ctx_->md, bytes.data(), bytes.size()) == 1);
}

std::string Sha256::HexDigest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  DMARC_CHECK(EVP_DigestFinal_ex(ctx_->md, digest, &size) == 1);
  DMARC_CHECK(EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) == 1);
  return model::HexEncode(std::string_view(reinterpret_cast<const char*>(digest), size));
}

std::string Sha256Hex(std::string_view bytes) {
  Sha256 sha;
  sha.Update(bytes);
  return sha.HexDigest();
}

}  // namespace dmarcwatch::ingest
