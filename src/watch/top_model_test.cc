// TopModel (top_model.h): rates from two readings of the counters, as the
// kernel's counters go (drops, early drops, insert_failed only ever grow,
// but a module reload starts them again), the forecast to full, and
// namespaces that come and go.
#include "watch/top_model.h"

#include <gtest/gtest.h>

namespace ctkit::watch {
namespace {

NamespaceCounters Reading(const std::string& label, uint64_t count,
                          uint64_t max, uint64_t drop, uint64_t early) {
  NamespaceCounters n;
  n.label = label;
  n.data.count = count;
  n.data.max = max;
  Stats s;
  s.drop = drop;
  s.early_drop = early;
  n.data.stats = s;
  return n;
}

TEST(TopModel, RatesComeFromTwoReadingsAndTheirTimes) {
  TopModel m({"", false, 300});
  m.Update(100.0, {Reading("a", 100, 1000, 5, 0)});
  ASSERT_EQ(m.rows().size(), 1u);
  EXPECT_FALSE(m.rows()[0].growth_per_s.has_value());  // one reading
  EXPECT_FALSE(m.rows()[0].drop_per_s.has_value());
  // Two seconds later: 60 more entries, 40 more drops, 4 early drops.
  m.Update(102.0, {Reading("a", 160, 1000, 45, 4)});
  const TopRow& r = m.rows()[0];
  EXPECT_DOUBLE_EQ(*r.growth_per_s, 30.0);
  EXPECT_DOUBLE_EQ(*r.drop_per_s, 20.0);
  EXPECT_DOUBLE_EQ(*r.early_drop_per_s, 2.0);
  EXPECT_EQ(r.drops, 45u);
  EXPECT_EQ(r.early_drops, 4u);
}

TEST(TopModel, ACounterThatWentDownStartsAgain) {
  TopModel m({"", false, 300});
  m.Update(0.0, {Reading("a", 10, 100, 500, 0)});
  m.Update(1.0, {Reading("a", 5, 100, 3, 0)});  // reloaded: drop is 3
  EXPECT_DOUBLE_EQ(*m.rows()[0].drop_per_s, 3.0);
  EXPECT_DOUBLE_EQ(*m.rows()[0].growth_per_s, -5.0);
}

TEST(TopModel, AFullTableIsFullNowAndAGrowingOneHasAForecast) {
  TopModel m({"", false, 100});
  // 10 entries a second from 0 towards 1000: 1000 s at t=0, so at t = 20
  // (count 200) the line reaches 1000 in 80 s.
  for (int t = 0; t <= 20; ++t) {
    m.Update(t, {Reading("growing", 10 * static_cast<uint64_t>(t), 1000, 0, 0),
                 Reading("full", 500, 500, 0, 0)});
  }
  ASSERT_EQ(m.rows().size(), 2u);
  const TopRow& full = m.rows()[0];  // label order
  const TopRow& growing = m.rows()[1];
  EXPECT_EQ(full.label, "full");
  EXPECT_DOUBLE_EQ(*full.seconds_to_full, 0.0);
  ASSERT_TRUE(growing.seconds_to_full.has_value());
  EXPECT_NEAR(*growing.seconds_to_full, 80.0, 1e-6);
}

TEST(TopModel, ANamespaceThatIsGoneLeavesAndUnreadCountsAreSaid) {
  TopModel m({"", false, 300});
  m.Update(0.0, {Reading("a", 1, 10, 0, 0), Reading("b", 1, 10, 0, 0)});
  NamespaceCounters unreadable;
  unreadable.label = "c";
  unreadable.data.missing.push_back("nf_conntrack_count: permission denied");
  m.Update(1.0, {Reading("a", 2, 10, 0, 0), unreadable});
  ASSERT_EQ(m.rows().size(), 2u);
  EXPECT_EQ(m.rows()[0].label, "a");
  EXPECT_EQ(m.rows()[1].label, "c");
  EXPECT_FALSE(m.rows()[1].count.has_value());
  EXPECT_EQ(m.rows()[1].problem, "nf_conntrack_count: permission denied");
}

// With a listener: 300 NEW events in 2 s while the count grew by 100, so
// 300 made and 200 destroyed: 150 and 100 a second; lost events are said.
TEST(TopModel, EventsGiveNewAndDestroyedPerSecond) {
  TopModel m({"", false, 300, true});
  m.Update(10.0, {Reading("a", 1000, 5000, 0, 0)}, {{"a", {40, false}}});
  EXPECT_FALSE(m.rows()[0].new_per_s.has_value());
  m.Update(12.0, {Reading("a", 1100, 5000, 0, 0)}, {{"a", {340, true}}});
  const TopRow& r = m.rows()[0];
  EXPECT_DOUBLE_EQ(*r.new_per_s, 150.0);
  EXPECT_DOUBLE_EQ(*r.destroyed_per_s, 100.0);
  EXPECT_TRUE(r.events_lost);
  // Without events for a namespace, no rate is made up.
  m.Update(14.0, {Reading("a", 1100, 5000, 0, 0)});
  EXPECT_FALSE(m.rows()[0].new_per_s.has_value());
}

TEST(TopModel, ScansAttachToTheirNamespaceWithTheirAge) {
  TopModel m({"", false, 300});
  m.Update(0.0, {Reading("a", 1, 10, 0, 0)});
  TableScan scan;
  scan.summary.total = 1;
  scan.finished_unix = 1000.0;
  m.SetScans({{"a", scan}, {"gone", scan}}, 1004.0);
  ASSERT_TRUE(m.rows()[0].scan.has_value());
  EXPECT_DOUBLE_EQ(m.rows()[0].scan_age_s, 4.0);
  // The next refresh keeps it until a newer scan comes.
  m.Update(1.0, {Reading("a", 1, 10, 0, 0)});
  EXPECT_TRUE(m.rows()[0].scan.has_value());
}

}  // namespace
}  // namespace ctkit::watch
