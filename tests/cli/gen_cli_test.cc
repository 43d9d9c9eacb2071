// End-to-end tests of `ctkit gen`: every kind writes a capture that reads
// back (with the library's CaptureReader and through `ctkit replay`) with
// as many packets as the summary line claims, and bad arguments fail
// without touching the output file.
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ctkit/capture.h"
#include "gen/workloads.h"
#include "tests/cli/cli_test_util.h"

namespace ctkit::clitest {
namespace {

// "wrote N packets (F flows, ...": N and F, or false.
bool ParseSummary(const std::string& err, unsigned long long* packets,
                  unsigned long long* flows) {
  return std::sscanf(err.c_str(), "wrote %llu packets (%llu flows,", packets,
                     flows) == 2;
}

struct ReadBack {
  uint64_t records = 0;
  uint64_t first_ts = 0;
  uint64_t last_ts = 0;
  bool ordered = true;
  std::string error;
};

ReadBack ReadCapture(const std::string& path) {
  ReadBack rb;
  auto reader = CaptureReader::Open(path);
  if (!reader) {
    rb.error = reader.error().message;
    return rb;
  }
  CaptureRecord rec;
  while ((*reader)->Next(&rec)) {
    if (rb.records == 0) rb.first_ts = rec.ts_ns;
    if (rec.ts_ns < rb.last_ts) rb.ordered = false;
    rb.last_ts = rec.ts_ns;
    ++rb.records;
  }
  if ((*reader)->error()) rb.error = (*reader)->error()->message;
  return rb;
}

struct KindCase {
  const char* kind;
  bool ipv6;
  // Packets per flow when the kind fixes it (0: variable).
  unsigned packets_per_flow;
};

class GenKind : public ::testing::TestWithParam<KindCase> {};

TEST_P(GenKind, WritesAReadableCaptureMatchingTheSummary) {
  const KindCase& c = GetParam();
  TempDir dir;
  const std::string out = dir.File(std::string(c.kind) + ".pcap");
  std::vector<std::string> args = {"gen", c.kind, "--flows", "200", "-o", out};
  if (c.ipv6) args.push_back("--ipv6");
  RunResult r = RunCtkit(dir, args);
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_EQ(r.out, "");
  unsigned long long packets = 0, flows = 0;
  ASSERT_TRUE(ParseSummary(r.err, &packets, &flows)) << r.err;
  EXPECT_TRUE(Contains(r.err, " to " + out + " in ")) << r.err;
  EXPECT_EQ(flows, 200u);
  if (c.packets_per_flow != 0) {
    EXPECT_EQ(packets, 200u * c.packets_per_flow);
  }

  ReadBack rb = ReadCapture(out);
  EXPECT_EQ(rb.error, "");
  EXPECT_EQ(rb.records, packets);
  EXPECT_TRUE(rb.ordered);
  EXPECT_EQ(rb.first_ts, kDefaultWorkloadStartNs);

  // And the replay reads every packet and decodes them all (raw IP).
  RunResult rep = RunCtkit(dir, {"replay", "--json", out});
  ASSERT_TRUE(rep.exited && rep.exit_code == 0) << rep.Describe();
  nlohmann::json j = nlohmann::json::parse(rep.out);
  EXPECT_EQ(j["packets"]["read"], packets);
  EXPECT_EQ(j["packets"]["decoded"], packets);
  EXPECT_EQ(j["packets"]["verdicts"]["INVALID"], 0) << c.kind;
}

// Fixed sizes from workloads.h: syn-flood 1 packet per flow, dns-storm 2,
// tcp-sessions 10, udp-roundrobin 10 x flows by default.
INSTANTIATE_TEST_SUITE_P(
    AllKinds, GenKind,
    ::testing::Values(
        KindCase{"syn-flood", false, 1}, KindCase{"dns-storm", false, 2},
        KindCase{"tcp-sessions", false, 10}, KindCase{"tcp-lossy", false, 0},
        KindCase{"udp-roundrobin", false, 10}, KindCase{"mixed", false, 0},
        KindCase{"tcp-sessions", true, 10}, KindCase{"mixed", true, 0}),
    [](const ::testing::TestParamInfo<KindCase>& p) {
      std::string n = p.param.kind;
      for (char& ch : n) {
        if (ch == '-') ch = '_';
      }
      return n + (p.param.ipv6 ? "_v6" : "_v4");
    });

TEST(GenCli, EveryListedKindIsCovered) {
  // If a kind is added, the parameterised test above must learn about it.
  std::vector<std::string> kinds;
  for (const WorkloadKindInfo& k : WorkloadKinds()) {
    kinds.emplace_back(k.name);
  }
  EXPECT_EQ(kinds,
            (std::vector<std::string>{"syn-flood", "dns-storm", "tcp-sessions",
                                      "tcp-lossy", "udp-roundrobin", "mixed"}));
}

TEST(GenCli, SameSeedSameBytesOtherSeedOtherBytes) {
  TempDir dir;
  const std::string a = dir.File("a.pcap"), b = dir.File("b.pcap"),
                    c = dir.File("c.pcap");
  for (const auto& [path, seed] :
       std::vector<std::pair<std::string, std::string>>{
           {a, "7"}, {b, "7"}, {c, "8"}}) {
    RunResult r = RunCtkit(
        dir, {"gen", "mixed", "--flows", "100", "--seed", seed, "-o", path});
    ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  }
  EXPECT_EQ(ReadFile(a), ReadFile(b));
  EXPECT_NE(ReadFile(a), ReadFile(c));
}

TEST(GenCli, StartAndPacketsOptions) {
  TempDir dir;
  const std::string out = dir.File("rr.pcap");
  RunResult r =
      RunCtkit(dir, {"gen", "udp-roundrobin", "--flows", "10", "--packets",
                     "35", "--start", "1600000000.5", "-o", out});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  unsigned long long packets = 0, flows = 0;
  ASSERT_TRUE(ParseSummary(r.err, &packets, &flows)) << r.err;
  EXPECT_EQ(packets, 35u);
  ReadBack rb = ReadCapture(out);
  EXPECT_EQ(rb.records, 35u);
  EXPECT_EQ(rb.first_ts, 1'600'000'000'500'000'000ull);
}

TEST(GenCli, UnknownKindListsValidKindsAndKeepsTheFile) {
  TempDir dir;
  const std::string out = dir.File("keep.pcap");
  WriteFile(out, "precious");
  RunResult r = RunCtkit(dir, {"gen", "syn-flod", "-o", out});
  ASSERT_TRUE(r.exited) << r.Describe();
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  std::vector<std::string> lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_TRUE(StartsWith(lines[0], "ctkit: error: ")) << lines[0];
  EXPECT_TRUE(Contains(lines[0], "syn-flod")) << lines[0];
  for (const WorkloadKindInfo& k : WorkloadKinds()) {
    EXPECT_TRUE(Contains(lines[0], std::string(k.name))) << lines[0];
  }
  EXPECT_EQ(ReadFile(out), "precious");
}

TEST(GenCli, BadArgumentsFail) {
  TempDir dir;
  const std::string out = dir.File("x.pcap");
  struct Case {
    std::vector<std::string> args;
    int code;
    const char* needle;
  };
  const std::vector<Case> cases = {
      {{"gen", "syn-flood", "--flows", "0", "-o", out}, 1, "flows"},
      {{"gen", "syn-flood", "--rate", "0", "-o", out}, 1, "rate"},
      {{"gen", "syn-flood", "--packets", "5", "-o", out}, 1, "packets"},
      {{"gen", "udp-roundrobin", "--flows", "10", "--packets", "5", "-o", out},
       1,
       "packets"},
      {{"gen", "syn-flood", "--start", "yesterday", "-o", out}, 1, "yesterday"},
      {{"gen", "syn-flood", "-o", dir.File("no/such/dir/x.pcap")},
       1,
       "no/such/dir"},
      {{"gen", "syn-flood"}, 2, "output"},
      {{"gen", "syn-flood", "--flows", "many", "-o", out}, 2, "flows"},
  };
  for (const Case& c : cases) {
    RunResult r = RunCtkit(dir, c.args);
    std::string what;
    for (const std::string& a : c.args) what += a + " ";
    ASSERT_TRUE(r.exited) << what << r.Describe();
    EXPECT_EQ(r.exit_code, c.code) << what << r.Describe();
    EXPECT_TRUE(Contains(r.err, c.needle)) << what << r.Describe();
    if (c.code == 1) {
      EXPECT_EQ(Lines(r.err).size(), 1u) << what << r.err;
      EXPECT_TRUE(StartsWith(r.err, "ctkit: error: ")) << what << r.err;
    }
    EXPECT_FALSE(std::filesystem::exists(out)) << what;
  }
}

}  // namespace
}  // namespace ctkit::clitest
