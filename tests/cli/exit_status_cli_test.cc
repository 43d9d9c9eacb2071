// One way to fail: for a few failure paths of every command, the code the
// command exits with is one its `--help` lists under "Exit status:" and its
// man page under EXIT STATUS, with the same meaning in both, and that
// meaning is the one the table of tools/ctkit/exit_status.h gives the
// command's kind: a tool's error is 1 and a wrong command line 2; a
// comparison's (diff, replay --compare-kernel) 1 is "differ", so its errors
// are 3, never the usage code; a check's (doctor) every failure is UNKNOWN
// (3). The expected codes come from that table and README, not from a run.
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tests/cli/cli_test_util.h"

namespace ctkit::clitest {
namespace {

const std::string kManDir = std::string(CTKIT_DOC_DIR) + "/man1";

/// The codes of an "Exit status:" footer of --help ("  N  meaning").
std::map<int, std::string> HelpExitCodes(const std::string& help) {
  std::map<int, std::string> codes;
  size_t at = help.find("\nExit status:\n");
  if (at == std::string::npos) return codes;
  for (const std::string& l : Lines(help.substr(at + 14))) {
    if (l.size() < 5 || l.substr(0, 2) != "  " || !std::isdigit(l[2])) break;
    codes[l[2] - '0'] = l.substr(5);
  }
  return codes;
}

/// The codes of a man page's EXIT STATUS section (.TP / .B N / meaning,
/// the meaning possibly over several lines), roff escapes of '-' removed.
std::map<int, std::string> ManExitCodes(const std::string& page) {
  std::map<int, std::string> codes;
  size_t at = page.find(".SH \"EXIT STATUS\"\n");
  if (at == std::string::npos) return codes;
  int code = -1;
  for (const std::string& l : Lines(page.substr(at + 18))) {
    if (StartsWith(l, ".SH")) break;
    if (StartsWith(l, ".TP")) {
      code = -1;
    } else if (StartsWith(l, ".B ")) {
      code = std::stoi(l.substr(3));
      codes[code] = "";
    } else if (code >= 0) {
      std::string text;
      for (size_t i = 0; i < l.size(); ++i) {
        if (l[i] == '\\' && i + 1 < l.size() && l[i + 1] == '-') continue;
        text += l[i];
      }
      codes[code] += (codes[code].empty() ? "" : " ") + text;
    }
  }
  return codes;
}

/// One failure path: the command line, the code the table gives it, and a
/// word the documented meaning of that code carries.
struct Path {
  std::vector<std::string> args;
  int code;
  std::string meaning;
};

class ExitStatusCli : public ::testing::Test {
 protected:
  void SetUp() override {
    capture_ = dir_.File("hs.pcap");
    WritePcap(capture_, Handshake(kT0, V4(1, 2, 40000, 80)));
    WriteFile(dir_.File("empty.json"), "{}\n");
  }

  // The run exits with the path's code, prints an error on stderr, and both
  // --help and the man page document that code with the same meaning.
  void Check(const std::string& cmd, const std::vector<Path>& paths) {
    RunResult help = RunCtkit(dir_, {cmd, "--help"});
    ASSERT_EQ(help.exit_code, 0) << help.Describe();
    std::map<int, std::string> in_help = HelpExitCodes(help.out);
    std::map<int, std::string> in_man =
        ManExitCodes(ReadFile(kManDir + "/ctkit-" + cmd + ".1"));
    ASSERT_FALSE(in_help.empty()) << help.out;
    EXPECT_EQ(in_help, in_man) << "--help and the man page of " << cmd;
    for (const Path& p : paths) {
      std::vector<std::string> args = {cmd};
      args.insert(args.end(), p.args.begin(), p.args.end());
      std::string what;
      for (const std::string& a : args) what += a + " ";
      SCOPED_TRACE(what);
      RunResult r = RunCtkit(dir_, args);
      ASSERT_TRUE(r.exited) << r.Describe();
      EXPECT_EQ(r.exit_code, p.code) << r.Describe();
      // The reason: an error line, or (doctor's diagnosis of a host it
      // could not read) the status line.
      EXPECT_TRUE(!r.err.empty() || StartsWith(r.out, "CONNTRACK UNKNOWN - "))
          << r.Describe();
      ASSERT_TRUE(in_help.contains(p.code))
          << cmd << " --help does not list exit code " << p.code;
      EXPECT_TRUE(Contains(in_help[p.code], p.meaning))
          << p.code << ": " << in_help[p.code];
    }
  }

  std::string Missing() const { return dir_.File("no-such-file"); }

  TempDir dir_;
  std::string capture_;
};

TEST_F(ExitStatusCli, Replay) {
  Check("replay",
        {{{Missing()}, 1, "capture was bad"},
         {{"--sysctl", "nf_conntrack_max=abc", capture_}, 1, "a setting"},
         {{"--duration", "5s", capture_}, 2, "command line"},
         {{"--no-such-option", capture_}, 2, "command line"},
         // With --compare-kernel 1 means "differ": an unreadable
         // capture or a bad setting is the comparison's error, 3.
         {{"--compare-kernel", Missing()}, 3, "capture was bad"},
         {{"--compare-kernel", "--sysctl", "nf_conntrack_max=abc", capture_},
          3,
          "a setting"}});
}

TEST_F(ExitStatusCli, Gen) {
  Check("gen",
        {{{"syn-flood", "-o", dir_.File("no-dir/x.pcap")}, 1, "bad"},
         {{"syn-flood", "--flows", "0", "-o", dir_.File("x.pcap")}, 1, "bad"},
         {{"syn-flood"}, 2, "command line"}});
}

TEST_F(ExitStatusCli, Bench) {
  Check(
      "bench",
      {{{"--capture", Missing()}, 1, "bad"},
       {{"--capture", capture_, "--sysctl", "nf_conntrack_max=abc"}, 1, "bad"},
       {{"--runs", "0"}, 2, "command line"},
       {{"--capture", capture_, "--warmup", "1000"}, 2, "command line"}});
}

TEST_F(ExitStatusCli, KernelReplay) {
  // A bad setting is bad input (1), as for every tool; before anything
  // runs, so no root is needed.
  Check("kernel-replay",
        {{{capture_, "--sysctl", "nf_conntrack_max=abc"}, 1, "bad"},
         {{capture_, "--sysctl", "nf_conntrack_max"}, 1, "bad"},
         {{"--restore", capture_}, 2, "command line"},
         {{}, 2, "command line"}});
}

TEST_F(ExitStatusCli, Diff) {
  // A result that cannot be read or compared is the comparison's error
  // (3), distinct from "differ" (1) and a wrong command line (2).
  Check("diff", {{{Missing(), Missing()}, 3, "could not be read"},
                 {{dir_.File("empty.json"), dir_.File("empty.json")},
                  3,
                  "could not be read"},
                 {{Missing()}, 2, "command line"}});
}

TEST_F(ExitStatusCli, Whatif) {
  Check("whatif",
        {{{Missing(), "--vary", "nf_conntrack_max=1024"}, 1, "bad"},
         {{capture_, "--vary", "nf_conntrack_bogus=1"}, 1, "bad"},
         {{capture_}, 2, "command line"},
         {{capture_, "--vary", "nf_conntrack_max=1024", "--min-saving", "150"},
          2,
          "command line"}});
}

TEST_F(ExitStatusCli, Plan) {
  Check("plan", {{{"--memory", "1G", "--capture", Missing()}, 1, "bad"},
                 {{"--memory", "lots"}, 2, "command line"},
                 {{"--memory", "100K", "--ram", "16G", "--rate", "10"},
                  2,
                  "command line"}});
}

TEST_F(ExitStatusCli, DoctorEveryFailureIsUnknown) {
  // A monitoring plugin's every failure is UNKNOWN (3), never WARNING (1)
  // or CRITICAL (2), which a monitoring system would read as a finding.
  const std::string empty = dir_.File("empty-root");
  std::filesystem::create_directory(empty);
  Check("doctor",
        {{{"--root", Missing()}, 3, "UNKNOWN"},
         // Nothing under /proc can be read: the count and max are unknown.
         {{"--root", empty}, 3, "could not be read"},
         {{"--netns", "ctkit-failure-no-such-netns"}, 3, "--netns"},
         {{"--warn-fill", "90", "--crit-fill", "80"}, 3, "UNKNOWN"},
         {{"--no-such-option"}, 3, "UNKNOWN"},
         // Nothing was applied under this root: nothing to roll back.
         {{"--root", empty, "--rollback"}, 3, "--rollback failed"},
         {{"--root", empty, "--collect", dir_.File("no-dir/x.tar.gz")},
          3,
          "--collect could not write"},
         {{"--root", empty, "--html", dir_.File("no-dir/report.html")},
          3,
          "--html could not write"},
         {{"--root", empty, "--history", dir_.File("no-such.history")},
          3,
          "--history file could not be read"}});
}

// Runs ctkit as an unprivileged user (nobody) when the test runs as root,
// so that the kernel run cannot create its namespaces.
RunResult RunUnprivileged(const TempDir& dir,
                          const std::vector<std::string>& args) {
  std::vector<std::string> argv_s = {CTKIT_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string out_path = dir.File("unpriv.out");
  const std::string err_path = dir.File("unpriv.err");
  const int out_fd =
      open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int err_fd =
      open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  RunResult r;
  if (out_fd < 0 || err_fd < 0) {
    ADD_FAILURE() << "cannot open " << out_path << ": " << std::strerror(errno);
    return r;
  }
  const bool root = geteuid() == 0;
  const pid_t pid = fork();
  if (pid == 0) {
    if (dup2(out_fd, STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0) {
      _exit(126);
    }
    if (root &&
        (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 ||
         setresuid(65534, 65534, 65534) != 0)) {
      _exit(126);
    }
    execve(argv[0], argv.data(), environ);
    _exit(127);
  }
  close(out_fd);
  close(err_fd);
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return r;
  }
  if (!WaitForExit(pid, &r)) return r;
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  return r;
}

TEST_F(ExitStatusCli, CompareKernelWhoseKernelRunFailsIsAnErrorNotUsage) {
  // The engine's replay works for anyone; the kernel run needs root. The
  // capture must be readable by the unprivileged user.
  ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0) << std::strerror(errno);
  ASSERT_EQ(chmod(capture_.c_str(), 0644), 0) << std::strerror(errno);
  RunResult r = RunUnprivileged(
      dir_, {"replay", capture_, "--compare-kernel", "--no-progress"});
  ASSERT_TRUE(r.exited) << r.Describe();
  EXPECT_NE(r.exit_code, 126) << "could not drop privileges";
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_EQ(r.out, "");
  ASSERT_EQ(Lines(r.err).size(), 1u) << r.Describe();
  EXPECT_TRUE(StartsWith(r.err, "ctkit: error: kernel replay: ")) << r.err;
  EXPECT_TRUE(Contains(r.err, "needs root")) << r.err;
}

}  // namespace
}  // namespace ctkit::clitest
