// `ctkit doctor` as a monitoring check, through the real binary on the
// fixture trees of tests/doctor: the first line is the plugin status line
// with perfdata, the exit code is the status (0 OK, 1 WARNING, 2 CRITICAL,
// 3 UNKNOWN), and bad arguments are UNKNOWN with a one-line error, as the
// Monitoring Plugins guidelines (monitoring-plugins.org) ask.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testing/doctor_test_util.h"
#include "tests/cli/cli_test_util.h"

namespace ctkit::clitest {
namespace {

class DoctorCli : public ::testing::Test {
 protected:
  // healthy/ with `overlay` laid over it, in a fresh directory.
  std::string Tree(const std::string& overlay) {
    std::string root = dir_.File("root" + std::to_string(++trees_));
    std::filesystem::create_directories(root);
    doctortest::BuildTree(root, overlay);
    return root;
  }
  RunResult Run(const std::vector<std::string>& args) {
    return RunCtkit(dir_, args);
  }
  TempDir dir_;
  int trees_ = 0;
};

TEST_F(DoctorCli, FirstLineIsTheStatusWithPerfdataAndExitIsTheStatus) {
  RunResult ok = Run({"doctor", "--root", Tree("")});
  ASSERT_TRUE(ok.exited) << ok.Describe();
  EXPECT_EQ(ok.exit_code, 0) << ok.Describe();
  // 200 entries of 262144; 80 % and 95 % of it are 209715.2 and 249036.8,
  // and a plugin threshold alerts above its value.
  EXPECT_EQ(Lines(ok.out).at(0),
            "CONNTRACK OK - 0.1% used (200/262144) | "
            "entries=200;209715;249036;0;262144 drop=0c early_drop=0c "
            "insert_failed=0c chaintoolong=0c");
  RunResult crit = Run({"doctor", "--root", Tree("max-too-low")});
  EXPECT_EQ(crit.exit_code, 2) << crit.Describe();
  EXPECT_TRUE(StartsWith(crit.out,
                         "CONNTRACK CRITICAL - 100.0% used "
                         "(1000/1000); "))
      << crit.out;
  EXPECT_TRUE(
      Contains(Lines(crit.out).at(0), "| entries=1000;800;950;0;1000 drop=82c"))
      << crit.out;
  RunResult warn = Run({"doctor", "--root", Tree("time-wait-majority")});
  EXPECT_EQ(warn.exit_code, 1) << warn.Describe();
  EXPECT_TRUE(StartsWith(warn.out, "CONNTRACK WARNING - ")) << warn.out;
}

// Old table-full lines are history under the default 1 h window and a
// WARNING under a window that reaches them (23.7 h old in the fixture).
TEST_F(DoctorCli, LogWindowIsAnOption) {
  const std::string root = Tree("old-table-full");
  EXPECT_EQ(Run({"doctor", "--root", root}).exit_code, 0);
  RunResult r = Run({"doctor", "--root", root, "--log-window", "1d"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_TRUE(Contains(Lines(r.out).at(0), "23.7 h ago")) << r.out;
  r = Run({"doctor", "--root", root, "--log-window", "23h"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  r = Run({"doctor", "--root", root, "--log-window", "5 fortnights"});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
}

// Another namespace's recent "table full in netns N" lines are reported
// as that namespace's, not as this table's problem.
TEST_F(DoctorCli, OtherNamespacesLinesAreTheirsNotAWarningHere) {
  RunResult r = Run({"doctor", "--root", Tree("other-netns-full")});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(Contains(r.out, "netns 4026532318 (blue): 2 line(s)")) << r.out;
}

// A shorter timeout frees nothing at once; the report says what is true.
TEST_F(DoctorCli, TimeoutsSayEntriesGetAShorterValueAtTheirNextPacket) {
  RunResult r = Run({"doctor", "--root", Tree("time-wait-majority")});
  EXPECT_FALSE(Contains(r.out, "would free now")) << r.out;
  EXPECT_FALSE(Contains(r.out, " s frees ")) << r.out;
  EXPECT_TRUE(Contains(r.out,
                       "have more than 60 s left (they get 60 s only "
                       "at their next packet)"))
      << r.out;
}

// --apply on a Debian-like tree: /etc/sysctl.conf (read at boot through the
// link 99-sysctl.conf) sets the same key; the plan names that file once and
// does not claim it wins. nf_conntrack is a module here (initstate), so a
// modules-load.d file is written too; --rollback restores the tree.
TEST_F(DoctorCli, ApplyNamesEachFileOnceAndLoadsTheModuleFirst) {
  const std::string root = Tree("max-too-low");
  std::filesystem::create_directories(root + "/etc/sysctl.d");
  WriteFile(root + "/etc/sysctl.conf",
            "net.netfilter.nf_conntrack_max = 1000\n");
  std::filesystem::create_symlink("../sysctl.conf",
                                  root + "/etc/sysctl.d/99-sysctl.conf");
  WriteFile(root + "/sys/module/nf_conntrack/initstate", "live\n");
  RunResult r = Run({"doctor", "--root", root, "--apply", "--yes"});
  ASSERT_TRUE(r.exited) << r.Describe();
  EXPECT_EQ(r.exit_code, 2) << r.Describe();  // the diagnosis: CRITICAL
  size_t naming = 0;
  for (const auto& l : Lines(r.err)) {
    naming += Contains(l, "/etc/sysctl.conf") ? 1u : 0u;
    EXPECT_FALSE(Contains(l, "wins at boot")) << l;
  }
  EXPECT_EQ(naming, 1u) << r.err;
  const std::string modules =
      root + "/etc/modules-load.d/ctkit-nf_conntrack.conf";
  EXPECT_TRUE(Contains(ReadFile(modules), "\nnf_conntrack\n")) << r.err;
  RunResult rb = Run({"doctor", "--root", root, "--rollback"});
  EXPECT_EQ(rb.exit_code, 0) << rb.Describe();
  EXPECT_FALSE(std::filesystem::exists(modules));
  EXPECT_FALSE(std::filesystem::exists(root + "/etc/modules-load.d"));
}

// Every failure of --apply and --rollback is UNKNOWN (3) with one error
// line, never WARNING (1) or CRITICAL (2), which a monitoring system would
// read as a finding; a failed --apply leaves the tree as it was.
TEST_F(DoctorCli, ApplyAndRollbackFailuresAreUnknown) {
  const std::string root = Tree("max-too-low");
  const std::string max = root + "/proc/sys/net/netfilter/nf_conntrack_max";
  const std::string before = ReadFile(max);
  // Not confirmed: no --yes and stdin is not a terminal.
  RunResult r = Run({"doctor", "--root", root, "--apply"});
  ASSERT_TRUE(r.exited) << r.Describe();
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_TRUE(StartsWith(r.out, "CONNTRACK CRITICAL")) << r.out;
  EXPECT_EQ(Lines(r.err).back(),
            "ctkit: error: nothing applied: confirm with --yes or run on a "
            "terminal");
  EXPECT_EQ(ReadFile(max), before);
  // The sysctl.d file cannot be written (etc/sysctl.d is a file): the
  // runtime value written first is restored, and the run is UNKNOWN.
  std::filesystem::create_directories(root + "/etc");
  WriteFile(root + "/etc/sysctl.d", "");
  r = Run({"doctor", "--root", root, "--apply", "--yes"});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  ASSERT_FALSE(Lines(r.err).empty()) << r.Describe();
  const std::string last = Lines(r.err).back();
  EXPECT_TRUE(StartsWith(last, "ctkit: error: cannot create ")) << last;
  EXPECT_TRUE(Contains(last, "Not a directory")) << last;
  EXPECT_FALSE(Contains(last, "rollback also failed")) << last;
  EXPECT_EQ(ReadFile(max), before);
  // Nothing was applied, so nothing to roll back.
  r = Run({"doctor", "--root", root, "--rollback"});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  ASSERT_EQ(Lines(r.err).size(), 1u) << r.Describe();
  EXPECT_TRUE(StartsWith(r.err, "ctkit: error: nothing to roll back")) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(DoctorCli, BadArgumentsAreUnknownWithTheStatusLine) {
  const std::string root = Tree("");
  const std::vector<std::vector<std::string>> cases = {
      {"--crit-fill", "150"},
      {"--crit-fill", "-1"},
      {"--warn-fill", "90", "--crit-fill", "80"},
      {"--warn-fill", "abc"},
      {"--mem-warn", "5", "--mem-crit", "10"},
      {"--apply", "--rollback"},
      {"--log-window", "0"},
      {"--netns", "x", "--root", root},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"doctor", "--root", root};
    args.insert(args.end(), c.begin(), c.end());
    RunResult r = Run(args);
    std::string what;
    for (const auto& a : c) what += a + " ";
    ASSERT_TRUE(r.exited) << what << r.Describe();
    EXPECT_EQ(r.exit_code, 3) << what << r.Describe();
    EXPECT_TRUE(StartsWith(r.out, "CONNTRACK UNKNOWN - bad argument"))
        << what << r.Describe();
    EXPECT_EQ(Lines(r.out).size(), 1u) << what << r.Describe();
  }
}

TEST_F(DoctorCli, MissingRootIsAOneLineError) {
  const std::string root = dir_.File("no-such-tree");
  RunResult r = Run({"doctor", "--root", root});
  ASSERT_TRUE(r.exited) << r.Describe();
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  ASSERT_EQ(Lines(r.err).size(), 1u) << r.Describe();
  EXPECT_EQ(r.err,
            "ctkit: error: --root " + root + ": No such file or directory\n");
  EXPECT_EQ(Lines(r.out).size(), 1u) << r.Describe();
  // --json keeps stdout for JSON: nothing there, the error on stderr.
  RunResult j = Run({"doctor", "--json", "--root", root});
  EXPECT_EQ(j.exit_code, 3);
  EXPECT_EQ(j.out, "");
  EXPECT_EQ(Lines(j.err).size(), 1u);
}

}  // namespace
}  // namespace ctkit::clitest
