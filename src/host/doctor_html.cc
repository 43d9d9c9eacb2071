// Doctor's HTML page (see doctor_html.h).
#include "host/doctor_html.h"

#include <fmt/format.h>

#include <cmath>

#include "host/doctor_report.h"
#include "report/html_page.h"
#include "report/replay_html.h"

namespace ctkit {
namespace {

const char* SeverityClass(Severity s) {
  switch (s) {
    case Severity::kOk:
      return "ok";
    case Severity::kWarning:
    case Severity::kCritical:
      return "warning";
    case Severity::kUnknown:
      return "";
  }
  return "";
}

std::string EvidenceValue(const Evidence& e) {
  // Whole numbers without decimals; anything else (a ratio, a value from a
  // damaged archive, even NaN) as it is, never through an integer cast
  // that could overflow.
  const bool whole = std::isfinite(e.value) && e.value == std::floor(e.value) &&
                     std::fabs(e.value) < 9e15;
  std::string v =
      whole ? fmt::format("{:.0f}", e.value) : fmt::format("{:.2f}", e.value);
  if (!e.unit.empty()) v += e.unit == "%" ? " %" : " " + e.unit;
  return v;
}

}  // namespace

std::string RenderDoctorHtml(const HostData& d, const Diagnosis& g,
                             const std::string& history) {
  HtmlPage page("ctkit doctor: " + d.source);
  page.Paragraph(FormatStatusLine(d, g),
                 fmt::format("lead {}", SeverityClass(g.status)));
  std::vector<std::pair<std::string, std::string>> facts = {
      {"read from", d.source}};
  if (d.kernel_release) facts.push_back({"kernel", *d.kernel_release});
  if (d.count && d.max) {
    facts.push_back(
        {"entries",
         fmt::format(
             "{} of nf_conntrack_max {} ({:.1f} %)", *d.count, *d.max,
             *d.max ? 100.0 * double(*d.count) / double(*d.max) : 0.0)});
  }
  if (d.buckets) {
    facts.push_back({"nf_conntrack_buckets", std::to_string(*d.buckets)});
  }
  if (d.stats) {
    facts.push_back({"dropped (table full)", std::to_string(d.stats->drop)});
    facts.push_back({"early drops", std::to_string(d.stats->early_drop)});
    facts.push_back({"insert failed", std::to_string(d.stats->insert_failed)});
  }
  page.Facts(facts);
  if (d.count && d.max && *d.max != 0) {
    page.Table(
        "The table's fill level", {"entries", "limit"},
        {{{BarCell(double(*d.count) / double(*d.max), std::to_string(*d.count)),
           HtmlCell::Number(std::to_string(*d.max))},
          ""}});
  }

  if (!history.empty()) {
    page.Heading("What the flight recorder saw");
    page.Preformatted(history);
  }

  page.Heading("Findings");
  if (g.findings.empty()) page.Paragraph("Nothing to report.", "ok");
  for (const Finding& f : g.findings) {
    page.Paragraph(fmt::format("{}: {}", SeverityName(f.severity), f.title),
                   SeverityClass(f.severity));
    if (!f.evidence.empty()) {
      std::vector<HtmlRow> rows;
      for (const Evidence& e : f.evidence) {
        rows.push_back(
            {{HtmlCell::Text(e.name), HtmlCell::Number(EvidenceValue(e))}, ""});
      }
      page.Table("Evidence", {"what", "value"}, rows);
    }
    if (!f.detail.empty()) page.Paragraph(f.detail);
    if (!f.fix.empty()) page.Preformatted(f.fix);
    for (const std::string& c : f.corrections) {
      page.Paragraph("The usual advice, corrected: " + c);
    }
  }

  if (g.composition.total != 0) {
    page.Heading(
        fmt::format("What the table holds ({} entries)", g.composition.total));
    AddCompositionTables(&page, g.composition);
  }
  if (!g.timeouts.empty()) {
    page.Heading("Timeouts in force, and the entries they govern");
    std::vector<HtmlRow> rows;
    for (const TimeoutUse& t : g.timeouts) {
      rows.push_back({{HtmlCell::Text(t.sysctl),
                       HtmlCell::Number(fmt::format("{} s", t.value_s)),
                       HtmlCell::Number(std::to_string(t.entries)),
                       HtmlCell::Number(fmt::format("{} s", t.max_left_s))},
                      ""});
    }
    page.Table("Timeout sysctls by the entries they hold",
               {"sysctl", "value", "entries", "longest time left"}, rows);
  }

  page.Heading("The report in full");
  page.Preformatted(FormatDoctorText(d, g));
  return page.Finish();
}

}  // namespace ctkit
