// Basic auth: the right password passes, once at bcrypt's price; wrong,
// missing and malformed credentials are refused; unknown users cost the
// same as known ones; the cache stays bounded; a crowd of checks is told
// to come back rather than queued.
#include "watch/basic_auth.h"

#include <crypt.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace ctkit::watch {
namespace {

// A bcrypt hash of `password` at `cost` (4 is bcrypt's cheapest, about a
// millisecond).
std::string Bcrypt(const std::string& password, int cost = 4) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr,
                             0, salt, sizeof salt),
            nullptr);
  auto data = std::make_unique<crypt_data>();
  const char* hash = crypt_rn(password.c_str(), salt, data.get(),
                              static_cast<int>(sizeof(crypt_data)));
  EXPECT_NE(hash, nullptr);
  return hash == nullptr ? std::string() : std::string(hash);
}

// "Basic " + base64("user:password").
std::string Header(const std::string& user, const std::string& password) {
  const std::string plain = user + ":" + password;
  std::string out(4 * ((plain.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(plain.data()),
                      static_cast<int>(plain.size()));
  out.resize(static_cast<size_t>(n));
  return "Basic " + out;
}

using Outcome = BasicAuth::Outcome;

TEST(BasicAuth, TheRightPasswordPassesAndOnlyIt) {
  BasicAuth auth({{"prometheus", Bcrypt("s3cret")}});
  EXPECT_EQ(auth.Check(Header("prometheus", "s3cret")), Outcome::kAllowed);
  EXPECT_EQ(auth.Check(Header("prometheus", "s3cret!")), Outcome::kDenied);
  EXPECT_EQ(auth.Check(Header("prometheus", "")), Outcome::kDenied);
  EXPECT_EQ(auth.Check(Header("Prometheus", "s3cret")), Outcome::kDenied);
  // The scheme's name in any case; spaces around the token.
  EXPECT_EQ(auth.Check("basic  cHJvbWV0aGV1czpzM2NyZXQ= "), Outcome::kAllowed);
}

TEST(BasicAuth, MissingAndMalformedHeadersAreRefusedWithoutBcrypt) {
  BasicAuth auth({{"prometheus", Bcrypt("s3cret")}});
  for (const std::string& h :
       {std::string(), std::string("Basic"), std::string("Basic "),
        std::string("Bearer cHJvbWV0aGV1czpzM2NyZXQ="),
        std::string("Basiccm9vdDp4"), std::string("Basic cHJvbWV0aGV1cw=="),
        std::string("Basic !!!!"), std::string("Basic cHJvbWV0aGV1czpzM2NyZXQ"),
        std::string("Basic =HJvbWV0aGV1czpzM2NyZXQ="),
        std::string("Basic ") + std::string(5000, 'A')}) {
    EXPECT_EQ(auth.Check(h), Outcome::kDenied) << h;
  }
  EXPECT_EQ(auth.bcrypt_runs(), 0u);
}

TEST(BasicAuth, APasswordIsCheckedWholeOrNotAtAll) {
  // crypt(3) would stop at the NUL and see the right password.
  BasicAuth auth({{"prometheus", Bcrypt("s3cret")}});
  EXPECT_EQ(auth.Check(Header("prometheus", std::string("s3cret\0x", 8))),
            Outcome::kDenied);
}

TEST(BasicAuth, PassingCredentialsPayBcryptOnce) {
  BasicAuth auth({{"prometheus", Bcrypt("s3cret")}});
  for (int scrape = 0; scrape < 10; ++scrape) {
    EXPECT_EQ(auth.Check(Header("prometheus", "s3cret")), Outcome::kAllowed);
  }
  EXPECT_EQ(auth.bcrypt_runs(), 1u);
}

TEST(BasicAuth, FailuresAreNeverRemembered) {
  BasicAuth auth({{"prometheus", Bcrypt("s3cret")}});
  for (int guess = 0; guess < 5; ++guess) {
    EXPECT_EQ(auth.Check(Header("prometheus", "guess")), Outcome::kDenied);
  }
  EXPECT_EQ(auth.bcrypt_runs(), 5u);
}

TEST(BasicAuth, UnknownUsersCostTheSameBcrypt) {
  const std::string hash = Bcrypt("s3cret");
  BasicAuth auth({{"prometheus", hash}});
  // Even with the known user's password, and against its hash.
  EXPECT_EQ(auth.Check(Header("mallory", "s3cret")), Outcome::kDenied);
  EXPECT_EQ(auth.bcrypt_runs(), 1u);
  EXPECT_EQ(auth.Check(Header("mallory", "s3cret")), Outcome::kDenied);
  EXPECT_EQ(auth.bcrypt_runs(), 2u);
}

TEST(BasicAuth, TheCacheForgetsTheLeastRecentlyUsedPastItsBound) {
  std::map<std::string, std::string> users;
  const size_t n = BasicAuth::kCacheEntries + 1;
  for (size_t i = 0; i < n; ++i) {
    users["user" + std::to_string(i)] = Bcrypt("pw" + std::to_string(i));
  }
  BasicAuth auth(users);
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(auth.Check(
                  Header("user" + std::to_string(i), "pw" + std::to_string(i))),
              Outcome::kAllowed);
  }
  EXPECT_EQ(auth.bcrypt_runs(), n);
  // user0 was pushed out by the last one; user1 is still there.
  EXPECT_EQ(auth.Check(Header("user1", "pw1")), Outcome::kAllowed);
  EXPECT_EQ(auth.bcrypt_runs(), n);
  EXPECT_EQ(auth.Check(Header("user0", "pw0")), Outcome::kAllowed);
  EXPECT_EQ(auth.bcrypt_runs(), n + 1);
}

TEST(BasicAuth, ACrowdOfChecksIsToldToComeBack) {
  // Cost 12: a quarter of a second each, long enough for every thread to
  // arrive while the first checks run.
  const std::string hash = Bcrypt("s3cret", 12);
  BasicAuth auth({{"prometheus", hash}});
  constexpr int kThreads = 8;
  std::atomic<int> busy{0};
  std::atomic<int> denied{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      const Outcome o = auth.Check(Header("prometheus", "wrong"));
      (o == Outcome::kBusy ? busy : denied)++;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_GE(busy.load(), 1);
  EXPECT_GE(denied.load(), 1);
  EXPECT_EQ(static_cast<uint64_t>(denied.load()), auth.bcrypt_runs());
  // Once the crowd is gone, checks run again.
  EXPECT_EQ(auth.Check(Header("prometheus", "s3cret")), Outcome::kAllowed);
}

}  // namespace
}  // namespace ctkit::watch
