// `ctkit bench` checks every flag before generating or timing anything:
// --scale (a finite number above 0, at most the largest table), --warmup
// (with --capture, fewer than its packets), --sysctl (named as replay names
// it, and only where it applies), --only (a workload that exists; the error
// lists them). Each bad value is one error line and exit 2, but a bad
// setting is bad input (1), as in every command. The runs are
// CPU-limited, so a flag that would make bench spin fails the test instead
// of hanging it. No timing is asserted.
#include "tests/cli/cli_test_util.h"

namespace ctkit::clitest {
namespace {

class BenchCli : public ::testing::Test {
 protected:
  void SetUp() override {
    capture_ = dir_.File("hs.pcap");
    WritePcap(capture_, Handshake(kT0, V4(1, 2, 40000, 80)));
  }
  RunResult Bench(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"bench"};
    argv.insert(argv.end(), args.begin(), args.end());
    RunLimits limits;
    limits.cpu_seconds = 20;
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    // A runaway allocation fails instead of swapping; the sanitizers
    // reserve terabytes of shadow address space, so not under them.
    limits.address_space_bytes = 8ull << 30;
#endif
    return RunCtkit(dir_, argv, limits);
  }
  TempDir dir_;
  std::string capture_;
};

// Exit 2, one error line naming each of `parts`, nothing on stdout.
void ExpectUsageError(const RunResult& r,
                      const std::vector<std::string>& parts) {
  ExpectOneErrorLine(r, 2, parts);
  EXPECT_EQ(r.out, "");
}

TEST_F(BenchCli, ScaleMustBeAFiniteNumberAboveZeroAndAtMostTheLargestTable) {
  for (const char* bad : {"-1", "0", "nan", "inf", "1001"}) {
    SCOPED_TRACE(bad);
    ExpectUsageError(Bench({"--scale", bad, "--runs", "1"}),
                     {"--scale", "above 0", "at most 1000"});
  }
}

TEST_F(BenchCli, ScaleAppliesOnlyToTheBuiltinWorkloads) {
  ExpectUsageError(Bench({"--capture", capture_, "--scale", "2"}),
                   {"--scale", "--capture"});
}

TEST_F(BenchCli, OnlyMustNameAWorkloadAndTheErrorListsThem) {
  RunResult r = Bench({"--only", "no-such-workload"});
  ExpectUsageError(r, {"--only 'no-such-workload'", "udp-established-1000,",
                       "udp-new-1000000", "tcp-sessions-100000x10",
                       "full-table-early-drop-65536"});
  // The names follow --scale.
  ExpectUsageError(Bench({"--only", "nope", "--scale", "0.5"}),
                   {"udp-established-500,", "full-table-early-drop-32768"});
  ExpectUsageError(Bench({"--only", "udp", "--capture", capture_}),
                   {"--only", "--capture"});
}

TEST_F(BenchCli, WarmupMustLeavePacketsToTime) {
  ExpectUsageError(Bench({"--capture", capture_, "--warmup", "3"}),
                   {"--warmup 3", capture_, "3 packets"});
  ExpectUsageError(Bench({"--capture", capture_, "--warmup", "-1"}),
                   {"--warmup -1"});
  ExpectUsageError(Bench({"--warmup", "5"}), {"--warmup", "--capture"});
}

TEST_F(BenchCli, SysctlIsCheckedAndOnlyWhereItApplies) {
  RunResult r =
      Bench({"--capture", capture_, "--sysctl", "nf_conntrack_bogus=1"});
  ExpectOneErrorLine(r, 1, {"nf_conntrack_bogus", "unknown sysctl"});
  EXPECT_EQ(r.out, "");
  r = Bench({"--capture", capture_, "--sysctl", "nf_conntrack_max=lots"});
  ExpectOneErrorLine(r, 1, {"nf_conntrack_max", "lots"});
  EXPECT_EQ(r.out, "");
  ExpectUsageError(Bench({"--sysctl", "nf_conntrack_max=5"}),
                   {"--sysctl", "built-in workloads"});
}

TEST_F(BenchCli, AValidCaptureRunTimesThePacketsAfterTheWarmup) {
  RunResult r = Bench({"--capture", capture_, "--warmup", "2", "--runs", "1",
                       "--threads", "1", "--sysctl", "nf_conntrack_max=5"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  // The row: the capture's name, then 3 - 2 = 1 timed packet.
  EXPECT_TRUE(StartsWith(lines[1], capture_)) << lines[1];
  std::string rest = lines[1].substr(capture_.size());
  EXPECT_EQ(rest.substr(rest.find_first_not_of(' '), 2), "1 ") << lines[1];
}

}  // namespace
}  // namespace ctkit::clitest
