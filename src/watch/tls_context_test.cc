// The TLS set-up: a certificate and its key load from files or inline
// PEM; a file without PEM, a key of another certificate and an empty CA
// file are refused with the key and file named; and client certificates
// are asked for, checked and matched against client_allowed_sans as the
// policy says, over a real handshake on a socket pair. The certificates
// are made here, self-signed P-256, with the names each story needs.
#include "watch/tls_context.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace ctkit::watch {
namespace {

struct Pem {
  std::string cert;
  std::string key;
};

std::string ToPem(const std::function<int(BIO*)>& write) {
  BIO* bio = BIO_new(BIO_s_mem());
  EXPECT_EQ(write(bio), 1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

// A self-signed certificate for `cn`, with subject alternative names
// `sans` (OpenSSL's "DNS:x,IP:y" syntax) when not empty.
Pem MakeCertificate(const std::string& cn, const std::string& sans = "") {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(x, name);
  if (!sans.empty()) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    X509_EXTENSION* ext =
        X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, sans.c_str());
    EXPECT_NE(ext, nullptr);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  Pem pem{ToPem([x](BIO* b) { return PEM_write_bio_X509(b, x); }),
          ToPem([key](BIO* b) {
            return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0,
                                            nullptr, nullptr);
          })};
  X509_free(x);
  EVP_PKEY_free(key);
  return pem;
}

PemSource Inline(const std::string& pem, const std::string& key) {
  return PemSource{"", pem, "web.yml:2: tls_server_config." + key};
}

TlsServerConfig Server(const Pem& pem) {
  TlsServerConfig config;
  config.cert = Inline(pem.cert, "cert");
  config.key = Inline(pem.key, "key");
  return config;
}

TEST(TlsContext, ACertificateAndItsKeyLoadFromFiles) {
  const Pem pem = MakeCertificate("exporter");
  const std::string dir = std::filesystem::temp_directory_path() /
                          ("tls_context_test." + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/s.crt") << pem.cert;
  std::ofstream(dir + "/s.key") << pem.key;
  TlsServerConfig config;
  config.cert = PemSource{dir + "/s.crt", "", "web.yml:2: cert_file"};
  config.key = PemSource{dir + "/s.key", "", "web.yml:3: key_file"};
  Result<std::unique_ptr<TlsContext>> tls = TlsContext::Create(config);
  EXPECT_TRUE(tls) << tls.error().message;
  // The key where the certificate should be.
  config.cert.path = dir + "/s.key";
  Result<std::unique_ptr<TlsContext>> swapped = TlsContext::Create(config);
  ASSERT_FALSE(swapped);
  EXPECT_EQ(
      swapped.error().message.rfind(
          "web.yml:2: cert_file " + dir + "/s.key: no PEM certificate", 0),
      0u)
      << swapped.error().message;
  std::filesystem::remove_all(dir);
}

TEST(TlsContext, AKeyOfAnotherCertificateIsRefused) {
  TlsServerConfig config = Server(MakeCertificate("exporter"));
  config.key = Inline(MakeCertificate("other").key, "key");
  Result<std::unique_ptr<TlsContext>> tls = TlsContext::Create(config);
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().message.rfind(
                "web.yml:2: tls_server_config.key: the key does not match the "
                "certificate of web.yml:2: tls_server_config.cert",
                0),
            0u)
      << tls.error().message;
}

TEST(TlsContext, AClientCaWithoutCertificatesIsRefused) {
  TlsServerConfig config = Server(MakeCertificate("exporter"));
  config.client_auth = ClientAuth::kRequireAndVerifyClientCert;
  config.client_ca = Inline("not pem\n", "client_ca");
  Result<std::unique_ptr<TlsContext>> tls = TlsContext::Create(config);
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().message,
            "web.yml:2: tls_server_config.client_ca: no PEM certificate in it");
}

// A handshake over a socket pair: the server side with `server`, the
// client presenting `client` (or nothing). Returns whether the handshake
// succeeded and, then, whether the server lets the client go on.
struct Handshake {
  bool done = false;
  bool allowed = false;
};

Handshake Shake(const TlsContext& server, const Pem* client) {
  // Either side may write after the other has gone (a refused handshake).
  std::signal(SIGPIPE, SIG_IGN);
  int fds[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, nullptr);
  if (client != nullptr) {
    BIO* cert = BIO_new_mem_buf(client->cert.data(),
                                static_cast<int>(client->cert.size()));
    BIO* key = BIO_new_mem_buf(client->key.data(),
                               static_cast<int>(client->key.size()));
    X509* x = PEM_read_bio_X509(cert, nullptr, nullptr, nullptr);
    EVP_PKEY* k = PEM_read_bio_PrivateKey(key, nullptr, nullptr, nullptr);
    SSL_CTX_use_certificate(client_ctx, x);
    SSL_CTX_use_PrivateKey(client_ctx, k);
    X509_free(x);
    EVP_PKEY_free(k);
    BIO_free(cert);
    BIO_free(key);
  }
  SSL* c = SSL_new(client_ctx);
  SSL_set_fd(c, fds[1]);
  Handshake result;
  std::thread client_side([c, fd = fds[1]] {
    if (SSL_connect(c) == 1) {
      // TLS 1.3 reports a refused client certificate on the first read.
      char byte;
      (void)SSL_read(c, &byte, 1);
    }
    shutdown(fd, SHUT_RDWR);
  });
  SSL* s = SSL_new(server.ctx());
  SSL_set_fd(s, fds[0]);
  result.done = SSL_accept(s) == 1;
  if (result.done) result.allowed = server.ClientAllowed(s);
  shutdown(fds[0], SHUT_RDWR);
  client_side.join();
  SSL_free(s);
  SSL_free(c);
  SSL_CTX_free(client_ctx);
  close(fds[0]);
  close(fds[1]);
  ERR_clear_error();
  return result;
}

TEST(TlsContext, NoClientCertificateIsAskedForByDefault) {
  Result<std::unique_ptr<TlsContext>> tls =
      TlsContext::Create(Server(MakeCertificate("exporter")));
  ASSERT_TRUE(tls) << tls.error().message;
  const Handshake h = Shake(**tls, nullptr);
  EXPECT_TRUE(h.done);
  EXPECT_TRUE(h.allowed);
}

TEST(TlsContext, RequireAndVerifyAcceptsOnlyCertificatesOfTheCa) {
  const Pem scraper = MakeCertificate("scraper");
  TlsServerConfig config = Server(MakeCertificate("exporter"));
  config.client_auth = ClientAuth::kRequireAndVerifyClientCert;
  config.client_ca = Inline(scraper.cert, "client_ca");  // its own anchor
  Result<std::unique_ptr<TlsContext>> tls = TlsContext::Create(config);
  ASSERT_TRUE(tls) << tls.error().message;
  EXPECT_TRUE(Shake(**tls, &scraper).done);
  const Pem stranger = MakeCertificate("stranger");
  EXPECT_FALSE(Shake(**tls, &stranger).done);
  EXPECT_FALSE(Shake(**tls, nullptr).done);
}

TEST(TlsContext, AllowedSansAreMatchedExactly) {
  TlsServerConfig config = Server(MakeCertificate("exporter"));
  config.client_auth = ClientAuth::kRequireAnyClientCert;
  config.client_allowed_sans = {"scraper.example.org", "10.0.0.7"};
  Result<std::unique_ptr<TlsContext>> tls = TlsContext::Create(config);
  ASSERT_TRUE(tls) << tls.error().message;
  const Pem by_name = MakeCertificate("a", "DNS:scraper.example.org");
  const Pem by_ip = MakeCertificate("b", "DNS:other.example.org,IP:10.0.0.7");
  const Pem neither =
      MakeCertificate("scraper.example.org", "DNS:scraper.example.org.evil");
  Handshake h = Shake(**tls, &by_name);
  EXPECT_TRUE(h.done && h.allowed);
  h = Shake(**tls, &by_ip);
  EXPECT_TRUE(h.done && h.allowed);
  // Any certificate completes the handshake (RequireAny), but the names
  // decide; the subject's CN is not one of them.
  h = Shake(**tls, &neither);
  EXPECT_TRUE(h.done);
  EXPECT_FALSE(h.allowed);
  EXPECT_FALSE(Shake(**tls, nullptr).done);
}

}  // namespace
}  // namespace ctkit::watch
