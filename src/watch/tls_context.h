// TlsContext: the OpenSSL server context the web configuration's
// tls_server_config describes (watch/web_config.h), and the one check
// OpenSSL's handshake cannot make for it (client_allowed_sans).
//
// Everything is loaded and checked here, once, at start: the certificate
// chain, the key (and that it matches the certificate), the client CAs,
// versions, suites and groups. Each failure names the configuration key
// and file it came from ("web.yml:3: tls_server_config.cert_file
// /etc/x.crt: no certificate in it"), so a wrong file is found before the
// exporter listens, not at the first scrape.
//
// Settings beyond the configuration, and why:
//  - no renegotiation (it lets a client make the server redo expensive
//    handshake work at will, and nothing here needs it);
//  - no server-side session cache: TLS 1.2 and 1.3 resume from session
//    tickets, which the server does not store, so a flood of handshakes
//    cannot grow memory;
//  - SSL_MODE_RELEASE_BUFFERS: an idle keep-alive connection holds no read
//    or write buffer (about 34 KiB each otherwise).
#ifndef CTKIT_WATCH_TLS_CONTEXT_H_
#define CTKIT_WATCH_TLS_CONTEXT_H_

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "ctkit/result.h"
#include "watch/web_config.h"

namespace ctkit::watch {

class TlsContext {
 public:
  /// Builds the context; the error names the key and file at fault.
  [[nodiscard]] static Result<std::unique_ptr<TlsContext>> Create(
      const TlsServerConfig& config);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  /// For SSL_new. Thread-safe (OpenSSL's contexts are, once set up).
  SSL_CTX* ctx() const { return ctx_; }

  /// After a handshake: whether the client may go on. False only when
  /// client_allowed_sans is set and the client's certificate carries none
  /// of those names.
  bool ClientAllowed(SSL* ssl) const;

 private:
  TlsContext() = default;

  SSL_CTX* ctx_ = nullptr;                 // owned
  std::vector<std::string> allowed_sans_;  // immutable
};

}  // namespace ctkit::watch

#endif  // CTKIT_WATCH_TLS_CONTEXT_H_
