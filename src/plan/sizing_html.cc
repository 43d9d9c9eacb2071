// The capacity plan's HTML page (see sizing_html.h).
#include "plan/sizing_html.h"

#include <fmt/format.h>

#include "core/kernel_sizing.h"
#include "plan/sizing_output.h"
#include "plan/units.h"
#include "report/html_page.h"
#include "report/svg_chart.h"

namespace ctkit {
namespace {

constexpr double kMiB = 1048576.0;

// Memory grows from the bucket array alone (no entries) to the full table:
// one straight line per candidate, ending at its limit.
std::string MemoryChart(const PlanResult& p) {
  SvgLineChart chart;
  chart.title = "Kernel memory against entries, per sizing";
  chart.x_label = "entries in the table";
  chart.y_label = "kernel memory (MiB)";
  chart.height = 360;
  std::string said;
  for (const SizingRow& row : p.compare) {
    ChartSeries s;
    s.label = fmt::format("{}: max {}", row.name, row.size.max);
    s.emphasised = row.name == "recommended";
    s.points = {
        {0, double(KernelTableBytes(0, row.size.buckets, p.extensions)) / kMiB},
        {double(row.size.max), double(row.memory_when_full) / kMiB}};
    chart.series.push_back(std::move(s));
    chart.markers.push_back({row.name, double(row.size.max)});
    said += fmt::format(" {}: {} entries, {} when full{}.", row.name,
                        row.size.max, FormatBytes(row.memory_when_full),
                        row.fits_budget ? "" : ", over the budget");
  }
  chart.levels.push_back(
      {fmt::format("budget {}", FormatBytes(p.input.budget_bytes)),
       double(p.input.budget_bytes) / kMiB});
  if (p.needed_entries) {
    chart.markers.push_back({fmt::format("needed {}", *p.needed_entries),
                             double(*p.needed_entries)});
  }
  chart.description =
      "A line chart of the kernel memory each sizing takes as its table "
      "fills, from its bucket array alone to its limit, with the memory "
      "budget as a horizontal line." +
      said;
  return chart.Render();
}

}  // namespace

std::string RenderPlanHtml(const PlanResult& p) {
  HtmlPage page("ctkit plan");
  page.Paragraph(
      fmt::format("Recommended: nf_conntrack_max = {}, nf_conntrack_buckets "
                  "= {}. {}",
                  p.recommended.max, p.recommended.buckets, p.reason),
      p.fits ? "lead ok" : "lead warning");
  std::vector<std::pair<std::string, std::string>> facts = {
      {"memory budget", FormatBytes(p.input.budget_bytes)},
      {"bytes per entry", std::to_string(p.entry_bytes)},
      {"largest table the budget holds", std::to_string(p.budget_max)},
  };
  if (p.needed_entries) {
    facts.push_back(
        {"entries needed", fmt::format("{}{}", *p.needed_entries,
                                       p.lower_bound ? " (at least)" : "")});
  }
  page.Facts(facts);

  page.Heading("Memory for each sizing");
  page.Raw(MemoryChart(p));
  std::vector<HtmlRow> rows;
  for (const SizingRow& row : p.compare) {
    rows.push_back({{HtmlCell::Text(row.name),
                     HtmlCell::Number(std::to_string(row.size.max)),
                     HtmlCell::Number(std::to_string(row.size.buckets)),
                     HtmlCell::Number(FormatBytes(row.memory_when_full)),
                     HtmlCell::Text(row.fits_budget ? "yes" : "no"),
                     HtmlCell::Text(!row.holds_load   ? "-"
                                    : *row.holds_load ? "yes"
                                                      : "no")},
                    row.name == "recommended" ? "recommended"
                    : row.fits_budget         ? ""
                                              : "warning"});
  }
  page.Table("The sizings compared",
             {"sizing", "nf_conntrack_max", "buckets", "memory when full",
              "fits the budget", "holds the load"},
             rows);

  page.Heading("The plan in full");
  page.Preformatted(RenderPlanText(p));
  return page.Finish();
}

}  // namespace ctkit
