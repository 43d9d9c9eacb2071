// HttpFront: the exporter's HTTP server as its web configuration
// (watch/web_config.h) describes it: TLS or plain, basic auth, the
// configured response headers and rate limit, on connections that hostile
// clients cannot exhaust (watch/connection_reactor.h).
//
// Its server() is an httplib::Server: the caller adds its routes, listens
// and stops it as it would any (binding with Bind, for a longer accept
// queue), and httplib still parses each request, routes it and writes the
// response. What HttpFront changes is around that:
//  - the sockets httplib accepts go to a ConnectionReactor (TLS handshake,
//    keep-alive, limits and deadlines) instead of httplib's thread pool;
//  - before routing, every request passes the rate limit (429 past it)
//    and then basic auth (401 with WWW-Authenticate: Basic when the
//    credentials are missing or wrong, 429 when too many bcrypt checks are
//    running; watch/basic_auth.h);
//  - every response carries the configured headers.
#ifndef CTKIT_WATCH_HTTP_FRONT_H_
#define CTKIT_WATCH_HTTP_FRONT_H_

#include <httplib.h>

#include <memory>
#include <string>

#include "ctkit/result.h"
#include "watch/connection_reactor.h"
#include "watch/web_config.h"

namespace ctkit::watch {

class BasicAuth;
class TlsContext;
class TokenBucket;

class HttpFront {
 public:
  /// Loads the TLS material (errors name the configuration key and file)
  /// and sets the server up; nothing listens yet.
  [[nodiscard]] static Result<std::unique_ptr<HttpFront>> Create(
      const WebConfig& config, const ConnectionLimits& limits = {});
  ~HttpFront();
  HttpFront(const HttpFront&) = delete;
  HttpFront& operator=(const HttpFront&) = delete;

  /// The server: add routes, Bind, then listen_after_bind; stop() ends
  /// listen_after_bind, after which every connection is closed.
  httplib::Server& server();

  /// Binds and listens on HOST:PORT (PORT 0: any free port), with a
  /// longer queue of connections waiting to be accepted than httplib's
  /// bind_to_port gives. Returns the port, or -1 with errno set.
  int Bind(const std::string& host, int port);

  /// "https" with TLS, else "http".
  const char* scheme() const;

  /// Connections open now (for tests).
  size_t connections() const;

 private:
  class Server;  // http_front.cc
  HttpFront() = default;

  std::unique_ptr<TlsContext> tls_;
  std::unique_ptr<BasicAuth> auth_;
  std::unique_ptr<TokenBucket> rate_limit_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<ConnectionReactor> reactor_;  // stopped before server_
};

}  // namespace ctkit::watch

#endif  // CTKIT_WATCH_HTTP_FRONT_H_
