// The exporter's HTTP front over real loopback sockets: requests are
// served with the configured headers, keep-alive and pipelining work, and
// each limit holds: the head size, the head and idle deadlines, the
// connection cap (a request still gets in), basic auth and the rate limit.
// Deadlines are shortened so the stories take well under a second each.
#include "watch/http_front.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace ctkit::watch {
namespace {

using std::chrono::milliseconds;

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

void SendAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server closed: the test's reads will say so
    done += static_cast<size_t>(n);
  }
}

// Reads from `fd` into *buffer for up to `wait`; false when the peer
// closed the connection (or it broke) before anything more arrived.
bool ReadMore(int fd, std::string* buffer, milliseconds wait) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) return true;
  char buf[8192];
  const ssize_t n = recv(fd, buf, sizeof buf, 0);
  if (n <= 0) return false;
  buffer->append(buf, static_cast<size_t>(n));
  return true;
}

// One response (head and Content-Length body) from the front of *pending.
std::string Response(int fd, std::string* pending) {
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(5000);
  while (std::chrono::steady_clock::now() < deadline) {
    const size_t head_end = pending->find("\r\n\r\n");
    if (head_end != std::string::npos) {
      size_t length = 0;
      const size_t cl = pending->find("Content-Length: ");
      if (cl != std::string::npos && cl < head_end) {
        length = std::stoul(pending->substr(cl + 16));
      }
      if (pending->size() >= head_end + 4 + length) {
        std::string one = pending->substr(0, head_end + 4 + length);
        pending->erase(0, one.size());
        return one;
      }
    }
    if (!ReadMore(fd, pending, milliseconds(100))) break;
  }
  return *pending;
}

// Whether the server closes `fd` within `wait`.
bool ClosedWithin(int fd, milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::string ignored;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!ReadMore(fd, &ignored, milliseconds(50))) return true;
  }
  return false;
}

constexpr char kGetMetrics[] =
    "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";

class HttpFrontTest : public ::testing::Test {
 protected:
  void Start(const WebConfig& config, const ConnectionLimits& limits = {}) {
    Result<std::unique_ptr<HttpFront>> r = HttpFront::Create(config, limits);
    ASSERT_TRUE(r) << r.error().message;
    front_ = std::move(*r);
    front_->server().Get("/metrics",
                         [](const httplib::Request&, httplib::Response& res) {
                           res.set_content("up 1\n", "text/plain");
                         });
    port_ = front_->Bind("127.0.0.1", 0);
    ASSERT_GT(port_, 0);
    listener_ = std::thread([this] { front_->server().listen_after_bind(); });
    while (!front_->server().is_running()) {
      std::this_thread::sleep_for(milliseconds(1));
    }
  }

  void TearDown() override {
    for (int fd : sockets_) close(fd);
    if (front_) {
      front_->server().stop();
      listener_.join();
    }
  }

  int Open() {
    sockets_.push_back(Connect(port_));
    return sockets_.back();
  }

  // One request on a new connection; its whole response.
  std::string Get(const std::string& request = kGetMetrics) {
    const int fd = Open();
    SendAll(fd, request);
    std::string pending;
    return Response(fd, &pending);
  }

  std::unique_ptr<HttpFront> front_;
  int port_ = 0;
  std::thread listener_;
  std::vector<int> sockets_;
};

TEST_F(HttpFrontTest, ServesWithTheConfiguredHeaders) {
  WebConfig config;
  config.headers = {{"X-Content-Type-Options", "nosniff"}};
  Start(config);
  const std::string ok = Get();
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << ok;
  EXPECT_NE(ok.find("X-Content-Type-Options: nosniff\r\n"), std::string::npos);
  EXPECT_EQ(ok.substr(ok.size() - 5), "up 1\n");
  const std::string missing =
      Get("GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(missing.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << missing;
  EXPECT_NE(missing.find("X-Content-Type-Options: nosniff\r\n"),
            std::string::npos);
}

TEST_F(HttpFrontTest, KeepAliveAndPipelinedRequests) {
  Start(WebConfig{});
  const int fd = Open();
  std::string pending;
  SendAll(fd, kGetMetrics);
  EXPECT_EQ(Response(fd, &pending).rfind("HTTP/1.1 200", 0), 0u);
  // Two more in one write, the second split from the first's blank line.
  SendAll(fd, std::string(kGetMetrics) + kGetMetrics);
  EXPECT_EQ(Response(fd, &pending).rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(Response(fd, &pending).rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_TRUE(pending.empty()) << pending;
  EXPECT_FALSE(ClosedWithin(fd, milliseconds(100)));
}

TEST_F(HttpFrontTest, AnOversizedHeadIsRefusedAndClosed) {
  Start(WebConfig{});
  const int fd = Open();
  SendAll(fd, "GET /metrics HTTP/1.1\r\nX-Big: " +
                  std::string(size_t{64} * 1024, 'a'));
  std::string pending;
  const std::string r = Response(fd, &pending);
  EXPECT_EQ(r.rfind("HTTP/1.1 431 ", 0), 0u) << r.substr(0, 200);
  EXPECT_TRUE(ClosedWithin(fd, milliseconds(2000)));
  // Others are still served.
  EXPECT_EQ(Get().rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(HttpFrontTest, ADribbledHeadIsCutOffAtItsDeadline) {
  ConnectionLimits limits;
  limits.head_timeout = milliseconds(300);
  Start(WebConfig{}, limits);
  const int fd = Open();
  SendAll(fd, "GET /metrics HTTP/1.1\r\n");
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(milliseconds(100));
    SendAll(fd, "X-A: b\r\n");  // each byte would restart httplib's timeout
  }
  EXPECT_TRUE(ClosedWithin(fd, milliseconds(1000)));
}

TEST_F(HttpFrontTest, IdleConnectionsAreClosedAfterTheirTimeout) {
  ConnectionLimits limits;
  limits.idle_timeout = milliseconds(200);
  Start(WebConfig{}, limits);
  const int fd = Open();
  EXPECT_TRUE(ClosedWithin(fd, milliseconds(1500)));
  EXPECT_EQ(front_->connections(), 0u);
}

TEST_F(HttpFrontTest, AFullHouseOfIdleConnectionsStillLetsARequestIn) {
  ConnectionLimits limits;
  limits.max_connections = 8;
  Start(WebConfig{}, limits);
  for (int i = 0; i < 30; ++i) Open();
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_LE(front_->connections(), 8u);
  EXPECT_EQ(Get().rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(HttpFrontTest, BasicAuthAsksForCredentials) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  ASSERT_NE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, salt, sizeof salt),
            nullptr);
  WebConfig config;
  config.basic_auth_users["prometheus"] = crypt("s3cret", salt);
  Start(config);
  const std::string none = Get();
  EXPECT_EQ(none.rfind("HTTP/1.1 401 Unauthorized\r\n", 0), 0u) << none;
  EXPECT_NE(none.find("WWW-Authenticate: Basic realm="), std::string::npos);
  const std::string wrong = Get(
      "GET /metrics HTTP/1.1\r\nAuthorization: Basic cHJvbWV0aGV1czp4\r\n\r\n");
  EXPECT_EQ(wrong.rfind("HTTP/1.1 401", 0), 0u) << wrong;
  // prometheus:s3cret
  const std::string right =
      Get("GET /metrics HTTP/1.1\r\nAuthorization: Basic "
          "cHJvbWV0aGV1czpzM2NyZXQ=\r\n\r\n");
  EXPECT_EQ(right.rfind("HTTP/1.1 200", 0), 0u) << right;
}

TEST_F(HttpFrontTest, TheRateLimitAnswers429) {
  WebConfig config;
  config.rate_limit = RateLimit{3600, 2};
  Start(config);
  EXPECT_EQ(Get().rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(Get().rfind("HTTP/1.1 200", 0), 0u);
  const std::string third = Get();
  EXPECT_EQ(third.rfind("HTTP/1.1 429", 0), 0u) << third;
  EXPECT_NE(third.find("Retry-After: 1\r\n"), std::string::npos);
}

}  // namespace
}  // namespace ctkit::watch
