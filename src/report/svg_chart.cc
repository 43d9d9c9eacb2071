// Line charts as inline SVG (see svg_chart.h).
#include "report/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace ctkit {
namespace {

// Colours that stay apart for the common colour-vision deficiencies (the
// Okabe-Ito palette), each with its own dash pattern for greyscale.
struct Pen {
  const char* colour;
  const char* dash;  // "" for a solid line
};
constexpr Pen kPens[] = {
    {"#0072b2", ""},        {"#d55e00", "6 3"}, {"#009e73", "2 3"},
    {"#cc79a7", "8 3 2 3"}, {"#e69f00", "4 4"}, {"#56b4e9", "1 2"},
    {"#000000", "10 4"},
};
constexpr size_t kPenCount = sizeof(kPens) / sizeof(kPens[0]);

// Coordinates with one decimal: stable bytes, finer than a pixel.
std::string Num(double v) { return fmt::format("{:.1f}", v); }

}  // namespace

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<double> NiceTicks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {0, 1};
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) {
    const double half = lo == 0 ? 1 : std::fabs(lo) / 2;
    lo -= half;
    hi += half;
  }
  target = std::max(target, 2);
  const double raw = (hi - lo) / target;
  const double magnitude = std::pow(10, std::floor(std::log10(raw)));
  const double f = raw / magnitude;
  const double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  const double step = nice * magnitude;
  const auto first = static_cast<long>(std::floor(lo / step));
  const auto last = static_cast<long>(std::ceil(hi / step));
  // Tick k is k * nice * magnitude; below 1 the magnitude is divided out
  // instead (0.6 as 6 / 10, not 3 * 0.2 = 0.6000000000000001), so the
  // values are the decimals they print as.
  const double inverse = magnitude < 1 ? std::round(1 / magnitude) : 0;
  std::vector<double> ticks;
  for (long k = first; k <= last; ++k) {
    const double units = static_cast<double>(k) * nice;
    double v = inverse != 0 ? units / inverse : units * magnitude;
    if (v == 0) v = 0;  // no "-0"
    ticks.push_back(v);
  }
  return ticks;
}

std::string TickLabel(double v) {
  const double a = std::fabs(v);
  auto trimmed = [](double x, const char* suffix) {
    std::string s = fmt::format("{:.1f}", x);
    if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) {
      s.resize(s.size() - 2);
    }
    return s + suffix;
  };
  if (a >= 1e6) return trimmed(v / 1e6, "M");
  if (a >= 1e4) return trimmed(v / 1e3, "k");
  if (v == std::floor(v)) return fmt::format("{:.0f}", v);
  std::string s = fmt::format("{:.3f}", v);
  while (s.back() == '0') s.pop_back();
  return s;
}

std::string SvgLineChart::Render() const {
  const bool stacked = kind == Kind::kStackedAreas;
  // The legend's rows: entries laid out left to right, wrapping at the
  // chart's width (about 7 px per character at 12 px).
  const double left = 72, right = 24, bottom = 52;
  const double w = width;
  std::vector<std::pair<double, int>> legend_at;  // x, row of each series
  {
    double x = left;
    int row = 0;
    for (const ChartSeries& s : series) {
      const double item = 32 + 7.0 * static_cast<double>(s.label.size());
      if (x > left && x + item > w - right) {
        x = left;
        ++row;
      }
      legend_at.push_back({x, row});
      x += item;
    }
  }
  const int legend_rows = legend_at.empty() ? 0 : legend_at.back().second + 1;
  // The plot area inside the margins: room for the y labels on the left,
  // the title and legend on top, the x labels and axis title below. Each
  // legend row past the first makes the chart taller, not the plot
  // smaller, so a sweep of many variants keeps its plot.
  const double top = 40 + 16.0 * legend_rows;
  const double total_h = height + 16.0 * std::max(0, legend_rows - 1);
  const double plot_w = w - left - right, plot_h = total_h - top - bottom;

  // Stacked: each series' points raised by the sum of those before it.
  std::vector<std::vector<ChartPoint>> drawn;
  for (size_t i = 0; i < series.size(); ++i) {
    std::vector<ChartPoint> pts = series[i].points;
    if (stacked && i > 0) {
      const std::vector<ChartPoint>& below = drawn[i - 1];
      for (size_t k = 0; k < pts.size() && k < below.size(); ++k) {
        pts[k].y += below[k].y;
      }
    }
    drawn.push_back(std::move(pts));
  }

  double x_lo = 0, x_hi = 0, y_hi = 0;
  bool any = false;
  auto see_x = [&](double x) {
    if (!any) {
      x_lo = x_hi = x;
      any = true;
    }
    x_lo = std::min(x_lo, x);
    x_hi = std::max(x_hi, x);
  };
  for (const std::vector<ChartPoint>& pts : drawn) {
    for (const ChartPoint& p : pts) {
      see_x(p.x);
      y_hi = std::max(y_hi, p.y);
    }
  }
  for (const ChartMarker& m : markers) see_x(m.x);
  for (const ChartLevel& l : levels) y_hi = std::max(y_hi, l.y);
  if (!any) x_hi = 1;
  const std::vector<double> xt = NiceTicks(x_lo, x_hi, 6);
  const std::vector<double> yt = NiceTicks(0, y_hi, 5);
  const double x0 = xt.front(), x1 = xt.back();
  const double y0 = yt.front(), y1 = yt.back();
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * plot_w; };
  auto py = [&](double y) {
    return top + plot_h - (y - y0) / (y1 - y0) * plot_h;
  };

  std::string o = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" "
      "width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<title>{}</title>\n<desc>{}</desc>\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
      "<text x=\"{}\" y=\"18\" font-size=\"14\" "
      "font-weight=\"bold\">{}</text>\n",
      width, Num(total_h), width, Num(total_h), XmlEscape(title),
      XmlEscape(description), Num(left), XmlEscape(title));

  // Grid and tick labels.
  for (double t : yt) {
    o += fmt::format(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#dddddd\"/>\n"
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
        Num(left), Num(py(t)), Num(left + plot_w), Num(py(t)), Num(left - 6),
        Num(py(t) + 4), XmlEscape(TickLabel(t)));
  }
  for (double t : xt) {
    o += fmt::format(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#eeeeee\"/>\n"
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
        Num(px(t)), Num(top), Num(px(t)), Num(top + plot_h), Num(px(t)),
        Num(top + plot_h + 16), XmlEscape(TickLabel(t)));
  }

  // The series (stacked bands first, so lines and levels stay on top).
  for (size_t i = 0; i < series.size(); ++i) {
    const ChartSeries& s = series[i];
    const Pen& pen = kPens[i % kPenCount];
    const char* widthattr = s.emphasised ? "3" : "1.5";
    std::string dash = pen.dash[0] != '\0'
                           ? fmt::format(" stroke-dasharray=\"{}\"", pen.dash)
                           : std::string();
    std::string pts;
    for (const ChartPoint& p : drawn[i]) {
      if (!pts.empty()) pts += ' ';
      pts += Num(px(p.x)) + "," + Num(py(p.y));
    }
    if (stacked) {
      // The band: this series' top edge forward, the one below backward.
      std::string band = pts;
      if (i == 0) {
        if (!drawn[i].empty()) {
          band += " " + Num(px(drawn[i].back().x)) + "," + Num(py(0)) + " " +
                  Num(px(drawn[i].front().x)) + "," + Num(py(0));
        }
      } else {
        for (size_t k = drawn[i - 1].size(); k-- > 0;) {
          band += " " + Num(px(drawn[i - 1][k].x)) + "," +
                  Num(py(drawn[i - 1][k].y));
        }
      }
      o += fmt::format(
          "<polygon fill=\"{0}\" fill-opacity=\"0.55\" stroke=\"{0}\" "
          "stroke-width=\"1\" points=\"{1}\"/>\n",
          pen.colour, band);
      o += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"20\" height=\"10\" fill=\"{}\" "
          "fill-opacity=\"0.55\" stroke=\"{}\"/>\n<text x=\"{}\" "
          "y=\"{}\">{}</text>\n",
          Num(legend_at[i].first), Num(27 + 16.0 * legend_at[i].second),
          pen.colour, pen.colour, Num(legend_at[i].first + 24),
          Num(36 + 16.0 * legend_at[i].second), XmlEscape(s.label));
      continue;
    }
    o += fmt::format(
        "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"{} "
        "points=\"{}\"/>\n",
        pen.colour, widthattr, dash, pts);
    const double ly = 32 + 16.0 * legend_at[i].second;
    o += fmt::format(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" "
        "stroke-width=\"{}\"{}/>\n<text x=\"{}\" y=\"{}\">{}</text>\n",
        Num(legend_at[i].first), Num(ly), Num(legend_at[i].first + 20), Num(ly),
        pen.colour, widthattr, dash, Num(legend_at[i].first + 24), Num(ly + 4),
        XmlEscape(s.label));
  }

  // Axes and their titles (with units).
  o += fmt::format(
      "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#333333\"/>\n"
      "<line x1=\"{0}\" y1=\"{2}\" x2=\"{3}\" y2=\"{2}\" stroke=\"#333333\"/>\n"
      "<text x=\"{4}\" y=\"{5}\" text-anchor=\"middle\">{6}</text>\n"
      "<text transform=\"translate(16 {7}) rotate(-90)\" "
      "text-anchor=\"middle\">{8}</text>\n",
      Num(left), Num(top), Num(top + plot_h), Num(left + plot_w),
      Num(left + plot_w / 2), Num(total_h - 12), XmlEscape(x_label),
      Num(top + plot_h / 2), XmlEscape(y_label));

  // Reference levels and markers. Marker labels step down a line each, so
  // markers close together stay readable.
  for (const ChartLevel& l : levels) {
    o += fmt::format(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#b00020\" "
        "stroke-dasharray=\"4 3\"/>\n"
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" "
        "fill=\"#b00020\">{}</text>\n",
        Num(left), Num(py(l.y)), Num(left + plot_w), Num(py(l.y)),
        Num(left + plot_w), Num(py(l.y) - 4), XmlEscape(l.label));
  }
  for (size_t i = 0; i < markers.size(); ++i) {
    const ChartMarker& m = markers[i];
    // A label near the right edge is written leftwards of its line.
    const bool leftwards = px(m.x) > left + plot_w * 0.7;
    o += fmt::format(
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#555555\" "
        "stroke-dasharray=\"2 2\"/>\n"
        "<text x=\"{3}\" y=\"{4}\" fill=\"#333333\"{6}>{5}</text>\n",
        Num(px(m.x)), Num(top), Num(top + plot_h),
        Num(px(m.x) + (leftwards ? -3 : 3)),
        Num(top + 12 + 14.0 * static_cast<double>(i % 4)), XmlEscape(m.label),
        leftwards ? " text-anchor=\"end\"" : "");
  }
  o += "</svg>\n";
  return o;
}

}  // namespace ctkit
