// conntrack-tools' formats through the binary: `--events-timestamp`, the
// `conntrack -S` block and the INVALID reconciliation of the summary, and
// the rule that text mode prints one list at a time. The byte-for-byte
// comparison with conntrack-tools' own output of a recorded run is
// tests/formats/compare.py; the expected values here are from that
// recording (tests/formats/default.*) and the spec.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "tests/cli/cli_test_util.h"

namespace ctkit::clitest {
namespace {

class FormatsCli : public ::testing::Test {
 protected:
  std::string Capture(const std::vector<Pkt>& pkts) {
    const std::string path = dir_.File("in.pcap");
    WritePcap(path, pkts);
    return path;
  }
  RunResult Run(const std::vector<std::string>& args) {
    return RunCtkit(dir_, args);
  }
  TempDir dir_;
};

// conntrack -E -o timestamp prints "[%-.8ld.%-.6ld]\t" before each line;
// ctkit prints the capture time of the packet behind the event.
TEST_F(FormatsCli, EventsTimestampPrefixesThePacketTime) {
  const Endpoints c = V4(1, 2, 5353, 53);
  const std::string pcap = Capture({Udp(kT0 + 7 * kMs + 1234, c, 20),
                                    Udp(kT0 + 510 * kMs, c.Reversed(), 60)});
  RunResult r = Run({"replay", "--events", "--events-timestamp", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_EQ(Lines(r.out),
            (std::vector<std::string>{
                "[1700000000.007001]\t    [NEW] udp      17 30 src=10.0.0.1 "
                "dst=10.0.0.2 sport=5353 dport=53 [UNREPLIED] src=10.0.0.2 "
                "dst=10.0.0.1 sport=53 dport=5353",
                "[1700000000.510000]\t [UPDATE] udp      17 30 src=10.0.0.1 "
                "dst=10.0.0.2 sport=5353 dport=53 src=10.0.0.2 dst=10.0.0.1 "
                "sport=53 dport=5353"}));
}

TEST_F(FormatsCli, EventsTimestampNeedsEvents) {
  const std::string pcap = Capture({Udp(kT0, V4(1, 2, 5353, 53), 20)});
  RunResult r = Run({"replay", "--events-timestamp", pcap});
  ASSERT_TRUE(r.exited) << r.Describe();
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_TRUE(Contains(r.err, "--events")) << r.err;
  EXPECT_EQ(r.out, "");
}

// The recording's crafted packets: a TCP SYN+FIN counts `invalid`, an ICMP
// port unreachable quoting a flow never seen counts `error` (conntrack -S:
// invalid=2 (with a UDP checksum error) and error=1, tests/formats/
// default.S.txt; spec §5.3). Both are INVALID verdicts, so the summary's
// INVALID count is invalid + error, and says so.
TEST_F(FormatsCli, SummaryReconcilesInvalidWithConntrackS) {
  const Endpoints c = V4(1, 2, 42000, 8080);
  Pkt synfin = Tcp(kT0, c, 1, 0, tcpflag::kSyn | tcpflag::kFin);
  std::vector<uint8_t> quoted;
  BuildUdp(V4(2, 1, 42002, 53), 0, &quoted);
  Pkt err{kT0 + kMs, {}};
  BuildIcmpError(Family::kIPv4, Ipv4(10, 0, 0, 1), Ipv4(10, 0, 0, 2), 3, 3,
                 quoted, &err.bytes);
  const std::string pcap = Capture({synfin, err});
  RunResult r = Run({"replay", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_TRUE(Contains(r.out, " INVALID 2 ")) << r.out;
  EXPECT_TRUE(Contains(
      r.out,
      "\ninvalid:   2 packets = conntrack -S invalid 1 (tcp-header 1) + "
      "error 1 (icmp-error-unknown-flow 1)\n"
      "           (ICMP packets that fail conntrack's ICMP checks, and ICMP "
      "errors quoting no entry, count under error, not invalid)\n"))
      << r.out;
  // conntrack -S prints one line per possible CPU, each ending in a space;
  // ctkit's one line is cpu=0 holding the sums, as on a one-CPU kernel.
  EXPECT_TRUE(Contains(
      r.out,
      "\nconntrack -S (all CPUs summed, as a one-CPU kernel prints it):\n"
      "cpu=0   \tfound=0 invalid=1 insert=0 insert_failed=0 drop=0 "
      "early_drop=0 error=1 search_restart=0 clash_resolve=0 "
      "chaintoolong=0 \n"))
      << r.out;
}

// Each list option prints its list bare so it can be diffed; two of them
// would run into each other on stdout, so text mode refuses the pair.
TEST_F(FormatsCli, TextTakesOneListAtATime) {
  const std::string pcap = Capture(Handshake(kT0, V4(1, 2, 40000, 80)));
  const std::vector<std::vector<std::string>> lists = {
      {"--dump"}, {"--verdicts"}, {"--events"}, {"--timeline", "1s"}};
  for (size_t a = 0; a < lists.size(); ++a) {
    for (size_t b = a + 1; b < lists.size(); ++b) {
      std::vector<std::string> args = {"replay"};
      args.insert(args.end(), lists[a].begin(), lists[a].end());
      args.insert(args.end(), lists[b].begin(), lists[b].end());
      args.push_back(pcap);
      RunResult r = Run(args);
      ASSERT_TRUE(r.exited) << r.Describe();
      EXPECT_EQ(r.exit_code, 2) << lists[a][0] << " " << lists[b][0];
      EXPECT_EQ(r.out, "") << lists[a][0] << " " << lists[b][0];
      EXPECT_TRUE(Contains(r.err, lists[a][0] + " and " + lists[b][0]))
          << r.err;
      EXPECT_TRUE(Contains(r.err, "--json")) << r.err;
      // Each under its own key in JSON.
      args.insert(args.begin() + 1, "--json");
      RunResult j = Run(args);
      ASSERT_TRUE(j.exited && j.exit_code == 0) << j.Describe();
    }
  }
}

TEST_F(FormatsCli, KernelReplayTakesOneListAtATime) {
  // Refused before anything runs, so no root is needed to see it.
  const std::string pcap = Capture(Handshake(kT0, V4(1, 2, 40000, 80)));
  RunResult r = Run({"kernel-replay", "--dump", "--verdicts", pcap});
  ASSERT_TRUE(r.exited) << r.Describe();
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(Contains(r.err, "--dump and --verdicts")) << r.err;
}

}  // namespace
}  // namespace ctkit::clitest
