// The text format as the exposition_formats page states it: HELP and TYPE
// once per family, label values and HELP escaped, Go's special values.
#include "watch/exposition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace ctkit::watch {
namespace {

TEST(Exposition, AFamilyIsHelpTypeThenItsSamples) {
  std::vector<MetricFamily> f;
  f.push_back(
      MetricFamily{"conntrack_entries", "Entries.", MetricType::kGauge, {}}
          .Add(212345, {{"netns", "blue"}})
          .Add(7, {{"netns", "red"}}));
  f.push_back(MetricFamily{
      "conntrack_drop_total",
      "Drops.",
      MetricType::kCounter,
      {}}.Add(12));
  EXPECT_EQ(Expose(f),
            "# HELP conntrack_entries Entries.\n"
            "# TYPE conntrack_entries gauge\n"
            "conntrack_entries{netns=\"blue\"} 212345\n"
            "conntrack_entries{netns=\"red\"} 7\n"
            "# HELP conntrack_drop_total Drops.\n"
            "# TYPE conntrack_drop_total counter\n"
            "conntrack_drop_total 12\n");
}

TEST(Exposition, AHistogramIsCumulativeBucketsThenSumAndCount) {
  // Three observations: 5, 20 and 100 (bounds 10 and 60; 100 only in +Inf).
  std::vector<MetricFamily> f;
  f.push_back(MetricFamily{
      "conntrack_entry_remaining_lifetime_seconds",
      "Left.",
      MetricType::kHistogram,
      {}}.AddHistogram({10, 60}, {1, 2}, 3, 125, {{"netns", "a"}}));
  EXPECT_EQ(
      Expose(f),
      "# HELP conntrack_entry_remaining_lifetime_seconds Left.\n"
      "# TYPE conntrack_entry_remaining_lifetime_seconds histogram\n"
      "conntrack_entry_remaining_lifetime_seconds_bucket"
      "{netns=\"a\",le=\"10\"} 1\n"
      "conntrack_entry_remaining_lifetime_seconds_bucket"
      "{netns=\"a\",le=\"60\"} 2\n"
      "conntrack_entry_remaining_lifetime_seconds_bucket"
      "{netns=\"a\",le=\"+Inf\"} 3\n"
      "conntrack_entry_remaining_lifetime_seconds_sum{netns=\"a\"} 125\n"
      "conntrack_entry_remaining_lifetime_seconds_count{netns=\"a\"} 3\n");
}

TEST(Exposition, EscapesHelpAndLabelValuesAsTheFormatSays) {
  std::vector<MetricFamily> f;
  f.push_back(
      MetricFamily{"x", "a \\ b\nc \"q\"", MetricType::kUntyped, {}}.Add(
          1, {{"l", "back\\slash \"quoted\"\nnewline"}}));
  // HELP escapes backslash and newline only; label values also '"'.
  EXPECT_EQ(Expose(f),
            "# HELP x a \\\\ b\\nc \"q\"\n"
            "# TYPE x untyped\n"
            "x{l=\"back\\\\slash \\\"quoted\\\"\\nnewline\"} 1\n");
}

TEST(Exposition, AFamilyWithoutSamplesIsLeftOut) {
  std::vector<MetricFamily> f = {
      MetricFamily{"conntrack_drop_total", "Drops.", MetricType::kCounter, {}}};
  EXPECT_EQ(Expose(f), "");
}

TEST(Exposition, ValuesAreShortestRoundTripOrGoSpellings) {
  EXPECT_EQ(FormatValue(262144), "262144");
  EXPECT_EQ(FormatValue(0.5), "0.5");
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(1e21), "1e+21");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(Exposition, NamesFollowTheFormatsGrammar) {
  EXPECT_TRUE(ValidMetricName("conntrack_entries"));
  EXPECT_TRUE(ValidMetricName("job:conntrack_usage:ratio"));
  EXPECT_FALSE(ValidMetricName("9lives"));
  EXPECT_FALSE(ValidMetricName("conntrack-entries"));
  EXPECT_FALSE(ValidMetricName(""));
  EXPECT_TRUE(ValidLabelName("netns"));
  EXPECT_FALSE(ValidLabelName("__name__"));  // reserved
  EXPECT_FALSE(ValidLabelName("a:b"));       // no colons in label names
}

TEST(ExpositionDeathTest, AnInvalidNameIsABugAndAborts) {
  std::vector<MetricFamily> f = {
      MetricFamily{"bad-name", "", MetricType::kGauge, {}}.Add(1)};
  EXPECT_DEATH(Expose(f), "invalid metric name 'bad-name'");
}

TEST(Exposition, MergingKeepsOneFamilyPerName) {
  std::vector<MetricFamily> a;
  a.push_back(
      MetricFamily{"conntrack_entries", "E.", MetricType::kGauge, {}}.Add(
          1, {{"netns", "a"}}));
  std::vector<MetricFamily> b;
  b.push_back(
      MetricFamily{"conntrack_entries", "E.", MetricType::kGauge, {}}.Add(
          2, {{"netns", "b"}}));
  b.push_back(
      MetricFamily{"conntrack_drop_total", "D.", MetricType::kCounter, {}}.Add(
          0, {{"netns", "b"}}));
  MergeFamilies(&a, std::move(b));
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(Expose(a),
            "# HELP conntrack_entries E.\n"
            "# TYPE conntrack_entries gauge\n"
            "conntrack_entries{netns=\"a\"} 1\n"
            "conntrack_entries{netns=\"b\"} 2\n"
            "# HELP conntrack_drop_total D.\n"
            "# TYPE conntrack_drop_total counter\n"
            "conntrack_drop_total{netns=\"b\"} 0\n");
}

}  // namespace
}  // namespace ctkit::watch
