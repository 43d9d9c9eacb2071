// The what-if sweep's HTML page (see whatif_html.h).
#include "plan/whatif_html.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "plan/units.h"
#include "plan/whatif_output.h"
#include "report/html_page.h"
#include "report/replay_html.h"
#include "report/svg_chart.h"

namespace ctkit {
namespace {

// The legend's name of variant `i`: its number and label (which says "not
// Linux" of the adaptive variant), and whether it is the recommended one.
std::string VariantName(const WhatifResult& r, size_t i) {
  const WhatifRow& row = r.rows[i];
  std::string name = fmt::format("#{} {}", i, row.variant.label);
  if (r.recommended == i) name += " (recommended)";
  return name;
}

std::string CurvesChart(const WhatifResult& r) {
  SvgLineChart chart;
  chart.title = "Entries in the table, every variant";
  chart.x_label = "time since the first packet (s)";
  chart.y_label = "entries";
  chart.height = 360;
  // Variants sharing a limit share its line.
  std::map<uint32_t, std::string> limits;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const WhatifRow& row = r.rows[i];
    ChartSeries s = CountSeries(row.curve, r.first_ts_ns, VariantName(r, i),
                                row.peak_ts_ns, row.peak);
    s.emphasised = r.recommended == i;
    chart.series.push_back(std::move(s));
    if (row.max != 0) {
      std::string& who = limits[row.max];
      who += who.empty() ? fmt::format("#{}", i) : fmt::format(", #{}", i);
    }
  }
  for (const auto& [max, who] : limits) {
    chart.levels.push_back({fmt::format("max {} ({})", max, who), double(max)});
  }
  std::string said;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const WhatifRow& row = r.rows[i];
    said += fmt::format(
        " Variant #{} ({}) peaked at {} entries{} and dropped {} packets.", i,
        row.variant.label, row.peak,
        row.max != 0 ? fmt::format(" of {}", row.max) : std::string(),
        row.table_full_drops);
  }
  chart.description =
      "A line chart of every variant's entry count over the capture, with "
      "each variant's nf_conntrack_max as a horizontal line." +
      said;
  return chart.Render();
}

}  // namespace

std::string RenderWhatifHtml(const WhatifResult& r) {
  HtmlPage page("ctkit whatif: " + r.capture);
  const bool recommended = r.recommended.has_value();
  page.Paragraph(r.recommendation, recommended ? "lead ok" : "lead warning");
  page.Facts({
      {"capture", r.capture},
      {"packets", std::to_string(r.packets)},
      {"duration", fmt::format("{:.3f} s", double(r.duration_ns) * 1e-9)},
      {"variants", std::to_string(r.rows.size())},
  });
  for (const WhatifWarning& w : r.warnings)
    page.Paragraph(w.message, "warning");
  if (r.read_error) {
    page.Paragraph(
        "The capture ended in an error; the variants cover the "
        "packets before it: " +
            r.read_error->message,
        "warning");
  }

  page.Heading("The table under each variant");
  page.Raw(CurvesChart(r));

  page.Heading("Drops per variant");
  uint64_t most = 1;
  for (const WhatifRow& row : r.rows) {
    most = std::max({most, row.table_full_drops, row.early_drops});
  }
  std::vector<HtmlRow> rows;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const WhatifRow& row = r.rows[i];
    std::string css = r.recommended == i     ? "recommended"
                      : row.variant.adaptive ? "adaptive"
                                             : "";
    std::string note;
    if (row.variant.baseline) note = "baseline";
    if (row.variant.adaptive) note = "NOT a Linux setting";
    if (r.recommended == i)
      note += note.empty() ? "recommended" : ", recommended";
    if (!row.unsafe.empty() && !row.variant.adaptive) {
      note += (note.empty() ? "" : "; ") + std::string("not safe: ") +
              row.unsafe.front();
    }
    rows.push_back(
        {{HtmlCell::Number(std::to_string(i)),
          HtmlCell::Text(row.variant.label),
          BarCell(double(row.table_full_drops) / double(most),
                  std::to_string(row.table_full_drops)),
          BarCell(double(row.early_drops) / double(most),
                  std::to_string(row.early_drops)),
          HtmlCell::Number(std::to_string(row.peak)),
          HtmlCell::Number(row.max != 0
                               ? fmt::format("{:.1f} %", row.peak_percent)
                               : "no limit"),
          HtmlCell::Number(FormatBytes(row.kernel_memory_at_peak)),
          HtmlCell::Text(note)},
         css});
  }
  page.Table(
      "Packets dropped because the table was full, and entries early "
      "drop evicted, per variant",
      {"#", "settings", "drops (table full)", "early drops", "peak", "of max",
       "kernel memory at the peak", ""},
      rows);

  page.Heading("The comparison in full");
  page.Preformatted(RenderWhatifText(r));
  return page.Finish();
}

}  // namespace ctkit
