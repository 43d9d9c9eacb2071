// The SVG line chart (svg_chart.h): ticks an operator can read, labels
// that cannot break the markup, a text alternative, and the same bytes for
// the same data.
#include "report/svg_chart.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ctkit {
namespace {

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + what.size())) {
    ++n;
  }
  return n;
}

TEST(NiceTicks, StepsOfOneTwoOrFiveTimesAPowerOfTen) {
  EXPECT_EQ(NiceTicks(0, 262144),
            (std::vector<double>{0, 100000, 200000, 300000}));
  EXPECT_EQ(NiceTicks(0, 28.8, 6),
            (std::vector<double>{0, 5, 10, 15, 20, 25, 30}));
  EXPECT_EQ(NiceTicks(0, 0.9),
            (std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1.0}));
  // A flat series still gets an axis around its value.
  const std::vector<double> flat = NiceTicks(8192, 8192);
  EXPECT_LE(flat.front(), 8192);
  EXPECT_GE(flat.back(), 8192);
  EXPECT_GE(flat.size(), 3u);
}

TEST(TickLabel, ShortForTheNumbersATableHolds) {
  EXPECT_EQ(TickLabel(0), "0");
  EXPECT_EQ(TickLabel(8192), "8192");
  EXPECT_EQ(TickLabel(200000), "200k");
  EXPECT_EQ(TickLabel(1500000), "1.5M");
  EXPECT_EQ(TickLabel(2000000), "2M");
  EXPECT_EQ(TickLabel(0.25), "0.25");
}

TEST(XmlEscape, EveryMarkupCharacter) {
  EXPECT_EQ(XmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
}

SvgLineChart FillingTable() {
  SvgLineChart c;
  c.title = "Entries against nf_conntrack_max";
  c.description =
      "The table filled to its limit of 8192 at 2.1 s and stayed full.";
  c.x_label = "time since the start (s)";
  c.y_label = "entries";
  c.series.push_back(
      {"entries", {{0, 0}, {1, 5000}, {2.1, 8192}, {28.8, 8192}}, false});
  c.series.push_back({"baseline <max 8192>", {{0, 0}, {28.8, 4000}}, true});
  c.levels.push_back({"nf_conntrack_max 8192", 8192});
  c.markers.push_back({"first drop", 2.158});
  return c;
}

TEST(SvgLineChart, AnImageWithItsTextAlternativeAxesAndEveryPart) {
  const std::string svg = FillingTable().Render();
  EXPECT_EQ(
      svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"", 0),
      0u);
  EXPECT_NE(svg.find("<title>Entries against nf_conntrack_max</title>"),
            std::string::npos);
  EXPECT_NE(svg.find("<desc>The table filled to its limit of 8192 at 2.1 s "
                     "and stayed full.</desc>"),
            std::string::npos);
  EXPECT_NE(svg.find(">time since the start (s)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">entries</text>"), std::string::npos);
  EXPECT_NE(svg.find(">nf_conntrack_max 8192</text>"), std::string::npos);
  EXPECT_NE(svg.find(">first drop</text>"), std::string::npos);
  // The label's markup characters are escaped, in the legend.
  EXPECT_NE(svg.find(">baseline &lt;max 8192&gt;</text>"), std::string::npos);
  EXPECT_EQ(svg.find("<max"), std::string::npos);
  // Two series, the second emphasised and dashed.
  EXPECT_EQ(Count(svg, "<polyline"), 2u);
  EXPECT_NE(svg.find("stroke-width=\"3\" stroke-dasharray=\"6 3\" points="),
            std::string::npos);
  // Y ticks 0..10000 by 2000 (the level is the highest value).
  EXPECT_NE(svg.find(">10k</text>"), std::string::npos);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
}

TEST(SvgLineChart, TheSameDataGivesTheSameBytes) {
  EXPECT_EQ(FillingTable().Render(), FillingTable().Render());
}

TEST(SvgLineChart, AnEmptyChartStillDrawsItsAxes) {
  SvgLineChart c;
  c.title = "nothing yet";
  const std::string svg = c.Render();
  EXPECT_EQ(Count(svg, "<polyline"), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
}

// A stacked chart draws each series as a band on top of the ones before:
// the y axis reaches the sum (3000 + 5000 = 8000 at x = 1, ticks to 8k),
// each band is a closed polygon, and the legend shows a swatch per band.
TEST(SvgLineChart, StackedAreasAddUp) {
  SvgLineChart c;
  c.kind = SvgLineChart::Kind::kStackedAreas;
  c.title = "by class";
  c.series.push_back({"tcp TIME_WAIT", {{0, 1000}, {1, 3000}}, false});
  c.series.push_back({"udp", {{0, 500}, {1, 5000}}, false});
  const std::string svg = c.Render();
  EXPECT_EQ(Count(svg, "<polygon"), 2u);
  EXPECT_EQ(Count(svg, "<polyline"), 0u);
  EXPECT_NE(svg.find(">8000</text>"), std::string::npos);
  EXPECT_EQ(svg.find(">10k</text>"), std::string::npos);
  EXPECT_NE(svg.find(">udp</text>"), std::string::npos);
}

// A legend too long for one row wraps, and the plot moves down for it.
TEST(SvgLineChart, ALongLegendWrapsOntoMoreRows) {
  SvgLineChart c;
  c.width = 400;
  for (int i = 0; i < 6; ++i) {
    c.series.push_back(
        {"variant number " + std::to_string(i), {{0, 0}, {1, 1}}, false});
  }
  const std::string svg = c.Render();
  // Six 16-character labels at 144 px each: two a row, three rows 16 px
  // apart (text baselines 36, 52, 68).
  EXPECT_NE(svg.find("height=\"352.0\""), std::string::npos);  // 320 + 2 x 16
  EXPECT_NE(svg.find("y=\"68.0\">variant number 4</text>"), std::string::npos)
      << svg;
}

}  // namespace
}  // namespace ctkit
