// The server's OpenSSL context (see tls_context.h for what is set and why).
//
// Files and inline PEM go the same way: the text is read (a file at most
// kMaxPemBytes), then parsed from memory, so both give the same errors.
// An encrypted private key is refused rather than prompted for: the
// exporter runs unattended.
//
// client_auth_type maps onto OpenSSL's verify modes as Go defines the
// five policies: "Request" and "RequireAny" ask for a certificate and
// accept any (the verify callback passes every error), "VerifyIfGiven"
// and "RequireAndVerify" check it against the client CAs, and the
// "Require" ones refuse a client that sends none. client_allowed_sans is
// checked once the handshake is done (ClientAllowed), on the leaf
// certificate only, as Go does.
#include "watch/tls_context.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ctkit::watch {
namespace {

constexpr size_t kMaxPemBytes = 1 << 20;

// The reason for OpenSSL's latest error, and an empty error queue.
std::string OpenSslReason() {
  unsigned long last = 0;
  while (const unsigned long e = ERR_get_error()) last = e;
  if (last == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(last, buf, sizeof buf);
  return buf;
}

// "WHERE FILE" for a file, "WHERE" for inline text.
std::string Origin(const PemSource& s) {
  return s.path.empty() ? s.where : s.where + " " + s.path;
}

[[nodiscard]] Result<std::string> ReadPem(const PemSource& s) {
  if (s.path.empty()) return s.pem;
  const int fd = open(s.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return fail(
        Error::io(Origin(s) + ": cannot read: " + std::strerror(errno)));
  }
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxPemBytes) {
      close(fd);
      return fail(
          Error::invalid_argument(Origin(s) + ": larger than 1 MiB; not PEM"));
    }
  }
  close(fd);
  return text;
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr MemoryBio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Refuses to prompt for a passphrase.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/,
                 void* /*userdata*/) {
  return 0;
}

// "Request" and "RequireAny": any certificate will do.
int AcceptAnyCertificate(int /*preverify_ok*/, X509_STORE_CTX* /*store*/) {
  return 1;
}

[[nodiscard]] Result<void> LoadChain(SSL_CTX* ctx, const PemSource& source) {
  Result<std::string> text = ReadPem(source);
  if (!text) return fail(std::move(text.error()));
  BioPtr bio = MemoryBio(*text);
  X509* leaf = PEM_read_bio_X509_AUX(bio.get(), nullptr, NoPassphrase, nullptr);
  if (leaf == nullptr) {
    return fail(Error::invalid_argument(Origin(source) +
                                        ": no PEM certificate in it (" +
                                        OpenSslReason() + ")"));
  }
  const int used = SSL_CTX_use_certificate(ctx, leaf);
  X509_free(leaf);
  if (used != 1) {
    return fail(
        Error::invalid_argument(Origin(source) + ": " + OpenSslReason()));
  }
  // The intermediates after it, if any.
  while (X509* ca =
             PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
      X509_free(ca);
      return fail(
          Error::invalid_argument(Origin(source) + ": " + OpenSslReason()));
    }
  }
  ERR_clear_error();  // the end of the text reads as "no start line"
  return {};
}

[[nodiscard]] Result<void> LoadKey(SSL_CTX* ctx, const PemSource& source,
                                   const PemSource& cert) {
  Result<std::string> text = ReadPem(source);
  if (!text) return fail(std::move(text.error()));
  BioPtr bio = MemoryBio(*text);
  EVP_PKEY* key =
      PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
  if (key == nullptr) {
    return fail(Error::invalid_argument(
        Origin(source) + ": no unencrypted PEM private key in it (" +
        OpenSslReason() + ")"));
  }
  X509* leaf = SSL_CTX_get0_certificate(ctx);
  if (leaf != nullptr && X509_check_private_key(leaf, key) != 1) {
    EVP_PKEY_free(key);
    ERR_clear_error();
    return fail(Error::invalid_argument(
        Origin(source) + ": the key does not match the certificate of " +
        Origin(cert)));
  }
  const int used = SSL_CTX_use_PrivateKey(ctx, key);
  EVP_PKEY_free(key);
  if (used != 1) {
    return fail(
        Error::invalid_argument(Origin(source) + ": " + OpenSslReason()));
  }
  return {};
}

[[nodiscard]] Result<void> LoadClientCas(SSL_CTX* ctx,
                                         const PemSource& source) {
  Result<std::string> text = ReadPem(source);
  if (!text) return fail(std::move(text.error()));
  BioPtr bio = MemoryBio(*text);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int count = 0;
  while (X509* ca =
             PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr)) {
    // The store takes its own reference; the CA list its own copy of the
    // name (sent to clients to say which CAs are accepted).
    const bool ok = X509_STORE_add_cert(store, ca) == 1 &&
                    SSL_CTX_add_client_CA(ctx, ca) == 1;
    X509_free(ca);
    if (!ok) {
      return fail(
          Error::invalid_argument(Origin(source) + ": " + OpenSslReason()));
    }
    ++count;
  }
  ERR_clear_error();
  if (count == 0) {
    return fail(
        Error::invalid_argument(Origin(source) + ": no PEM certificate in it"));
  }
  return {};
}

std::string JoinColons(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    if (!out.empty()) out += ':';
    out += n;
  }
  return out;
}

// Whether `allowed` names `name` (one of a certificate's subject
// alternative names).
bool SanMatches(const GENERAL_NAME* name, const std::string& allowed) {
  switch (name->type) {
    case GEN_DNS:
    case GEN_EMAIL:
    case GEN_URI: {
      const ASN1_IA5STRING* s = name->d.ia5;
      return static_cast<size_t>(s->length) == allowed.size() &&
             std::memcmp(s->data, allowed.data(), allowed.size()) == 0;
    }
    case GEN_IPADD: {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      unsigned char bytes[16];
      if (ip->length == 4 && inet_pton(AF_INET, allowed.c_str(), bytes) == 1) {
        return std::memcmp(ip->data, bytes, 4) == 0;
      }
      if (ip->length == 16 &&
          inet_pton(AF_INET6, allowed.c_str(), bytes) == 1) {
        return std::memcmp(ip->data, bytes, 16) == 0;
      }
      return false;
    }
    default:
      return false;
  }
}

}  // namespace

Result<std::unique_ptr<TlsContext>> TlsContext::Create(
    const TlsServerConfig& config) {
  std::unique_ptr<TlsContext> tls(new TlsContext());
  tls->ctx_ = SSL_CTX_new(TLS_server_method());
  SSL_CTX* ctx = tls->ctx_;
  if (ctx == nullptr) {
    return fail(Error::io("cannot set up TLS: " + OpenSslReason()));
  }
  const int min = config.min_version == TlsVersion::kTls13 ? TLS1_3_VERSION
                                                           : TLS1_2_VERSION;
  const int max = config.max_version == TlsVersion::kTls13 ? TLS1_3_VERSION
                                                           : TLS1_2_VERSION;
  SSL_CTX_set_min_proto_version(ctx, min);
  SSL_CTX_set_max_proto_version(ctx, max);
  uint64_t options = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION;
  if (config.prefer_server_cipher_suites) {
    options |= SSL_OP_CIPHER_SERVER_PREFERENCE;
  }
  SSL_CTX_set_options(ctx, options);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
                            SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  static const unsigned char kSessionContext[] = "ctkit exporter";
  SSL_CTX_set_session_id_context(ctx, kSessionContext,
                                 sizeof kSessionContext - 1);

  if (Result<void> r = LoadChain(ctx, config.cert); !r) return fail(r.error());
  if (Result<void> r = LoadKey(ctx, config.key, config.cert); !r) {
    return fail(r.error());
  }
  if (!config.client_ca.empty()) {
    if (Result<void> r = LoadClientCas(ctx, config.client_ca); !r) {
      return fail(r.error());
    }
  }
  if (!config.cipher_suites.empty() &&
      SSL_CTX_set_cipher_list(ctx, JoinColons(config.cipher_suites).c_str()) !=
          1) {
    return fail(Error::unsupported(
        "tls_server_config.cipher_suites: this OpenSSL offers none of them (" +
        OpenSslReason() + ")"));
  }
  if (!config.curve_preferences.empty() &&
      SSL_CTX_set1_groups_list(
          ctx, JoinColons(config.curve_preferences).c_str()) != 1) {
    return fail(Error::unsupported(
        "tls_server_config.curve_preferences: this OpenSSL refuses them (" +
        OpenSslReason() + ")"));
  }
  switch (config.client_auth) {
    case ClientAuth::kNoClientCert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
      break;
    case ClientAuth::kRequestClientCert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, AcceptAnyCertificate);
      break;
    case ClientAuth::kRequireAnyClientCert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                         AcceptAnyCertificate);
      break;
    case ClientAuth::kVerifyClientCertIfGiven:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      break;
    case ClientAuth::kRequireAndVerifyClientCert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                         nullptr);
      break;
  }
  tls->allowed_sans_ = config.client_allowed_sans;
  return tls;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

bool TlsContext::ClientAllowed(SSL* ssl) const {
  if (allowed_sans_.empty()) return true;
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return false;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  bool allowed = false;
  for (int i = 0;
       names != nullptr && i < sk_GENERAL_NAME_num(names) && !allowed; ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    for (const std::string& a : allowed_sans_) {
      if (SanMatches(name, a)) allowed = true;
    }
  }
  GENERAL_NAMES_free(names);
  X509_free(cert);
  return allowed;
}

}  // namespace ctkit::watch
