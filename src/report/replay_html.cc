// The replay's HTML page (see replay_html.h).
#include "report/replay_html.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <numeric>

#include "proto/timeout_class.h"
#include "report/replay_output.h"
#include "report/summary_parts.h"

namespace ctkit {
namespace {

// A stacked chart of more bands than this is unreadable: the smallest
// classes are summed into one "other" band.
constexpr size_t kMaxBands = 6;

double Seconds(uint64_t ts, uint64_t first) {
  return SecondsBetween(first, ts);
}

std::string ShareText(double part, double whole) {
  if (whole <= 0) return "-";
  const double pct = 100.0 * part / whole;
  return pct > 0 && pct < 0.1 ? std::string("< 0.1 %")
                              : fmt::format("{:.1f} %", pct);
}

// The count chart: the curve, nf_conntrack_max, and the moments that
// matter (first drops of either kind, the first early drop, the peak).
std::string CountChart(const ReplayReport& r) {
  SvgLineChart chart;
  chart.title = "Entries in the table against nf_conntrack_max";
  chart.x_label = "time since the first packet (s)";
  chart.y_label = "entries";
  chart.series.push_back(CountSeries(r.curve, r.first_ts_ns,
                                     "entries (nf_conntrack_count)",
                                     r.peak_ts_ns, r.peak_count));
  if (r.max != 0) {
    chart.levels.push_back(
        {fmt::format("nf_conntrack_max = {}", r.max), double(r.max)});
  }
  std::string events;
  if (r.first_drop_ts_ns) {
    const double at = Seconds(*r.first_drop_ts_ns, r.first_ts_ns);
    chart.markers.push_back(
        {fmt::format("first drop (full) {:.1f} s", at), at});
    events += fmt::format(
        " The first packet was dropped because the table was full at "
        "{:.1f} s; {} were dropped in all.",
        at, r.counters.table_full);
  }
  if (r.first_chain_drop_ts_ns) {
    const double at = Seconds(*r.first_chain_drop_ts_ns, r.first_ts_ns);
    chart.markers.push_back(
        {fmt::format("first drop (chain too long) {:.1f} s", at), at});
    events += fmt::format(
        " The first packet dropped for a too long hash chain came at "
        "{:.1f} s.",
        at);
  }
  auto early = std::find_if(r.curve.begin(), r.curve.end(),
                            [](const CurvePoint& p) { return p.early_drop; });
  if (early != r.curve.end()) {
    const double at = Seconds(early->t_ns, r.first_ts_ns);
    chart.markers.push_back(
        {fmt::format("early drops begin {:.1f} s", at), at});
    events += fmt::format(" Early drops began by {:.1f} s ({} in all).", at,
                          r.stats.early_drop);
  }
  if (r.peak_count > 0) {
    const double at = Seconds(r.peak_ts_ns, r.first_ts_ns);
    chart.markers.push_back({fmt::format("peak {}", r.peak_count), at});
  }
  chart.description = fmt::format(
      "A line chart of the entry count over {:.1f} s of capture: it reached "
      "a peak of {} entries at {:.1f} s{}.{}{}",
      SecondsBetween(r.first_ts_ns, r.last_ts_ns), r.peak_count,
      Seconds(r.peak_ts_ns, r.first_ts_ns),
      r.max != 0 ? fmt::format(" against nf_conntrack_max {} ({})", r.max,
                               ShareText(r.peak_count, r.max))
                 : std::string(" with no limit"),
      events.empty() ? " No packet was dropped." : "", events);
  return chart.Render();
}

// The stacked area of the lifetime classes through the capture; "" when
// the replay kept no census.
std::string ClassChart(const ReplayReport& r) {
  std::array<uint64_t, kLifetimeKindCount> largest{};
  for (const CurvePoint& p : r.curve) {
    for (size_t k = 0; k < largest.size(); ++k) {
      largest[k] = std::max<uint64_t>(largest[k], p.by_class[k]);
    }
  }
  std::vector<size_t> kinds;
  for (size_t k = 0; k < largest.size(); ++k) {
    if (largest[k] != 0) kinds.push_back(k);
  }
  if (kinds.empty()) return "";
  std::stable_sort(kinds.begin(), kinds.end(),
                   [&](size_t a, size_t b) { return largest[a] > largest[b]; });
  const bool other = kinds.size() > kMaxBands;
  const size_t shown = other ? kMaxBands - 1 : kinds.size();
  SvgLineChart chart;
  chart.kind = SvgLineChart::Kind::kStackedAreas;
  chart.title = "What held the table: entries by lifetime class";
  chart.x_label = "time since the first packet (s)";
  chart.y_label = "entries";
  for (size_t i = 0; i < shown; ++i) {
    ChartSeries s;
    s.label = TimeoutClassName(static_cast<LifetimeKind>(kinds[i]));
    for (const CurvePoint& p : r.curve) {
      s.points.push_back(
          {Seconds(p.t_ns, r.first_ts_ns), double(p.by_class[kinds[i]])});
    }
    chart.series.push_back(std::move(s));
  }
  if (other) {
    ChartSeries s;
    s.label = fmt::format("{} other classes", kinds.size() - shown);
    for (const CurvePoint& p : r.curve) {
      uint64_t sum = 0;
      for (size_t i = shown; i < kinds.size(); ++i) sum += p.by_class[kinds[i]];
      s.points.push_back({Seconds(p.t_ns, r.first_ts_ns), double(sum)});
    }
    chart.series.push_back(std::move(s));
  }
  if (r.max != 0) {
    chart.levels.push_back(
        {fmt::format("nf_conntrack_max = {}", r.max), double(r.max)});
  }
  if (r.peak_count > 0) {
    chart.markers.push_back({"peak", Seconds(r.peak_ts_ns, r.first_ts_ns)});
  }
  std::string most;
  for (size_t i = 0; i < std::min<size_t>(3, kinds.size()); ++i) {
    if (i > 0) most += ", ";
    most += fmt::format("{} (up to {} entries)",
                        TimeoutClassName(static_cast<LifetimeKind>(kinds[i])),
                        largest[kinds[i]]);
  }
  chart.description = fmt::format(
      "A stacked area chart of the entries by lifetime class over the "
      "capture; the bands add up to the entry count. The largest classes: "
      "{}.",
      most);
  return chart.Render();
}

// Entries made and destroyed, drops and early drops per second, between
// consecutive points of the curve.
std::string RateChart(const ReplayReport& r) {
  if (r.curve.size() < 2) return "";
  SvgLineChart chart;
  chart.title = "Entries made and destroyed, drops and early drops";
  chart.x_label = "time since the first packet (s)";
  chart.y_label = "per second";
  ChartSeries made{"new entries/s", {}, false};
  ChartSeries gone{"destroyed/s", {}, false};
  ChartSeries drops{"drops/s (table full)", {}, true};
  ChartSeries early{"early drops/s", {}, false};
  double most_made = 0, most_drops = 0;
  for (size_t i = 1; i < r.curve.size(); ++i) {
    const CurvePoint& a = r.curve[i - 1];
    const CurvePoint& b = r.curve[i];
    const double dt = SecondsBetween(a.t_ns, b.t_ns);
    if (dt <= 0) continue;
    const double x = Seconds(b.t_ns, r.first_ts_ns);
    made.points.push_back({x, double(b.created - a.created) / dt});
    gone.points.push_back({x, double(b.destroyed - a.destroyed) / dt});
    drops.points.push_back({x, double(b.drop - a.drop) / dt});
    early.points.push_back({x, double(b.early_drop - a.early_drop) / dt});
    most_made = std::max(most_made, made.points.back().y);
    most_drops = std::max(most_drops, drops.points.back().y);
  }
  if (made.points.empty()) return "";
  chart.series = {made, gone, drops, early};
  chart.description = fmt::format(
      "A line chart of rates over the capture: at most {:.0f} new entries "
      "per second; {}.",
      most_made,
      r.stats.drop != 0
          ? fmt::format("drops reached {:.0f} per second", most_drops)
          : std::string("no packet was dropped"));
  return chart.Render();
}

}  // namespace

ChartSeries CountSeries(const std::vector<CurvePoint>& curve,
                        uint64_t first_ts_ns, std::string label,
                        uint64_t peak_ts_ns, uint32_t peak_count) {
  ChartSeries s;
  s.label = std::move(label);
  // The table was empty before the first packet: the line starts at 0,
  // not at the first sample a batch later.
  if (!curve.empty() && curve.front().t_ns > first_ts_ns) {
    s.points.push_back({0, 0});
  }
  bool peak_in = peak_count == 0;
  for (const CurvePoint& p : curve) {
    if (!peak_in && p.t_ns >= peak_ts_ns) {
      if (p.t_ns != peak_ts_ns || p.count != peak_count) {
        s.points.push_back(
            {Seconds(peak_ts_ns, first_ts_ns), double(peak_count)});
      }
      peak_in = true;
    }
    s.points.push_back({Seconds(p.t_ns, first_ts_ns), double(p.count)});
  }
  if (!peak_in) {
    s.points.push_back({Seconds(peak_ts_ns, first_ts_ns), double(peak_count)});
  }
  return s;
}

void AddCompositionTables(HtmlPage* page, const TableComposition& c) {
  auto tallies = [&](std::string_view caption, std::string_view what,
                     const std::vector<Tally>& list, uint64_t of) {
    if (list.empty()) return;
    const uint64_t largest = list.front().entries;
    std::vector<HtmlRow> rows;
    rows.reserve(list.size());
    for (const Tally& t : list) {
      rows.push_back(
          {{HtmlCell::Text(t.key),
            BarCell(largest ? double(t.entries) / double(largest) : 0,
                    std::to_string(t.entries)),
            HtmlCell::Number(ShareText(double(t.entries), double(of)))},
           ""});
    }
    page->Table(caption, {std::string(what), "entries", "share"}, rows);
  };
  tallies("By lifetime class", "class", c.by_class, c.total);
  tallies("By protocol", "protocol", c.by_protocol, c.total);
  const uint64_t ranked = c.ranked_at != 0 ? c.ranked_at : c.total;
  tallies("Top sources", "source", c.top_sources, ranked);
  tallies("Top destinations", "destination", c.top_destinations, ranked);
  tallies("Top destination ports", "port", c.top_dports, ranked);
}

std::string RenderReplayHtml(const ReplayReport& r, const Tunables& t) {
  HtmlPage page("ctkit replay: " + r.capture);
  const double seconds = SecondsBetween(r.first_ts_ns, r.last_ts_ns);
  std::string lead;
  if (r.counters.table_full != 0 && r.first_drop_ts_ns) {
    lead = fmt::format(
        "The table filled: {} packets were dropped because it was full, the "
        "first at {:.1f} s of {:.1f} s.",
        r.counters.table_full, Seconds(*r.first_drop_ts_ns, r.first_ts_ns),
        seconds);
  } else if (r.stats.early_drop != 0) {
    lead = fmt::format(
        "The table reached its limit; early drop evicted {} unassured "
        "entries to make room, and no packet was dropped.",
        r.stats.early_drop);
  } else {
    lead = fmt::format(
        "The table never had to refuse an entry: its peak was {} entries{}.",
        r.peak_count,
        r.max != 0 ? fmt::format(", {} of nf_conntrack_max",
                                 ShareText(r.peak_count, r.max))
                   : std::string());
  }
  page.Paragraph(lead, r.counters.table_full != 0 ? "lead warning" : "lead");
  std::vector<std::pair<std::string, std::string>> facts = {
      {"capture", r.capture},
      {"packets",
       fmt::format("{} read, {} decoded", r.packets_read, r.decoded)},
      {"duration", fmt::format("{:.3f} s", seconds)},
      {"nf_conntrack_max", r.max != 0 ? std::to_string(r.max) : "no limit"},
      {"nf_conntrack_buckets", std::to_string(r.buckets)},
      {"peak", fmt::format("{} entries ({}) at {:.3f} s", r.peak_count,
                           ShareText(r.peak_count, r.max),
                           Seconds(r.peak_ts_ns, r.first_ts_ns))},
      {"dropped, table full", std::to_string(r.counters.table_full)},
      {"dropped, chain too long", std::to_string(r.stats.chaintoolong)},
      {"early drops", std::to_string(r.stats.early_drop)},
      {"time at or above 90 %", fmt::format("{:.1f} s", r.seconds_at_90)},
      {"time full", fmt::format("{:.1f} s", r.seconds_at_100)},
      {"kernel memory at the peak",
       fmt::format("{:.1f} MiB", double(r.kernel_memory_bytes) / 1048576.0)},
  };
  page.Facts(facts);
  for (const ShortCaptureWarning& w : r.warnings) {
    page.Paragraph(w.message, "warning");
  }
  if (r.read_error) {
    page.Paragraph(
        "The capture ended in an error; this report covers the "
        "packets before it: " +
            r.read_error->message,
        "warning");
  }

  page.Heading("The table through the capture");
  page.Raw(CountChart(r));
  const std::string classes = ClassChart(r);
  if (!classes.empty()) page.Raw(classes);
  page.Raw(RateChart(r));

  if (r.at_peak) {
    page.Heading(fmt::format("What the table held at its peak ({} entries)",
                             r.at_peak->total));
    if (r.at_peak->ranked_at != 0 && r.at_peak->ranked_at != r.at_peak->total) {
      page.Paragraph(fmt::format(
          "The top lists were counted at {} entries, on the way up to the "
          "peak.",
          r.at_peak->ranked_at));
    }
    AddCompositionTables(&page, *r.at_peak);
  }

  page.Heading("The report in full");
  page.Preformatted(RenderReplayText(r, t));
  return page.Finish();
}

}  // namespace ctkit
