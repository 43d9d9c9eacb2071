// Basic auth against bcrypt hashes (see basic_auth.h for the cache, the
// unknown-user rule and the bcrypt limit).
//
// The header is "Basic " and base64 of "user:password" (RFC 7617): the
// scheme's name in any case, standard base64 with its padding. The user
// ends at the first colon (a user name cannot hold one; web_config.h
// refuses such names). A password holding a NUL byte is refused outright:
// crypt(3) takes a C string and would check only what comes before it.
// The decoded credentials are wiped from memory once checked.
#include "watch/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>
#include <memory>
#include <utility>

namespace ctkit::watch {
namespace {

// Longer Authorization values are refused without decoding (the longest
// sensible user and password are far shorter).
constexpr size_t kMaxAuthorizationBytes = 4096;

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard base64 with padding; false when malformed.
bool DecodeBase64(std::string_view in, std::string* out) {
  out->clear();
  if (in.size() % 4 != 0) return false;
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int v[4];
    int pad = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = in[i + j];
      if (c == '=' && last && j >= 2) {
        v[j] = 0;
        ++pad;
      } else if (pad > 0) {
        return false;  // data after padding
      } else {
        v[j] = Base64Value(c);
        if (v[j] < 0) return false;
      }
    }
    const unsigned bits =
        static_cast<unsigned>(v[0]) << 18 | static_cast<unsigned>(v[1]) << 12 |
        static_cast<unsigned>(v[2]) << 6 | static_cast<unsigned>(v[3]);
    out->push_back(static_cast<char>(bits >> 16 & 0xff));
    if (pad < 2) out->push_back(static_cast<char>(bits >> 8 & 0xff));
    if (pad < 1) out->push_back(static_cast<char>(bits & 0xff));
  }
  return true;
}

// Wipes a string holding a password before it is freed.
struct Wiped {
  std::string text;
  Wiped() = default;
  Wiped(const Wiped&) = delete;
  Wiped& operator=(const Wiped&) = delete;
  ~Wiped() { OPENSSL_cleanse(text.data(), text.size()); }
};

}  // namespace

size_t BasicAuth::DigestHash::operator()(const Digest& d) const {
  size_t h = 0;
  std::memcpy(&h, d.data(), sizeof h);  // a keyed hash's bytes: uniform
  return h;
}

BasicAuth::BasicAuth(std::map<std::string, std::string> users)
    : users_(std::move(users)),
      dummy_hash_(users_.empty() ? std::string() : users_.begin()->second) {
  if (RAND_bytes(hmac_key_.data(), static_cast<int>(hmac_key_.size())) != 1) {
    // No randomness: the keys are still never the password; only their
    // unpredictability outside the process is lost.
    hmac_key_.fill(0);
  }
}

BasicAuth::Digest BasicAuth::CacheKey(std::string_view credentials) const {
  Digest d{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), hmac_key_.data(), static_cast<int>(hmac_key_.size()),
       reinterpret_cast<const unsigned char*>(credentials.data()),
       credentials.size(), d.data(), &len);
  return d;
}

bool BasicAuth::Cached(const Digest& key) {
  MutexLock lock(&cache_mu_);
  const auto it = cache_.find(key);
  if (it == cache_.end()) return false;
  lru_.splice(lru_.begin(), lru_, it->second);
  return true;
}

void BasicAuth::Remember(const Digest& key) {
  MutexLock lock(&cache_mu_);
  if (cache_.count(key) != 0) return;
  lru_.push_front(key);
  cache_.emplace(key, lru_.begin());
  if (lru_.size() > kCacheEntries) {
    cache_.erase(lru_.back());
    lru_.pop_back();
  }
}

bool BasicAuth::Bcrypt(const std::string& password, const std::string& hash,
                       bool* matches) {
  {
    MutexLock lock(&gate_mu_);
    if (in_flight_ >= kBcryptInFlight) return false;
    ++in_flight_;
    while (running_) gate_cv_.wait(gate_mu_);
    running_ = true;
    ++bcrypt_runs_;
  }
  // crypt_data is 32 KiB: on the heap, zeroed as crypt_rn asks.
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(password.c_str(), hash.c_str(), data.get(),
                             static_cast<int>(sizeof(crypt_data)));
  *matches = out != nullptr && std::strlen(out) == hash.size() &&
             CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  {
    MutexLock lock(&gate_mu_);
    running_ = false;
    --in_flight_;
  }
  gate_cv_.notify_one();
  return true;
}

BasicAuth::Outcome BasicAuth::Check(std::string_view authorization) {
  if (authorization.size() > kMaxAuthorizationBytes || dummy_hash_.empty()) {
    return Outcome::kDenied;
  }
  // "Basic" in any case, then spaces, then the token.
  constexpr std::string_view kScheme = "basic";
  if (authorization.size() <= kScheme.size()) return Outcome::kDenied;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return Outcome::kDenied;
  }
  std::string_view token = authorization.substr(kScheme.size());
  if (token.front() != ' ') return Outcome::kDenied;
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);

  Wiped credentials;
  if (!DecodeBase64(token, &credentials.text)) return Outcome::kDenied;
  const size_t colon = credentials.text.find(':');
  if (colon == std::string::npos) return Outcome::kDenied;
  if (credentials.text.find('\0', colon) != std::string::npos) {
    return Outcome::kDenied;
  }
  const Digest key = CacheKey(credentials.text);
  if (Cached(key)) return Outcome::kAllowed;

  const std::string user = credentials.text.substr(0, colon);
  Wiped password;
  password.text = credentials.text.substr(colon + 1);
  const auto it = users_.find(user);
  const bool known = it != users_.end();
  bool matches = false;
  if (!Bcrypt(password.text, known ? it->second : dummy_hash_, &matches)) {
    return Outcome::kBusy;
  }
  if (!known || !matches) return Outcome::kDenied;
  Remember(key);
  return Outcome::kAllowed;
}

uint64_t BasicAuth::bcrypt_runs() const {
  MutexLock lock(&gate_mu_);
  return bcrypt_runs_;
}

}  // namespace ctkit::watch
