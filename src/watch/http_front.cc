// Building the configured server (see http_front.h).
//
// httplib hands each accepted socket to a TaskQueue, whose task calls the
// server's process_and_close_socket: a virtual member, which
// HttpFront::Server overrides to pass the socket to the ConnectionReactor
// instead. The task queue then only has to run that task at once, on
// httplib's accepting thread (it returns immediately), and to stop the
// reactor when the listening loop ends (the reactor starts in Create, so
// that a failure is an error before anything listens). The reactor's
// workers call back into httplib's process_request (protected, hence the
// subclass) for each request.
#include "watch/http_front.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "core/thread_annotations.h"
#include "watch/basic_auth.h"
#include "watch/tls_context.h"

namespace ctkit::watch {

// The rate_limit of the web configuration: a bucket of `burst` tokens,
// one more every `interval`; each request takes one or is refused.
class TokenBucket {
 public:
  explicit TokenBucket(const RateLimit& limit)
      : interval_seconds_(limit.interval_seconds),
        burst_(limit.burst),
        tokens_(limit.burst),
        last_(std::chrono::steady_clock::now()) {}

  bool Take() {
    MutexLock lock(&mu_);
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    tokens_ = std::min<double>(burst_, tokens_ + elapsed / interval_seconds_);
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  const double interval_seconds_;  // > 0
  const double burst_;             // >= 1
  Mutex mu_;
  double tokens_ CTKIT_GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point last_ CTKIT_GUARDED_BY(mu_);
};

class HttpFront::Server final : public httplib::Server {
 public:
  void set_reactor(ConnectionReactor* reactor) { reactor_ = reactor; }

  /// httplib listens with a backlog of 5: a burst of connections (200
  /// clients at once) overflows it, and the kernel drops their SYNs, a
  /// scrape's among them, which then waits a second or more for its
  /// retransmission. Listening again on the bound socket widens the queue
  /// (the kernel caps it at net.core.somaxconn); the epoll thread then
  /// decides who stays.
  void WidenBacklog() {
    constexpr int kBacklog = 1024;
    const int sock = svr_sock_;
    if (sock != INVALID_SOCKET) (void)::listen(sock, kBacklog);
  }

  /// One request, as the reactor's workers ask for it.
  bool Serve(httplib::Stream& stream, bool close, bool* closed) {
    bool connection_closed = false;
    const bool ok = process_request(stream, close, connection_closed, nullptr);
    *closed = connection_closed;
    return ok;
  }

 private:
  bool process_and_close_socket(socket_t sock) override {
    reactor_->Adopt(sock);
    return true;
  }

  ConnectionReactor* reactor_ = nullptr;
};

namespace {

// httplib's task queue for HttpFront: runs each task where it is given
// (the task only hands a socket over), and ties the reactor's threads to
// the listening loop.
class AdoptAtOnce final : public httplib::TaskQueue {
 public:
  explicit AdoptAtOnce(ConnectionReactor* reactor) : reactor_(reactor) {}
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override { reactor_->Stop(); }

 private:
  ConnectionReactor* reactor_;
};

}  // namespace

Result<std::unique_ptr<HttpFront>> HttpFront::Create(
    const WebConfig& config, const ConnectionLimits& limits) {
  std::unique_ptr<HttpFront> front(new HttpFront());
  if (config.tls) {
    Result<std::unique_ptr<TlsContext>> tls = TlsContext::Create(*config.tls);
    if (!tls) return fail(std::move(tls.error()));
    front->tls_ = std::move(*tls);
  }
  if (!config.basic_auth_users.empty()) {
    front->auth_ = std::make_unique<BasicAuth>(config.basic_auth_users);
  }
  if (config.rate_limit && config.rate_limit->interval_seconds > 0) {
    front->rate_limit_ = std::make_unique<TokenBucket>(*config.rate_limit);
  }
  front->server_ = std::make_unique<Server>();
  Server* server = front->server_.get();
  front->reactor_ = std::make_unique<ConnectionReactor>(
      limits, front->tls_.get(),
      [server](httplib::Stream& stream, bool close, bool* closed) {
        return server->Serve(stream, close, closed);
      });
  ConnectionReactor* reactor = front->reactor_.get();
  server->set_reactor(reactor);
  // Started here, so that a failure is an error before anything listens;
  // started again if the server listens again after a stop (a socket the
  // reactor cannot take is closed).
  if (!reactor->Start()) {
    return fail(
        Error::io(std::string("cannot set up the connection threads: ") +
                  std::strerror(errno)));
  }
  server->new_task_queue = [reactor]() -> httplib::TaskQueue* {
    (void)reactor->Start();
    return new AdoptAtOnce(reactor);
  };
  // The Keep-Alive header httplib writes says what the reactor does.
  server->set_keep_alive_max_count(limits.max_requests_per_connection);
  server->set_keep_alive_timeout(
      std::chrono::duration_cast<std::chrono::seconds>(limits.idle_timeout)
          .count());
  server->set_payload_max_length(limits.max_head_bytes);
  httplib::Headers headers;
  for (const auto& [name, value] : config.headers) headers.emplace(name, value);
  server->set_default_headers(std::move(headers));

  TokenBucket* rate_limit = front->rate_limit_.get();
  BasicAuth* auth = front->auth_.get();
  if (rate_limit != nullptr || auth != nullptr) {
    server->set_pre_routing_handler(
        [rate_limit, auth](const httplib::Request& req,
                           httplib::Response& res) {
          using Handled = httplib::Server::HandlerResponse;
          const auto too_many = [&res] {
            res.status = 429;
            res.set_header("Retry-After", "1");
            res.set_content("Too Many Requests\n", "text/plain");
            return Handled::Handled;
          };
          if (rate_limit != nullptr && !rate_limit->Take()) return too_many();
          if (auth == nullptr) return Handled::Unhandled;
          switch (auth->Check(req.get_header_value("Authorization"))) {
            case BasicAuth::Outcome::kAllowed:
              return Handled::Unhandled;
            case BasicAuth::Outcome::kBusy:
              return too_many();
            case BasicAuth::Outcome::kDenied:
              break;
          }
          res.status = 401;
          res.set_header("WWW-Authenticate",
                         "Basic realm=\"ctkit exporter\", charset=\"UTF-8\"");
          res.set_content("Unauthorized\n", "text/plain");
          return Handled::Handled;
        });
  }
  return front;
}

HttpFront::~HttpFront() {
  if (reactor_) reactor_->Stop();
}

httplib::Server& HttpFront::server() { return *server_; }

int HttpFront::Bind(const std::string& host, int port) {
  const int bound = port == 0 ? server_->bind_to_any_port(host)
                    : server_->bind_to_port(host, port) ? port
                                                        : -1;
  if (bound > 0) server_->WidenBacklog();
  return bound;
}

const char* HttpFront::scheme() const {
  return tls_ != nullptr ? "https" : "http";
}

size_t HttpFront::connections() const { return reactor_->connections(); }

}  // namespace ctkit::watch
