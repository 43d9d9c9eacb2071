// BasicAuth: checks an HTTP Authorization header against the web
// configuration's basic_auth_users (user -> bcrypt hash), with crypt(3)
// from libxcrypt.
//
// bcrypt is slow on purpose (about 50 ms at cost 10), which shapes the
// rest:
//
//  - A check that passed is remembered, so that Prometheus, which sends
//    the same credentials every scrape, pays bcrypt once. The cache keys
//    are HMAC-SHA-256 of "user:password" under a key drawn at start: the
//    password is never kept, and the keys are useless outside the process.
//    The cache is bounded (kCacheEntries, least recently used dropped
//    first); only successes enter it, so failed guesses cannot push out
//    the credentials in use.
//  - An unknown user costs the same bcrypt as a known one (against a
//    configured user's hash, then refused whatever the result), so the
//    time of a refusal does not tell which users exist; the comparison of
//    hashes is constant-time.
//  - At most kBcryptInFlight checks are running or waiting at once, and
//    one runs at a time: a flood of wrong passwords keeps one core busy,
//    not every core and every worker thread, and requests past the limit
//    are answered at once (kBusy, 429) rather than queued without end.
//    Credentials already in the cache never wait for bcrypt, so a flood
//    does not delay the scrapes of a Prometheus that has logged in before;
//    a first login during a flood may be told to retry.
#ifndef CTKIT_WATCH_BASIC_AUTH_H_
#define CTKIT_WATCH_BASIC_AUTH_H_

#include <array>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/thread_annotations.h"

namespace ctkit::watch {

class BasicAuth {
 public:
  /// Distinct passing credentials remembered (a few per user at most in
  /// practice; the bound keeps memory fixed whatever clients send).
  static constexpr size_t kCacheEntries = 64;
  /// bcrypt checks running or waiting at once; one more is kBusy.
  static constexpr size_t kBcryptInFlight = 2;

  enum class Outcome : uint8_t {
    kAllowed,  ///< the credentials match a configured user
    kDenied,   ///< missing, malformed or wrong: 401
    kBusy,     ///< not checked: too many bcrypt checks at once (429)
  };

  /// `users`: user name -> bcrypt hash, at least one (web_config.h checked
  /// the hashes).
  explicit BasicAuth(std::map<std::string, std::string> users);
  ~BasicAuth() = default;
  BasicAuth(const BasicAuth&) = delete;
  BasicAuth& operator=(const BasicAuth&) = delete;

  /// Checks the value of an Authorization header ("" when there is none).
  /// Thread-safe.
  Outcome Check(std::string_view authorization);

  /// How many bcrypt computations Check has run (for tests).
  uint64_t bcrypt_runs() const;

 private:
  using Digest = std::array<unsigned char, 32>;
  struct DigestHash {
    size_t operator()(const Digest& d) const;
  };

  Digest CacheKey(std::string_view credentials) const;
  bool Cached(const Digest& key);
  void Remember(const Digest& key);
  // Runs bcrypt of `password` against `hash` within the in-flight limit;
  // false when over it (*matches untouched).
  bool Bcrypt(const std::string& password, const std::string& hash,
              bool* matches);

  const std::map<std::string, std::string> users_;  // immutable
  // The hash an unknown user is checked against (a configured user's).
  const std::string dummy_hash_;
  std::array<unsigned char, 32> hmac_key_{};  // immutable after construction

  mutable Mutex cache_mu_;
  std::list<Digest> lru_ CTKIT_GUARDED_BY(cache_mu_);  // most recent first
  std::unordered_map<Digest, std::list<Digest>::iterator, DigestHash> cache_
      CTKIT_GUARDED_BY(cache_mu_);

  mutable Mutex gate_mu_;
  std::condition_variable_any gate_cv_;
  size_t in_flight_ CTKIT_GUARDED_BY(gate_mu_) = 0;
  bool running_ CTKIT_GUARDED_BY(gate_mu_) = false;
  uint64_t bcrypt_runs_ CTKIT_GUARDED_BY(gate_mu_) = 0;
};

}  // namespace ctkit::watch

#endif  // CTKIT_WATCH_BASIC_AUTH_H_
