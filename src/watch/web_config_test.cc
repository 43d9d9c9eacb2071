// The web configuration: the exporter toolkit's own sample reads as it
// does there, and each mistake an operator can make is refused with the
// file, line and key in the message.
#include "watch/web_config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "testing/doctor_test_util.h"

namespace ctkit::watch {
namespace {

constexpr char kAliceHash[] =
    "$2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze";
constexpr char kBobHash[] =
    "$2y$10$hLqFl9jSjoAAy95Z/zw8Ye8wkdMBM8c5Bn1ptYqP/AXyV0.oy0S8m";

[[nodiscard]] Result<WebConfig> Parse(const std::string& text) {
  return ParseWebConfig(text, "web.yml", "/etc/ctkit");
}

// The error message of a text that must be refused.
std::string Refusal(const std::string& text) {
  Result<WebConfig> r = Parse(text);
  EXPECT_FALSE(r.has_value()) << text;
  return r ? std::string() : r.error().message;
}

TEST(WebConfig, AnEmptyFileIsPlainHttpWithoutAuth) {
  for (const char* text : {"", "\n", "# nothing\n", "---\n"}) {
    Result<WebConfig> r = Parse(text);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(r->tls);
    EXPECT_TRUE(r->basic_auth_users.empty());
    EXPECT_TRUE(r->headers.empty());
    EXPECT_FALSE(r->rate_limit);
  }
}

TEST(WebConfig, TheToolkitSampleReadsAsThere) {
  Result<WebConfig> r = Parse(std::string(R"(# TLS and basic auth
tls_server_config:
  cert_file: server.crt
  key_file: server.key
basic_auth_users:
  alice: )") + kAliceHash + R"(
  bob: )" + kBobHash + R"(
rate_limit:
  interval: "1s"
  burst: 20
)");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->tls);
  // Relative to the configuration's directory, as the toolkit reads them.
  EXPECT_EQ(r->tls->cert.path, "/etc/ctkit/server.crt");
  EXPECT_EQ(r->tls->key.path, "/etc/ctkit/server.key");
  EXPECT_EQ(r->tls->cert.where, "web.yml:3: tls_server_config.cert_file");
  EXPECT_EQ(r->tls->client_auth, ClientAuth::kNoClientCert);
  EXPECT_EQ(r->tls->min_version, TlsVersion::kTls12);
  EXPECT_EQ(r->tls->max_version, TlsVersion::kTls13);
  EXPECT_TRUE(r->tls->prefer_server_cipher_suites);
  ASSERT_EQ(r->basic_auth_users.size(), 2u);
  EXPECT_EQ(r->basic_auth_users.at("alice"), kAliceHash);
  EXPECT_EQ(r->basic_auth_users.at("bob"), kBobHash);
  ASSERT_TRUE(r->rate_limit);
  EXPECT_EQ(r->rate_limit->interval_seconds, 1.0);
  EXPECT_EQ(r->rate_limit->burst, 20u);
}

TEST(WebConfig, AbsolutePathsAndInlinePemAreKept) {
  Result<WebConfig> r = Parse(R"(tls_server_config:
  cert: |
    -----BEGIN CERTIFICATE-----
    MIIB
    -----END CERTIFICATE-----
  key_file: /run/secrets/key.pem
)");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->tls->cert.path.empty());
  EXPECT_EQ(r->tls->cert.pem.rfind("-----BEGIN CERTIFICATE-----\n", 0), 0u);
  EXPECT_EQ(r->tls->key.path, "/run/secrets/key.pem");
}

TEST(WebConfig, EveryTlsSettingMapsOntoOpenSsl) {
  Result<WebConfig> r = Parse(R"(tls_server_config:
  cert_file: a.crt
  key_file: a.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  client_allowed_sans: [prometheus.example.org, 10.0.0.7]
  min_version: TLS13
  max_version: TLS13
  cipher_suites:
    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
  prefer_server_cipher_suites: false
  curve_preferences: [X25519, CurveP256]
)");
  ASSERT_TRUE(r) << r.error().message;
  const TlsServerConfig& tls = *r->tls;
  EXPECT_EQ(tls.client_auth, ClientAuth::kRequireAndVerifyClientCert);
  EXPECT_EQ(tls.client_ca.path, "/etc/ctkit/ca.crt");
  EXPECT_EQ(tls.client_allowed_sans,
            (std::vector<std::string>{"prometheus.example.org", "10.0.0.7"}));
  EXPECT_EQ(tls.min_version, TlsVersion::kTls13);
  EXPECT_EQ(tls.cipher_suites,
            (std::vector<std::string>{"ECDHE-RSA-AES128-GCM-SHA256",
                                      "ECDHE-ECDSA-CHACHA20-POLY1305"}));
  EXPECT_FALSE(tls.prefer_server_cipher_suites);
  EXPECT_EQ(tls.curve_preferences,
            (std::vector<std::string>{"X25519", "P-256"}));
}

TEST(WebConfig, UnknownKeysAreRefusedWithTheirLine) {
  EXPECT_EQ(Refusal("basic_auth_users: {}\ntls_config:\n  cert_file: x\n"),
            "web.yml:2: tls_config: unknown key (expected tls_server_config, "
            "http_server_config, basic_auth_users or rate_limit)");
  EXPECT_EQ(Refusal("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                    "  client_ca_files: c\n"),
            "web.yml:4: tls_server_config.client_ca_files: unknown key");
  EXPECT_EQ(Refusal("http_server_config:\n  http3: true\n"),
            "web.yml:2: http_server_config.http3: unknown key (expected "
            "http2 or headers)");
}

TEST(WebConfig, WrongTypesAreRefused) {
  EXPECT_EQ(Refusal("- a\n- b\n"),
            "web.yml:1: expected a mapping of keys to values");
  EXPECT_EQ(Refusal("basic_auth_users:\n  - alice\n"),
            "web.yml:2: basic_auth_users: expected a mapping of keys to "
            "values");
  EXPECT_EQ(Refusal("tls_server_config:\n  cert_file: [a, b]\n  key_file: k\n"),
            "web.yml:2: tls_server_config.cert_file: expected a string");
  EXPECT_EQ(Refusal("http_server_config:\n  http2: maybe\n"),
            "web.yml:2: http_server_config.http2: expected true or false");
  EXPECT_EQ(Refusal("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                    "  cipher_suites: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n"),
            "web.yml:4: tls_server_config.cipher_suites: expected a list of "
            "strings");
  EXPECT_EQ(Refusal("rate_limit:\n  interval: 1s\n  burst: lots\n"),
            "web.yml:3: rate_limit.burst: expected a whole number from 0 to "
            "1000000");
}

TEST(WebConfig, ACertificateNeedsItsKeyAndTheOtherWayRound) {
  EXPECT_EQ(Refusal("tls_server_config:\n  cert_file: a.crt\n"),
            "web.yml:2: tls_server_config: a certificate without a key: set "
            "key_file (or key)");
  EXPECT_EQ(Refusal("tls_server_config:\n  key_file: a.key\n"),
            "web.yml:2: tls_server_config: a key without a certificate: set "
            "cert_file (or cert)");
  EXPECT_EQ(Refusal("tls_server_config:\n  cert_file: a.crt\n  cert: x\n"
                    "  key_file: a.key\n"),
            "web.yml:3: tls_server_config.cert: set together with "
            "tls_server_config.cert_file; give one of the two");
  EXPECT_EQ(Refusal("tls_server_config:\n  min_version: TLS13\n"),
            "web.yml:2: tls_server_config: TLS settings without a "
            "certificate: set cert_file and key_file (or cert and key)");
  // A section of blank keys only is plain HTTP, as in the toolkit.
  Result<WebConfig> blank =
      Parse("tls_server_config:\n  cert_file: \"\"\n  key_file:\n");
  ASSERT_TRUE(blank) << blank.error().message;
  EXPECT_FALSE(blank->tls);
}

TEST(WebConfig, VersionsOpenSslCannotHonourAreRefused) {
  const std::string tls = "tls_server_config:\n  cert_file: a\n  key_file: b\n";
  EXPECT_NE(Refusal(tls + "  min_version: TLS10\n")
                .find("web.yml:4: tls_server_config.min_version: TLS10 is not "
                      "offered: OpenSSL 3"),
            std::string::npos);
  EXPECT_EQ(Refusal(tls + "  max_version: TLS9\n"),
            "web.yml:4: tls_server_config.max_version: \"TLS9\" is not TLS12 "
            "or TLS13");
  EXPECT_EQ(Refusal(tls + "  min_version: TLS13\n  max_version: TLS12\n"),
            "web.yml:2: tls_server_config: min_version is above max_version: "
            "no version is left");
}

TEST(WebConfig, SuitesAndCurvesOutsideGosListsAreRefused) {
  const std::string tls = "tls_server_config:\n  cert_file: a\n  key_file: b\n";
  EXPECT_NE(Refusal(tls + "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n")
                .find("TLS_AES_128_GCM_SHA256 is a TLS 1.3 suite"),
            std::string::npos);
  EXPECT_NE(Refusal(tls + "  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n")
                .find("web.yml:4: tls_server_config.cipher_suites: "
                      "\"TLS_RSA_WITH_RC4_128_SHA\" is not a supported"),
            std::string::npos);
  EXPECT_EQ(Refusal(tls + "  curve_preferences: [CurveP256, P-256]\n"),
            "web.yml:4: tls_server_config.curve_preferences: \"P-256\" is not "
            "one of CurveP256, CurveP384, CurveP521, X25519");
}

TEST(WebConfig, ClientCertificateRulesThatWouldSilentlyMisbehave) {
  const std::string tls = "tls_server_config:\n  cert_file: a\n  key_file: b\n";
  EXPECT_NE(Refusal(tls + "  client_auth_type: VerifyClientCertIfGiven\n")
                .find("web.yml:4: tls_server_config.client_auth_type: "
                      "verifying client certificates needs client_ca_file"),
            std::string::npos);
  EXPECT_NE(Refusal(tls + "  client_ca_file: ca.crt\n")
                .find("web.yml:4: tls_server_config: a client CA with "
                      "client_auth_type NoClientCert would never be used"),
            std::string::npos);
  EXPECT_NE(Refusal(tls + "  client_auth_type: RequestClientCert\n"
                          "  client_allowed_sans: [x]\n")
                .find("web.yml:5: tls_server_config.client_allowed_sans: "
                      "needs client_auth_type RequireAnyClientCert"),
            std::string::npos);
  EXPECT_EQ(Refusal(tls + "  client_auth_type: RequireClientCert\n"),
            "web.yml:4: tls_server_config.client_auth_type: "
            "\"RequireClientCert\" is not one of NoClientCert, "
            "RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, "
            "RequireAndVerifyClientCert");
  Result<WebConfig> any = Parse(tls +
                                "  client_auth_type: RequireAnyClientCert\n"
                                "  client_allowed_sans: [scraper]\n");
  ASSERT_TRUE(any) << any.error().message;
  EXPECT_EQ(any->tls->client_auth, ClientAuth::kRequireAnyClientCert);
}

TEST(WebConfig, PasswordsMustBeBcryptHashes) {
  EXPECT_NE(Refusal("basic_auth_users:\n  alice: secret\n")
                .find("web.yml:2: basic_auth_users.alice: not a bcrypt hash"),
            std::string::npos);
  // An MD5-crypt hash, as `htpasswd` makes without -B.
  EXPECT_NE(Refusal("basic_auth_users:\n  alice: "
                    "$apr1$x5rDO8sE$Hc8sE2vFz6bvd5eZ0M0Ee/\n")
                .find("not a bcrypt hash"),
            std::string::npos);
  EXPECT_EQ(Refusal("basic_auth_users:\n  alice:\n"),
            "web.yml:2: basic_auth_users.alice: no password hash");
  EXPECT_NE(Refusal(std::string("basic_auth_users:\n  \"al:ice\": ") +
                    kAliceHash + "\n")
                .find("web.yml:2: basic_auth_users.al:ice: a user name cannot "
                      "hold a colon"),
            std::string::npos);
}

TEST(WebConfig, DuplicateKeysAndSecondDocumentsAreRefused) {
  EXPECT_EQ(Refusal(std::string("basic_auth_users:\n  alice: ") + kAliceHash +
                    "\n  alice: " + kBobHash + "\n"),
            "web.yml:3: basic_auth_users.alice: given twice");
  EXPECT_EQ(Refusal("rate_limit: {burst: 1}\nrate_limit: {burst: 2}\n"),
            "web.yml:2: rate_limit: given twice");
  EXPECT_EQ(Refusal("basic_auth_users: {}\n---\nbasic_auth_users: {}\n"),
            "web.yml:2: a second YAML document; a web configuration is one");
}

TEST(WebConfig, AStrayCommaIsAnErrorNotAHang) {
  // yaml-cpp 0.7 reads a ',' where a document starts as endless empty
  // documents (the fuzzer's first find).
  EXPECT_EQ(Refusal(","),
            "web.yml:1: not valid YAML: nothing can be read from here on");
  EXPECT_EQ(Refusal("# a comment\n ,a\n"),
            "web.yml:2: not valid YAML: nothing can be read from here on");
}

TEST(WebConfig, SyntaxErrorsGiveTheirLine) {
  const std::string message =
      Refusal("basic_auth_users:\n  alice: [\n  bob: x\n");
  EXPECT_EQ(message.rfind("web.yml:", 0), 0u) << message;
  EXPECT_NE(message.find(": not valid YAML: "), std::string::npos) << message;
}

TEST(WebConfig, OnlyTheFormatsHeadersWithSafeValues) {
  Result<WebConfig> r = Parse(R"(http_server_config:
  http2: false
  headers:
    X-Frame-Options: DENY
    X-Content-Type-Options: nosniff
    Content-Security-Policy: ""
    Strict-Transport-Security: max-age=31536000
)");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->http2);
  // The blank one is unset.
  EXPECT_EQ(r->headers,
            (std::vector<std::pair<std::string, std::string>>{
                {"X-Frame-Options", "DENY"},
                {"X-Content-Type-Options", "nosniff"},
                {"Strict-Transport-Security", "max-age=31536000"}}));
  EXPECT_NE(Refusal("http_server_config:\n  headers:\n    Server: ctkit\n")
                .find("web.yml:3: http_server_config.headers.Server: not a "
                      "header the format allows"),
            std::string::npos);
  EXPECT_EQ(Refusal("http_server_config:\n  headers:\n"
                    "    X-Frame-Options: allow-from x\n"),
            "web.yml:3: http_server_config.headers.X-Frame-Options: "
            "\"allow-from x\" is not deny or sameorigin");
  EXPECT_EQ(Refusal("http_server_config:\n  headers:\n"
                    "    X-XSS-Protection: \"1\\r\\nSet-Cookie: x=y\"\n"),
            "web.yml:3: http_server_config.headers.X-XSS-Protection: a header "
            "value cannot hold control characters");
}

TEST(WebConfig, RateLimitsInGoDurations) {
  Result<WebConfig> r = Parse("rate_limit:\n  interval: 1m30s\n  burst: 3\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->rate_limit->interval_seconds, 90.0);
  Result<WebConfig> ms = Parse("rate_limit: {interval: 250ms, burst: 1}\n");
  ASSERT_TRUE(ms) << ms.error().message;
  EXPECT_DOUBLE_EQ(ms->rate_limit->interval_seconds, 0.25);
  // An interval of 0 is no limit.
  Result<WebConfig> off = Parse("rate_limit: {interval: 0, burst: 0}\n");
  ASSERT_TRUE(off) << off.error().message;
  EXPECT_FALSE(off->rate_limit);
  EXPECT_EQ(Refusal("rate_limit:\n  interval: 1s\n  burst: 0\n"),
            "web.yml:2: rate_limit.burst: must be at least 1 when interval is "
            "set (0 would refuse every request)");
  EXPECT_EQ(Refusal("rate_limit:\n  interval: 1 sec\n  burst: 1\n"),
            "web.yml:2: rate_limit.interval: \"1 sec\" is not a duration (e.g. "
            "1s, 250ms, 0)");
}

TEST(WebConfig, BcryptHashShapes) {
  EXPECT_TRUE(IsBcryptHash(kAliceHash));
  EXPECT_TRUE(IsBcryptHash(
      "$2b$04$abcdefghijklmnopqrstuu5Zc6JtOx3Y4eU5dv6fG1YnlvH8rYyAu"));
  EXPECT_FALSE(IsBcryptHash(""));
  EXPECT_FALSE(IsBcryptHash(  // cost 03
      "$2b$03$abcdefghijklmnopqrstuu5Zc6JtOx3Y4eU5dv6fG1YnlvH8rYyAu"));
  EXPECT_FALSE(IsBcryptHash(  // $2x$: the old buggy variant
      "$2x$10$abcdefghijklmnopqrstuu5Zc6JtOx3Y4eU5dv6fG1YnlvH8rYyAu"));
  EXPECT_FALSE(IsBcryptHash(  // one character short
      "$2b$10$abcdefghijklmnopqrstuu5Zc6JtOx3Y4eU5dv6fG1YnlvH8rYyA"));
  EXPECT_FALSE(IsBcryptHash(  // not bcrypt's alphabet
      "$2b$10$abcdefghijklmnopqrstuu5Zc6JtOx3Y4eU5dv6fG1YnlvH8rYy+u"));
}

// LoadWebConfig on files in a scratch directory.
class WebConfigFile : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  doctortest::TempTree tree_;  // removed with the test
  const std::string dir_ = tree_.path();
};

TEST_F(WebConfigFile, NamedFilesMustBeReadable) {
  Write("server.crt", "pem\n");
  const std::string config =
      Write("web.yml",
            "tls_server_config:\n  cert_file: server.crt\n"
            "  key_file: missing.key\n");
  Result<WebConfig> r = LoadWebConfig(config);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            config + ":3: tls_server_config.key_file: cannot read " + dir_ +
                "/missing.key: No such file or directory");
  Write("missing.key", "pem\n");
  Result<WebConfig> ok = LoadWebConfig(config);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->tls->key.path, dir_ + "/missing.key");
}

TEST_F(WebConfigFile, MissingOversizedAndDirectoryFilesAreRefused) {
  Result<WebConfig> missing = LoadWebConfig(dir_ + "/nope.yml");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "web config " + dir_ +
                                         "/nope.yml: cannot open: No such "
                                         "file or directory");
  const std::string big =
      Write("big.yml", std::string(kMaxWebConfigBytes + 1, '#'));
  Result<WebConfig> too_big = LoadWebConfig(big);
  ASSERT_FALSE(too_big);
  EXPECT_NE(too_big.error().message.find("larger than 1048576 bytes"),
            std::string::npos);
  const std::string config =
      Write("web.yml", "tls_server_config:\n  cert_file: .\n  key_file: .\n");
  Result<WebConfig> dir = LoadWebConfig(config);
  ASSERT_FALSE(dir);
  EXPECT_NE(dir.error().message.find("is not a regular file"),
            std::string::npos);
}

}  // namespace
}  // namespace ctkit::watch
