// What-if sweeps: parsing --vary and --adaptive, the order and shape of the
// variants (baseline first, then the product), thread-count independence,
// and the cheapest-lossless mark on a SYN flood whose numbers follow from
// the spec (§6.6: an unanswered SYN lives 120 s; §10: 256 B per entry and
// 8 B per bucket).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "plan/whatif_output.h"
#include "testing/workload_capture_test_util.h"

namespace ctkit {
namespace {

WorkloadSpec SynFlood(uint64_t flows) {
  WorkloadSpec s;
  s.kind = "syn-flood";
  s.flows = flows;
  s.rate = 10000;
  s.seed = 7;
  return s;
}

TEST(ParseVary, AcceptsEveryNameFormAndKeepsValueOrder) {
  Tunables t;
  for (const char* text : {"nf_conntrack_max=4096,1024,4096",
                           "net.netfilter.nf_conntrack_max=4096,1024",
                           "net/netfilter/nf_conntrack_max=4096,1024",
                           "net.nf_conntrack_max=4096,1024"}) {
    auto axis = ParseVary(text, t);
    ASSERT_TRUE(axis.has_value()) << text << ": " << axis.error().message;
    EXPECT_EQ(axis->name, "nf_conntrack_max");
    EXPECT_EQ(axis->values, (std::vector<std::string>{"4096", "1024"}));
  }
}

TEST(ParseVary, BadNameOrValueIsNamed) {
  Tunables t;
  auto bad_name = ParseVary("nf_conntrack_bogus=1,2", t);
  ASSERT_FALSE(bad_name.has_value());
  EXPECT_NE(bad_name.error().message.find("nf_conntrack_bogus"),
            std::string::npos);
  auto bad_value = ParseVary("nf_conntrack_udp_timeout=30,soon", t);
  ASSERT_FALSE(bad_value.has_value());
  EXPECT_NE(bad_value.error().message.find(
                "bad value 'soon' for net.netfilter.nf_conntrack_udp_timeout"),
            std::string::npos);
  auto hashsize = ParseVary("nf_conntrack_hashsize=1024", t);
  ASSERT_FALSE(hashsize.has_value());
  EXPECT_NE(hashsize.error().message.find("nf_conntrack_buckets"),
            std::string::npos);
  EXPECT_FALSE(ParseVary("nf_conntrack_max", t).has_value());
  EXPECT_FALSE(ParseVary("nf_conntrack_max=1,,2", t).has_value());
}

TEST(ParseAdaptive, PercentagesStartBelowEnd) {
  auto p = ParseAdaptive("60%,120%");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->start_percent, 60u);
  EXPECT_EQ(p->end_percent, 120u);
  EXPECT_TRUE(ParseAdaptive("50,100").has_value());
  EXPECT_FALSE(ParseAdaptive("100%,60%").has_value());
  EXPECT_FALSE(ParseAdaptive("60%").has_value());
  EXPECT_FALSE(ParseAdaptive("a%,b%").has_value());
}

TEST(ExpandVariants, BaselineFirstThenTheProductFirstAxisSlowest) {
  Tunables base;  // max 262144, udp_timeout 30: in neither list
  auto a = ParseVary("nf_conntrack_max=1024,2048", base);
  auto b = ParseVary("nf_conntrack_udp_timeout=10,20,60", base);
  ASSERT_TRUE(a && b);
  auto v = ExpandVariants(base, {*a, *b}, {});
  ASSERT_TRUE(v.has_value());
  ASSERT_EQ(v->size(), 1u + 2u * 3u);
  EXPECT_TRUE((*v)[0].baseline);
  EXPECT_EQ((*v)[0].label, "baseline");
  EXPECT_EQ((*v)[0].settings[0].second, "262144");
  EXPECT_EQ((*v)[0].settings[1].second, "30");
  const char* want[] = {"max=1024 udp_timeout=10", "max=1024 udp_timeout=20",
                        "max=1024 udp_timeout=60", "max=2048 udp_timeout=10",
                        "max=2048 udp_timeout=20", "max=2048 udp_timeout=60"};
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ((*v)[i + 1].label, want[i]);
    EXPECT_FALSE((*v)[i + 1].baseline);
  }
  EXPECT_EQ((*v)[4].tunables.max, 2048u);
  EXPECT_EQ((*v)[4].tunables.udp_timeout, 10u);
}

TEST(ExpandVariants, ACombinationEqualToTheBaselineIsNotRepeated) {
  Tunables base;
  base.max = 2048;
  auto a = ParseVary("nf_conntrack_max=1024,2048,4096", base);
  ASSERT_TRUE(a.has_value());
  auto v = ExpandVariants(base, {*a}, {});
  ASSERT_TRUE(v.has_value());
  ASSERT_EQ(v->size(), 3u);
  EXPECT_EQ((*v)[0].label, "baseline (max=2048)");
  EXPECT_EQ((*v)[1].tunables.max, 1024u);
  EXPECT_EQ((*v)[2].tunables.max, 4096u);
}

TEST(ExpandVariants, AdaptiveIsAnExtraVariantLabelledNotLinux) {
  Tunables base;
  base.max = 1000;
  auto v = ExpandVariants(base, {}, {{60, 120}});
  ASSERT_TRUE(v.has_value());
  ASSERT_EQ(v->size(), 2u);
  const WhatifVariant& a = (*v)[1];
  ASSERT_TRUE(a.adaptive.has_value());
  EXPECT_NE(a.label.find("NOT Linux"), std::string::npos);
  EXPECT_EQ(a.adaptive_start_entries, 600u);
  EXPECT_EQ(a.adaptive_end_entries, 1200u);
  EXPECT_EQ(a.tunables.max, 1000u);

  base.max = 0;  // no limit: no fill level to scale by
  EXPECT_FALSE(ExpandVariants(base, {}, {{60, 120}}).has_value());
}

// 3000 unanswered SYNs in about 0.3 s: each entry lives 120 s (SYN_SENT),
// so none expires during the capture and a table of max >= 3000 holds them
// all; smaller tables evict (early drop: they are not ASSURED, §2.2).
TEST(RunWhatif, RaisingMaxRemovesLossAndTheSmallestSufficientMaxIsCheapest) {
  WorkloadCapture cap(SynFlood(3000));
  Tunables base;
  base.max = 512;
  base.buckets = 1024;
  auto axis = ParseVary("nf_conntrack_max=1024,4096,8192", base);
  ASSERT_TRUE(axis.has_value());
  auto variants = ExpandVariants(base, {*axis}, {{50, 100}});
  ASSERT_TRUE(variants.has_value());
  ASSERT_EQ(variants->size(), 5u);
  auto r = RunWhatif(cap.path(), {*axis}, *variants, {});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->rows.size(), 5u);
  EXPECT_EQ(r->packets, 3000u);

  // max 512 and 1024: full, entries evicted to make room.
  for (size_t i : {0u, 1u}) {
    const WhatifRow& row = r->rows[i];
    EXPECT_FALSE(row.lossless()) << i;
    EXPECT_EQ(row.peak, row.max) << i;
    // Early drop empties a whole chain, so it may evict more than the
    // overflow; it always evicts at least that much.
    EXPECT_GE(row.early_drops + row.table_full_drops, 3000u - row.max) << i;
    EXPECT_DOUBLE_EQ(row.peak_percent, 100.0);
  }
  // max 4096 and 8192: every SYN has its entry.
  for (size_t i : {2u, 3u}) {
    const WhatifRow& row = r->rows[i];
    EXPECT_TRUE(row.lossless()) << i;
    EXPECT_EQ(row.peak, 3000u);
    EXPECT_FALSE(row.first_drop_offset_ns.has_value());
    EXPECT_EQ(row.kernel_memory_at_peak, 3000u * 256u + 1024u * 8u);
  }
  EXPECT_EQ(r->rows[2].kernel_memory_at_max, 4096u * 256u + 1024u * 8u);
  ASSERT_TRUE(r->cheapest_lossless.has_value());
  EXPECT_EQ(*r->cheapest_lossless, 2u);  // max 4096, not 8192
  EXPECT_EQ(r->rows[2].max, 4096u);

  // The adaptive variant: labelled, never the cheapest.
  const WhatifRow& adaptive = r->rows[4];
  ASSERT_TRUE(adaptive.variant.adaptive.has_value());
  nlohmann::json j = WhatifToJson(*r);
  EXPECT_EQ(j["variants"][4]["adaptive"]["linux"], false);
  EXPECT_EQ(j["variants"][0]["adaptive"], nullptr);
  EXPECT_EQ(j["cheapest_lossless"], 2);
  EXPECT_EQ(j["variants"][2]["cheapest_lossless"], true);
  std::string text = RenderWhatifText(*r);
  EXPECT_NE(text.find("NOT a Linux setting"), std::string::npos);
  EXPECT_NE(text.find("<- cheapest with no drops"), std::string::npos);
}

TEST(RunWhatif, ThreadCountDoesNotChangeTheResult) {
  WorkloadSpec spec;
  spec.kind = "mixed";
  spec.flows = 3000;
  spec.rate = 2000;
  spec.seed = 3;
  WorkloadCapture cap(spec);
  Tunables base;
  base.max = 1024;
  base.buckets = 1024;
  auto a = ParseVary("nf_conntrack_max=512,1024,2048", base);
  auto b = ParseVary("nf_conntrack_udp_timeout=5,30", base);
  ASSERT_TRUE(a && b);
  auto variants = ExpandVariants(base, {*a, *b}, {{60, 100}});
  ASSERT_TRUE(variants.has_value());
  WhatifOptions one, two, many;
  one.threads = 1;
  two.threads = 2;
  many.threads = 16;
  auto r1 = RunWhatif(cap.path(), {*a, *b}, *variants, one);
  auto r2 = RunWhatif(cap.path(), {*a, *b}, *variants, two);
  auto r16 = RunWhatif(cap.path(), {*a, *b}, *variants, many);
  ASSERT_TRUE(r1 && r2 && r16);
  EXPECT_EQ(WhatifToJson(*r1).dump(), WhatifToJson(*r2).dump());
  EXPECT_EQ(WhatifToJson(*r1).dump(), WhatifToJson(*r16).dump());
  EXPECT_EQ(RenderWhatifText(*r1), RenderWhatifText(*r2));
}

// Rows as RunWhatif fills them, for Recommend's rules. Memory figures are
// chosen by hand; the settings decide the floors.
WhatifRow Row(const std::string& label, uint64_t mem_at_peak,
              uint64_t drops = 0, uint64_t early = 0, uint64_t chain = 0) {
  WhatifRow r;
  r.variant.label = label;
  r.variant.tunables.max = 65536;
  r.variant.tunables.buckets = 65536;
  r.kernel_memory_at_peak = mem_at_peak;
  r.kernel_memory_at_max = uint64_t{65536} * 264;
  r.table_full_drops = drops;
  r.early_drops = early;
  r.chain_drops = chain;
  return r;
}

WhatifResult Result(std::vector<WhatifRow> rows) {
  WhatifResult r;
  rows[0].variant.baseline = true;
  r.rows = std::move(rows);
  return r;
}

TEST(Recommend, ABaselineWithoutLossIsTheRecommendation) {
  // 5 % less memory is not worth a change.
  WhatifResult r = Result({Row("baseline", 1000000), Row("b", 950000)});
  Recommend(&r, 0.10, DefaultTimeoutFloors());
  EXPECT_FALSE(r.cheapest_lossless.has_value());
  ASSERT_TRUE(r.recommended.has_value());
  EXPECT_EQ(*r.recommended, 0u);
  EXPECT_NE(r.recommendation.find("keep the baseline"), std::string::npos);
  EXPECT_NEAR(r.rows[1].saving, 0.05, 1e-9);
  nlohmann::json j = WhatifToJson(r);
  EXPECT_EQ(j["recommended"], 0);
  EXPECT_EQ(j["cheapest_lossless"], nullptr);
  EXPECT_NE(RenderWhatifText(r).find("baseline <- recommended"),
            std::string::npos);
}

TEST(Recommend, AVariantSavingEnoughIsMarked) {
  WhatifResult r =
      Result({Row("baseline", 1000000), Row("b", 850000), Row("c", 800000)});
  Recommend(&r, 0.10, DefaultTimeoutFloors());
  ASSERT_TRUE(r.cheapest_lossless.has_value());
  EXPECT_EQ(*r.cheapest_lossless, 2u);  // the cheaper of the two
  EXPECT_EQ(r.recommended, r.cheapest_lossless);
  // --min-saving 25: neither saves enough.
  Recommend(&r, 0.25, DefaultTimeoutFloors());
  EXPECT_FALSE(r.cheapest_lossless.has_value());
  EXPECT_EQ(r.recommended, 0u);
  // Exactly the required share counts.
  Recommend(&r, 0.20, DefaultTimeoutFloors());
  EXPECT_EQ(r.cheapest_lossless, 2u);
}

TEST(Recommend, AVariantWithLossIsNeverMarked) {
  WhatifResult r =
      Result({Row("baseline", 1000000), Row("drops", 500000, 3),
              Row("early", 500000, 0, 7), Row("chain", 500000, 0, 0, 2)});
  Recommend(&r, 0.10, DefaultTimeoutFloors());
  EXPECT_FALSE(r.cheapest_lossless.has_value());
  EXPECT_FALSE(r.rows[3].lossless());  // chain-too-long drops lose packets
  EXPECT_EQ(r.recommended, 0u);
}

TEST(Recommend, NoVariantBelowASafetyFloor) {
  WhatifResult r = Result(
      {Row("baseline", 1000000), Row("tw30", 500000), Row("tw60", 700000)});
  r.rows[1].variant.tunables.tcp_timeout_time_wait = 30;
  r.rows[2].variant.tunables.tcp_timeout_time_wait = 60;
  Recommend(&r, 0.10, DefaultTimeoutFloors());
  ASSERT_FALSE(r.rows[1].unsafe.empty());
  EXPECT_NE(r.rows[1].unsafe[0].find("below its floor of 60 s"),
            std::string::npos);
  EXPECT_TRUE(r.rows[2].unsafe.empty());  // the floor itself is allowed
  EXPECT_EQ(r.cheapest_lossless, 2u);
  // Each default floor, one below it.
  for (const TimeoutFloor& f : DefaultTimeoutFloors()) {
    WhatifResult q = Result({Row("baseline", 1000000), Row("x", 100)});
    ASSERT_TRUE(
        q.rows[1]
            .variant.tunables.Set(f.sysctl, std::to_string(f.seconds - 1))
            .has_value());
    Recommend(&q, 0.10, DefaultTimeoutFloors());
    EXPECT_FALSE(q.cheapest_lossless.has_value()) << f.sysctl;
  }
  // An operator's floor replaces the default.
  std::vector<TimeoutFloor> floors = DefaultTimeoutFloors();
  auto f =
      ParseTimeoutFloor("net.netfilter.nf_conntrack_tcp_timeout_time_wait=20");
  ASSERT_TRUE(f.has_value());
  SetTimeoutFloor(&floors, *f);
  Recommend(&r, 0.10, floors);
  EXPECT_EQ(r.cheapest_lossless, 1u);
}

TEST(Recommend, NoVariantWhoseHashIsTooSmallForItsMax) {
  // More than 8 entries per bucket (the kernel's own boot-time ratio) is
  // not marked; no limit (max 0) neither.
  WhatifResult r = Result(
      {Row("baseline", 1000000), Row("ratio16", 500000), Row("nolimit", 1)});
  r.rows[1].variant.tunables.buckets = 4096;  // 65536 / 4096 = 16
  r.rows[2].variant.tunables.max = 0;
  Recommend(&r, 0.10, DefaultTimeoutFloors());
  EXPECT_FALSE(r.rows[1].unsafe.empty());
  EXPECT_FALSE(r.rows[2].unsafe.empty());
  EXPECT_FALSE(r.cheapest_lossless.has_value());
  r.rows[1].variant.tunables.buckets = 8192;  // ratio 8: allowed
  Recommend(&r, 0.10, DefaultTimeoutFloors());
  EXPECT_EQ(r.cheapest_lossless, 1u);
}

TEST(Recommend, ABaselineWithLossGetsTheCheapestFixEvenIfItCostsMore) {
  WhatifResult r = Result({Row("baseline", 500000, 10), Row("big", 2000000),
                           Row("bigger", 3000000)});
  Recommend(&r, 0.10, DefaultTimeoutFloors());
  EXPECT_EQ(r.cheapest_lossless, 1u);
  EXPECT_EQ(r.recommended, 1u);
  EXPECT_NE(r.recommendation.find("10 table-full drops"), std::string::npos)
      << r.recommendation;
  // Nothing lossless: no recommendation.
  WhatifResult none =
      Result({Row("baseline", 500000, 10), Row("still", 600000, 0, 0, 4)});
  Recommend(&none, 0.10, DefaultTimeoutFloors());
  EXPECT_FALSE(none.recommended.has_value());
  EXPECT_NE(none.recommendation.find("none: the baseline had 10 table-full "
                                     "drops"),
            std::string::npos)
      << none.recommendation;
  EXPECT_FALSE(none.rows[1].lossless());  // its 4 chain-too-long drops
}

TEST(Recommend, AdaptiveIsNeverMarked) {
  WhatifResult r = Result({Row("baseline", 500000, 10), Row("adaptive", 1)});
  r.rows[1].variant.adaptive = AdaptivePolicy{50, 100};
  Recommend(&r, 0.10, DefaultTimeoutFloors());
  EXPECT_FALSE(r.cheapest_lossless.has_value());
}

TEST(ParseTimeoutFloor, NamesAndErrors) {
  auto f = ParseTimeoutFloor("nf_conntrack_udp_timeout_stream=60");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->sysctl, "nf_conntrack_udp_timeout_stream");
  EXPECT_EQ(f->seconds, 60u);
  for (const char* bad :
       {"nf_conntrack_udp_timeout", "nf_conntrack_max=5",
        "nf_conntrack_bogus_timeout=5", "nf_conntrack_udp_timeout=soon"}) {
    auto r = ParseTimeoutFloor(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.error().message.find(bad), std::string::npos)
        << r.error().message;
  }
}

TEST(RunWhatif, MissingCaptureFails) {
  Tunables base;
  auto v = ExpandVariants(base, {}, {});
  ASSERT_TRUE(v.has_value());
  auto r = RunWhatif("/nonexistent/x.pcap", {}, *v, {});
  EXPECT_FALSE(r.has_value());
}

}  // namespace
}  // namespace ctkit
