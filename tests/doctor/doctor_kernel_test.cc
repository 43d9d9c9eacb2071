// The doctor against the real kernel (issue 4 §4). In a fresh network
// namespace with conntrack switched on by an nft `ct` rule, real loopback
// TCP connections fill the table after nf_conntrack_max is lowered (a
// global, so the previous value is restored on every exit path: scope exit,
// a failed assertion, SIGINT/SIGTERM, exit()). Every entry is ESTABLISHED
// and ASSURED, so early drop cannot evict anything and further SYNs are
// dropped. The doctor, reading inside that namespace, must report the
// table-full condition and its cause; --apply (runtime only; the persistent
// files and the rollback state under a temporary root) must stop the drops,
// and --rollback must restore what it changed. Needs root; skips otherwise.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "host/apply.h"
#include "host/doctor_report.h"
#include "host/doctor_test_util.h"
#include "host/findings.h"
#include "host/host_view.h"
#include "kernel/ctnetlink.h"

namespace ctkit {
namespace {

constexpr char kMaxPath[] = "/proc/sys/net/netfilter/nf_conntrack_max";
std::string g_saved_max;  // restored by RestoreMax on every exit path

std::string ReadSmall(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[64];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

void WriteSmall(const char* path, const std::string& v) {
  int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = write(fd, v.data(), v.size());
  (void)n;
  close(fd);
}

// Async-signal-safe enough: open/write/close only.
void RestoreMax() {
  if (!g_saved_max.empty()) WriteSmall(kMaxPath, g_saved_max);
}

void OnSignal(int sig) {
  RestoreMax();
  signal(sig, SIG_DFL);
  raise(sig);
}

struct MaxGuard {
  MaxGuard() {
    g_saved_max = ReadSmall(kMaxPath);
    std::atexit(RestoreMax);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) signal(s, OnSignal);
  }
  ~MaxGuard() {
    RestoreMax();
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) signal(s, SIG_DFL);
  }
};

// A network namespace owned by an fd; it disappears with its last fd and
// socket, so there is nothing to delete by name.
struct Netns {
  int fd = -1;
  int home = -1;
  ~Netns() {
    if (fd >= 0) close(fd);
    if (home >= 0) close(home);
  }
};

bool Shell(const std::string& cmd) { return std::system(cmd.c_str()) == 0; }

void SetNonblock(int s) { fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK); }

TEST(DoctorKernel, TableFullIsDiagnosedAndApplyStopsTheDrops) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root (network namespaces, nf_conntrack_max)";
  }
  if (!Shell("command -v nft >/dev/null 2>&1")) {
    GTEST_SKIP() << "nft (nftables) is not installed";
  }
  Netns ns;
  ns.home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  ASSERT_EQ(unshare(CLONE_NEWNET), 0);
  ns.fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  // Inside: loopback up and a ruleset with a ct expression (which is what
  // registers conntrack's hooks in a namespace).
  bool setup = Shell("ip link set lo up") &&
               Shell(
                   "nft 'add table inet ctkit_doctor_e2e; add chain inet "
                   "ctkit_doctor_e2e out { type filter hook output priority "
                   "0; }; add rule inet ctkit_doctor_e2e out ct state new "
                   "counter'");
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(8080);
  setup =
      setup &&
      bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      listen(listener, 1024) == 0;
  ASSERT_EQ(setns(ns.home, CLONE_NEWNET), 0);  // back home
  ASSERT_TRUE(setup) << "namespace setup failed";
  SetNonblock(listener);

  constexpr uint32_t kMax = 64;
  constexpr int kConnections = 100;
  MaxGuard guard;
  ASSERT_FALSE(g_saved_max.empty());
  WriteSmall(kMaxPath, std::to_string(kMax) + "\n");
  ASSERT_EQ(ReadSmall(kMaxPath), std::to_string(kMax) + "\n");

  // Real connections, opened from inside the namespace (a socket belongs to
  // the namespace it was created in).
  std::vector<int> clients, accepted;
  ASSERT_EQ(setns(ns.fd, CLONE_NEWNET), 0);
  for (int i = 0; i < kConnections; ++i) {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    clients.push_back(c);
  }
  ASSERT_EQ(setns(ns.home, CLONE_NEWNET), 0);
  auto accept_all = [&] {
    for (;;) {
      int a = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (a < 0) break;
      accepted.push_back(a);
    }
  };
  for (int i = 0; i < 15; ++i) {  // SYN retransmits at 1 s, 3 s
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    accept_all();
  }

  auto diagnose = [&](HostData* d) {
    auto live = NewLiveHostView([] { return CtnetlinkClient::Open(); }, ns.fd);
    *d = Collect(*live);
    return Diagnose(*d, {});
  };
  HostData d;
  Diagnosis g = diagnose(&d);
  std::string report = FormatDoctorText(d, g);
  std::printf("%s\n", report.c_str());
  ASSERT_TRUE(d.count.has_value());
  EXPECT_GE(*d.count, kMax - 2);
  EXPECT_EQ(*d.max, kMax);
  EXPECT_LT(accepted.size(), static_cast<size_t>(kConnections));
  ASSERT_TRUE(d.stats.has_value()) << report;
  EXPECT_GT(d.stats->drop, 0u);
  const Finding* full = nullptr;
  for (const auto& f : g.findings) {
    if (f.id == "max-too-low") full = &f;
  }
  ASSERT_NE(full, nullptr);
  EXPECT_EQ(full->severity, Severity::kCritical);
  EXPECT_EQ(g.status, Severity::kCritical);
  // The cause: ASSURED established connections that early drop cannot take.
  EXPECT_NE(full->detail.find("ASSURED"), std::string::npos) << full->detail;
  EXPECT_NE(full->detail.find("nf_conntrack_tcp_timeout_established"),
            std::string::npos);
  ASSERT_TRUE(d.kmsg.has_value());
  EXPECT_GT(d.kmsg->table_full_lines, 0u);

  // --apply: runtime values on the live kernel, files under a temp root.
  doctortest::TempTree persist;
  auto before = doctortest::Snapshot(persist.path());
  ApplyOptions o;
  o.persist_root = persist.path();
  o.netns_fd = ns.fd;
  auto plan = PlanApply(g.changes, d, o);
  ASSERT_TRUE(plan) << plan.error().message;
  std::printf("ctkit doctor --apply will make these changes:\n%s\n",
              DescribePlan(*plan).c_str());
  ASSERT_TRUE(ExecuteApply(*plan, o));
  uint64_t new_max = std::stoull(ReadSmall(kMaxPath));
  EXPECT_GT(new_max, static_cast<uint64_t>(kConnections));
  uint64_t drops_after_apply = 0;
  {
    HostData d2;
    diagnose(&d2);
    drops_after_apply = d2.stats->drop;
  }
  // The pending connects get through on their next SYN retransmit.
  for (int i = 0; i < 80 && accepted.size() < kConnections; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    accept_all();
  }
  EXPECT_EQ(accepted.size(), static_cast<size_t>(kConnections));
  HostData d3;
  Diagnosis g3 = diagnose(&d3);
  EXPECT_EQ(d3.stats->drop, drops_after_apply) << "drops did not stop";
  EXPECT_EQ(*d3.count, static_cast<uint64_t>(kConnections));
  std::printf("after --apply:\n%s\n", FormatDoctorText(d3, g3).c_str());

  auto rb = Rollback(o);
  ASSERT_TRUE(rb) << rb.error().message;
  EXPECT_EQ(ReadSmall(kMaxPath), std::to_string(kMax) + "\n");
  EXPECT_EQ(doctortest::Snapshot(persist.path()), before);

  for (int s : clients) close(s);
  for (int s : accepted) close(s);
  close(listener);
}

}  // namespace
}  // namespace ctkit
