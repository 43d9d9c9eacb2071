// SHA-256 through libcrypto's EVP interface, and the record framing of
// CaptureDigest (see capture_digest.h).
#include "report/capture_digest.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace ctkit {
namespace {

void PutLe(uint8_t* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// libcrypto fails only when out of memory or misconfigured: treated as a
// bug, like a failed allocation elsewhere.
void Check(int ok) {
  if (ok != 1) std::abort();
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) std::abort();
  Check(EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr));
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::Update(const uint8_t* data, size_t n) {
  if (n != 0) Check(EVP_DigestUpdate(ctx_, data, n));
}

std::array<uint8_t, 32> Sha256::Digest() const {
  // Finishing consumes a context: finish a copy.
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  if (copy == nullptr) std::abort();
  Check(EVP_MD_CTX_copy_ex(copy, ctx_));
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  Check(EVP_DigestFinal_ex(copy, out.data(), &len));
  EVP_MD_CTX_free(copy);
  if (len != out.size()) std::abort();
  return out;
}

std::string Sha256::HexDigest() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : Digest()) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}

void CaptureDigest::Add(const CaptureRecord& rec) {
  uint8_t head[20];
  PutLe(head, rec.ts_ns, 8);
  PutLe(head + 8, rec.link_type, 4);
  PutLe(head + 12, rec.caplen, 4);
  PutLe(head + 16, rec.wirelen, 4);
  sha_.Update(head, sizeof head);
  sha_.Update(rec.data, rec.caplen);
  ++packets_;
}

}  // namespace ctkit
