// The exporter's web configuration (--web.config.file): TLS, basic auth,
// response headers and a request rate limit, in the YAML format every
// Prometheus exporter built on the exporter toolkit reads
// (docs/web-configuration.md of prometheus/exporter-toolkit), so an
// operator's existing file works unchanged:
//
//   tls_server_config:          # absent: plain HTTP
//     cert_file: server.crt     # or cert: <PEM text>
//     key_file: server.key      # or key: <PEM text>
//     client_auth_type: RequireAndVerifyClientCert
//     client_ca_file: ca.crt    # or client_ca: <PEM text>
//     client_allowed_sans: [prometheus.example.org]
//     min_version: TLS12
//     max_version: TLS13
//     cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
//     prefer_server_cipher_suites: true
//     curve_preferences: [X25519, CurveP256]
//   http_server_config:
//     http2: true
//     headers: {X-Content-Type-Options: nosniff}
//   basic_auth_users:           # empty or absent: no authentication
//     prometheus: $2y$10$...    # a bcrypt hash
//   rate_limit: {interval: 1s, burst: 20}
//
// Every key the format defines is either honoured or refused here: a key
// ctkit read and then ignored would leave the operator believing in a
// protection that is not there. Refused, each with its reason in the
// message: TLS10 and TLS11 (OpenSSL 3 negotiates them only at security
// level 0, which ctkit does not lower), cipher suites outside the ten
// ECDHE suites Go offers for TLS 1.2 (TLS 1.3's suites are not
// configurable, in Go either), and curves other than Go's four. `http2` is
// read and has nothing to change: ctkit serves HTTP/1.1, which every
// Prometheus speaks; HTTP/2 clients fall back to it in the TLS handshake
// (no ALPN). Unknown keys, wrong types and duplicate keys are errors too,
// each naming the file, the line and the key.
//
// Relative paths are taken from the configuration file's directory, as the
// exporter toolkit does. The file is read once, at start (the toolkit
// rereads it on every request); restart the exporter to change it.
//
// ParseWebConfig is pure (text in, value or Error out) so that the tests
// and the fuzzer reach every rule without files; LoadWebConfig adds the
// file system: the size limit, reading, and that each named file can be
// opened. Whether those files hold a usable certificate and key is for
// the TLS set-up (watch/tls_context.h), which names the key and file too.
#ifndef CTKIT_WATCH_WEB_CONFIG_H_
#define CTKIT_WATCH_WEB_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctkit/result.h"

namespace ctkit::watch {

/// A web configuration file larger than this is refused unread (a real one
/// is a few hundred bytes; the limit keeps a mistaken path such as a log
/// file or /dev/zero from being read into memory).
inline constexpr size_t kMaxWebConfigBytes = 1 << 20;

/// Whether a client must present a certificate and whether it is checked
/// against client_ca: Go's tls.ClientAuthType, whose names the format uses.
enum class ClientAuth : uint8_t {
  kNoClientCert,                ///< none asked for (the default)
  kRequestClientCert,           ///< asked for, optional, not checked
  kRequireAnyClientCert,        ///< required, not checked
  kVerifyClientCertIfGiven,     ///< optional, checked when given
  kRequireAndVerifyClientCert,  ///< required and checked
};

/// The TLS versions the exporter can be limited to.
enum class TlsVersion : uint8_t { kTls12, kTls13 };

/// PEM data named by the configuration: a file, or the text itself (the
/// format's inline `cert`, `key` and `client_ca`). At most one is set.
struct PemSource {
  std::string path;  ///< resolved against the configuration's directory
  std::string pem;   ///< inline PEM text
  /// "FILE:LINE: KEY" of the key that named it, so that a certificate
  /// found unusable when it is loaded is reported where it was written.
  std::string where;

  bool empty() const { return path.empty() && pem.empty(); }
};

struct TlsServerConfig {
  PemSource cert;       ///< the server's certificate (chain), always set
  PemSource key;        ///< its private key, always set
  PemSource client_ca;  ///< the CAs client certificates are checked against
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  /// A client certificate must carry one of these as a subject alternative
  /// name (DNS, IP address, e-mail or URI, compared exactly); empty: any.
  /// Only with kRequireAnyClientCert or kRequireAndVerifyClientCert.
  std::vector<std::string> client_allowed_sans;
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
  /// The TLS 1.2 cipher suites, by OpenSSL name, in the file's order;
  /// empty: OpenSSL's defaults.
  std::vector<std::string> cipher_suites;
  /// The server's order of cipher_suites wins over the client's.
  bool prefer_server_cipher_suites = true;
  /// The key-exchange groups, by OpenSSL name, in the file's order; empty:
  /// OpenSSL's defaults.
  std::vector<std::string> curve_preferences;
};

/// A token bucket over every request: `burst` requests at once, then one
/// per `interval_seconds`; past it a request is answered 429.
struct RateLimit {
  double interval_seconds = 0;
  uint32_t burst = 0;
};

struct WebConfig {
  /// Absent: plain HTTP.
  std::optional<TlsServerConfig> tls;
  /// Added to every response (only the five the format allows, non-blank).
  std::vector<std::pair<std::string, std::string>> headers;
  /// What the file asked for; ctkit serves HTTP/1.1 either way (above).
  bool http2 = true;
  /// User name -> bcrypt hash ($2a$, $2b$ or $2y$). Empty: no
  /// authentication.
  std::map<std::string, std::string> basic_auth_users;
  /// Absent (or an interval of 0): no limit.
  std::optional<RateLimit> rate_limit;
};

/// Parses the text of a web configuration file. `name` is what error
/// messages call the file; `dir` is where relative paths start ("" for the
/// current directory). Every error names the file, the line when known and
/// the key, e.g. "web.yml:3: tls_server_config.min_version: ...".
[[nodiscard]] Result<WebConfig> ParseWebConfig(std::string_view text,
                                               const std::string& name,
                                               const std::string& dir);

/// Reads and parses the file at `path` (at most kMaxWebConfigBytes), then
/// checks that every file it names can be opened for reading.
[[nodiscard]] Result<WebConfig> LoadWebConfig(const std::string& path);

/// Whether `hash` is a bcrypt hash crypt(3) can check: $2a$, $2b$ or $2y$,
/// a two-digit cost from 04 to 31, then 53 characters of bcrypt's base64.
bool IsBcryptHash(std::string_view hash);

}  // namespace ctkit::watch

#endif  // CTKIT_WATCH_WEB_CONFIG_H_
