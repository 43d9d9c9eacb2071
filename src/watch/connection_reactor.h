// ConnectionReactor: owns the exporter's client connections, so that no
// client, however slow, idle or hostile, can hold up a scrape or make the
// exporter's memory grow without bound.
//
// cpp-httplib (0.11, Debian's) gives each connection a thread of a small
// pool for its whole life: for as long as it stays open between requests
// (keep-alive) and for as long as its request head takes to arrive, with
// no limit on the head's size (a line without an end grows until memory
// runs out) and no deadline for the whole head (each byte restarts the
// read timeout). A few hundred idle or dribbling connections then leave no
// thread for Prometheus. So httplib keeps what it does well, parsing a
// request, routing it and writing the response (Server::process_request),
// and this class does the rest:
//
//  - One thread waits on every connection with epoll: the TLS handshake,
//    the wait between requests and the arrival of a request head all
//    happen there, without blocking, so an idle or slow connection costs a
//    socket and a small buffer, not a thread.
//  - A request goes to the worker threads only once its whole head has
//    arrived (up to a blank line). A worker runs process_request on the
//    buffered bytes and collects the response in memory; the epoll thread
//    sends it. Workers never wait for the network, so a few of them are
//    enough: they only wait for scrapes and bcrypt.
//  - Limits (ConnectionLimits): heads of at most max_head_bytes (431
//    past that; a request body must arrive with its head), a deadline for
//    each head, handshake, response and idle period, at most
//    max_connections open (when full, the oldest connection not being
//    served is closed to make room, idle ones first), at most one request
//    of a connection in progress (pipelined requests wait, unread), and
//    responses of at most max_response_bytes.
//
// Memory is therefore bounded by max_connections times (max_head_bytes +
// one response + OpenSSL's per-connection state), whatever clients do.
#ifndef CTKIT_WATCH_CONNECTION_REACTOR_H_
#define CTKIT_WATCH_CONNECTION_REACTOR_H_

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/thread_annotations.h"
#include "watch/tls_context.h"

namespace ctkit::watch {

struct ConnectionLimits {
  /// Connections open at once (also held under half of RLIMIT_NOFILE).
  size_t max_connections = 512;
  /// Threads running requests: scrapes and bcrypt, never network waits.
  size_t workers = 4;
  /// A request head (request line and headers) longer than this is
  /// answered 431 and the connection closed. Prometheus sends about 300
  /// bytes; browsers with cookies a few KiB.
  size_t max_head_bytes = size_t{16} * 1024;
  /// A response longer than this is dropped and the connection closed
  /// (the metrics of a host with thousands of namespaces fit easily).
  size_t max_response_bytes = 64 << 20;
  /// Requests served on one connection before it is closed.
  size_t max_requests_per_connection = 1000;
  /// From accept to the end of the TLS handshake.
  std::chrono::milliseconds handshake_timeout{10'000};
  /// From a request's first byte to the end of its head: a client that
  /// dribbles its headers (slowloris) is cut off after this.
  std::chrono::milliseconds head_timeout{10'000};
  /// Between requests on a keep-alive connection; longer than the
  /// common scrape intervals (15 s to 1 min) so Prometheus keeps its
  /// connection (and its TLS session) from one scrape to the next.
  std::chrono::milliseconds idle_timeout{120'000};
  /// To send a whole response.
  std::chrono::milliseconds write_timeout{10'000};
};

class ConnectionReactor {
 public:
  /// Serves one request whose head is in `stream` (httplib's
  /// Server::process_request). `close`: this is the connection's last
  /// request. Sets *closed when the request asked to close the connection;
  /// returns false when the connection must end.
  using ServeFn =
      std::function<bool(httplib::Stream& stream, bool close, bool* closed)>;

  /// `tls`: null for plain HTTP; otherwise outlives the reactor.
  ConnectionReactor(const ConnectionLimits& limits, const TlsContext* tls,
                    ServeFn serve);
  ~ConnectionReactor();
  ConnectionReactor(const ConnectionReactor&) = delete;
  ConnectionReactor& operator=(const ConnectionReactor&) = delete;

  /// Starts the epoll thread and the workers; false (and nothing started)
  /// when epoll or eventfd cannot be had.
  bool Start();
  /// Hands over an accepted socket, from any thread: the reactor owns it
  /// from now on (and closes it at once when not running).
  void Adopt(int fd);
  /// Stops the threads (a request being served is finished first) and
  /// closes every connection. Safe to call more than once.
  void Stop();

  /// Connections open now (for tests).
  size_t connections() const { return open_.load(); }

  struct Connection;  // connection_reactor.cc

 private:
  void Run();
  void Work();
  void TakeInbox();
  void Admit(int fd);
  bool EvictOne();
  void Sweep();
  void Advance(Connection* c);
  void Handshake(Connection* c);
  void ReadHead(Connection* c);
  bool StartRequest(Connection* c);
  void Refuse(Connection* c, const char* response);
  void Flush(Connection* c);
  void EnterIdle(Connection* c);
  void Dispatch(Connection* c);
  void Watch(Connection* c);
  void Close(Connection* c);
  void Serve(Connection* c);

  const ConnectionLimits limits_;
  const TlsContext* const tls_;
  const ServeFn serve_;
  size_t max_connections_ = 0;  // limits_ held under RLIMIT_NOFILE / 2

  // The epoll thread's own state: no lock, no other thread touches it
  // while the threads run (Stop joins them first).
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: Adopt and the workers wake the epoll thread
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::chrono::steady_clock::time_point next_sweep_{};
  std::atomic<size_t> open_{0};
  std::atomic<bool> stop_{false};
  std::thread reactor_;
  std::vector<std::thread> workers_;

  // What other threads hand to the epoll thread.
  Mutex inbox_mu_;
  bool running_ CTKIT_GUARDED_BY(inbox_mu_) = false;
  std::vector<int> new_sockets_ CTKIT_GUARDED_BY(inbox_mu_);
  std::vector<Connection*> served_ CTKIT_GUARDED_BY(inbox_mu_);

  // Requests whose head has arrived, for the workers. A connection is in
  // here or with a worker only in the busy phase, when the epoll thread
  // leaves it alone.
  Mutex work_mu_;
  std::condition_variable_any work_cv_;
  std::deque<Connection*> work_ CTKIT_GUARDED_BY(work_mu_);
  bool stopping_ CTKIT_GUARDED_BY(work_mu_) = false;
};

}  // namespace ctkit::watch

#endif  // CTKIT_WATCH_CONNECTION_REACTOR_H_
