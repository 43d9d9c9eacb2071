// libFuzzer target: the exporter's web configuration parser
// (watch/web_config.h). The input is the file's text, up to the size
// LoadWebConfig reads. A refused text must say why, starting with the
// file's name; an accepted one must be a configuration the exporter can
// act on as web_config.h promises (a certificate with its key, no client
// CA left unused, only bcrypt hashes, no line break in a header, a rate
// limit that lets requests through), and parsing it again must give the
// same configuration.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "watch/web_config.h"

namespace {

using ctkit::watch::ClientAuth;
using ctkit::watch::PemSource;
using ctkit::watch::WebConfig;

constexpr char kName[] = "fuzz.yml";

void CheckSource(const PemSource& s, bool required) {
  if (required && s.empty()) std::abort();
  if (!s.path.empty() && !s.pem.empty()) std::abort();
  // Relative names are resolved against the configuration's directory.
  if (!s.path.empty() && s.path[0] != '/') std::abort();
  if (!s.empty() && s.where.rfind(kName, 0) != 0) std::abort();
}

void CheckAccepted(const WebConfig& c) {
  if (c.tls) {
    const ctkit::watch::TlsServerConfig& t = *c.tls;
    CheckSource(t.cert, true);
    CheckSource(t.key, true);
    CheckSource(t.client_ca, false);
    if (t.min_version > t.max_version) std::abort();
    const bool verifies =
        t.client_auth == ClientAuth::kVerifyClientCertIfGiven ||
        t.client_auth == ClientAuth::kRequireAndVerifyClientCert;
    if (verifies && t.client_ca.empty()) std::abort();
    if (!t.client_ca.empty() && t.client_auth == ClientAuth::kNoClientCert) {
      std::abort();
    }
    const bool requires_cert =
        t.client_auth == ClientAuth::kRequireAnyClientCert ||
        t.client_auth == ClientAuth::kRequireAndVerifyClientCert;
    if (!t.client_allowed_sans.empty() && !requires_cert) std::abort();
    // OpenSSL's names, not Go's.
    for (const std::string& s : t.cipher_suites) {
      if (s.rfind("ECDHE-", 0) != 0) std::abort();
    }
  }
  for (const auto& [user, hash] : c.basic_auth_users) {
    if (user.empty() || user.find(':') != std::string::npos) std::abort();
    if (!ctkit::watch::IsBcryptHash(hash)) std::abort();
  }
  for (const auto& [name, value] : c.headers) {
    if (value.empty() || value.find_first_of("\r\n") != std::string::npos) {
      std::abort();
    }
  }
  if (c.rate_limit &&
      (c.rate_limit->burst < 1 || !(c.rate_limit->interval_seconds > 0))) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > ctkit::watch::kMaxWebConfigBytes) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto parsed = ctkit::watch::ParseWebConfig(text, kName, "/etc/ctkit");
  if (!parsed) {
    if (parsed.error().message.rfind(kName, 0) != 0) std::abort();
    return 0;
  }
  CheckAccepted(*parsed);
  const auto again = ctkit::watch::ParseWebConfig(text, kName, "/etc/ctkit");
  if (!again || again->basic_auth_users != parsed->basic_auth_users ||
      again->headers != parsed->headers ||
      again->tls.has_value() != parsed->tls.has_value()) {
    std::abort();
  }
  return 0;
}
