// Bad input to `ctkit replay`: broken captures, unknown or malformed
// settings, bad flag values. Each must end with a normal exit (never a
// signal), status 1 (bad input) or 2 (bad command line), and exactly one
// `ctkit: error: ...` line on stderr that names the problem.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/cli/cli_test_util.h"

namespace ctkit::clitest {
namespace {

class BadInputCli : public ::testing::Test {
 protected:
  RunResult Run(const std::vector<std::string>& args) {
    return RunCtkit(dir_, args);
  }
  // A good 3-packet capture; returns its path and the size of each record
  // (16-byte record header + packet).
  std::string GoodCapture(std::vector<size_t>* record_sizes = nullptr) {
    const std::vector<Pkt> pkts = Handshake(kT0, V4(1, 2, 40000, 80));
    const std::string path = dir_.File("good.pcap");
    WritePcap(path, pkts);
    if (record_sizes != nullptr) {
      for (const Pkt& p : pkts) record_sizes->push_back(16 + p.bytes.size());
    }
    return path;
  }
  TempDir dir_;
};

TEST_F(BadInputCli, TruncatedCaptureNamesFileAndOffsetAndKeepsReport) {
  std::vector<size_t> rec;
  const std::string good = GoodCapture(&rec);
  std::string bytes = ReadFile(good);
  ASSERT_EQ(bytes.size(), 24 + rec[0] + rec[1] + rec[2]);
  // Cut in the middle of the third record's packet data.
  const size_t third = 24 + rec[0] + rec[1];
  const std::string cut = dir_.File("cut.pcap");
  WriteFile(cut, bytes.substr(0, third + 16 + 10));

  RunResult r = Run({"replay", cut});
  ExpectOneErrorLine(r, 1, {cut, "offset " + std::to_string(third)});
  // The report covers the two packets before the cut.
  EXPECT_TRUE(Contains(r.out, "packets:   read 2, decoded 2, skipped 0\n"))
      << r.out;
  EXPECT_TRUE(Contains(r.out, "incomplete:")) << r.out;

  // The same with the list options: the packets before the cut are listed.
  RunResult v = Run({"replay", "--verdicts", cut});
  ExpectOneErrorLine(v, 1, {cut, "offset " + std::to_string(third)});
  EXPECT_EQ(Lines(v.out), (std::vector<std::string>{"1 NEW", "2 ESTABLISHED"}));

  // --json: a valid document with the error, still exit 1.
  RunResult j = Run({"replay", "--json", cut});
  ExpectOneErrorLine(j, 1, {cut});
  nlohmann::json doc;
  ASSERT_NO_THROW(doc = nlohmann::json::parse(j.out)) << j.out;
  EXPECT_EQ(doc["packets"]["read"], 2);
  EXPECT_TRUE(doc.contains("error"));
}

TEST_F(BadInputCli, CaptureCutInsideARecordHeader) {
  std::vector<size_t> rec;
  std::string bytes = ReadFile(GoodCapture(&rec));
  const size_t second = 24 + rec[0];
  const std::string cut = dir_.File("cut.pcap");
  WriteFile(cut, bytes.substr(0, second + 7));
  RunResult r = Run({"replay", "--verdicts", cut});
  ExpectOneErrorLine(r, 1, {cut, "offset " + std::to_string(second)});
  EXPECT_EQ(Lines(r.out), std::vector<std::string>{"1 NEW"});
}

TEST_F(BadInputCli, WrongMagic) {
  std::string bytes = ReadFile(GoodCapture());
  bytes[0] = 'X';
  bytes[1] = 'Y';
  bytes[2] = 'Z';
  bytes[3] = 'W';
  const std::string bad = dir_.File("magic.pcap");
  WriteFile(bad, bytes);
  RunResult r = Run({"replay", bad});
  ExpectOneErrorLine(r, 1, {bad, "not a pcap or pcapng"});
  EXPECT_EQ(r.out, "");
}

TEST_F(BadInputCli, TextFileIsNotACapture) {
  const std::string bad = dir_.File("notes.txt");
  WriteFile(bad, "this is not a capture file, just some text\n");
  RunResult r = Run({"replay", "--json", bad});
  ExpectOneErrorLine(r, 1, {bad, "not a pcap"});
  EXPECT_EQ(r.out, "");
}

TEST_F(BadInputCli, EmptyFile) {
  const std::string empty = dir_.File("empty.pcap");
  WriteFile(empty, "");
  RunResult r = Run({"replay", empty});
  ExpectOneErrorLine(r, 1, {empty, "empty"});
  EXPECT_EQ(r.out, "");
}

TEST_F(BadInputCli, HeaderOnlyCaptureIsFine) {
  // A capture with no packets is valid input, not an error.
  const std::string path = dir_.File("header.pcap");
  WritePcap(path, {});
  RunResult r = Run({"replay", "--json", path});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["packets"]["read"], 0);
  RunResult t = Run({"replay", "--timeline", "1s", path});
  ASSERT_TRUE(t.exited && t.exit_code == 0) << t.Describe();
  EXPECT_EQ(Lines(t.out), std::vector<std::string>{
                              "time,count,new,destroyed,early_drop,drop"});
  RunResult d = Run({"replay", "--dump", path});
  ASSERT_TRUE(d.exited && d.exit_code == 0) << d.Describe();
  EXPECT_EQ(d.out, "");
}

// A bad --zone-map rule is named, with what is wrong, before any packet is
// read; kernel-replay refuses a VLAN or interface rule it cannot
// reproduce in its router the same way (exit 1, bad input), before it needs
// root.
TEST_F(BadInputCli, BadZoneMapRuleIsNamed) {
  const std::string path = dir_.File("header.pcap");
  WritePcap(path, {});
  RunResult r = Run({"replay", "--zone-map", "net:10.0.0.1/8=3", path});
  ExpectOneErrorLine(r, 1, {"net:10.0.0.1/8=3", "host bits"});
  EXPECT_EQ(r.out, "");
  RunResult k = Run({"kernel-replay", "--zone-map", "vlan:7=3", path});
  ExpectOneErrorLine(k, 1, {"vlan:7=3", "only net: rules"});
  RunResult i = Run({"kernel-replay", "--zone-map", "if:wan=3", path});
  ExpectOneErrorLine(i, 1, {"if:wan=3", "not the capture's"});
  // A capture after a --sysctl is the capture, not a second setting.
  RunResult s = Run({"kernel-replay", "--sysctl", "nf_conntrack_max=x", path});
  ExpectOneErrorLine(s, 1, {"nf_conntrack_max=x"});
}

TEST_F(BadInputCli, MissingFile) {
  const std::string missing = dir_.File("does-not-exist.pcap");
  RunResult r = Run({"replay", missing});
  ExpectOneErrorLine(r, 1, {missing, "No such file"});
  EXPECT_EQ(r.out, "");
}

TEST_F(BadInputCli, DirectoryInsteadOfFile) {
  RunResult r = Run({"replay", dir_.path()});
  ExpectOneErrorLine(r, 1, {dir_.path(), "directory"});
}

TEST_F(BadInputCli, HashsizeIsNotASysctl) {
  const std::string pcap = GoodCapture();
  RunResult r =
      Run({"replay", "--sysctl", "nf_conntrack_hashsize=65536", pcap});
  ExpectOneErrorLine(
      r, 1,
      {"nf_conntrack_hashsize", "no nf_conntrack_hashsize sysctl",
       "nf_conntrack_buckets"});
  EXPECT_EQ(r.out, "");
}

TEST_F(BadInputCli, UnknownSysctlIsNamed) {
  const std::string pcap = GoodCapture();
  RunResult r = Run({"replay", "--sysctl", "nf_conntrack_bogus=1", pcap});
  ExpectOneErrorLine(r, 1, {"unknown sysctl", "nf_conntrack_bogus"});
  EXPECT_EQ(r.out, "");
}

TEST_F(BadInputCli, BadSysctlValue) {
  const std::string pcap = GoodCapture();
  RunResult r =
      Run({"replay", "--sysctl", "nf_conntrack_udp_timeout=abc", pcap});
  ExpectOneErrorLine(r, 1, {"bad value", "'abc'", "nf_conntrack_udp_timeout"});
  EXPECT_EQ(r.out, "");
}

// Three mistakes on one command line: each gets its own error line, in the
// order given, before the command exits.
TEST_F(BadInputCli, EveryBadSysctlIsReported) {
  const std::string pcap = GoodCapture();
  RunResult r =
      Run({"replay", "--sysctl", "nf_conntrack_udp_timeout=abc", "--sysctl",
           "nf_conntrack_max=1000", "--sysctl", "nf_conntrack_bogus=1",
           "--sysctl", "nf_conntrack_max", pcap});
  EXPECT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  std::vector<std::string> lines;
  for (size_t a = 0, b; a < r.err.size(); a = b + 1) {
    b = r.err.find('\n', a);
    if (b == std::string::npos) b = r.err.size();
    if (b > a) lines.push_back(r.err.substr(a, b - a));
  }
  ASSERT_EQ(lines.size(), 3u) << r.err;
  EXPECT_NE(lines[0].find("nf_conntrack_udp_timeout=abc"), std::string::npos);
  EXPECT_NE(lines[1].find("nf_conntrack_bogus"), std::string::npos);
  EXPECT_NE(lines[2].find("NAME=VALUE"), std::string::npos);
}

TEST_F(BadInputCli, SysctlWithoutEquals) {
  const std::string pcap = GoodCapture();
  RunResult r = Run({"replay", "--sysctl", "nf_conntrack_max", pcap});
  ExpectOneErrorLine(r, 1, {"nf_conntrack_max", "NAME=VALUE"});
}

TEST_F(BadInputCli, ReadOnlyCountSysctl) {
  const std::string pcap = GoodCapture();
  RunResult r = Run({"replay", "--sysctl", "nf_conntrack_count=5", pcap});
  ExpectOneErrorLine(r, 1, {"nf_conntrack_count", "read-only"});
}

TEST_F(BadInputCli, SysctlFileErrorNamesTheLine) {
  const std::string pcap = GoodCapture();
  const std::string conf = dir_.File("bad.conf");
  WriteFile(conf,
            "# conntrack settings\n"
            "net.netfilter.nf_conntrack_max = 1000\n"
            "net.netfilter.nf_conntrack_tcp_timeout_established = 5 days\n"
            "net.netfilter.nf_conntrack_udp_timeout = 10\n");
  RunResult r = Run({"replay", "--sysctl-file", conf, pcap});
  ExpectOneErrorLine(r, 1, {conf + ":3:", "tcp_timeout_established"});
  EXPECT_EQ(r.out, "");
}

TEST_F(BadInputCli, SysctlFileMissing) {
  const std::string pcap = GoodCapture();
  const std::string conf = dir_.File("nope.conf");
  RunResult r = Run({"replay", "--sysctl-file", conf, pcap});
  ExpectOneErrorLine(r, 1, {conf});
}

TEST_F(BadInputCli, ZeroTimelineInterval) {
  const std::string pcap = GoodCapture();
  RunResult r = Run({"replay", "--timeline", "0s", pcap});
  // A bad flag value is a command-line error (kExitUsage).
  ExpectOneErrorLine(r, 2, {"--timeline", "'0s'"});
  EXPECT_EQ(r.out, "");
}

TEST_F(BadInputCli, TimelineUnknownUnit) {
  const std::string pcap = GoodCapture();
  RunResult r = Run({"replay", "--timeline", "5 parsecs", pcap});
  ExpectOneErrorLine(r, 2, {"--timeline", "unit"});
}

TEST_F(BadInputCli, MissingCaptureArgumentIsAUsageError) {
  RunResult r = Run({"replay", "--dump"});
  ASSERT_TRUE(r.exited) << r.Describe();
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(Contains(r.err, "capture")) << r.err;
}

TEST_F(BadInputCli, UnknownFlagIsAUsageError) {
  const std::string pcap = GoodCapture();
  RunResult r = Run({"replay", "--no-such-flag", pcap});
  ASSERT_TRUE(r.exited) << r.Describe();
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_TRUE(Contains(r.err, "--no-such-flag")) << r.err;
}

TEST_F(BadInputCli, NoSubcommandIsAUsageError) {
  RunResult r = Run({});
  ASSERT_TRUE(r.exited) << r.Describe();
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
}

TEST_F(BadInputCli, HelpExitsZero) {
  RunResult r = Run({"replay", "--help"});
  ASSERT_TRUE(r.exited) << r.Describe();
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(Contains(r.out, "--sysctl")) << r.out;
  EXPECT_TRUE(Contains(r.out, "--timeline")) << r.out;
}

TEST_F(BadInputCli, TableTooBigForMemoryFailsCleanly) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "sanitizers need more address space than the limit";
#endif
  // Under a 1 GiB address-space limit, tables of a few million entries with
  // the acct and timestamp extensions fit or do not, depending on which
  // allocation fails first. Whatever fails must give the one-line error
  // and status 1, never an abort from an uncaught std::bad_alloc.
  const std::string pcap = GoodCapture();
  for (const char* max :
       {"3000000", "4000000", "5000000", "7000000", "8000000", "20000000"}) {
    RunResult r = RunCtkit(
        dir_,
        {"replay", "--dump", "--sysctl", std::string("nf_conntrack_max=") + max,
         "--sysctl", "nf_conntrack_buckets=1024", "--sysctl",
         "nf_conntrack_acct=1", "--sysctl", "nf_conntrack_timestamp=1", pcap},
        RunLimits{1ull << 30});
    SCOPED_TRACE(max);
    ASSERT_TRUE(r.exited) << r.Describe();
    if (r.exit_code == 0) {
      EXPECT_EQ(Lines(r.out).size(), 1u) << r.Describe();
    } else {
      ExpectOneErrorLine(r, 1, {});
    }
  }
}

TEST_F(BadInputCli, GarbageRecordsNeverCrash) {
  // A valid header followed by records whose payloads are random bytes and
  // whose lengths lie: the decoder must skip or reject, not crash.
  const std::string path = dir_.File("garbage.pcap");
  std::vector<Pkt> pkts;
  uint32_t x = 12345;
  for (int i = 0; i < 200; ++i) {
    Pkt p{kT0 + static_cast<uint64_t>(i) * kMs, {}};
    x = x * 1103515245u + 12345u;
    const size_t len = (x >> 16) % 80;
    for (size_t k = 0; k < len; ++k) {
      x = x * 1103515245u + 12345u;
      p.bytes.push_back(static_cast<uint8_t>(x >> 24));
    }
    // Half of them claim to be IPv4 or IPv6.
    if (!p.bytes.empty() && (i & 1)) {
      p.bytes[0] = static_cast<uint8_t>((i & 2) ? 0x45 : 0x60);
    }
    pkts.push_back(std::move(p));
  }
  WritePcap(path, pkts);
  RunResult r =
      Run({"replay", "--json", "--verdicts", "--dump", "--events", path});
  ASSERT_TRUE(r.exited) << r.Describe();
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.err, "");
}

}  // namespace
}  // namespace ctkit::clitest
