// The replay's report as an HTML page (`ctkit replay --html FILE`): the
// table's count against nf_conntrack_max through the capture with the
// first drops marked, what held the table (a stacked area by lifetime
// class, then the peak's composition), entries made and destroyed per
// second, and the plain-text report in full. Charts come from the replay's
// curve (ReplayReport::curve), so the page costs the replay nothing more.
#ifndef CTKIT_REPORT_REPLAY_HTML_H_
#define CTKIT_REPORT_REPLAY_HTML_H_

#include <string>
#include <vector>

#include "ctkit/tunables.h"
#include "report/html_page.h"
#include "report/replay_report.h"
#include "report/svg_chart.h"

namespace ctkit {

/// The whole page for replay report `r`, replayed under `t`.
std::string RenderReplayHtml(const ReplayReport& r, const Tunables& t);

/// The count through the capture as a chart series: x in seconds since
/// `first_ts_ns`, with the peak put in where the curve's samples missed it
/// (whatif draws its variants' curves with it too).
ChartSeries CountSeries(const std::vector<CurvePoint>& curve,
                        uint64_t first_ts_ns, std::string label,
                        uint64_t peak_ts_ns = 0, uint32_t peak_count = 0);

/// The composition tables of `c` (classes, sources, destinations, ports),
/// added to `page` (doctor shows a live table's the same way).
void AddCompositionTables(HtmlPage* page, const TableComposition& c);

}  // namespace ctkit

#endif  // CTKIT_REPORT_REPLAY_HTML_H_
