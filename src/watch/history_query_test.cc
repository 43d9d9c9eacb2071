// "What happened at 03:12?" as the flight recorder answers it: a table
// that fills, drops while it is full, empties again; a counter reset; a
// setting changed mid-incident; a gap in the recording; and the TIME
// arguments an operator types.
#include "watch/history_query.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

namespace ctkit::watch {
namespace {

// 2026-12-03 03:00:00 UTC.
constexpr double kT0 = 1796266800;

class HistoryQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Times in the text are local: pin the zone.
    const char* tz = std::getenv("TZ");
    if (tz != nullptr) saved_tz_ = tz;
    had_tz_ = tz != nullptr;
    setenv("TZ", "UTC", 1);
    tzset();
  }
  void TearDown() override {
    if (had_tz_) {
      setenv("TZ", saved_tz_.c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }

  static HistorySample At(double t, uint64_t count, uint64_t drop,
                          uint64_t max = 1000) {
    HistorySample s;
    s.unix_s = t;
    s.netns = "init";
    s.count = count;
    s.max = max;
    s.buckets = 256;
    Stats st;
    st.drop = drop;
    st.early_drop = drop / 2;
    s.stats = st;
    s.settings = {{"nf_conntrack_tcp_timeout_established", 432000}};
    return s;
  }

  std::string saved_tz_;
  bool had_tz_ = false;
};

// The incident: every 10 s from 03:00:00; the count climbs from 03:10:00,
// passes 90 % at 03:11:00, is full from 03:12:10 to 03:19:40 and drops 5
// packets per sample meanwhile, and is back to normal by 03:25.
std::vector<HistorySample> Incident() {
  std::vector<HistorySample> out;
  uint64_t drop = 100;  // the counter's value before the incident
  for (int i = 0; i <= 180; ++i) {
    const double t = kT0 + 10.0 * i;
    uint64_t count = 500;
    if (i >= 60 && i < 73) count = 800 + 10 * static_cast<uint64_t>(i - 60);
    if (i >= 73 && i <= 118) count = 1000;
    if (i > 118 && i < 150) count = 950;
    if (i >= 74 && i <= 118) drop += 5;
    HistorySample s = [&] {
      HistorySample x;
      x.unix_s = t;
      x.netns = "init";
      x.count = count;
      x.max = 1000;
      x.buckets = 256;
      Stats st;
      st.drop = drop;
      x.stats = st;
      x.settings = {{"nf_conntrack_tcp_timeout_established", 432000}};
      return x;
    }();
    if (i % 3 == 0) {  // a scan every 30 s, finished 2 s before
      HistoryScan c;
      c.finished_unix = t - 2;
      c.complete = true;
      c.total = count;
      c.sources = {{"", i == 72 ? "10.9.9.9" : "10.0.0.1", count / 2}};
      s.scan = c;
    }
    out.push_back(s);
  }
  return out;
}

TEST_F(HistoryQueryTest, SaysWhenTheTableFilledAndEmptied) {
  HistoryAnalyzer a(HistoryQuery{}, 10);
  for (const HistorySample& s : Incident()) a.Add(s);
  HistoryAnswer answer = a.Finish();
  ASSERT_EQ(answer.namespaces.size(), 1u);
  const NamespaceHistory& h = answer.namespaces[0];
  EXPECT_EQ(h.samples, 181u);
  // 90 %: from i = 70 (900) to i = 149, under again at i = 150.
  ASSERT_EQ(h.high.size(), 1u);
  EXPECT_DOUBLE_EQ(h.high[0].start, kT0 + 700);
  EXPECT_DOUBLE_EQ(h.high[0].end, kT0 + 1490);
  EXPECT_EQ(h.high[0].back_under, kT0 + 1500);
  // Full: 03:12:10 (i = 73) to 03:19:40 (i = 118).
  ASSERT_EQ(h.full.size(), 1u);
  EXPECT_DOUBLE_EQ(h.full[0].start, kT0 + 730);
  EXPECT_DOUBLE_EQ(h.full[0].end, kT0 + 1180);
  EXPECT_EQ(h.full[0].back_under, kT0 + 1190);
  EXPECT_FALSE(h.full[0].from_before);
  EXPECT_EQ(h.full[0].drops, 45u * 5);
  EXPECT_DOUBLE_EQ(h.seconds_full, 460);
  EXPECT_EQ(h.drop.total, 45u * 5);
  EXPECT_EQ(h.drop.first, kT0 + 740);
  EXPECT_DOUBLE_EQ(h.drop.peak_rate, 0.5);
  EXPECT_EQ(h.peak_count, 1000u);
  EXPECT_DOUBLE_EQ(h.peak_s, kT0 + 730);
  // The scan nearest the peak is the one at i = 72 (finished 718 s in).
  ASSERT_TRUE(h.at_peak.has_value());
  EXPECT_EQ(h.at_peak->sources[0].key, "10.9.9.9");

  const std::string text = RenderHistory(answer);
  EXPECT_NE(text.find("full from 2026-12-03 03:12:10 to 03:19:40 (7 min 30 s)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("first at or over 90 % at 2026-12-03 03:11:40"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("drop: 225 packets dropped"), std::string::npos) << text;
  EXPECT_NE(text.find("sources: 10.9.9.9"), std::string::npos) << text;
  EXPECT_EQ(HistoryFindingText(answer),
            "the table was full from 2026-12-03 03:12:10 to 03:19:40 (7 min "
            "30 s, 225 packets dropped)\n");

  const nlohmann::json j = HistoryToJson(answer);
  EXPECT_EQ(j["namespaces"][0]["full"]["intervals"][0]["start"], kT0 + 730);
  EXPECT_EQ(j["namespaces"][0]["full"]["first_crossed"], kT0 + 730);
  EXPECT_EQ(j["namespaces"][0]["drops"]["drop"]["total"], 225);
}

TEST_F(HistoryQueryTest, ARangeSeesOnlyItsSamples) {
  HistoryQuery q;
  q.from = kT0 + 900;  // inside the full stretch
  q.to = kT0 + 1000;
  HistoryAnalyzer a(q, 10);
  for (const HistorySample& s : Incident()) a.Add(s);
  HistoryAnswer answer = a.Finish();
  ASSERT_EQ(answer.namespaces.size(), 1u);
  const NamespaceHistory& h = answer.namespaces[0];
  EXPECT_EQ(h.samples, 11u);
  EXPECT_EQ(answer.samples_in_file, 181u);
  ASSERT_EQ(h.full.size(), 1u);
  EXPECT_TRUE(h.full[0].from_before);
  EXPECT_FALSE(h.full[0].back_under.has_value());
  EXPECT_NE(RenderHistory(answer).find("still over at the last sample"),
            std::string::npos);
}

TEST_F(HistoryQueryTest, DropsBetweenSamplesCountAsFullAndResetsAreHandled) {
  HistoryAnalyzer a(HistoryQuery{}, 10);
  a.Add(At(kT0, 500, 1000));
  a.Add(At(kT0 + 10, 600, 1040));  // 40 drops in 10 s, count never at max
  a.Add(At(kT0 + 20, 600, 1040));
  a.Add(At(kT0 + 30, 600, 30));  // a reboot: the counter starts again
  HistoryAnswer answer = a.Finish();
  const NamespaceHistory& h = answer.namespaces[0];
  EXPECT_EQ(h.drop.total, 70u);
  EXPECT_DOUBLE_EQ(h.drop.peak_rate, 4);
  EXPECT_DOUBLE_EQ(h.drop.peak_rate_at, kT0 + 10);
  EXPECT_EQ(h.counter_resets, 1u);
  ASSERT_EQ(h.full_total, 2u) << "a drop happens only in a full table";
  EXPECT_DOUBLE_EQ(h.full[0].start, kT0 + 10);
  EXPECT_DOUBLE_EQ(h.full[1].start, kT0 + 30);
}

TEST_F(HistoryQueryTest, SettingChangesAndGapsAreReported) {
  HistoryAnalyzer a(HistoryQuery{}, 10);
  a.Add(At(kT0, 950, 0));
  HistorySample raised = At(kT0 + 10, 950, 0, 2000);
  raised.settings["nf_conntrack_tcp_timeout_established"] = 3600;
  a.Add(raised);
  // Ten minutes with no samples: the recorder was down.
  HistorySample later = At(kT0 + 610, 100, 0, 2000);
  later.settings = raised.settings;
  a.Add(later);
  HistoryAnswer answer = a.Finish();
  const NamespaceHistory& h = answer.namespaces[0];
  ASSERT_EQ(h.changes.size(), 2u);
  EXPECT_EQ(h.changes[0].name, "nf_conntrack_max");
  EXPECT_EQ(h.changes[0].before, 1000u);
  EXPECT_EQ(h.changes[0].after, 2000u);
  EXPECT_EQ(h.changes[1].name, "nf_conntrack_tcp_timeout_established");
  EXPECT_EQ(h.settings_first.at("nf_conntrack_max"), 1000u);
  EXPECT_EQ(h.settings_last.at("nf_conntrack_max"), 2000u);
  ASSERT_EQ(h.gaps.size(), 1u);
  EXPECT_DOUBLE_EQ(h.gaps[0].from, kT0 + 10);
  const std::string text = RenderHistory(answer);
  EXPECT_NE(text.find("changed at 2026-12-03 03:00:10: nf_conntrack_max 1000 "
                      "-> 2000"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("no samples from 2026-12-03 03:00:10 to 03:10:10"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("settings in force: nf_conntrack_max 1000, "
                      "nf_conntrack_buckets 256; every other setting read at "
                      "the kernel's default"),
            std::string::npos)
      << "432000 is the default: not listed; " << text;
}

TEST_F(HistoryQueryTest, NoSamplesInTheRangeSaysSo) {
  HistoryQuery q;
  q.from = kT0 + 86400;
  q.to = kT0 + 86400 + 600;
  HistoryAnalyzer a(q, 10);
  for (const HistorySample& s : Incident()) a.Add(s);
  HistoryAnswer answer = a.Finish();
  EXPECT_TRUE(answer.namespaces.empty());
  EXPECT_NE(
      RenderHistory(answer).find("no samples between 2026-12-04 03:00:00"),
      std::string::npos);
  EXPECT_TRUE(HistoryFindingLines(answer).empty());
}

TEST_F(HistoryQueryTest, TimeArgumentsAnOperatorTypes) {
  const double now = kT0 + 3600 * 5;  // 08:00 UTC
  EXPECT_EQ(ParseHistoryTime("2026-12-03 03:12", now), kT0 + 720);
  EXPECT_EQ(ParseHistoryTime("2026-12-03T03:12:05Z", now), kT0 + 725);
  EXPECT_EQ(ParseHistoryTime("2026-12-03", now), kT0 - 3 * 3600);
  EXPECT_EQ(ParseHistoryTime("03:12", now), kT0 + 720);
  EXPECT_EQ(ParseHistoryTime("09:00", now), kT0 + 6 * 3600 - 86400)
      << "a time still to come today is yesterday's";
  EXPECT_EQ(ParseHistoryTime("1796266800", now), kT0);
  EXPECT_FALSE(ParseHistoryTime("yesterday", now).has_value());
  EXPECT_FALSE(ParseHistoryTime("25:00", now).has_value());
  EXPECT_FALSE(ParseHistoryTime("2026-12-03 03:12 PM", now).has_value());
  setenv("TZ", "CET-1", 1);
  tzset();
  EXPECT_EQ(ParseHistoryTime("2026-12-03 04:12", now), kT0 + 720)
      << "local time unless Z";
  EXPECT_EQ(ParseHistoryTime("2026-12-03 03:12Z", now), kT0 + 720);
  EXPECT_EQ(FormatLocalTime(kT0), "2026-12-03 04:00:00");
}

TEST(HistorySpan, ReadsAsAPersonWouldSayIt) {
  EXPECT_EQ(FormatSpan(40), "40 s");
  EXPECT_EQ(FormatSpan(450), "7 min 30 s");
  EXPECT_EQ(FormatSpan(7500), "2 h 5 min");
  EXPECT_EQ(FormatSpan(90000), "1 d 1 h");
}

}  // namespace
}  // namespace ctkit::watch
