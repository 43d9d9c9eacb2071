// `ctkit replay -i IFACE` on real traffic (root; skips otherwise). Two
// private network namespaces, each held by a child process that dies with
// the test (PR_SET_PDEATHSIG), are joined by a veth pair; when the holders
// go, the namespaces and the veth go with them, on every exit path. IPv6
// is off and the neighbours are static, so the link carries exactly the
// packets the test sends: UDP datagrams to a bound socket (no answer) and
// ICMP echo requests (the kernel answers). ctkit captures inside the
// receiving namespace; the verdicts and entries come from the spec (§7 UDP,
// §8 ICMP, §11 verdicts): an unreplied UDP flow's packets are all NEW, an
// echo request creates an entry (NEW) whose reply and later requests are
// ESTABLISHED.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

constexpr char kIfA[] = "inputs-a";  // the capturing side
constexpr char kIfB[] = "inputs-b";
constexpr char kAddrA[] = "10.77.0.1";
constexpr char kAddrB[] = "10.77.0.2";
constexpr char kMacA[] = "02:69:6e:70:00:01";
constexpr char kMacB[] = "02:69:6e:70:00:02";

// A network namespace held by a child process that only waits; it (and so
// the namespace) ends when the test process ends, however it ends.
class NetnsHolder {
 public:
  NetnsHolder() {
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0) return;
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      const char ok = unshare(CLONE_NEWNET) == 0 ? '1' : '0';
      if (write(ready[1], &ok, 1) != 1) _exit(1);
      for (;;) pause();
    }
    close(ready[1]);
    char ok = 0;
    if (pid_ > 0 && read(ready[0], &ok, 1) == 1 && ok == '1') up_ = true;
    close(ready[0]);
  }
  ~NetnsHolder() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  NetnsHolder(const NetnsHolder&) = delete;
  NetnsHolder& operator=(const NetnsHolder&) = delete;

  bool up() const { return up_; }
  pid_t pid() const { return pid_; }
  std::string path() const {
    return "/proc/" + std::to_string(pid_) + "/ns/net";
  }
  // Runs a shell command inside the namespace.
  bool Run(const std::string& cmd) const {
    const std::string full = "nsenter --net=" + path() + " " + cmd;
    return std::system(full.c_str()) == 0;
  }

 private:
  pid_t pid_ = -1;
  bool up_ = false;
};

// Runs fn with the calling thread inside `ns` (sockets made there stay
// there).
template <class Fn>
bool InNetns(const NetnsHolder& ns, Fn&& fn) {
  const int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  const int target = open(ns.path().c_str(), O_RDONLY | O_CLOEXEC);
  bool ok = home >= 0 && target >= 0 && setns(target, CLONE_NEWNET) == 0;
  if (ok) {
    fn();
    ok = setns(home, CLONE_NEWNET) == 0;
  }
  if (home >= 0) close(home);
  if (target >= 0) close(target);
  return ok;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Child {
  pid_t pid = -1;
  std::string out_path, err_path;
  Clock::time_point started;
};

struct Ended {
  bool exited = false;
  int code = -1;
  double seconds = 0;
  std::string out, err;
  std::string Describe() const {
    return (exited ? "exit " + std::to_string(code) : "did not exit") +
           "\n--- stdout ---\n" + out.substr(0, 3000) + "\n--- stderr ---\n" +
           err.substr(0, 3000);
  }
};

// Starts ctkit inside `ns` (optionally as another user).
Child StartCtkit(const NetnsHolder& ns, const std::vector<std::string>& args,
                 const std::string& tag, uid_t uid = 0) {
  Child r;
  r.out_path = testing::TempDir() + "live_replay_" + std::to_string(getpid()) +
               "_" + tag + ".out";
  r.err_path = r.out_path + ".err";
  std::vector<std::string> argv_s{CTKIT_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int nsfd = open(ns.path().c_str(), O_RDONLY | O_CLOEXEC);
  const int out =
      open(r.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int err =
      open(r.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  r.started = Clock::now();
  r.pid = fork();
  if (r.pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (setns(nsfd, CLONE_NEWNET) != 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
        dup2(err, 2) < 0) {
      _exit(126);
    }
    if (uid != 0 && (setgid(uid) != 0 || setuid(uid) != 0)) _exit(126);
    execve(argv[0], argv.data(), environ);
    _exit(127);
  }
  for (int fd : {nsfd, out, err, in}) {
    if (fd >= 0) close(fd);
  }
  return r;
}

// Waits for `r` to exit, killing it after `limit` seconds.
Ended Wait(const Child& r, double limit) {
  Ended e;
  int status = 0;
  for (;;) {
    const pid_t w = waitpid(r.pid, &status, WNOHANG);
    if (w == r.pid) break;
    if (std::chrono::duration<double>(Clock::now() - r.started).count() >
        limit) {
      kill(r.pid, SIGKILL);
      waitpid(r.pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  e.seconds = std::chrono::duration<double>(Clock::now() - r.started).count();
  if (WIFEXITED(status)) {
    e.exited = true;
    e.code = WEXITSTATUS(status);
  }
  e.out = ReadFile(r.out_path);
  e.err = ReadFile(r.err_path);
  std::remove(r.out_path.c_str());
  std::remove(r.err_path.c_str());
  return e;
}

// True once ctkit says it is capturing (on stderr, after libpcap's
// activation has set up its ring).
bool Capturing(const Child& c, double limit) {
  const auto start = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - start).count() < limit) {
    if (ReadFile(c.err_path).find("replay: capturing on ") !=
        std::string::npos) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

uint16_t Checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (n & 1) sum += p[n - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

class LiveReplay : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root (network namespaces, packet capture)";
    }
    if (std::system("command -v nsenter >/dev/null 2>&1") != 0 ||
        std::system("command -v ip >/dev/null 2>&1") != 0) {
      GTEST_SKIP() << "needs nsenter (util-linux) and ip (iproute2)";
    }
    ASSERT_TRUE(a_.up() && b_.up()) << "cannot create network namespaces";
    const std::string v6off =
        "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
        "net.ipv6.conf.default.disable_ipv6=1";
    ASSERT_TRUE(a_.Run(v6off) && b_.Run(v6off));
    ASSERT_TRUE(a_.Run(std::string("ip link add ") + kIfA + " address " +
                       kMacA + " type veth peer name " + kIfB + " address " +
                       kMacB + " netns " + std::to_string(b_.pid())));
    ASSERT_TRUE(
        a_.Run(std::string("ip addr add ") + kAddrA + "/24 dev " + kIfA));
    ASSERT_TRUE(
        b_.Run(std::string("ip addr add ") + kAddrB + "/24 dev " + kIfB));
    ASSERT_TRUE(a_.Run(std::string("ip neigh add ") + kAddrB + " lladdr " +
                       kMacB + " dev " + kIfA + " nud permanent"));
    ASSERT_TRUE(b_.Run(std::string("ip neigh add ") + kAddrA + " lladdr " +
                       kMacA + " dev " + kIfB + " nud permanent"));
    ASSERT_TRUE(a_.Run(std::string("ip link set ") + kIfA + " up"));
    ASSERT_TRUE(b_.Run(std::string("ip link set ") + kIfB + " up"));
  }

  // `n` UDP datagrams 10.77.0.2:40000 -> 10.77.0.1:5353, received by a
  // socket in A (so A sends nothing back).
  void SendUdp(int n) {
    int rx = -1, tx = -1;
    ASSERT_TRUE(InNetns(a_, [&] {
      rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_in at{};
      at.sin_family = AF_INET;
      at.sin_port = htons(5353);
      inet_pton(AF_INET, kAddrA, &at.sin_addr);
      ASSERT_EQ(bind(rx, reinterpret_cast<sockaddr*>(&at), sizeof at), 0);
    }));
    ASSERT_TRUE(InNetns(b_, [&] {
      tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_in from{};
      from.sin_family = AF_INET;
      from.sin_port = htons(40000);
      inet_pton(AF_INET, kAddrB, &from.sin_addr);
      ASSERT_EQ(bind(tx, reinterpret_cast<sockaddr*>(&from), sizeof from), 0);
    }));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(5353);
    inet_pton(AF_INET, kAddrA, &to.sin_addr);
    for (int i = 0; i < n; ++i) {
      const char msg[] = "ctkit live test";
      ASSERT_EQ(sendto(tx, msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&to),
                       sizeof to),
                static_cast<ssize_t>(sizeof msg));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    close(tx);
    close(rx);
  }

  // `n` ICMP echo requests from B to A (one id, so one entry), each
  // answered by A's kernel before the next is sent.
  void Ping(int n) {
    int s = -1;
    ASSERT_TRUE(InNetns(b_, [&] {
      s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
    }));
    ASSERT_GE(s, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    inet_pton(AF_INET, kAddrA, &to.sin_addr);
    for (int i = 0; i < n; ++i) {
      uint8_t pkt[16] = {ICMP_ECHO, 0,    0, 0,
                         0x12,      0x34, 0, static_cast<uint8_t>(i + 1)};
      const uint16_t c = Checksum(pkt, sizeof pkt);
      pkt[2] = static_cast<uint8_t>(c >> 8);
      pkt[3] = static_cast<uint8_t>(c);
      ASSERT_EQ(sendto(s, pkt, sizeof pkt, 0, reinterpret_cast<sockaddr*>(&to),
                       sizeof to),
                static_cast<ssize_t>(sizeof pkt));
      // The reply comes back on the raw socket (with the IP header).
      uint8_t buf[256];
      timeval tv{2, 0};
      setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      bool replied = false;
      for (int k = 0; k < 4 && !replied; ++k) {
        const ssize_t got = recv(s, buf, sizeof buf, 0);
        if (got < 28) break;
        replied = buf[20] == ICMP_ECHOREPLY && buf[24] == 0x12 &&
                  buf[25] == 0x34 && buf[27] == i + 1;
      }
      ASSERT_TRUE(replied) << "no echo reply " << i + 1;
    }
    close(s);
  }

  NetnsHolder a_, b_;
};

const std::vector<std::string> kSmallTable = {
    "--sysctl", "nf_conntrack_max=1024", "--sysctl",
    "nf_conntrack_buckets=1024", "--no-progress"};

std::vector<std::string> Args(std::vector<std::string> a) {
  a.insert(a.end(), kSmallTable.begin(), kSmallTable.end());
  return a;
}

TEST_F(LiveReplay, CountEndsTheCaptureWithTheSpecsVerdicts) {
  // 5 UDP datagrams and 3 echo requests with their replies: 11 packets.
  Child run = StartCtkit(
      a_,
      Args({"replay", "-i", kIfA, "--count", "11", "--duration", "30", "--json",
            "--verdicts", "--dump", "--threads", "2"}),
      "count");
  ASSERT_TRUE(Capturing(run, 10)) << Wait(run, 0).Describe();
  SendUdp(5);
  Ping(3);
  Ended e = Wait(run, 20);
  ASSERT_TRUE(e.exited && e.code == 0) << e.Describe();
  EXPECT_LT(e.seconds, 15) << "ended by --duration, not --count";
  const nlohmann::json j = nlohmann::json::parse(e.out);
  EXPECT_EQ(j["capture"], std::string("interface ") + kIfA);
  EXPECT_EQ(j["packets"]["read"], 11);
  EXPECT_EQ(j["packets"]["decoded"], 11);
  const std::vector<std::string> want = {
      "NEW",         "NEW",         "NEW",         "NEW",
      "NEW",         "NEW",         "ESTABLISHED", "ESTABLISHED",
      "ESTABLISHED", "ESTABLISHED", "ESTABLISHED"};
  EXPECT_EQ(j["verdicts"].get<std::vector<std::string>>(), want);
  EXPECT_EQ(j["table"]["created"], 2);
  EXPECT_EQ(j["table"]["count"], 2);
  EXPECT_EQ(j["table"]["peak_count"], 2);
  ASSERT_EQ(j["entries"].size(), 2u);
  int udp = 0, icmp = 0;
  for (const auto& entry : j["entries"]) {
    const std::string proto = entry["protocol"].get<std::string>();
    udp += proto == "udp";
    icmp += proto == "icmp";
  }
  EXPECT_EQ(udp, 1) << j["entries"].dump();
  EXPECT_EQ(icmp, 1) << j["entries"].dump();
  ASSERT_TRUE(j.contains("at_peak"));
  EXPECT_EQ(j["at_peak"]["entries"], 2);
  // The peak came with the first echo request (packet 6), before its
  // reply: both entries were unreplied then.
  EXPECT_EQ(j["table"]["peak_index"], 6);
  EXPECT_EQ(j["at_peak"]["unreplied"], 2);
}

TEST_F(LiveReplay, DurationEndsOnTimeOnAQuietInterface) {
  for (const char* threads : {"1", "2"}) {
    Child run = StartCtkit(a_,
                           Args({"replay", "-i", kIfA, "--duration", "1.5",
                                 "--threads", threads, "--json"}),
                           std::string("quiet") + threads);
    Ended e = Wait(run, 20);
    ASSERT_TRUE(e.exited && e.code == 0) << e.Describe();
    EXPECT_GE(e.seconds, 1.5);
    EXPECT_LT(e.seconds, 5.0) << "a quiet interface held up the end";
    const nlohmann::json j = nlohmann::json::parse(e.out);
    EXPECT_EQ(j["packets"]["read"], 0);
  }
}

TEST_F(LiveReplay, SigintEndsCleanlyWithTheFullReport) {
  Child run = StartCtkit(
      a_,
      Args({"replay", "-i", kIfA, "--json", "--verdicts", "--threads", "2"}),
      "sigint");
  ASSERT_TRUE(Capturing(run, 10)) << Wait(run, 0).Describe();
  Ping(2);
  // Soon after: the packets may not have been read yet (ctkit may still be
  // setting up its engines), and must still be in the report.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto sent = Clock::now();
  ASSERT_EQ(kill(run.pid, SIGINT), 0);
  Ended e = Wait(run, 20);
  const double after =
      std::chrono::duration<double>(Clock::now() - sent).count();
  ASSERT_TRUE(e.exited) << e.Describe();
  EXPECT_EQ(e.code, 0) << e.Describe();  // as tcpdump
  EXPECT_LT(after, 3.0);
  const nlohmann::json j = nlohmann::json::parse(e.out);
  EXPECT_EQ(j["packets"]["read"], 4) << e.Describe();
  EXPECT_EQ(j["verdicts"].get<std::vector<std::string>>(),
            (std::vector<std::string>{"NEW", "ESTABLISHED", "ESTABLISHED",
                                      "ESTABLISHED"}));
  EXPECT_EQ(j["table"]["peak_count"], 1);
  ASSERT_TRUE(j.contains("at_peak"));
  EXPECT_EQ(j["at_peak"]["entries"], 1);
  EXPECT_NE(e.err.find("ended by SIGINT after 4 packets"), std::string::npos)
      << e.err;
}

TEST_F(LiveReplay, MissingInterfaceAndNoPermissionAreClearErrors) {
  Ended e = Wait(StartCtkit(a_, {"replay", "-i", "inputs-nope", "--count", "1"},
                            "missing"),
                 20);
  ASSERT_TRUE(e.exited) << e.Describe();
  EXPECT_EQ(e.code, 1);
  EXPECT_EQ(e.out, "");
  EXPECT_EQ(e.err.rfind("ctkit: error: interface inputs-nope: no such "
                        "interface",
                        0),
            0u)
      << e.err;
  // As nobody: no CAP_NET_RAW.
  e = Wait(
      StartCtkit(a_, {"replay", "-i", kIfA, "--count", "1"}, "nobody", 65534),
      20);
  ASSERT_TRUE(e.exited) << e.Describe();
  EXPECT_EQ(e.code, 1);
  EXPECT_EQ(e.err.rfind(std::string("ctkit: error: interface ") + kIfA +
                            ": permission denied: capturing needs root or "
                            "CAP_NET_RAW",
                        0),
            0u)
      << e.err;
}

}  // namespace
