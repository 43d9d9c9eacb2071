// One screen of `ctkit top` (top_frame.h): each namespace's count against
// its limit as a bar, sorted as asked, the picked one in detail, and a
// screen that never runs past the terminal.
#include "watch/top_frame.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace ctkit::watch {
namespace {

TopRow Row(const std::string& label, uint64_t count, uint64_t max,
           double drops_per_s) {
  TopRow r;
  r.label = label;
  r.count = count;
  r.max = max;
  r.growth_per_s = 0;
  r.drop_per_s = drops_per_s;
  r.early_drop_per_s = 0;
  return r;
}

std::vector<TopRow> ThreeNamespaces() {
  std::vector<TopRow> rows = {Row("alpha", 50, 200, 0),
                              Row("busy", 200, 200, 12.5),
                              Row("calm", 150, 200, 30)};
  rows[1].seconds_to_full = 0;  // the forecast of a table at its limit
  return rows;
}

size_t LineOf(const TopFrame& f, const std::string& start) {
  for (size_t i = 0; i < f.lines.size(); ++i) {
    if (f.lines[i].rfind(start, 0) == 0) return i;
  }
  return SIZE_MAX;
}

TEST(TopFrame, EachNamespaceItsCountAgainstTheLimitAsABar) {
  TopFrameOptions o;
  o.clock = "2026-12-03 03:12:05";
  const TopFrame f = RenderTopFrame(ThreeNamespaces(), o);
  EXPECT_EQ(f.lines[0],
            "ctkit top - 2026-12-03 03:12:05 - 3 namespaces - sorted by "
            "fill - every 2 s");
  const std::string busy = f.lines[LineOf(f, "busy")];
  EXPECT_NE(busy.find("200/200 [####################] 100.0%"),
            std::string::npos)
      << busy;
  EXPECT_NE(busy.find(" 12.5 "), std::string::npos) << busy;
  EXPECT_NE(busy.find(" full"), std::string::npos) << busy;
  // 50 of 200: a quarter of the bar.
  EXPECT_NE(
      f.lines[LineOf(f, "alpha")].find("50/200 [#####...............]  25.0%"),
      std::string::npos);
}

// On an 80-column terminal the bar shrinks so that every column, the
// forecast last, still fits: 80 = 5 (label) + 13 (count) + 2 + 6 + 8 + 7 +
// 7 + 7 + 7 (the other columns and the spaces between) + the bar.
TEST(TopFrame, TheBarShrinksToFitANarrowTerminal) {
  TopFrameOptions o;
  o.width = 80;
  const TopFrame f = RenderTopFrame(ThreeNamespaces(), o);
  const std::string busy = f.lines[LineOf(f, "busy")];
  EXPECT_LE(busy.size(), 80u);
  EXPECT_EQ(busy.substr(busy.size() - 4), "full") << busy;
  // Labels of 5 and counts of 13 leave 18 columns for the bar.
  EXPECT_NE(busy.find("200/200 [##################] 100.0%"), std::string::npos)
      << busy;
}

TEST(TopFrame, SortedByFillDropsOrName) {
  TopFrameOptions o;
  EXPECT_EQ(RenderTopFrame(ThreeNamespaces(), o).order,
            (std::vector<std::string>{"busy", "calm", "alpha"}));
  o.sort = TopSort::kDrops;
  EXPECT_EQ(RenderTopFrame(ThreeNamespaces(), o).order,
            (std::vector<std::string>{"calm", "busy", "alpha"}));
  o.sort = TopSort::kName;
  EXPECT_EQ(RenderTopFrame(ThreeNamespaces(), o).order,
            (std::vector<std::string>{"alpha", "busy", "calm"}));
  EXPECT_EQ(NextTopSort(TopSort::kName), TopSort::kFill);
}

TEST(TopFrame, ThePickedNamespaceIsHighlightedAndShownInDetail) {
  std::vector<TopRow> rows = ThreeNamespaces();
  TableScan scan;
  scan.complete = true;
  scan.summary.total = 150;
  scan.summary.by_state = {{"tcp", "ESTABLISHED", 120}, {"udp", "", 30}};
  scan.summary.top_sources = {{"", "10.0.0.7", 90, 0}};
  scan.summary.top_dports = {{"tcp", "443", 120, 0}};
  scan.summary.with_dport = 150;
  rows[2].scan = scan;
  rows[2].scan_age_s = 3;
  rows[2].drops = 77;
  TopFrameOptions o;
  o.picked = "calm";
  const TopFrame f = RenderTopFrame(rows, o);
  EXPECT_EQ(f.picked_line, static_cast<int>(LineOf(f, "calm ")));
  EXPECT_NE(LineOf(f, "calm: 77 drops"), SIZE_MAX);
  EXPECT_NE(LineOf(f, "  table scan 3 s ago: 150 entries"), SIZE_MAX);
  EXPECT_NE(LineOf(f,
                   "  states:       tcp ESTABLISHED 120 (80%), udp 30 "
                   "(20%)"),
            SIZE_MAX);
  EXPECT_NE(LineOf(f, "  sources:      10.0.0.7 90 (60%)"), SIZE_MAX);
  EXPECT_NE(LineOf(f, "  ports:        tcp/443 120 (80%)"), SIZE_MAX);
  // Without a pick, the first shown.
  o.picked = "";
  EXPECT_EQ(RenderTopFrame(rows, o).picked_line,
            static_cast<int>(LineOf(f, "busy")));
}

TEST(TopFrame, TheScreenFitsTheTerminalWithTheKeysLast) {
  TopFrameOptions o;
  o.width = 40;
  o.height = 5;
  o.paused = true;
  const TopFrame f = RenderTopFrame(ThreeNamespaces(), o);
  ASSERT_EQ(f.lines.size(), 5u);
  for (const std::string& l : f.lines) EXPECT_LE(l.size(), 40u);
  EXPECT_EQ(f.lines.back().rfind("keys: q quit", 0), 0u);
  o.width = 200;
  EXPECT_NE(RenderTopFrame(ThreeNamespaces(), o).lines[0].find("PAUSED"),
            std::string::npos);
}

// Forty namespaces on a 24-line terminal: a window of rows around the
// picked one, which stays highlighted with its detail on the screen.
TEST(TopFrame, MoreNamespacesThanLinesScrollToThePickedOne) {
  std::vector<TopRow> rows;
  for (int i = 0; i < 40; ++i) {
    rows.push_back(Row(fmt::format("ns{:02}", i), 10, 200, 0));
  }
  TopFrameOptions o;
  o.sort = TopSort::kName;
  o.height = 24;
  o.picked = "ns30";
  const TopFrame f = RenderTopFrame(rows, o);
  ASSERT_EQ(f.lines.size(), 24u);
  ASSERT_GE(f.picked_line, 0);
  EXPECT_EQ(f.lines[static_cast<size_t>(f.picked_line)].rfind("ns30 ", 0), 0u);
  EXPECT_NE(LineOf(f, "ns30: 0 drops"), SIZE_MAX);
  EXPECT_NE(LineOf(f, "  namespaces "), SIZE_MAX);
  EXPECT_EQ(f.order.size(), 40u);  // every one can still be picked
}

TEST(TopFrame, UnknownValuesAreDashesNotZeros) {
  TopRow r;
  r.label = "new";
  r.problem = "nf_conntrack_count: permission denied";
  const TopFrame f = RenderTopFrame({r}, TopFrameOptions{});
  const std::string line = f.lines[LineOf(f, "new")];
  EXPECT_NE(line.find(" ? "), std::string::npos) << line;
  EXPECT_EQ(line.find("0.0"), std::string::npos) << line;
  EXPECT_NE(LineOf(f, "  ! nf_conntrack_count: permission denied"), SIZE_MAX);
}

TEST(TopFrame, EventColumnsOnlyWhenListeningAndALossIsAFloor) {
  std::vector<TopRow> rows = ThreeNamespaces();
  rows[0].new_per_s = 150;
  rows[0].destroyed_per_s = 50;
  rows[0].events_lost = true;
  TopFrameOptions o;
  o.width = 200;
  EXPECT_EQ(RenderTopFrame(rows, o).lines[1].find("NEW/s"), std::string::npos);
  o.events = true;
  const TopFrame f = RenderTopFrame(rows, o);
  EXPECT_NE(f.lines[1].find("GROWTH/s   NEW/s DESTR/s  DROP/s"),
            std::string::npos)
      << f.lines[1];
  EXPECT_NE(f.lines[LineOf(f, "alpha")].find("+0.0  >150.0    50.0"),
            std::string::npos)
      << f.lines[LineOf(f, "alpha")];
  // Without a rate yet: dashes.
  EXPECT_NE(f.lines[LineOf(f, "busy")].find("+0.0       -       -"),
            std::string::npos)
      << f.lines[LineOf(f, "busy")];
  // Scans off: said, not "not yet".
  o.scans = false;
  EXPECT_NE(LineOf(RenderTopFrame(rows, o), "  table scans are off"), SIZE_MAX);
}

TEST(FormatTimeToFull, ShortForTheOperator) {
  EXPECT_EQ(FormatTimeToFull(std::nullopt), "-");
  EXPECT_EQ(FormatTimeToFull(0.0), "full");
  EXPECT_EQ(FormatTimeToFull(45.2), "45 s");
  EXPECT_EQ(FormatTimeToFull(600), "10 min");
  EXPECT_EQ(FormatTimeToFull(9000), "2.5 h");
  EXPECT_EQ(FormatTimeToFull(200000), "> 1 day");
}

}  // namespace
}  // namespace ctkit::watch
