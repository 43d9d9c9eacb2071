// One namespace's metrics from the doctor's fixture trees: the numbers in
// the trees' /proc files, named and typed as the exporter's issue lists
// them, and nothing invented for what a tree lacks.
#include "watch/conntrack_metrics.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "host/host_view.h"
#include "testing/doctor_test_util.h"
#include "testing/metrics_test_util.h"

namespace ctkit::watch {
namespace {

using watchtest::Series;

TEST(ConntrackMetrics, TheHealthyTreeInMetrics) {
  // healthy/: 200 of 262144 entries, 262144 buckets, and two CPUs' lines
  // of /proc/net/stat/nf_conntrack with invalid 3 + 2 and icmp_error 1.
  auto view = NewRootHostView((doctortest::FixtureDir() / "healthy").string());
  const HostData d = CollectCounters(*view);
  const std::string ns = NetnsLabel(*view);
  EXPECT_EQ(ns, "unknown");  // the tree has no /ctkit/netns
  auto s = Series(ConntrackFamilies(d, ns));
  EXPECT_EQ(s["conntrack_entries{netns=unknown,}"], 200);
  EXPECT_EQ(s["conntrack_entries_limit{netns=unknown,}"], 262144);
  EXPECT_EQ(s["conntrack_buckets{netns=unknown,}"], 262144);
  EXPECT_EQ(s["conntrack_invalid_total{netns=unknown,}"], 5);
  EXPECT_EQ(s["conntrack_error_total{netns=unknown,}"], 1);
  EXPECT_EQ(s["conntrack_drop_total{netns=unknown,}"], 0);
  EXPECT_EQ(s["conntrack_chaintoolong_total{netns=unknown,}"], 0);
  EXPECT_EQ(s.count("conntrack_collector_info{netns=unknown,source=procfs,}"),
            1u);
  EXPECT_EQ(s["conntrack_sysctl{netns=unknown,sysctl=nf_conntrack_tcp_"
              "timeout_established,}"],
            432000);
}

TEST(ConntrackMetrics, CountersAreTypedCountersAndEndInTotal) {
  auto view = NewRootHostView((doctortest::FixtureDir() / "healthy").string());
  for (const MetricFamily& f : ConntrackFamilies(CollectCounters(*view), "x")) {
    const bool total = f.name.size() > 6 &&
                       f.name.compare(f.name.size() - 6, 6, "_total") == 0;
    EXPECT_EQ(total, f.type == MetricType::kCounter) << f.name;
    EXPECT_TRUE(ValidMetricName(f.name)) << f.name;
    EXPECT_FALSE(f.help.empty()) << f.name;
  }
}

TEST(ConntrackMetrics, WhatWasNotReadIsLeftOutNotZero) {
  // A tree with no statistics and no count: those series are absent.
  doctortest::TempTree t;
  auto view = NewRootHostView(t.path());
  auto s = Series(ConntrackFamilies(CollectCounters(*view), "x"));
  EXPECT_EQ(s.count("conntrack_entries{netns=x,}"), 0u);
  EXPECT_EQ(s.count("conntrack_drop_total{netns=x,}"), 0u);
  EXPECT_TRUE(s.empty());
}

TEST(ConntrackMetrics, TheNetnsLabelIsTheNameElseTheInode) {
  // other-netns-full/: this namespace is 4026531833, unnamed; blue is
  // 4026532318.
  auto other =
      NewRootHostView((doctortest::FixtureDir() / "other-netns-full").string());
  EXPECT_EQ(NetnsLabel(*other), "4026531833");
  doctortest::TempTree t;
  doctortest::WriteAll(t.path() + "/ctkit/netns", "net:[4026532318]\n");
  doctortest::WriteAll(t.path() + "/ctkit/netns-names",
                       "4026531833 init\n4026532318 blue\n");
  auto named = NewRootHostView(t.path());
  EXPECT_EQ(NetnsLabel(*named), "blue");
}

TEST(ConntrackMetrics, NodeExporterNamesCarryTheSameNumbers) {
  // The names and gauge types of node_exporter's conntrack collector, so
  // node-mixin's (node_nf_conntrack_entries / node_nf_conntrack_entries_limit)
  // > 0.75 keeps working.
  auto view = NewRootHostView((doctortest::FixtureDir() / "healthy").string());
  auto s = Series(NodeExporterFamilies(CollectCounters(*view)));
  EXPECT_EQ(s["node_nf_conntrack_entries{}"], 200);
  EXPECT_EQ(s["node_nf_conntrack_entries_limit{}"], 262144);
  EXPECT_EQ(s["node_nf_conntrack_stat_invalid{}"], 5);
  EXPECT_EQ(s["node_nf_conntrack_stat_ignore{}"], 0);
  EXPECT_EQ(s.size(), 10u);
  for (const MetricFamily& f : NodeExporterFamilies(CollectCounters(*view))) {
    EXPECT_EQ(f.type, MetricType::kGauge) << f.name;
  }
}

}  // namespace
}  // namespace ctkit::watch
