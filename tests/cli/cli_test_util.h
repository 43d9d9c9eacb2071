// Helpers for the end-to-end CLI tests: run the built `ctkit` binary with
// fork/exec (argv passed as a vector, never through a shell), capture its
// stdout and stderr in files of a per-test temporary directory, and build
// small pcap files whose every packet the test knows.
#ifndef CTKIT_TESTS_CLI_CLI_TEST_UTIL_H_
#define CTKIT_TESTS_CLI_CLI_TEST_UTIL_H_

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gen/packet_builder.h"
#include "gen/pcap_writer.h"

extern char** environ;

namespace ctkit::clitest {

/// 2023-11-14T22:13:20Z, the base of every hand-built capture.
inline constexpr uint64_t kT0 = 1'700'000'000ull * 1'000'000'000ull;
inline constexpr uint64_t kMs = 1'000'000;

/// A temporary directory under ::testing::TempDir(), removed with its
/// contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir();
    if (tmpl.empty() || tmpl.back() != '/') tmpl += '/';
    tmpl += "ctkit_cli_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp(" << tmpl << "): " << std::strerror(errno);
      return;
    }
    path_ = buf.data();
  }
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// `name` inside the directory.
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

/// Splits on '\n'; a trailing newline does not make an empty last line.
inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) lines.push_back(l);
  return lines;
}

inline bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

inline bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

/// How a run of the binary ended and what it printed.
struct RunResult {
  bool exited = false;  ///< exited normally (not killed by a signal)
  int exit_code = -1;   ///< when exited
  int term_signal = 0;  ///< when killed by a signal
  std::string out;      ///< stdout
  std::string err;      ///< stderr

  /// For failure messages.
  std::string Describe() const {
    std::string d = exited ? "exit " + std::to_string(exit_code)
                           : "killed by signal " + std::to_string(term_signal);
    return d + "\n--- stdout ---\n" + out.substr(0, 4000) +
           "\n--- stderr ---\n" + err.substr(0, 4000);
  }
};

/// Waits for `pid` (retrying on EINTR) and records how it ended in *r.
/// Returns false, with a test failure, if it cannot be waited for.
inline bool WaitForExit(pid_t pid, RunResult* r) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      ADD_FAILURE() << "waitpid: " << std::strerror(errno);
      return false;
    }
  }
  if (WIFEXITED(status)) {
    r->exited = true;
    r->exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r->term_signal = WTERMSIG(status);
  }
  return true;
}

/// The run exited with `code` and printed exactly one line on stderr:
/// "ctkit: error: " followed by `start`, naming each of `parts`.
inline void ExpectOneErrorLine(const RunResult& r, int code,
                               const std::vector<std::string>& parts,
                               const std::string& start = "") {
  ASSERT_TRUE(r.exited) << r.Describe();
  EXPECT_EQ(r.exit_code, code) << r.Describe();
  std::vector<std::string> lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.Describe();
  EXPECT_TRUE(StartsWith(lines[0], "ctkit: error: " + start)) << lines[0];
  for (const std::string& p : parts) {
    EXPECT_TRUE(Contains(lines[0], p)) << "missing '" << p << "' in\n"
                                       << lines[0];
  }
}

/// Limits for the child process.
struct RunLimits {
  uint64_t address_space_bytes = 0;  ///< RLIMIT_AS; 0: unchanged
  uint64_t cpu_seconds = 0;  ///< RLIMIT_CPU (a runaway loop dies); 0: none
};

/// Runs CTKIT_BINARY with `args` (argv[1..]), stdin from /dev/null, stdout
/// and stderr captured through files in `dir`.
inline RunResult RunCtkit(const TempDir& dir,
                          const std::vector<std::string>& args,
                          const RunLimits& limits = {}) {
  static int serial = 0;
  const std::string tag = std::to_string(++serial);
  const std::string out_path = dir.File("stdout." + tag);
  const std::string err_path = dir.File("stderr." + tag);

  // Everything the child needs is prepared before fork: between fork and
  // exec it only makes async-signal-safe calls.
  std::vector<std::string> argv_s;
  argv_s.push_back(CTKIT_BINARY);
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  RunResult r;
  const int in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int out_fd =
      open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int err_fd =
      open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (in_fd < 0 || out_fd < 0 || err_fd < 0) {
    ADD_FAILURE() << "cannot open capture files in " << dir.path() << ": "
                  << std::strerror(errno);
    for (int fd : {in_fd, out_fd, err_fd}) {
      if (fd >= 0) close(fd);
    }
    return r;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    // dup2 clears FD_CLOEXEC on the targets.
    if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
        dup2(err_fd, STDERR_FILENO) < 0) {
      _exit(126);
    }
    if (limits.address_space_bytes != 0) {
      struct rlimit rl;
      rl.rlim_cur = rl.rlim_max = limits.address_space_bytes;
      if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(126);
    }
    if (limits.cpu_seconds != 0) {
      struct rlimit rl;
      rl.rlim_cur = rl.rlim_max = limits.cpu_seconds;
      if (setrlimit(RLIMIT_CPU, &rl) != 0) _exit(126);
    }
    execve(argv[0], argv.data(), environ);
    _exit(127);
  }
  const int fork_errno = errno;
  close(in_fd);
  close(out_fd);
  close(err_fd);
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(fork_errno);
    return r;
  }
  if (!WaitForExit(pid, &r)) return r;
  if (r.exited) {
    EXPECT_NE(r.exit_code, 127) << "could not exec " << argv_s[0];
  }
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  std::remove(out_path.c_str());
  std::remove(err_path.c_str());
  return r;
}

/// One packet of a hand-built capture.
struct Pkt {
  uint64_t ts_ns;
  std::vector<uint8_t> bytes;
};

/// Writes `pkts` as a pcap of `link_type` (raw IP by default).
inline void WritePcap(const std::string& path, const std::vector<Pkt>& pkts,
                      uint32_t link_type = 101) {
  auto w = PcapWriter::Create(path, link_type);
  ASSERT_TRUE(w.has_value()) << w.error().message;
  for (const Pkt& p : pkts) {
    auto r = (*w)->Write(p.ts_ns, p.bytes);
    ASSERT_TRUE(r.has_value()) << r.error().message;
  }
  auto c = (*w)->Close();
  ASSERT_TRUE(c.has_value()) << c.error().message;
}

inline Endpoints V4(uint8_t src_last, uint8_t dst_last, uint16_t sport,
                    uint16_t dport) {
  return {Family::kIPv4, Ipv4(10, 0, 0, src_last), Ipv4(10, 0, 0, dst_last),
          sport, dport};
}

inline Pkt Tcp(uint64_t ts, const Endpoints& ep, uint32_t seq, uint32_t ack,
               uint8_t flags, uint32_t payload = 0) {
  Pkt p{ts, {}};
  BuildTcp(ep, seq, ack, flags, 64240, payload, TcpOptions{}, &p.bytes);
  return p;
}

inline Pkt Udp(uint64_t ts, const Endpoints& ep, uint32_t payload) {
  Pkt p{ts, {}};
  BuildUdp(ep, payload, &p.bytes);
  return p;
}

/// The entry Handshake(t, V4(1, 2, 40000, 80)) leaves, as `conntrack -L`
/// prints it right after the last packet (spec §12.2 example; §3.1: a
/// just-refreshed ESTABLISHED entry shows 431999).
inline constexpr char kHandshakeLine[] =
    "tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 "
    "dport=80 src=10.0.0.2 dst=10.0.0.1 sport=80 dport=40000 [ASSURED] "
    "mark=0 use=1";

/// The client 10.0.0.1:40000 -> 10.0.0.2:80 handshake at t0, +1 ms, +2 ms
/// (client ISN 1000, server ISN 5000), shifted by `t0`.
inline std::vector<Pkt> Handshake(uint64_t t0, const Endpoints& c) {
  return {
      Tcp(t0, c, 1000, 0, tcpflag::kSyn),
      Tcp(t0 + kMs, c.Reversed(), 5000, 1001, tcpflag::kSyn | tcpflag::kAck),
      Tcp(t0 + 2 * kMs, c, 1001, 5001, tcpflag::kAck)};
}

}  // namespace ctkit::clitest

#endif  // CTKIT_TESTS_CLI_CLI_TEST_UTIL_H_
