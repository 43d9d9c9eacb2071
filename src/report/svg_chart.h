// SvgLineChart: a line chart as inline SVG text, for the HTML reports.
//
// The reports must open with no network and no scripts (a file mailed to a
// ticket, opened on a jump host), so their charts are drawn here as SVG
// markup: one or more series of (x, y) points against axes with units,
// "nice" tick values (1, 2 or 5 times a power of ten), horizontal reference
// lines (nf_conntrack_max) and vertical markers (the first drop). Every
// chart carries a text alternative: a <title> and a <desc> that say in
// words what the lines show, read by screen readers and shown by browsers
// when the SVG cannot be drawn. Series are told apart by colour and dash
// pattern both, so the chart survives a greyscale printout.
//
// Labels are escaped for XML; numbers are printed with a fixed precision,
// so the same data gives the same bytes.
#ifndef CTKIT_REPORT_SVG_CHART_H_
#define CTKIT_REPORT_SVG_CHART_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ctkit {

struct ChartPoint {
  double x = 0;
  double y = 0;
};

struct ChartSeries {
  std::string label;  ///< in the legend
  std::vector<ChartPoint> points;
  bool emphasised = false;  ///< drawn thicker (a recommended variant)
};

/// A horizontal line across the plot: a limit such as nf_conntrack_max.
struct ChartLevel {
  std::string label;
  double y = 0;
};

/// A vertical line at an instant: the first drop, the peak.
struct ChartMarker {
  std::string label;
  double x = 0;
};

struct SvgLineChart {
  /// kLines: each series a line. kStackedAreas: each series a filled band
  /// on top of the ones before it (a composition over time); the series
  /// must share their x values.
  enum class Kind { kLines, kStackedAreas };
  Kind kind = Kind::kLines;
  std::string title;        ///< the chart's heading and <title>
  std::string description;  ///< the text alternative (<desc>)
  std::string x_label;      ///< with its unit: "time since the start (s)"
  std::string y_label;      ///< with its unit: "entries"
  std::vector<ChartSeries> series;
  std::vector<ChartLevel> levels;
  std::vector<ChartMarker> markers;
  int width = 720;
  int height = 320;

  /// The <svg> element (role="img", with <title> and <desc>). The legend
  /// wraps onto as many rows as it needs above the plot; each row past the
  /// first makes the image 16 px taller than `height`.
  std::string Render() const;
};

/// Tick values for an axis over [lo, hi]: about `target` of them, each a
/// multiple of 1, 2 or 5 times a power of ten, covering the range (the
/// first at or below lo, the last at or above hi). lo == hi gives a range
/// around the value.
std::vector<double> NiceTicks(double lo, double hi, int target = 5);

/// `text` with &, <, >, " and ' escaped for XML.
std::string XmlEscape(std::string_view text);

/// A tick's label: integers without decimals, thousands as "12k", millions
/// as "1.5M"; other values with up to 3 significant decimals.
std::string TickLabel(double v);

}  // namespace ctkit

#endif  // CTKIT_REPORT_SVG_CHART_H_
