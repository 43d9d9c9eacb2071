// One screen of `ctkit top` as lines of text: what the ncurses view draws
// and what `ctkit top --once` prints for scripts and tickets, so both show
// the same thing and tests can read it without a terminal.
//
// The screen: a header (the time, how many namespaces, the sort, paused
// or not); a line per namespace with its count against the limit as a bar,
// the count's growth, drops and early drops per second, and the forecast
// to full (with --events, entries made and destroyed per second too); then
// the picked namespace's last table scan: its states and top
// sources, destinations and destination ports; then the keys.
#ifndef CTKIT_WATCH_TOP_FRAME_H_
#define CTKIT_WATCH_TOP_FRAME_H_

#include <string>
#include <vector>

#include "watch/top_model.h"

namespace ctkit::watch {

enum class TopSort {
  kFill,   ///< fullest first (count / limit)
  kDrops,  ///< most drops per second first
  kName,   ///< by netns label
};
/// "fill", "drops", "name".
const char* TopSortName(TopSort s);
/// The next sort order, as the `s` key cycles them.
TopSort NextTopSort(TopSort s);

struct TopFrameOptions {
  size_t width = 100;  ///< columns
  size_t height = 0;   ///< lines (0: as many as it takes)
  TopSort sort = TopSort::kFill;
  std::string picked;  ///< the namespace shown in detail ("": the first)
  bool paused = false;
  bool keys = true;   ///< the key help line (not with --once)
  std::string clock;  ///< the header's time ("2026-12-03 03:12:05")
  double interval_s = 2;
  size_t top_n = 5;     ///< sources, destinations, ports shown
  bool events = false;  ///< the NEW/s and DESTR/s columns (--events)
  bool scans = true;    ///< table scans run (--scan-interval above 0)
};

struct TopFrame {
  std::vector<std::string> lines;
  /// The line of the picked namespace (to highlight), or -1.
  int picked_line = -1;
  /// The namespaces in the order shown (for the pick keys).
  std::vector<std::string> order;
};

TopFrame RenderTopFrame(const std::vector<TopRow>& rows,
                        const TopFrameOptions& options);

/// `seconds` as top shows the forecast: "full", "12 s", "4 min", "2.5 h",
/// "> 1 day"; "-" when unknown.
std::string FormatTimeToFull(const std::optional<double>& seconds);

}  // namespace ctkit::watch

#endif  // CTKIT_WATCH_TOP_FRAME_H_
