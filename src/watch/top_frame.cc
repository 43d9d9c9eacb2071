// One screen of `ctkit top` (see top_frame.h).
#include "watch/top_frame.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace ctkit::watch {
namespace {

// The picked namespace's detail: its drops, its scan, four rankings.
constexpr size_t kDetailLines = 6;
// The bar takes what the other columns leave, between these.
constexpr size_t kMinBar = 5, kMaxBar = 20;

double Fill(const TopRow& r) {
  if (!r.count || !r.max || *r.max == 0) return 0;
  return static_cast<double>(*r.count) / static_cast<double>(*r.max);
}

std::string Bar(const TopRow& r, size_t width) {
  if (!r.count || !r.max || *r.max == 0) return std::string(width + 2, ' ');
  const auto filled = static_cast<size_t>(
      std::lround(std::min(1.0, Fill(r)) * static_cast<double>(width)));
  return "[" + std::string(filled, '#') + std::string(width - filled, '.') +
         "]";
}

std::string Entries(const TopRow& r) {
  return r.count ? fmt::format("{}/{}", *r.count,
                               r.max ? std::to_string(*r.max) : "?")
                 : "?";
}

std::string PerSecond(const std::optional<double>& v, bool sign = false) {
  if (!v) return "-";
  return sign ? fmt::format("{:+.1f}", *v) : fmt::format("{:.1f}", *v);
}

std::string Fit(std::string s, size_t width) {
  if (s.size() > width) s.resize(width);
  return s;
}

// "tcp ESTABLISHED 280 (93%), udp 20 (7%)" for the first `n` of a list.
template <typename T, typename Name>
std::string Ranked(const std::vector<T>& list, size_t n, uint64_t total,
                   Name name) {
  std::string out;
  for (size_t i = 0; i < list.size() && i < n; ++i) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{} {}", name(list[i]), list[i].entries);
    if (total != 0) {
      out += fmt::format(" ({:.0f}%)",
                         100.0 * static_cast<double>(list[i].entries) /
                             static_cast<double>(total));
    }
  }
  return out.empty() ? "-" : out;
}

}  // namespace

const char* TopSortName(TopSort s) {
  switch (s) {
    case TopSort::kFill:
      return "fill";
    case TopSort::kDrops:
      return "drops";
    case TopSort::kName:
      return "name";
  }
  return "fill";
}

TopSort NextTopSort(TopSort s) {
  switch (s) {
    case TopSort::kFill:
      return TopSort::kDrops;
    case TopSort::kDrops:
      return TopSort::kName;
    case TopSort::kName:
      return TopSort::kFill;
  }
  return TopSort::kFill;
}

std::string FormatTimeToFull(const std::optional<double>& seconds) {
  if (!seconds) return "-";
  const double s = *seconds;
  if (s <= 0) return "full";
  if (s < 120) return fmt::format("{:.0f} s", s);
  if (s < 7200) return fmt::format("{:.0f} min", s / 60);
  if (s < 86400) return fmt::format("{:.1f} h", s / 3600);
  return "> 1 day";
}

TopFrame RenderTopFrame(const std::vector<TopRow>& rows,
                        const TopFrameOptions& o) {
  std::vector<const TopRow*> shown;
  shown.reserve(rows.size());
  for (const TopRow& r : rows) shown.push_back(&r);
  std::stable_sort(
      shown.begin(), shown.end(), [&](const TopRow* a, const TopRow* b) {
        switch (o.sort) {
          case TopSort::kFill:
            return Fill(*a) > Fill(*b);
          case TopSort::kDrops:
            return a->drop_per_s.value_or(0) > b->drop_per_s.value_or(0);
          case TopSort::kName:
            return a->label < b->label;
        }
        return false;
      });
  TopFrame f;
  f.lines.push_back(
      Fit(fmt::format("ctkit top - {} - {} namespace{} - sorted by {} - every "
                      "{:g} s{}",
                      o.clock, shown.size(), shown.size() == 1 ? "" : "s",
                      TopSortName(o.sort), o.interval_s,
                      o.paused ? " - PAUSED" : ""),
          o.width));
  // Columns as wide as their widest value (labels up to 24), the bar in
  // what is left: 20 marks on a wide terminal, 5 on an 80-column one.
  size_t label_w = 5, entries_w = 13;
  for (const TopRow* r : shown) {
    label_w = std::max(label_w, std::min<size_t>(r->label.size(), 24));
    entries_w = std::max(entries_w, Entries(*r).size());
  }
  // With --events, NEW/s and DESTR/s after the growth.
  const size_t events_w = o.events ? 16 : 0;
  const size_t fixed =
      label_w + entries_w + 2 + 6 + 8 + 7 + 7 + 7 + 7 + events_w;
  const size_t bar_w =
      o.width > fixed + kMinBar ? std::min(kMaxBar, o.width - fixed) : kMinBar;
  f.lines.push_back(
      Fit(fmt::format("{:<{}} {:>{}} {:<{}} {:>6} {:>8}{} {:>7} {:>7} {:>7}",
                      "NETNS", label_w, "ENTRIES/LIMIT", entries_w, "",
                      bar_w + 2, "FILL", "GROWTH/s",
                      o.events ? fmt::format(" {:>7} {:>7}", "NEW/s", "DESTR/s")
                               : std::string(),
                      "DROP/s", "EARLY/s", "FULL IN"),
          o.width));
  const TopRow* picked = nullptr;
  for (const TopRow* r : shown) {
    f.order.push_back(r->label);
    if (r->label == o.picked) picked = r;
  }
  if (picked == nullptr && !shown.empty()) picked = shown.front();
  // More namespaces than the screen holds: a window of rows around the
  // picked one, so that it and its detail (below) stay on the screen.
  size_t first = 0, last = shown.size();
  if (o.height != 0) {
    const size_t reserved = 2 + 1 + kDetailLines + (o.keys ? 1 : 0);
    const size_t room = o.height > reserved + 2 ? o.height - reserved : 2;
    if (shown.size() > room) {
      const size_t at = static_cast<size_t>(
          std::find(shown.begin(), shown.end(), picked) - shown.begin());
      const size_t rows_shown = room - 1;  // and a line saying so
      first = at >= rows_shown ? at - rows_shown + 1 : 0;
      last = first + rows_shown;
    }
  }
  for (size_t i = first; i < last; ++i) {
    const TopRow* r = shown[i];
    if (r == picked) f.picked_line = static_cast<int>(f.lines.size());
    std::string fill = r->max && *r->max != 0 && r->count
                           ? fmt::format("{:.1f}%", 100.0 * Fill(*r))
                           : "-";
    // Lost events make the rate a floor: ">12.0".
    std::string events;
    if (o.events) {
      events = fmt::format(
          " {:>7} {:>7}",
          (r->events_lost && r->new_per_s ? ">" : "") + PerSecond(r->new_per_s),
          PerSecond(r->destroyed_per_s));
    }
    f.lines.push_back(
        Fit(fmt::format("{:<{}} {:>{}} {} {:>6} {:>8}{} {:>7} {:>7} {:>7}",
                        Fit(r->label, label_w), label_w, Entries(*r), entries_w,
                        Bar(*r, bar_w), fill, PerSecond(r->growth_per_s, true),
                        events, PerSecond(r->drop_per_s),
                        PerSecond(r->early_drop_per_s),
                        FormatTimeToFull(r->seconds_to_full)),
            o.width));
    if (!r->problem.empty()) {
      f.lines.push_back(Fit("  ! " + r->problem, o.width));
    }
  }
  if (first != 0 || last != shown.size()) {
    f.lines.push_back(Fit(fmt::format("  namespaces {}-{} of {} (up/down to "
                                      "see the others)",
                                      first + 1, last, shown.size()),
                          o.width));
  }
  f.lines.push_back("");
  if (picked != nullptr) {
    const TopRow& p = *picked;
    f.lines.push_back(
        Fit(fmt::format("{}: {} drops and {} early drops since the kernel "
                        "started counting",
                        p.label, p.drops, p.early_drops),
            o.width));
    if (!p.scan) {
      f.lines.push_back(
          Fit(o.scans ? "  no table scan yet (scans run on their own interval)"
                      : "  table scans are off (--scan-interval 0)",
              o.width));
    } else if (!p.scan->error.empty()) {
      f.lines.push_back(Fit("  table scan failed: " + p.scan->error, o.width));
    } else {
      const TableSummary& s = p.scan->summary;
      f.lines.push_back(Fit(
          fmt::format("  table scan {:.0f} s ago: {} entries{} in {:.2f} s",
                      p.scan_age_s, s.total,
                      p.scan->complete ? "" : " (stopped at its time budget)",
                      p.scan->seconds),
          o.width));
      f.lines.push_back(Fit(
          "  states:       " + Ranked(s.by_state, o.top_n, s.total,
                                      [](const StateCount& c) {
                                        return c.state.empty()
                                                   ? c.protocol
                                                   : c.protocol + " " + c.state;
                                      }),
          o.width));
      auto key = [](const RankedKey& k) { return k.key; };
      f.lines.push_back(
          Fit("  sources:      " + Ranked(s.top_sources, o.top_n, s.total, key),
              o.width));
      f.lines.push_back(Fit("  destinations: " + Ranked(s.top_destinations,
                                                        o.top_n, s.total, key),
                            o.width));
      f.lines.push_back(
          Fit("  ports:        " + Ranked(s.top_dports, o.top_n, s.with_dport,
                                          [](const RankedKey& k) {
                                            return k.protocol + "/" + k.key;
                                          }),
              o.width));
    }
  }
  if (o.keys) {
    const std::string keys =
        "keys: q quit  space pause  s sort  up/down (j/k) pick a namespace";
    if (o.height != 0) {
      while (f.lines.size() + 1 < o.height) f.lines.push_back("");
      if (f.lines.size() >= o.height) f.lines.resize(o.height - 1);
    }
    f.lines.push_back(Fit(keys, o.width));
  } else if (o.height != 0 && f.lines.size() > o.height) {
    f.lines.resize(o.height);
  }
  // A picked line cut off (or under the keys) is not highlighted.
  if (f.picked_line >= 0 &&
      static_cast<size_t>(f.picked_line) + (o.keys ? 1 : 0) >= f.lines.size()) {
    f.picked_line = -1;
  }
  return f;
}

}  // namespace ctkit::watch
