// Reading the web configuration (see web_config.h for the format and what
// is refused).
//
// yaml-cpp builds the document; a Reader then walks it section by section
// with the key path it is in ("tls_server_config.min_version") and stops
// at the first problem, which it reports with the line yaml-cpp recorded
// for the offending node. yaml-cpp throws (a syntax error, a nesting deeper
// than its guard allows); those exceptions end here and become an Error,
// since the library throws nothing further.
//
// The checks mirror what the exporter toolkit refuses, then add what it
// would let pass silently: duplicate keys (YAML keeps the first, so the
// second would be ignored), a second document in the file, a CA with no
// client_auth_type that uses it, a verifying client_auth_type with no CA to
// verify against (every client would be refused), a rate limit that would
// refuse everything, a user name basic auth cannot carry (a colon) and a
// header value that would split the response (a line break).
#include "watch/web_config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <exception>
#include <set>
#include <sstream>

namespace ctkit::watch {
namespace {

// Go's crypto/tls names of the TLS 1.2 suites it offers as secure (all
// ECDHE, forward-secret) and OpenSSL's names for the same suites
// (`openssl ciphers -stdname`).
constexpr std::array<std::pair<std::string_view, std::string_view>, 10>
    kCipherSuites{{
        {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
        {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
        {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
        {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
        {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
         "ECDHE-ECDSA-AES128-GCM-SHA256"},
        {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
         "ECDHE-ECDSA-AES256-GCM-SHA384"},
        {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
         "ECDHE-RSA-AES128-GCM-SHA256"},
        {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
         "ECDHE-RSA-AES256-GCM-SHA384"},
        {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
         "ECDHE-RSA-CHACHA20-POLY1305"},
        {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
         "ECDHE-ECDSA-CHACHA20-POLY1305"},
    }};

// TLS 1.3's suites: Go accepts their names and then cannot apply them.
constexpr std::array<std::string_view, 3> kTls13Suites{
    "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256"};

// Go's tls.CurveID names and OpenSSL's group names.
constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kCurves{
    {{"CurveP256", "P-256"},
     {"CurveP384", "P-384"},
     {"CurveP521", "P-521"},
     {"X25519", "X25519"}}};

constexpr std::array<std::pair<std::string_view, ClientAuth>, 5>
    kClientAuthTypes{{
        {"NoClientCert", ClientAuth::kNoClientCert},
        {"RequestClientCert", ClientAuth::kRequestClientCert},
        {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
        {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
        {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
    }};

// The response headers the format lets a file set.
constexpr std::array<std::string_view, 5> kHeaders{
    "Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options",
    "X-XSS-Protection", "Strict-Transport-Security"};

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) {
      return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// A Go duration ("1s", "1m30s", "250ms", "0") in seconds; nullopt if
// malformed or negative.
std::optional<double> ParseGoDuration(std::string_view s) {
  if (s == "0") return 0.0;
  if (s.empty()) return std::nullopt;
  double total = 0;
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    double value = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      value = value * 10 + (s[i++] - '0');
    }
    if (i < s.size() && s[i] == '.') {
      double scale = 0.1;
      for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
        value += (s[i] - '0') * scale;
        scale /= 10;
      }
    }
    if (i == start || (i == start + 1 && s[start] == '.')) return std::nullopt;
    const size_t unit_start = i;
    while (i < s.size() && !(s[i] >= '0' && s[i] <= '9') && s[i] != '.') ++i;
    const std::string_view unit = s.substr(unit_start, i - unit_start);
    double seconds_per_unit = 0;
    if (unit == "ns") {
      seconds_per_unit = 1e-9;
    } else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") {
      seconds_per_unit = 1e-6;
    } else if (unit == "ms") {
      seconds_per_unit = 1e-3;
    } else if (unit == "s") {
      seconds_per_unit = 1;
    } else if (unit == "m") {
      seconds_per_unit = 60;
    } else if (unit == "h") {
      seconds_per_unit = 3600;
    } else {
      return std::nullopt;
    }
    total += value * seconds_per_unit;
  }
  if (!std::isfinite(total)) return std::nullopt;
  return total;
}

std::string JoinNames(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// Walks the document, stopping at the first problem (kept in error_).
class Reader {
 public:
  Reader(const std::string& name, const std::string& dir)
      : name_(name), dir_(dir) {}

  [[nodiscard]] Result<WebConfig> Read(const YAML::Node& root) {
    WebConfig config;
    if (root.IsNull()) return config;  // an empty file: plain HTTP, no auth
    if (!IsMap(root, "")) return fail(std::move(*error_));
    ForEachKey(root, "",
               [&](const std::string& key, const YAML::Node& value,
                   const YAML::Node& key_node) {
                 if (key == "tls_server_config") {
                   ReadTls(value, &config);
                 } else if (key == "http_server_config") {
                   ReadHttp(value, &config);
                 } else if (key == "basic_auth_users") {
                   ReadUsers(value, &config);
                 } else if (key == "rate_limit") {
                   ReadRateLimit(value, &config);
                 } else {
                   Problem(
                       key_node, key,
                       "unknown key (expected tls_server_config, "
                       "http_server_config, basic_auth_users or rate_limit)");
                 }
               });
    if (error_) return fail(std::move(*error_));
    return config;
  }

 private:
  // Records the first problem, at `node`'s line (a value left empty has
  // no place of its own: yaml-cpp marks the next token; its key's line,
  // then).
  void Problem(const YAML::Node& node, const std::string& key,
               const std::string& what) {
    if (error_) return;
    std::string where = name_;
    const YAML::Mark mark =
        node.IsNull() && current_key_ ? current_key_->Mark() : node.Mark();
    if (!mark.is_null()) where += ":" + std::to_string(mark.line + 1);
    error_ = Error::invalid_argument(where + ": " +
                                     (key.empty() ? "" : key + ": ") + what);
  }

  std::string Where(const YAML::Node& node, const std::string& key) const {
    std::string where = name_;
    const YAML::Mark mark = node.Mark();
    if (!mark.is_null()) where += ":" + std::to_string(mark.line + 1);
    return where + ": " + key;
  }

  static std::string Join(const std::string& section, const std::string& key) {
    return section.empty() ? key : section + "." + key;
  }

  bool IsMap(const YAML::Node& node, const std::string& key) {
    if (node.IsMap()) return true;
    Problem(node, key, "expected a mapping of keys to values");
    return false;
  }

  // Calls fn(full key, value, key node) for each key of the mapping `map`
  // (the section `section`), refusing non-scalar and repeated keys.
  template <class Fn>
  void ForEachKey(const YAML::Node& map, const std::string& section, Fn fn) {
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end() && !error_; ++it) {
      // Copies: the iterator hands out a temporary pair.
      const YAML::Node key_node = it->first;
      const YAML::Node value = it->second;
      if (!key_node.IsScalar()) {
        Problem(key_node, section, "a key must be a plain string");
        return;
      }
      const std::string& key = key_node.Scalar();
      if (!seen.insert(key).second) {
        Problem(key_node, Join(section, key), "given twice");
        return;
      }
      current_key_.reset();
      current_key_.emplace(key_node);
      fn(key, value, key_node);
    }
  }

  // A string value: any scalar's text (as Go reads `123` into a string);
  // null reads as "" (the key left empty, which means unset).
  bool String(const YAML::Node& node, const std::string& key,
              std::string* out) {
    if (node.IsNull()) {
      out->clear();
      return true;
    }
    if (!node.IsScalar()) {
      Problem(node, key, "expected a string");
      return false;
    }
    *out = node.Scalar();
    return true;
  }

  bool Bool(const YAML::Node& node, const std::string& key, bool* out) {
    if (node.IsScalar()) {
      bool b = false;
      if (YAML::convert<bool>::decode(node, b)) {
        *out = b;
        return true;
      }
    }
    Problem(node, key, "expected true or false");
    return false;
  }

  // A list of strings; null reads as an empty list.
  bool Strings(const YAML::Node& node, const std::string& key,
               std::vector<std::string>* out) {
    out->clear();
    if (node.IsNull()) return true;
    if (!node.IsSequence()) {
      Problem(node, key, "expected a list of strings");
      return false;
    }
    for (const YAML::Node& item : node) {
      std::string s;
      if (!item.IsScalar()) {
        Problem(item, key, "expected a list of strings");
        return false;
      }
      s = item.Scalar();
      out->push_back(std::move(s));
    }
    return true;
  }

  std::string Resolve(const std::string& path) const {
    if (path.empty() || path[0] == '/' || dir_.empty()) return path;
    return dir_.back() == '/' ? dir_ + path : dir_ + "/" + path;
  }

  // A PEM source given as a file (`file_key`) or inline (`text_key`).
  void PemPair(const std::optional<YAML::Node>& file_node,
               const std::optional<YAML::Node>& text_node,
               const std::string& file_key, const std::string& text_key,
               PemSource* out) {
    std::string file;
    std::string text;
    if (file_node && !String(*file_node, file_key, &file)) return;
    if (text_node && !String(*text_node, text_key, &text)) return;
    if (!file.empty() && !text.empty()) {
      Problem(*text_node, text_key,
              "set together with " + file_key + "; give one of the two");
      return;
    }
    if (!file.empty()) {
      if (file.find('\0') != std::string::npos) {
        Problem(*file_node, file_key, "a file name cannot hold a NUL byte");
        return;
      }
      out->path = Resolve(file);
      out->where = Where(*file_node, file_key);
    } else if (!text.empty()) {
      out->pem = std::move(text);
      out->where = Where(*text_node, text_key);
    }
  }

  void ReadTls(const YAML::Node& node, WebConfig* config) {
    const std::string section = "tls_server_config";
    if (node.IsNull()) return;  // an empty section: plain HTTP
    if (!IsMap(node, section)) return;
    TlsServerConfig tls;
    // The nodes of the keys present (yaml-cpp's Node assignment would
    // alias the nodes it is given, hence optional and emplace).
    struct {
      std::optional<YAML::Node> cert_file, cert, key_file, key, ca_file, ca,
          sans, auth;
      std::optional<YAML::Node> first;  // the section's first key
    } at;
    ForEachKey(
        node, section,
        [&](const std::string& key, const YAML::Node& value,
            const YAML::Node& key_node) {
          const std::string full = Join(section, key);
          if (!at.first) at.first.emplace(key_node);
          if (key == "cert_file") {
            at.cert_file.emplace(value);
          } else if (key == "cert") {
            at.cert.emplace(value);
          } else if (key == "key_file") {
            at.key_file.emplace(value);
          } else if (key == "key") {
            at.key.emplace(value);
          } else if (key == "client_ca_file") {
            at.ca_file.emplace(value);
          } else if (key == "client_ca") {
            at.ca.emplace(value);
          } else if (key == "client_auth_type") {
            at.auth.emplace(value);
            std::string name;
            if (!String(value, full, &name)) return;
            if (name.empty()) return;  // blank: the default
            for (const auto& [go_name, auth] : kClientAuthTypes) {
              if (name == go_name) {
                tls.client_auth = auth;
                return;
              }
            }
            std::vector<std::string_view> names;
            names.reserve(kClientAuthTypes.size());
            for (const auto& entry : kClientAuthTypes)
              names.push_back(entry.first);
            Problem(value, full,
                    "\"" + name + "\" is not one of " + JoinNames(names));
          } else if (key == "client_allowed_sans") {
            at.sans.emplace(value);
            Strings(value, full, &tls.client_allowed_sans);
          } else if (key == "min_version" || key == "max_version") {
            TlsVersion* v =
                key == "min_version" ? &tls.min_version : &tls.max_version;
            std::string name;
            if (!String(value, full, &name)) return;
            if (name.empty()) return;  // blank: the default
            if (name == "TLS12") {
              *v = TlsVersion::kTls12;
            } else if (name == "TLS13") {
              *v = TlsVersion::kTls13;
            } else if (name == "TLS10" || name == "TLS11") {
              Problem(
                  value, full,
                  name +
                      " is not offered: OpenSSL 3 negotiates TLS 1.0 and 1.1 "
                      "only at security level 0, which ctkit does not lower "
                      "(use TLS12 or TLS13)");
            } else {
              Problem(value, full, "\"" + name + "\" is not TLS12 or TLS13");
            }
          } else if (key == "cipher_suites") {
            std::vector<std::string> names;
            if (!Strings(value, full, &names)) return;
            for (const std::string& name : names) {
              bool found = false;
              for (const auto& [go_name, openssl_name] : kCipherSuites) {
                if (name == go_name) {
                  tls.cipher_suites.emplace_back(openssl_name);
                  found = true;
                }
              }
              if (found) continue;
              bool tls13 = false;
              for (std::string_view s : kTls13Suites) tls13 |= name == s;
              Problem(
                  value, full,
                  tls13 ? name +
                              " is a TLS 1.3 suite, and TLS 1.3's suites are "
                              "not configurable (list TLS 1.2 suites only)"
                        : "\"" + name +
                              "\" is not a supported TLS 1.2 suite (the ECDHE "
                              "suites Go offers: TLS_ECDHE_RSA_WITH_AES_128_"
                              "GCM_SHA256 and the like)");
              return;
            }
          } else if (key == "prefer_server_cipher_suites") {
            Bool(value, full, &tls.prefer_server_cipher_suites);
          } else if (key == "curve_preferences") {
            std::vector<std::string> names;
            if (!Strings(value, full, &names)) return;
            for (const std::string& name : names) {
              bool found = false;
              for (const auto& [go_name, group] : kCurves) {
                if (name == go_name) {
                  tls.curve_preferences.emplace_back(group);
                  found = true;
                }
              }
              if (!found) {
                Problem(value, full,
                        "\"" + name +
                            "\" is not one of CurveP256, CurveP384, CurveP521, "
                            "X25519");
                return;
              }
            }
          } else {
            Problem(key_node, full, "unknown key");
          }
        });
    if (error_) return;
    PemPair(at.cert_file, at.cert, Join(section, "cert_file"),
            Join(section, "cert"), &tls.cert);
    PemPair(at.key_file, at.key, Join(section, "key_file"),
            Join(section, "key"), &tls.key);
    PemPair(at.ca_file, at.ca, Join(section, "client_ca_file"),
            Join(section, "client_ca"), &tls.client_ca);
    if (error_) return;
    if (tls.cert.empty() && tls.key.empty()) {
      // Nothing to serve TLS with: only a section of blank keys is plain
      // HTTP; anything else set means the operator meant TLS.
      const bool anything_set =
          tls.client_auth != ClientAuth::kNoClientCert ||
          !tls.client_ca.empty() || !tls.client_allowed_sans.empty() ||
          !tls.cipher_suites.empty() || !tls.curve_preferences.empty() ||
          tls.min_version != TlsVersion::kTls12 ||
          tls.max_version != TlsVersion::kTls13;
      if (anything_set) {
        Problem(*at.first, section,
                "TLS settings without a certificate: set cert_file and "
                "key_file (or cert and key)");
      }
      return;
    }
    if (tls.cert.empty()) {
      Problem(at.key_file ? *at.key_file : *at.key, section,
              "a key without a certificate: set cert_file (or cert)");
      return;
    }
    if (tls.key.empty()) {
      Problem(at.cert_file ? *at.cert_file : *at.cert, section,
              "a certificate without a key: set key_file (or key)");
      return;
    }
    if (tls.min_version > tls.max_version) {
      Problem(*at.first, section,
              "min_version is above max_version: no version is left");
      return;
    }
    const bool verifies =
        tls.client_auth == ClientAuth::kVerifyClientCertIfGiven ||
        tls.client_auth == ClientAuth::kRequireAndVerifyClientCert;
    if (verifies && tls.client_ca.empty()) {
      Problem(*at.auth, Join(section, "client_auth_type"),
              "verifying client certificates needs client_ca_file (or "
              "client_ca): without one every certificate would be refused");
      return;
    }
    if (!tls.client_ca.empty() &&
        tls.client_auth == ClientAuth::kNoClientCert) {
      Problem(at.ca_file ? *at.ca_file : *at.ca, section,
              "a client CA with client_auth_type NoClientCert would never be "
              "used: set client_auth_type (RequireAndVerifyClientCert)");
      return;
    }
    const bool requires_cert =
        tls.client_auth == ClientAuth::kRequireAnyClientCert ||
        tls.client_auth == ClientAuth::kRequireAndVerifyClientCert;
    if (!tls.client_allowed_sans.empty() && !requires_cert) {
      Problem(*at.sans, Join(section, "client_allowed_sans"),
              "needs client_auth_type RequireAnyClientCert or "
              "RequireAndVerifyClientCert (otherwise a client without a "
              "certificate has no name to check and gets in)");
      return;
    }
    config->tls = std::move(tls);
  }

  void ReadHttp(const YAML::Node& node, WebConfig* config) {
    const std::string section = "http_server_config";
    if (node.IsNull()) return;
    if (!IsMap(node, section)) return;
    ForEachKey(node, section,
               [&](const std::string& key, const YAML::Node& value,
                   const YAML::Node& key_node) {
                 const std::string full = Join(section, key);
                 if (key == "http2") {
                   Bool(value, full, &config->http2);
                 } else if (key == "headers") {
                   if (value.IsNull()) return;
                   if (!IsMap(value, full)) return;
                   ForEachKey(value, full,
                              [&](const std::string& name, const YAML::Node& v,
                                  const YAML::Node& name_node) {
                                ReadHeader(name, v, name_node, full, config);
                              });
                 } else {
                   Problem(key_node, full,
                           "unknown key (expected http2 or headers)");
                 }
               });
  }

  void ReadHeader(const std::string& name, const YAML::Node& value,
                  const YAML::Node& name_node, const std::string& section,
                  WebConfig* config) {
    const std::string full = Join(section, name);
    bool known = false;
    for (std::string_view h : kHeaders) known |= name == h;
    if (!known) {
      Problem(name_node, full,
              "not a header the format allows (" +
                  JoinNames({kHeaders.begin(), kHeaders.end()}) + ")");
      return;
    }
    std::string v;
    if (!String(value, full, &v)) return;
    if (v.empty()) return;  // blank: unset
    for (char c : v) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) {
        Problem(value, full, "a header value cannot hold control characters");
        return;
      }
    }
    if (name == "X-Frame-Options" && !EqualsIgnoringCase(v, "deny") &&
        !EqualsIgnoringCase(v, "sameorigin")) {
      Problem(value, full, "\"" + v + "\" is not deny or sameorigin");
      return;
    }
    if (name == "X-Content-Type-Options" && !EqualsIgnoringCase(v, "nosniff")) {
      Problem(value, full, "\"" + v + "\" is not nosniff");
      return;
    }
    config->headers.emplace_back(name, std::move(v));
  }

  void ReadUsers(const YAML::Node& node, WebConfig* config) {
    const std::string section = "basic_auth_users";
    if (node.IsNull()) return;
    if (!IsMap(node, section)) return;
    ForEachKey(
        node, section,
        [&](const std::string& user, const YAML::Node& value,
            const YAML::Node& user_node) {
          const std::string full = Join(section, user);
          if (user.empty()) {
            Problem(user_node, section, "a user name cannot be empty");
            return;
          }
          for (char c : user) {
            const auto u = static_cast<unsigned char>(c);
            if (c == ':' || u < 0x20 || u == 0x7f) {
              Problem(user_node, full,
                      "a user name cannot hold a colon or a control character "
                      "(basic auth sends \"user:password\")");
              return;
            }
          }
          std::string hash;
          if (!String(value, full, &hash)) return;
          if (!IsBcryptHash(hash)) {
            Problem(value, full,
                    hash.empty()
                        ? std::string("no password hash")
                        : "not a bcrypt hash ($2y$, $2b$ or $2a$, a cost "
                          "of 04 to 31, 53 more characters; make one "
                          "with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)");
            return;
          }
          config->basic_auth_users.emplace(user, std::move(hash));
        });
  }

  void ReadRateLimit(const YAML::Node& node, WebConfig* config) {
    const std::string section = "rate_limit";
    if (node.IsNull()) return;
    if (!IsMap(node, section)) return;
    RateLimit limit;
    std::optional<YAML::Node> interval_node;
    ForEachKey(
        node, section,
        [&](const std::string& key, const YAML::Node& value,
            const YAML::Node& key_node) {
          const std::string full = Join(section, key);
          if (key == "interval") {
            interval_node.emplace(value);
            std::string text;
            if (!String(value, full, &text)) return;
            const std::optional<double> seconds = ParseGoDuration(text);
            if (!seconds) {
              Problem(value, full,
                      "\"" + text + "\" is not a duration (e.g. 1s, 250ms, 0)");
              return;
            }
            limit.interval_seconds = *seconds;
          } else if (key == "burst") {
            long long burst = -1;
            if (!value.IsScalar() ||
                !YAML::convert<long long>::decode(value, burst) || burst < 0 ||
                burst > 1000000) {
              Problem(value, full, "expected a whole number from 0 to 1000000");
              return;
            }
            limit.burst = static_cast<uint32_t>(burst);
          } else {
            Problem(key_node, full, "unknown key (expected interval or burst)");
          }
        });
    if (error_) return;
    if (limit.interval_seconds == 0) return;  // 0: no limit
    if (limit.burst == 0) {
      Problem(*interval_node, Join(section, "burst"),
              "must be at least 1 when interval is set (0 would refuse every "
              "request)");
      return;
    }
    config->rate_limit = limit;
  }

  const std::string& name_;
  const std::string& dir_;
  std::optional<Error> error_;
  std::optional<YAML::Node> current_key_;  // the key being read
};

// Where each document starts, as yaml-cpp's parser reports them; the rest
// of the events are not needed.
class DocumentStarts final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    marks.push_back(mark);
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& /*mark*/, YAML::anchor_t /*anchor*/) override {}
  void OnAlias(const YAML::Mark& /*mark*/, YAML::anchor_t /*anchor*/) override {
  }
  void OnScalar(const YAML::Mark& /*mark*/, const std::string& /*tag*/,
                YAML::anchor_t /*anchor*/,
                const std::string& /*value*/) override {}
  void OnSequenceStart(const YAML::Mark& /*mark*/, const std::string& /*tag*/,
                       YAML::anchor_t /*anchor*/,
                       YAML::EmitterStyle::value /*style*/) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& /*mark*/, const std::string& /*tag*/,
                  YAML::anchor_t /*anchor*/,
                  YAML::EmitterStyle::value /*style*/) override {}
  void OnMapEnd() override {}

  std::vector<YAML::Mark> marks;
};

}  // namespace

bool IsBcryptHash(std::string_view hash) {
  // "$2y$10$" + 22 characters of salt + 31 of hash.
  if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' ||
      (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') || hash[3] != '$' ||
      hash[6] != '$') {
    return false;
  }
  if (hash[4] < '0' || hash[4] > '3' || hash[5] < '0' || hash[5] > '9') {
    return false;
  }
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  for (char c : hash.substr(7)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '/';
    if (!ok) return false;
  }
  return true;
}

[[nodiscard]] Result<WebConfig> ParseWebConfig(std::string_view text,
                                               const std::string& name,
                                               const std::string& dir) {
  const std::string copy(text);
  try {
    // Count the documents first, with a stop at the second: yaml-cpp 0.7
    // reads a ',' where a document should start as an endless run of
    // empty documents (LoadAll never returns; Load returns an empty
    // one), so two documents that start at the same place mean a parse
    // that makes no progress.
    std::istringstream in(copy);
    YAML::Parser parser(in);
    DocumentStarts starts;
    while (starts.marks.size() < 2 && parser.HandleNextDocument(starts)) {
    }
    if (starts.marks.size() >= 2) {
      const YAML::Mark& first = starts.marks[0];
      const YAML::Mark& second = starts.marks[1];
      if (second.pos == first.pos) {
        return fail(Error::invalid_argument(
            name + ":" + std::to_string(first.line + 1) +
            ": not valid YAML: nothing can be read from here on"));
      }
      return fail(Error::invalid_argument(
          name + ":" + std::to_string(second.line + 1) +
          ": a second YAML document; a web configuration is one"));
    }
    return Reader(name, dir).Read(YAML::Load(copy));
  } catch (const YAML::Exception& e) {
    // A syntax error, or a nesting deeper than yaml-cpp's guard allows.
    std::string where = name;
    if (!e.mark.is_null()) where += ":" + std::to_string(e.mark.line + 1);
    return fail(Error::invalid_argument(where + ": not valid YAML: " + e.msg));
  } catch (const std::exception& e) {
    return fail(Error::invalid_argument(
        name + ": cannot be read as YAML: " + e.what()));
  }
}

[[nodiscard]] Result<WebConfig> LoadWebConfig(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return fail(Error::io("web config " + path +
                          ": cannot open: " + std::strerror(errno)));
  }
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return fail(Error::io("web config " + path +
                            ": cannot read: " + std::strerror(err)));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxWebConfigBytes) {
      close(fd);
      return fail(Error::invalid_argument(
          "web config " + path + ": larger than " +
          std::to_string(kMaxWebConfigBytes) + " bytes; not a web config"));
    }
  }
  close(fd);
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? ""
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  Result<WebConfig> config = ParseWebConfig(text, path, dir);
  if (!config || !config->tls) return config;
  for (const PemSource* source :
       {&config->tls->cert, &config->tls->key, &config->tls->client_ca}) {
    if (source->path.empty()) continue;
    const int f = open(source->path.c_str(), O_RDONLY | O_CLOEXEC);
    if (f < 0) {
      return fail(Error::io(source->where + ": cannot read " + source->path +
                            ": " + std::strerror(errno)));
    }
    struct stat st {};
    const bool regular = fstat(f, &st) == 0 && S_ISREG(st.st_mode);
    close(f);
    if (!regular) {
      return fail(Error::io(source->where + ": " + source->path +
                            " is not a regular file"));
    }
  }
  return config;
}

}  // namespace ctkit::watch
