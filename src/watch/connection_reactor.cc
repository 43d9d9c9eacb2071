// The connection life cycle (see connection_reactor.h for why it is not
// httplib's own):
//
//   accept ─> [handshake] ─> idle ─> head ─> busy (a worker) ─> flushing ─┐
//                             ^                                          │
//                             └──────────── keep-alive ──────────────────┘
//
// Each phase but busy has a deadline; the epoll thread sweeps them ten
// times a second and closes what is late. The busy phase is the worker's:
// the epoll thread neither watches nor sweeps nor evicts a busy
// connection, and takes it back through served_ when the worker is done.
// Sockets are non-blocking throughout; TLS is OpenSSL on the same socket,
// whose WANT_READ/WANT_WRITE say which readiness to wait for next.
#include "watch/connection_reactor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>
#include <utility>

namespace ctkit::watch {

using Clock = std::chrono::steady_clock;

namespace {

// epoll's tag for the wake-up eventfd (connection ids start at 1).
constexpr uint64_t kWakeTag = 0;
constexpr auto kSweepInterval = std::chrono::milliseconds(100);

constexpr char kHeadTooLarge[] =
    "HTTP/1.1 431 Request Header Fields Too Large\r\n"
    "Content-Type: text/plain\r\nContent-Length: 23\r\n"
    "Connection: close\r\n\r\nrequest head too large\n";
// What Go's servers answer too, so the operator sees the mistake.
constexpr char kPlainToTls[] =
    "HTTP/1.0 400 Bad Request\r\n\r\n"
    "Client sent an HTTP request to an HTTPS server.\n";

enum class Phase : uint8_t { kHandshake, kIdle, kHead, kBusy, kFlushing };

// Receive and Send results besides a byte count.
constexpr ssize_t kWouldBlock = -1;
constexpr ssize_t kBroken = -2;

// OpenSSL writes to its socket with write(2), which raises SIGPIPE when
// the client has gone and would end the exporter. The threads that write
// (the epoll thread, and Stop's closing of TLS connections) block the
// signal while they work: write then fails with EPIPE instead, and the
// signal left pending is taken before the mask is restored.
class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlocked() {
    const timespec now{0, 0};
    while (sigtimedwait(&pipe_, nullptr, &now) == SIGPIPE) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlocked(const SigpipeBlocked&) = delete;
  SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t old_{};
};

std::string Address(const sockaddr_storage& ss, int* port) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    *port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    *port = ntohs(in6->sin6_port);
  }
  return buf;
}

}  // namespace

struct ConnectionReactor::Connection {
  uint64_t id = 0;
  int fd = -1;
  SSL* ssl = nullptr;  // owned; null for plain HTTP
  Phase phase = Phase::kIdle;
  Clock::time_point since;     // when the phase began (eviction order)
  Clock::time_point deadline;  // when the phase has taken too long
  std::string in;              // received, not yet served
  std::string out;             // the response, being sent
  size_t sent = 0;             // of `out`
  bool close_after_flush = false;
  size_t requests = 0;
  // What the socket must become for the current phase to go on: writable
  // (sending, or TLS wants to write) or readable.
  bool want_write = false;
  uint32_t watched = 0;  // the events epoll has for it now; 0: not added
  std::string remote_ip, local_ip;
  int remote_port = 0, local_port = 0;
};

namespace {

// The request as httplib reads it: the bytes the epoll thread collected,
// and nothing more (a worker never waits for the network); the response
// goes into memory for the epoll thread to send.
class BufferedStream final : public httplib::Stream {
 public:
  BufferedStream(ConnectionReactor::Connection* c, size_t max_out)
      : c_(c), max_out_(max_out) {}

  bool is_readable() const override { return pos_ < c_->in.size(); }
  bool is_writable() const override { return !overflow_; }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, c_->in.size() - pos_);
    std::memcpy(ptr, c_->in.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (overflow_ || c_->out.size() + size > max_out_) {
      overflow_ = true;
      return -1;
    }
    c_->out.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = c_->remote_ip;
    port = c_->remote_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = c_->local_ip;
    port = c_->local_port;
  }
  socket_t socket() const override { return c_->fd; }

  size_t consumed() const { return pos_; }
  bool overflow() const { return overflow_; }

 private:
  ConnectionReactor::Connection* c_;
  const size_t max_out_;
  size_t pos_ = 0;
  bool overflow_ = false;
};

// What an SSL_read or SSL_write that returned `n` means: bytes moved, the
// peer's close_notify (0), a wait for the socket to be readable or
// writable (kWouldBlock, noting which), or a broken connection.
ssize_t SslOutcome(ConnectionReactor::Connection* c, int n) {
  if (n > 0) return n;
  switch (SSL_get_error(c->ssl, n)) {
    case SSL_ERROR_WANT_READ:
      c->want_write = false;
      return kWouldBlock;
    case SSL_ERROR_WANT_WRITE:
      c->want_write = true;
      return kWouldBlock;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    default:
      return kBroken;
  }
}

ssize_t Receive(ConnectionReactor::Connection* c, char* buf, size_t len) {
  if (c->ssl != nullptr) {
    ERR_clear_error();
    return SslOutcome(c, SSL_read(c->ssl, buf, static_cast<int>(len)));
  }
  for (;;) {
    const ssize_t n = recv(c->fd, buf, len, 0);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      c->want_write = false;
      return kWouldBlock;
    }
    return kBroken;
  }
}

ssize_t Send(ConnectionReactor::Connection* c, const char* buf, size_t len) {
  if (c->ssl != nullptr) {
    ERR_clear_error();
    return SslOutcome(c, SSL_write(c->ssl, buf, static_cast<int>(len)));
  }
  for (;;) {
    const ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      c->want_write = true;
      return kWouldBlock;
    }
    return kBroken;
  }
}

// Whether OpenSSL's failed handshake read a plain HTTP request.
bool HandshakeSawHttp() {
  while (const unsigned long e = ERR_get_error()) {
    if (ERR_GET_REASON(e) == SSL_R_HTTP_REQUEST) {
      ERR_clear_error();
      return true;
    }
  }
  return false;
}

}  // namespace

ConnectionReactor::ConnectionReactor(const ConnectionLimits& limits,
                                     const TlsContext* tls, ServeFn serve)
    : limits_(limits), tls_(tls), serve_(std::move(serve)) {
  max_connections_ = std::max<size_t>(limits_.max_connections, 1);
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
      nofile.rlim_cur != RLIM_INFINITY) {
    max_connections_ =
        std::clamp<size_t>(nofile.rlim_cur / 2, 1, max_connections_);
  }
}

ConnectionReactor::~ConnectionReactor() { Stop(); }

bool ConnectionReactor::Start() {
  MutexLock lock(&inbox_mu_);
  if (running_) return true;
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  if (epoll_fd_ < 0 || wake_fd_ < 0 ||
      epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    if (epoll_fd_ >= 0) close(epoll_fd_);
    if (wake_fd_ >= 0) close(wake_fd_);
    epoll_fd_ = wake_fd_ = -1;
    return false;
  }
  stop_ = false;
  {
    MutexLock work_lock(&work_mu_);
    stopping_ = false;
  }
  running_ = true;
  reactor_ = std::thread([this] { Run(); });
  for (size_t i = 0; i < std::max<size_t>(limits_.workers, 1); ++i) {
    workers_.emplace_back([this] { Work(); });
  }
  return true;
}

void ConnectionReactor::Adopt(int fd) {
  {
    MutexLock lock(&inbox_mu_);
    // A backlog the epoll thread has not taken yet is bounded too.
    if (running_ && new_sockets_.size() < max_connections_) {
      new_sockets_.push_back(fd);
      const uint64_t one = 1;
      (void)!write(wake_fd_, &one, sizeof one);
      return;
    }
  }
  close(fd);
}

void ConnectionReactor::Stop() {
  std::vector<int> unadopted;
  {
    MutexLock lock(&inbox_mu_);
    if (!running_) return;
    running_ = false;
    stop_ = true;
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
  }
  reactor_.join();
  {
    MutexLock lock(&work_mu_);
    stopping_ = true;
    work_.clear();  // still owned by connections_
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  // Every thread is gone: what is left is this thread's to close.
  {
    MutexLock lock(&inbox_mu_);
    unadopted.swap(new_sockets_);
    served_.clear();  // still owned by connections_
  }
  for (int fd : unadopted) close(fd);
  const SigpipeBlocked no_sigpipe;  // TLS connections say goodbye
  while (!connections_.empty()) Close(connections_.begin()->second.get());
  close(epoll_fd_);
  close(wake_fd_);
  epoll_fd_ = wake_fd_ = -1;
}

void ConnectionReactor::Run() {
  const SigpipeBlocked no_sigpipe;
  epoll_event events[64];
  while (!stop_) {
    const int n = epoll_wait(epoll_fd_, events, 64,
                             static_cast<int>(kSweepInterval.count()));
    for (int i = 0; i < n; ++i) {
      const uint64_t id = events[i].data.u64;
      if (id == kWakeTag) {
        uint64_t count = 0;
        (void)!read(wake_fd_, &count, sizeof count);
        continue;
      }
      // Looked up by id: an earlier event of this round may have closed it.
      const auto it = connections_.find(id);
      if (it == connections_.end()) continue;
      Connection* c = it->second.get();
      if ((events[i].events & EPOLLERR) != 0) {
        Close(c);
        continue;
      }
      Advance(c);
    }
    TakeInbox();
    Sweep();
  }
}

void ConnectionReactor::TakeInbox() {
  std::vector<int> sockets;
  std::vector<Connection*> served;
  {
    MutexLock lock(&inbox_mu_);
    sockets.swap(new_sockets_);
    served.swap(served_);
  }
  for (Connection* c : served) {
    c->phase = Phase::kFlushing;
    c->since = Clock::now();
    c->deadline = c->since + limits_.write_timeout;
    Flush(c);
  }
  for (int fd : sockets) Admit(fd);
}

void ConnectionReactor::Admit(int fd) {
  if (connections_.size() >= max_connections_ && !EvictOne()) {
    close(fd);  // every connection is being served: no room
    return;
  }
  const int flags = fcntl(fd, F_GETFL);
  const int one = 1;
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    close(fd);
    return;
  }
  // A response goes out in one piece: no waiting for the previous
  // segment's ACK (Nagle) on keep-alive connections.
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto owned = std::make_unique<Connection>();
  Connection* c = owned.get();
  c->id = next_id_++;
  c->fd = fd;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    c->remote_ip = Address(ss, &c->remote_port);
  }
  len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    c->local_ip = Address(ss, &c->local_port);
  }
  connections_.emplace(c->id, std::move(owned));
  ++open_;
  if (tls_ != nullptr) {
    c->ssl = SSL_new(tls_->ctx());
    if (c->ssl == nullptr || SSL_set_fd(c->ssl, fd) != 1) {
      Close(c);
      return;
    }
    c->phase = Phase::kHandshake;
    c->since = Clock::now();
    c->deadline = c->since + limits_.handshake_timeout;
  } else {
    EnterIdle(c);
  }
  Advance(c);
}

bool ConnectionReactor::EvictOne() {
  // The oldest idle connection, else the oldest in any other phase but
  // busy (a handshake, a head or a response that is taking its time).
  Connection* victim = nullptr;
  for (const auto& [id, owned] : connections_) {
    Connection* c = owned.get();
    if (c->phase == Phase::kBusy) continue;
    const bool idle = c->phase == Phase::kIdle;
    const bool victim_idle = victim != nullptr && victim->phase == Phase::kIdle;
    if (victim == nullptr || (idle && !victim_idle) ||
        (idle == victim_idle && c->since < victim->since)) {
      victim = c;
    }
  }
  if (victim == nullptr) return false;
  Close(victim);
  return true;
}

void ConnectionReactor::Sweep() {
  const Clock::time_point now = Clock::now();
  if (now < next_sweep_) return;
  next_sweep_ = now + kSweepInterval;
  std::vector<Connection*> late;
  for (const auto& [id, owned] : connections_) {
    if (owned->phase != Phase::kBusy && owned->deadline <= now) {
      late.push_back(owned.get());
    }
  }
  for (Connection* c : late) Close(c);
}

void ConnectionReactor::Advance(Connection* c) {
  switch (c->phase) {
    case Phase::kHandshake:
      Handshake(c);
      break;
    case Phase::kIdle:
    case Phase::kHead:
      ReadHead(c);
      break;
    case Phase::kFlushing:
      Flush(c);
      break;
    case Phase::kBusy:
      break;
  }
}

void ConnectionReactor::Handshake(Connection* c) {
  ERR_clear_error();
  const int r = SSL_accept(c->ssl);
  if (r == 1) {
    if (!tls_->ClientAllowed(c->ssl)) {
      Close(c);
      return;
    }
    EnterIdle(c);
    ReadHead(c);
    return;
  }
  switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ:
      c->want_write = false;
      Watch(c);
      return;
    case SSL_ERROR_WANT_WRITE:
      c->want_write = true;
      Watch(c);
      return;
    default:
      if (HandshakeSawHttp()) {
        // The rest of the request is read and dropped first: closing with
        // unread bytes would reset the connection, and the client would
        // lose the answer.
        char drain[4096];
        for (int i = 0; i < 16 && recv(c->fd, drain, sizeof drain, 0) > 0;
             ++i) {
        }
        (void)!send(c->fd, kPlainToTls, sizeof kPlainToTls - 1, MSG_NOSIGNAL);
        shutdown(c->fd, SHUT_WR);
      }
      Close(c);
      return;
  }
}

// Leading blank lines before a request are allowed (RFC 9112 2.2); the
// rest starts a head, whose deadline runs from its first byte. True when
// the head is complete.
bool ConnectionReactor::StartRequest(Connection* c) {
  if (c->phase == Phase::kIdle) {
    size_t skip = 0;
    while (skip < c->in.size() &&
           (c->in[skip] == '\r' || c->in[skip] == '\n')) {
      ++skip;
    }
    c->in.erase(0, skip);
    if (c->in.empty()) return false;
    c->phase = Phase::kHead;
    c->since = Clock::now();
    c->deadline = c->since + limits_.head_timeout;
  }
  const size_t end = c->in.find("\r\n\r\n");
  return end != std::string::npos && end + 4 <= limits_.max_head_bytes;
}

void ConnectionReactor::ReadHead(Connection* c) {
  for (;;) {
    if (StartRequest(c)) {
      Dispatch(c);
      return;
    }
    if (c->in.size() >= limits_.max_head_bytes) {
      Refuse(c, kHeadTooLarge);
      return;
    }
    char buf[4096];
    const size_t room = limits_.max_head_bytes - c->in.size();
    const ssize_t n = Receive(c, buf, std::min(sizeof buf, room));
    if (n == kWouldBlock) {
      Watch(c);
      return;
    }
    if (n <= 0) {  // the client closed, or the connection broke
      Close(c);
      return;
    }
    c->in.append(buf, static_cast<size_t>(n));
  }
}

void ConnectionReactor::Refuse(Connection* c, const char* response) {
  c->in.clear();
  c->out = response;
  c->sent = 0;
  c->close_after_flush = true;
  c->phase = Phase::kFlushing;
  c->since = Clock::now();
  c->deadline = c->since + limits_.write_timeout;
  Flush(c);
}

void ConnectionReactor::Flush(Connection* c) {
  while (c->sent < c->out.size()) {
    const ssize_t n = Send(c, c->out.data() + c->sent, c->out.size() - c->sent);
    if (n == kWouldBlock) {
      Watch(c);
      return;
    }
    if (n <= 0) {
      Close(c);
      return;
    }
    c->sent += static_cast<size_t>(n);
  }
  std::string().swap(c->out);  // an idle connection keeps no buffer
  c->sent = 0;
  if (c->close_after_flush) {
    Close(c);
    return;
  }
  EnterIdle(c);
  ReadHead(c);  // a pipelined request may be waiting already
}

void ConnectionReactor::EnterIdle(Connection* c) {
  c->phase = Phase::kIdle;
  c->since = Clock::now();
  c->deadline = c->since + limits_.idle_timeout;
  if (c->in.empty()) std::string().swap(c->in);
}

void ConnectionReactor::Dispatch(Connection* c) {
  if (c->watched != 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
    c->watched = 0;
  }
  c->phase = Phase::kBusy;
  {
    MutexLock lock(&work_mu_);
    work_.push_back(c);
  }
  work_cv_.notify_one();
}

void ConnectionReactor::Watch(Connection* c) {
  const uint32_t events = c->want_write ? EPOLLOUT : EPOLLIN;
  if (c->watched == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = c->id;
  const int op = c->watched == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (epoll_ctl(epoll_fd_, op, c->fd, &ev) != 0) {
    Close(c);
    return;
  }
  c->watched = events;
}

void ConnectionReactor::Close(Connection* c) {
  --open_;  // first: before the client can see the connection end
  if (c->watched != 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  if (c->ssl != nullptr) {
    ERR_clear_error();
    (void)SSL_shutdown(c->ssl);  // one close_notify, not waited for
    SSL_free(c->ssl);
    ERR_clear_error();
  }
  close(c->fd);
  connections_.erase(c->id);  // frees c
}

void ConnectionReactor::Work() {
  for (;;) {
    Connection* c = nullptr;
    {
      MutexLock lock(&work_mu_);
      while (work_.empty() && !stopping_) work_cv_.wait(work_mu_);
      if (stopping_) return;
      c = work_.front();
      work_.pop_front();
    }
    Serve(c);
    {
      MutexLock lock(&inbox_mu_);
      served_.push_back(c);
      const uint64_t one = 1;
      (void)!write(wake_fd_, &one, sizeof one);
    }
  }
}

void ConnectionReactor::Serve(Connection* c) {
  BufferedStream stream(c, limits_.max_response_bytes);
  ++c->requests;
  const bool last = c->requests >= limits_.max_requests_per_connection;
  bool closed = false;
  const bool ok = serve_(stream, last, &closed);
  c->in.erase(0, stream.consumed());
  c->sent = 0;
  c->close_after_flush = !ok || closed || last || stream.overflow();
  if (stream.overflow()) c->out.clear();  // a partial response: none at all
}

}  // namespace ctkit::watch
