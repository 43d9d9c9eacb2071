// End-to-end tests of replay's inputs other than a plain file: standard
// input from a pipe, gzip files (by content, whatever the name), and the
// errors of a pipe that is not a capture, an empty one and a truncated gzip
// file; plus the progress line on a terminal, which names its passes and
// ends at 100 %. The pipes go through /bin/sh, as an operator types them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "ctkit/decode.h"
#include "gen/packet_builder.h"
#include "gen/pcapng_builder.h"
#include "tests/cli/cli_test_util.h"

namespace ctkit::clitest {
namespace {

// Runs `script` with /bin/sh -c; $CTKIT is the binary. stdout and stderr
// are captured through files in `dir`.
RunResult RunShell(const TempDir& dir, const std::string& script) {
  const std::string out_path = dir.File("sh.stdout");
  const std::string err_path = dir.File("sh.stderr");
  const std::string full = "CTKIT='" + std::string(CTKIT_BINARY) + "'; { " +
                           script + "; } >'" + out_path + "' 2>'" + err_path +
                           "'";
  RunResult r;
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", full.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  if (!WaitForExit(pid, &r)) return r;
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  return r;
}

// Runs ctkit with stderr on a pseudo-terminal (so the progress line shows)
// and stdout into a file; returns what the terminal received.
RunResult RunOnTerminal(const TempDir& dir, const std::string& script) {
  RunResult r;
  const std::string out_path = dir.File("pty.stdout");
  const std::string full = "CTKIT='" + std::string(CTKIT_BINARY) + "'; { " +
                           script + "; } >'" + out_path + "'";
  int master = -1, slave = -1;
  if (openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) {
    ADD_FAILURE() << "openpty: " << std::strerror(errno);
    return r;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    close(master);
    setsid();
    dup2(slave, STDERR_FILENO);
    const int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, STDIN_FILENO);
    execl("/bin/sh", "sh", "-c", full.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(slave);
  char buf[4096];
  for (;;) {  // until the last writer closes the terminal (EIO)
    const ssize_t n = read(master, buf, sizeof buf);
    if (n > 0) {
      r.err.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  close(master);
  WaitForExit(pid, &r);
  r.out = ReadFile(out_path);
  return r;
}

// The terminal's updates: the text between carriage returns, padding
// trimmed, empty ones dropped.
std::vector<std::string> Updates(const std::string& tty) {
  std::vector<std::string> v;
  size_t start = 0;
  for (size_t i = 0; i <= tty.size(); ++i) {
    if (i == tty.size() || tty[i] == '\r' || tty[i] == '\n') {
      std::string s = tty.substr(start, i - start);
      while (!s.empty() && s.back() == ' ') s.pop_back();
      if (!s.empty()) v.push_back(s);
      start = i + 1;
    }
  }
  return v;
}

class InputsCli : public ::testing::Test {
 protected:
  // A generated mix (web, DNS, ping, a SYN-flood burst) in which a small
  // table fills and short timeouts make the count fall and rise again, so
  // the peak and its composition depend on every packet before it.
  std::string MixedCapture() {
    const std::string path = dir_.File("mixed.pcap");
    RunResult g = RunCtkit(dir_, {"gen", "mixed", "--flows", "4000", "--rate",
                                  "800", "--seed", "3", "-o", path});
    EXPECT_TRUE(g.exited && g.exit_code == 0) << g.Describe();
    return path;
  }
  static nlohmann::json WithoutCapture(const std::string& text) {
    nlohmann::json j = nlohmann::json::parse(text);
    j.erase("capture");
    return j;
  }
  TempDir dir_;
};

const char kFillSettings[] =
    "--sysctl nf_conntrack_max=1500 --sysctl nf_conntrack_buckets=1024 "
    "--sysctl nf_conntrack_udp_timeout=3 --sysctl "
    "nf_conntrack_tcp_timeout_time_wait=2";

TEST_F(InputsCli, PipeHandshakeDumpIsTheSpecLine) {
  const std::string pcap = dir_.File("hs.pcap");
  WritePcap(pcap, Handshake(kT0, V4(1, 2, 40000, 80)));
  RunResult r =
      RunShell(dir_, "cat '" + pcap + "' | \"$CTKIT\" replay --dump -");
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_EQ(Lines(r.out), std::vector<std::string>{kHandshakeLine});
  EXPECT_EQ(r.err, "");
}

TEST_F(InputsCli, PipeGivesTheFilesReport) {
  // Everything but the capture's name is the file's: verdicts, the dump,
  // the counters, the peak and the composition at the peak (which a pipe
  // cannot re-read to take).
  const std::string pcap = MixedCapture();
  for (const std::string threads : {"1", "2"}) {
    SCOPED_TRACE("--threads " + threads);
    const std::string args = std::string(kFillSettings) + " --threads " +
                             threads + " --json --verdicts --dump";
    RunResult file =
        RunShell(dir_, "\"$CTKIT\" replay " + args + " '" + pcap + "'");
    RunResult pipe =
        RunShell(dir_, "cat '" + pcap + "' | \"$CTKIT\" replay " + args + " -");
    ASSERT_TRUE(file.exited && file.exit_code == 0) << file.Describe();
    ASSERT_TRUE(pipe.exited && pipe.exit_code == 0) << pipe.Describe();
    const nlohmann::json a = WithoutCapture(file.out);
    ASSERT_TRUE(a.contains("at_peak"));
    ASSERT_GT(a["table"]["peak_index"].get<uint64_t>(), 0u);
    EXPECT_EQ(a, WithoutCapture(pipe.out));
    EXPECT_EQ(nlohmann::json::parse(pipe.out)["capture"], "-");
  }
  // The list outputs stream from a pipe as from a file.
  for (const char* list : {"--events", "--timeline 1s"}) {
    SCOPED_TRACE(list);
    RunResult file = RunShell(
        dir_, std::string("\"$CTKIT\" replay ") + list + " '" + pcap + "'");
    RunResult pipe =
        RunShell(dir_, "cat '" + pcap + "' | \"$CTKIT\" replay " + list + " -");
    ASSERT_TRUE(pipe.exited && pipe.exit_code == 0) << pipe.Describe();
    EXPECT_FALSE(file.out.empty());
    EXPECT_EQ(file.out, pipe.out);
  }
}

TEST_F(InputsCli, SigintOnAPipeEndsWithTheReportOfWhatCame) {
  // `tcpdump -w - | ctkit replay -` ended with Ctrl-C: the writer stays
  // open, ctkit has read the handshake and waits for more; SIGINT ends the
  // reading, and the report covers what came (exit 0, as tcpdump's).
  const std::string pcap = dir_.File("hs.pcap");
  WritePcap(pcap, Handshake(kT0, V4(1, 2, 40000, 80)));
  const std::string bytes = ReadFile(pcap);
  for (const char* threads : {"1", "2"}) {
    SCOPED_TRACE(std::string("--threads ") + threads);
    int p[2];
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    const std::string out_path = dir_.File("sigint.out");
    const std::string err_path = dir_.File("sigint.err");
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const pid_t pid = fork();
    if (pid == 0) {
      if (dup2(p[0], 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(126);
      execl(CTKIT_BINARY, CTKIT_BINARY, "replay", "--dump", "--threads",
            threads, "-", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(p[0]);
    close(out);
    close(err);
    ASSERT_EQ(write(p[1], bytes.data(), bytes.size()),
              static_cast<ssize_t>(bytes.size()));
    // Until ctkit has taken everything from the pipe, then a little longer
    // for it to go through the records and wait.
    for (int i = 0; i < 500; ++i) {
      int left = -1;
      if (ioctl(p[1], FIONREAD, &left) == 0 && left == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_EQ(kill(pid, SIGINT), 0);
    int status = 0;
    bool ended = false;
    for (int i = 0; i < 1000 && !ended; ++i) {
      ended = waitpid(pid, &status, WNOHANG) == pid;
      if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!ended) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
    }
    close(p[1]);
    ASSERT_TRUE(ended) << "SIGINT did not end the replay";
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_EQ(Lines(ReadFile(out_path)),
              std::vector<std::string>{kHandshakeLine});
    EXPECT_EQ(ReadFile(err_path), "replay: ended by SIGINT after 3 packets\n");
  }
}

TEST_F(InputsCli, GzipFileGivesThePlainFilesReport) {
  const std::string pcap = MixedCapture();
  RunResult z =
      RunShell(dir_, "gzip -c '" + pcap + "' > '" + pcap + ".gz' && cp '" +
                         pcap + ".gz' '" + dir_.File("renamed.bin") + "'");
  ASSERT_TRUE(z.exited && z.exit_code == 0) << z.Describe();
  const std::string args =
      std::string(kFillSettings) + " --json --verdicts --dump";
  RunResult plain =
      RunShell(dir_, "\"$CTKIT\" replay " + args + " '" + pcap + "'");
  ASSERT_TRUE(plain.exited && plain.exit_code == 0) << plain.Describe();
  const nlohmann::json want = WithoutCapture(plain.out);
  for (const std::string& cmd :
       {"\"$CTKIT\" replay " + args + " '" + pcap + ".gz'",
        // Known by its content, not its name.
        "\"$CTKIT\" replay " + args + " '" + dir_.File("renamed.bin") + "'",
        "cat '" + pcap + ".gz' | \"$CTKIT\" replay " + args + " -"}) {
    SCOPED_TRACE(cmd);
    RunResult r = RunShell(dir_, cmd);
    ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
    EXPECT_EQ(WithoutCapture(r.out), want);
    EXPECT_EQ(r.err, "");
  }
}

// A router captured on both sides (dumpcap -i lan -i wan): --zone-map by
// interface name puts the wan copies in their own zone, from the file, a
// pipe and gzip alike (the interfaces are read beside libpcap from
// whatever bytes it reads).
TEST_F(InputsCli, PcapngInterfaceZonesFromFilePipeAndGzip) {
  PcapngBuilder b;
  b.Section();
  b.Interface(linktype::kEthernet, "lan");
  b.Interface(linktype::kEthernet, "wan");
  const Endpoints q{Family::kIPv4, Ipv4(10, 0, 0, 1), Ipv4(192, 0, 2, 53), 2000,
                    53};
  uint64_t t = kT0;
  for (const Endpoints& ep : {q, q.Reversed()}) {
    std::vector<uint8_t> ip, frame;
    BuildUdp(ep, 20, &ip);
    WrapEthernet(ip, 0, &frame);
    b.Packet(0, t += 1000, frame);
    b.Packet(1, t += 1000, frame);
  }
  const std::string path = dir_.File("router.pcapng");
  ASSERT_TRUE(b.WriteTo(path));
  const std::string args = "--zone-map if:wan=7 --json --dump";
  RunResult file =
      RunShell(dir_, "\"$CTKIT\" replay " + args + " '" + path + "'");
  ASSERT_TRUE(file.exited && file.exit_code == 0) << file.Describe();
  const nlohmann::json want = WithoutCapture(file.out);
  ASSERT_EQ(want["zones"].size(), 2u) << file.out;
  EXPECT_EQ(want["zones"][1]["zone"], 7);
  EXPECT_EQ(want["zones"][1]["packets"], 2);
  EXPECT_EQ(want["zones"][1]["entries_at_end"], 1);
  EXPECT_EQ(want["zones"][0]["entries_at_end"], 1);
  ASSERT_EQ(want["entries"].size(), 2u) << file.out;
  for (const std::string& cmd :
       {"cat '" + path + "' | \"$CTKIT\" replay " + args + " -",
        "gzip -c '" + path + "' | \"$CTKIT\" replay " + args + " -"}) {
    SCOPED_TRACE(cmd);
    RunResult r = RunShell(dir_, cmd);
    ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
    EXPECT_EQ(WithoutCapture(r.out), want);
  }
}

TEST_F(InputsCli, WhatifTakesStdinAndGzip) {
  // whatif reads the capture once for every variant: a pipe as a file.
  const std::string pcap = MixedCapture();
  const std::string args =
      " --vary nf_conntrack_max=1000,3000 --vary "
      "nf_conntrack_udp_timeout=30,5 --json";
  RunResult file = RunShell(dir_, "\"$CTKIT\" whatif '" + pcap + "'" + args);
  ASSERT_TRUE(file.exited && file.exit_code == 0) << file.Describe();
  const nlohmann::json want = WithoutCapture(file.out);
  for (const std::string& cmd :
       {"cat '" + pcap + "' | \"$CTKIT\" whatif -" + args,
        "gzip -c '" + pcap + "' > '" + pcap + ".gz' && \"$CTKIT\" whatif '" +
            pcap + ".gz'" + args,
        "gzip -c '" + pcap + "' | \"$CTKIT\" whatif -" + args}) {
    SCOPED_TRACE(cmd);
    RunResult r = RunShell(dir_, cmd);
    ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
    EXPECT_EQ(WithoutCapture(r.out), want);
  }
  RunResult empty = RunShell(dir_,
                             "\"$CTKIT\" whatif - --vary nf_conntrack_max=1000 "
                             "< /dev/null");
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_EQ(empty.err, "ctkit: error: stdin: empty input, not a capture\n");
}

TEST_F(InputsCli, PipeThatIsNotACaptureIsAOneLineError) {
  const std::string text = dir_.File("README.md");
  WriteFile(text, "# ctkit\n\nNot a capture at all.\n");
  RunResult r = RunShell(dir_, "\"$CTKIT\" replay - < '" + text + "'");
  ASSERT_TRUE(r.exited) << r.Describe();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  ASSERT_EQ(Lines(r.err).size(), 1u) << r.err;
  EXPECT_TRUE(StartsWith(
      r.err, "ctkit: error: stdin: not a pcap or pcapng capture (libpcap: "))
      << r.err;
}

TEST_F(InputsCli, EmptyPipeIsAnError) {
  for (const std::string cmd :
       {"\"$CTKIT\" replay - < /dev/null", "printf '' | \"$CTKIT\" replay -"}) {
    RunResult r = RunShell(dir_, cmd);
    ASSERT_TRUE(r.exited) << r.Describe();
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "ctkit: error: stdin: empty input, not a capture\n");
  }
}

TEST_F(InputsCli, TruncatedGzipReportsWhatItReadThenNamesFileAndOffset) {
  const std::string pcap = MixedCapture();
  const std::string gz = dir_.File("cut.pcap.gz");
  RunResult z =
      RunShell(dir_, "gzip -c '" + pcap + "' | head -c 60000 > '" + gz + "'");
  ASSERT_TRUE(z.exited && z.exit_code == 0) << z.Describe();
  RunResult r = RunCtkit(dir_, {"replay", "--json", gz});
  ASSERT_TRUE(r.exited) << r.Describe();
  ASSERT_EQ(r.exit_code, 1) << r.Describe();
  const nlohmann::json j = nlohmann::json::parse(r.out);
  const uint64_t read = j["packets"]["read"].get<uint64_t>();
  EXPECT_GT(read, 0u);
  const std::vector<std::string> err = Lines(r.err);
  ASSERT_EQ(err.size(), 1u) << r.err;
  EXPECT_TRUE(StartsWith(
      err[0], "ctkit: error: " + gz + ": truncated capture at offset "))
      << err[0];
  EXPECT_TRUE(Contains(err[0], " of the uncompressed stream after " +
                                   std::to_string(read) + " records: "))
      << err[0];
  EXPECT_TRUE(Contains(err[0], "the compressed file ends at byte 60000"))
      << err[0];
}

TEST_F(InputsCli, InputChoiceUsageErrors) {
  const std::string pcap = dir_.File("hs.pcap");
  WritePcap(pcap, Handshake(kT0, V4(1, 2, 40000, 80)));
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"replay"},
           {"replay", "-i", "lo", pcap},
           {"replay", "--count", "5", pcap},
           {"replay", "--duration", "5s", pcap},
           {"replay", "--compare-kernel", "-"}}) {
    RunResult r = RunCtkit(dir_, args);
    ASSERT_TRUE(r.exited) << r.Describe();
    EXPECT_EQ(r.exit_code, 2) << args.back() << "\n" << r.Describe();
    EXPECT_NE(r.err, "");
    EXPECT_EQ(r.out, "");
  }
}

TEST_F(InputsCli, ProgressReadsOnceAndEndsAt100) {
  const std::string pcap = MixedCapture();
  RunResult r = RunOnTerminal(
      dir_, "\"$CTKIT\" replay '" + pcap + "' " + std::string(kFillSettings));
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  std::vector<std::string> u = Updates(r.err);
  ASSERT_GE(u.size(), 1u) << r.err;
  // One pass (the composition at the peak comes from the census, not a
  // second reading), ending at 100 %.
  EXPECT_TRUE(StartsWith(u.back(), "replay: reading 100.0 % (")) << u.back();
  for (const std::string& line : u) {
    EXPECT_TRUE(StartsWith(line, "replay: reading ")) << line;
  }
  // The line is cleared before the report.
  EXPECT_EQ(r.err.back(), '\r');

  // A pipe has no size: packets and time, the last with every packet.
  const nlohmann::json j =
      nlohmann::json::parse(RunCtkit(dir_, {"replay", "--json", pcap}).out);
  const uint64_t total = j["packets"]["read"].get<uint64_t>();
  r = RunOnTerminal(dir_, "cat '" + pcap + "' | \"$CTKIT\" replay -");
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  u = Updates(r.err);
  ASSERT_FALSE(u.empty()) << r.err;
  EXPECT_TRUE(StartsWith(
      u.back(), "replay: reading " + std::to_string(total) + " packets, "))
      << u.back();
  EXPECT_FALSE(Contains(r.err, "%")) << r.err;
}

}  // namespace
}  // namespace ctkit::clitest
