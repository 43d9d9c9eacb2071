// `ctkit plan` end to end: the kernel's default sizing for 512 MiB, 2 GiB
// and 16 GiB hosts (spec §1.3's worked values), kube-proxy's formula for 1
// and 8 CPUs, a budget too small for the load, a measured capture, and bad
// sizes failing with a usage error.
#include <nlohmann/json.hpp>

#include "tests/cli/cli_test_util.h"

namespace ctkit::clitest {
namespace {

nlohmann::json Row(const nlohmann::json& doc, const std::string& prefix) {
  for (const auto& r : doc["compare"]) {
    if (StartsWith(r["name"].get<std::string>(), prefix)) return r;
  }
  ADD_FAILURE() << "no row " << prefix << " in " << doc.dump();
  return {};
}

TEST(PlanCli, KernelDefaultSizingForThreeHosts) {
  TempDir dir;
  struct Case {
    const char* ram;
    int max;
  } cases[] = {{"512M", 4096}, {"2G", 65536}, {"16GiB", 262144}};
  for (const Case& c : cases) {
    RunResult r = RunCtkit(dir, {"plan", "--memory", "1G", "--ram", c.ram,
                                 "--cpus", "1", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    nlohmann::json doc = nlohmann::json::parse(r.out);
    nlohmann::json row = Row(doc, "kernel default");
    EXPECT_EQ(row["nf_conntrack_max"], c.max) << c.ram;
    EXPECT_EQ(row["nf_conntrack_buckets"], c.max) << c.ram;
  }
}

TEST(PlanCli, KubeProxyFormula) {
  TempDir dir;
  for (auto [cpus, max] : {std::pair{"1", 131072}, std::pair{"8", 262144}}) {
    RunResult r = RunCtkit(dir, {"plan", "--memory", "1G", "--ram", "16G",
                                 "--cpus", cpus, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    nlohmann::json row = Row(nlohmann::json::parse(r.out), "kube-proxy");
    EXPECT_EQ(row["nf_conntrack_max"], max) << cpus;
  }
}

TEST(PlanCli, RecommendsFromRateAndMix) {
  TempDir dir;
  RunResult r =
      RunCtkit(dir, {"plan", "--memory", "512M", "--ram", "16G", "--cpus", "8",
                     "--rate", "5000", "--mix", "tcp=70,udp=25,icmp=5"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  // 3500 x 120 + 1250 x 30 + 250 x 30 = 465000; x 1.5 = 697500 -> 697856.
  EXPECT_TRUE(Contains(r.out, "net.netfilter.nf_conntrack_max = 697856"))
      << r.out;
  EXPECT_TRUE(Contains(r.out, "net.netfilter.nf_conntrack_buckets = 697856"))
      << r.out;
  EXPECT_TRUE(Contains(r.out, "465000")) << r.out;
  EXPECT_FALSE(Contains(r.out, "DOES NOT FIT")) << r.out;
}

TEST(PlanCli, ABudgetTooSmallIsReported) {
  TempDir dir;
  RunResult r = RunCtkit(dir, {"plan", "--memory", "16M", "--ram", "16G",
                               "--cpus", "4", "--rate", "10000"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(Contains(r.out, "DOES NOT FIT")) << r.out;
  EXPECT_TRUE(Contains(r.out, "more memory")) << r.out;
  RunResult j = RunCtkit(dir, {"plan", "--memory", "16M", "--ram", "16G",
                               "--cpus", "4", "--rate", "10000", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.Describe();
  nlohmann::json doc = nlohmann::json::parse(j.out);
  EXPECT_EQ(doc["fits"], false);
  // 16 MiB / 264 B per entry and bucket, down to a multiple of 512.
  EXPECT_EQ(doc["budget_max"], 63488);
  EXPECT_EQ(doc["needed_entries"], 1800000);
}

TEST(PlanCli, CaptureIsMeasuredWithNoLimit) {
  TempDir dir;
  std::string cap = dir.File("syn.pcap");
  RunResult g =
      RunCtkit(dir, {"gen", "syn-flood", "--flows", "2000", "-o", cap});
  ASSERT_EQ(g.exit_code, 0) << g.Describe();
  RunResult r = RunCtkit(dir, {"plan", "--memory", "256M", "--ram", "16G",
                               "--cpus", "2", "--capture", cap, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  nlohmann::json doc = nlohmann::json::parse(r.out);
  // Every SYN is an entry that outlives the capture (SYN_SENT 120 s).
  EXPECT_EQ(doc["measured"]["peak"], 2000);
  // The 0.2 s capture is far shorter than that lifetime: the same flood
  // (10000 SYNs/s, gen's default rate) run longer holds 10000/s x (120 s +
  // the GC's 60 s interval, §3.3) = 1.8 M entries, x 1.5 headroom.
  EXPECT_NEAR(doc["needed_entries"].get<double>(), 2.7e6, 2.7e5);
}

TEST(PlanCli, BadSizeIsAUsageError) {
  TempDir dir;
  for (const char* bad : {"lots", "4X", "0", "-1G", ""}) {
    RunResult r = RunCtkit(dir, {"plan", "--memory", bad});
    EXPECT_EQ(r.exit_code, 2) << bad << r.Describe();
    EXPECT_TRUE(Contains(r.err, "bad size")) << bad << r.err;
    EXPECT_EQ(r.out, "");
  }
  RunResult mix = RunCtkit(
      dir, {"plan", "--memory", "1G", "--rate", "10", "--mix", "sctp=1"});
  EXPECT_EQ(mix.exit_code, 2) << mix.Describe();
  EXPECT_TRUE(Contains(mix.err, "sctp=1")) << mix.err;
  RunResult missing = RunCtkit(dir, {"plan"});
  EXPECT_EQ(missing.exit_code, 2) << missing.Describe();
}

}  // namespace
}  // namespace ctkit::clitest
