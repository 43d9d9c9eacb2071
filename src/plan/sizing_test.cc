// Capacity planning: kube-proxy's formula, size and mix parsing, and plans
// whose expected numbers are worked out by hand in each test from Little's law
// and the §10 costs (256 B per entry, +128 B with extensions, 8 B per bucket).
#include <gtest/gtest.h>

#include "plan/sizing_output.h"
#include "plan/units.h"

namespace ctkit {
namespace {

constexpr uint64_t kMiB = 1024ull * 1024;
constexpr uint64_t kGiB = 1024 * kMiB;

TEST(KubeProxySizing, PerCoreWithAFloor) {
  EXPECT_EQ(KubeProxySizing(1, 262144).max, 131072u);
  EXPECT_EQ(KubeProxySizing(4, 262144).max, 131072u);
  EXPECT_EQ(KubeProxySizing(8, 262144).max, 262144u);
  EXPECT_EQ(KubeProxySizing(8, 262144).buckets, 262144u);  // >= max/4
  // 32 CPUs: max 1048576; the hash grows to max/4.
  TableSize big = KubeProxySizing(32, 65536);
  EXPECT_EQ(big.max, 1048576u);
  EXPECT_EQ(big.buckets, 262144u);
}

TEST(ParseSize, BinaryAndDecimalUnits) {
  EXPECT_EQ(ParseSize("512M").value(), 512 * kMiB);
  EXPECT_EQ(ParseSize("4G").value(), 4 * kGiB);
  EXPECT_EQ(ParseSize("4GiB").value(), 4 * kGiB);
  EXPECT_EQ(ParseSize("4gib").value(), 4 * kGiB);
  EXPECT_EQ(ParseSize("1073741824").value(), kGiB);
  EXPECT_EQ(ParseSize("1.5G").value(), 3 * kGiB / 2);
  EXPECT_EQ(ParseSize("4GB").value(), 4000000000u);
  EXPECT_EQ(ParseSize("64 KiB").value(), 65536u);
  for (const char* bad : {"", "abc", "4X", "0", "-1G", "G", "1e30"}) {
    auto r = ParseSize(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.error().message.find("bad size"), std::string::npos);
  }
}

TEST(ParseMix, SharesAreScaledToOne) {
  auto m = ParseMix("tcp=70,udp=25,icmp=5");
  ASSERT_TRUE(m.has_value());
  EXPECT_DOUBLE_EQ(m->tcp, 0.70);
  EXPECT_DOUBLE_EQ(m->udp, 0.25);
  EXPECT_DOUBLE_EQ(m->icmp, 0.05);
  auto f = ParseMix("udp=1,tcp=3");
  ASSERT_TRUE(f.has_value());
  EXPECT_DOUBLE_EQ(f->tcp, 0.75);
  EXPECT_DOUBLE_EQ(f->icmp, 0.0);
  for (const char* bad :
       {"sctp=1", "tcp=x", "tcp=-1", "tcp=1,tcp=2", "tcp=0", "tcp"}) {
    EXPECT_FALSE(ParseMix(bad).has_value()) << bad;
  }
}

PlanInput Base() {
  PlanInput in;
  in.budget_bytes = 512 * kMiB;
  in.cpus = 8;
  in.ram_bytes = 16 * kGiB;
  return in;
}

TEST(MakePlan, ModelIsRateTimesLifetime) {
  PlanInput in = Base();
  in.rate = 5000;
  in.mix = {0.7, 0.25, 0.05};
  auto p = MakePlan(in);
  ASSERT_TRUE(p.has_value());
  // 3500/s x 120 s + 1250/s x 30 s + 250/s x 30 s = 465000.
  ASSERT_TRUE(p->modelled_concurrent.has_value());
  EXPECT_DOUBLE_EQ(*p->modelled_concurrent, 465000.0);
  EXPECT_DOUBLE_EQ(p->classes[0].concurrent, 420000.0);
  // x 1.5 = 697500, rounded up to 512: 697856, buckets 1:1.
  EXPECT_EQ(p->needed_entries.value(), 697500u);
  EXPECT_TRUE(p->fits);
  EXPECT_EQ(p->recommended.max, 697856u);
  EXPECT_EQ(p->recommended.buckets, 697856u);
  // 512 MiB / 264 B = 2033601 entries -> 2033152 (a multiple of 512).
  EXPECT_EQ(p->budget_max, 2033152u);
  EXPECT_EQ(p->compare[0].memory_when_full, 697856u * 264u);
  // The kernel default and kube-proxy (8 CPUs) both give 262144: too few.
  EXPECT_EQ(p->compare[1].size.max, 262144u);
  EXPECT_EQ(p->compare[1].holds_load, false);
  EXPECT_EQ(p->compare[2].size.max, 262144u);
  EXPECT_EQ(p->compare[2].holds_load, false);
}

TEST(MakePlan, KeepsTheKernelDefaultWhenItAlreadyHoldsTheLoad) {
  PlanInput in = Base();
  in.rate = 100;  // 100 x 120 s x 1.5 = 18000 <= 262144
  auto p = MakePlan(in);
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->fits);
  EXPECT_EQ(p->recommended.max, 262144u);
  EXPECT_EQ(p->recommended.buckets, 262144u);
}

TEST(MakePlan, WithoutALoadTheBudgetLimitIsTheRecommendation) {
  PlanInput in = Base();
  in.budget_bytes = 64 * kMiB;  // 67108864 / 264 = 254200 -> 253952
  auto p = MakePlan(in);
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->fits);
  EXPECT_FALSE(p->needed_entries.has_value());
  EXPECT_EQ(p->recommended.max, 253952u);
  EXPECT_FALSE(p->compare[0].holds_load.has_value());
}

TEST(MakePlan, TooSmallABudgetSaysSoAndWhichTimeWaitWouldFit) {
  PlanInput in = Base();
  in.budget_bytes = 256 * kMiB;  // 268435456 / 264 = 1016801 -> 1016320
  in.rate = 10000;               // all TCP: 10000 x 120 x 1.5 = 1.8 M
  auto p = MakePlan(in);
  ASSERT_TRUE(p.has_value());
  EXPECT_FALSE(p->fits);
  EXPECT_EQ(p->needed_entries.value(), 1800000u);
  EXPECT_EQ(p->recommended.max, 1016320u);
  // 1800192 entries (rounded) x 264 B.
  EXPECT_EQ(p->memory_needed, 1800192u * 264u);
  // 1016320 / 1.5 / 10000 = 67.75 s of lifetime: TIME_WAIT 67 s fits, and
  // is above its 60 s floor (Linux's own TIME_WAIT).
  ASSERT_TRUE(p->timeouts_can_fit);
  ASSERT_EQ(p->timeout_changes.size(), 1u);
  EXPECT_EQ(p->timeout_changes[0].sysctl,
            "net.netfilter.nf_conntrack_tcp_timeout_time_wait");
  EXPECT_EQ(p->timeout_changes[0].from, 120u);
  EXPECT_EQ(p->timeout_changes[0].to, 67u);
  std::string text = RenderPlanText(*p);
  EXPECT_NE(text.find("DOES NOT FIT"), std::string::npos);
  EXPECT_EQ(PlanToJson(*p)["fits"], false);
}

TEST(MakePlan, NoTimeWaitBelowItsSafetyFloor) {
  PlanInput in = Base();
  in.budget_bytes = 64 * kMiB;  // holds 253952 entries
  in.rate = 10000;
  // 253952 / 1.5 / 10000 = 16.9 s of lifetime would fit, but TIME_WAIT may
  // not go below 60 s: no timeout change makes it fit.
  auto p = MakePlan(in);
  ASSERT_TRUE(p.has_value());
  EXPECT_FALSE(p->fits);
  EXPECT_FALSE(p->timeouts_can_fit);
  EXPECT_TRUE(p->timeout_changes.empty());
  EXPECT_NE(RenderPlanText(*p).find("TIME_WAIT 60 s"), std::string::npos);
  // A floor given by the operator is used instead.
  SetTimeoutFloor(&in.floors,
                  {"nf_conntrack_tcp_timeout_time_wait", 10, "test"});
  auto q = MakePlan(in);
  ASSERT_TRUE(q.has_value());
  ASSERT_TRUE(q->timeouts_can_fit);
  EXPECT_EQ(q->timeout_changes[0].to, 16u);
}

TEST(MakePlan, TooSmallForAnyTimeoutNeedsMemory) {
  PlanInput in = Base();
  in.budget_bytes = 16 * kMiB;  // 63488 entries: 4.2 s of lifetime at 10k/s
  in.rate = 10000;
  auto p = MakePlan(in);
  ASSERT_TRUE(p.has_value());
  EXPECT_FALSE(p->fits);
  EXPECT_EQ(p->budget_max, 63488u);
  EXPECT_FALSE(p->timeouts_can_fit);
  EXPECT_TRUE(p->timeout_changes.empty());
}

TEST(MakePlan, ShorterUdpTimeoutsWhenTimeWaitAloneCannot) {
  PlanInput in = Base();
  in.budget_bytes = 64 * kMiB;  // 253952 entries
  in.rate = 10000;
  in.mix = {0.1, 0.9, 0.0};
  // Now: 10000 x (0.1 x 120 + 0.9 x 30) x 1.5 = 585000. Target lifetime
  // 16.93 s: TIME_WAIT alone would need (16.93 - 27) / 0.1 < 0. With
  // TIME_WAIT at its 60 s floor: (16.93 - 6) / 0.9 = 12.1 -> udp_timeout
  // 12, above its 10 s floor.
  auto p = MakePlan(in);
  ASSERT_TRUE(p.has_value());
  EXPECT_FALSE(p->fits);
  ASSERT_TRUE(p->timeouts_can_fit);
  ASSERT_EQ(p->timeout_changes.size(), 2u);
  EXPECT_EQ(p->timeout_changes[0].to, 60u);
  EXPECT_EQ(p->timeout_changes[1].sysctl,
            "net.netfilter.nf_conntrack_udp_timeout");
  EXPECT_EQ(p->timeout_changes[1].to, 12u);
}

TEST(MakePlan, ExtensionsCost128BytesMorePerEntry) {
  PlanInput in = Base();
  in.tunables.acct = 1;
  auto p = MakePlan(in);
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->extensions);
  EXPECT_EQ(p->entry_bytes, 384u);
  // 512 MiB / 392 B = 1369568 -> 1369088.
  EXPECT_EQ(p->budget_max, 1369088u);
}

TEST(MakePlan, MeasuredPeakCountsWhenLarger) {
  PlanInput in = Base();
  in.rate = 100;  // model: 12000
  in.measured_peak = 400000;
  auto p = MakePlan(in);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->needed_entries.value(), 600000u);
  EXPECT_EQ(p->recommended.max, 600064u);
}

// 0 means "no limit" to the kernel: a plan never says max = 0 or buckets =
// 0. The smallest table is 512 entries in 512 buckets (buckets are rounded
// up to a multiple of 512, §1.4): 512 x 256 B + 512 x 8 B = 135168 B.
TEST(MakePlan, ABudgetBelowTheSmallestTableIsAnErrorNamingIt) {
  EXPECT_EQ(SmallestBudget(false), 135168u);
  EXPECT_EQ(SmallestBudget(true), 512u * 384u + 512u * 8u);
  PlanInput in = Base();
  in.budget_bytes = uint64_t{100} * 1024;
  for (bool with_rate : {false, true}) {
    if (with_rate) in.rate = 10;
    auto p = MakePlan(in);
    ASSERT_FALSE(p.has_value());
    EXPECT_NE(p.error().message.find("132.0 KiB"), std::string::npos)
        << p.error().message;
    EXPECT_NE(p.error().message.find("nf_conntrack_max = 512"),
              std::string::npos);
  }
  in.tunables.acct = 1;
  in.budget_bytes = SmallestBudget(false);  // not enough with extensions
  auto ext = MakePlan(in);
  ASSERT_FALSE(ext.has_value());
  EXPECT_NE(ext.error().message.find("196.0 KiB"), std::string::npos)
      << ext.error().message;

  in.tunables.acct = 0;
  auto exact = MakePlan(in);  // exactly the smallest table
  ASSERT_TRUE(exact.has_value()) << exact.error().message;
  EXPECT_EQ(exact->budget_max, 512u);
  EXPECT_EQ(exact->recommended.max, 512u);
  EXPECT_EQ(exact->recommended.buckets, 512u);
}

TEST(MakePlan, NeverRecommendsZeroEntries) {
  // The kernel default (1024 entries at least) does not fit 200 KiB, and
  // the load rounds to nothing: the plan still says 512, never 0.
  PlanInput in = Base();
  in.ram_bytes = 64 * kMiB;
  in.budget_bytes = uint64_t{200} * 1024;  // 775 entries -> 512
  for (int k = 0; k < 2; ++k) {
    if (k == 0) in.rate = 0.001;  // 0.12 entries
    if (k == 1) {
      in.rate.reset();
      in.measured_peak = 0;  // an empty capture
    }
    auto p = MakePlan(in);
    ASSERT_TRUE(p.has_value()) << k;
    EXPECT_EQ(p->recommended.max, 512u) << k;
    EXPECT_EQ(p->recommended.buckets, 512u) << k;
    nlohmann::json j = PlanToJson(*p);
    for (const auto& row : j["compare"]) {
      EXPECT_NE(row["nf_conntrack_max"], 0) << row.dump();
      EXPECT_NE(row["nf_conntrack_buckets"], 0) << row.dump();
    }
    EXPECT_EQ(RenderPlanText(*p).find("= 0\n"), std::string::npos);
  }
}

TEST(MakePlan, RejectsNonsense) {
  PlanInput in = Base();
  in.budget_bytes = 0;
  EXPECT_FALSE(MakePlan(in).has_value());
  in = Base();
  in.rate = -5;
  EXPECT_FALSE(MakePlan(in).has_value());
  in = Base();
  in.headroom = 0.5;
  EXPECT_FALSE(MakePlan(in).has_value());
}

}  // namespace
}  // namespace ctkit
