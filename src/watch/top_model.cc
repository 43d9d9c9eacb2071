// What `ctkit top` shows of each namespace (see top_model.h).
#include "watch/top_model.h"

#include <algorithm>

namespace ctkit::watch {
namespace {

// A counter's rate; a counter that went down (the module reloaded, a
// namespace's counters reset) starts again from its new value.
double Rate(uint64_t now, uint64_t before, double seconds) {
  return now >= before ? static_cast<double>(now - before) / seconds
                       : static_cast<double>(now) / seconds;
}

}  // namespace

TopModel::TopModel(Options options) : options_(std::move(options)) {}

void TopModel::Refresh(double now_s) {
  const bool all = options_.all_netns && options_.root.empty();
  const std::vector<NetnsRef> refs =
      all ? ListNetworkNamespaces() : std::vector<NetnsRef>{};
  const std::vector<NamespaceCounters> read =
      ReadNamespaceCounters(options_.root, all, refs);
  std::map<std::string, EventTotals> events;
  if (options_.events && options_.root.empty()) {
    std::map<std::string, Listener> listeners;
    for (const NamespaceCounters& n : read) {
      auto it = listeners_.find(n.label);
      Listener l;
      if (it != listeners_.end()) {
        l = std::move(it->second);
      } else {
        // A namespace seen for the first time: listen from now on.
        const std::string path =
            n.ref != nullptr && !n.ref->own ? n.ref->path : "";
        auto opened = ConntrackEventCounter::Open(path);
        if (opened) {
          l.counter = std::move(*opened);
        } else {
          l.error = opened.error().message;
        }
      }
      if (l.counter) {
        events[n.label] = {l.counter->Drain(), l.counter->overrun()};
      }
      listeners.emplace(n.label, std::move(l));
    }
    // Namespaces that are gone close their sockets.
    listeners_ = std::move(listeners);
  }
  Update(now_s, read, events);
}

void TopModel::DrainEvents() {
  for (auto& [label, l] : listeners_) {
    if (l.counter) l.counter->Drain();
  }
}

void TopModel::Update(double now_s, const std::vector<NamespaceCounters>& read,
                      const std::map<std::string, EventTotals>& events) {
  std::vector<TopRow> rows;
  std::map<std::string, Previous> previous;
  std::map<std::string, FillForecast> forecasts;
  for (const NamespaceCounters& n : read) {
    TopRow row;
    row.label = n.label;
    row.count = n.data.count;
    row.max = n.data.max;
    row.buckets = n.data.buckets;
    if (!n.data.count) {
      row.problem = n.data.missing.empty() ? "the count could not be read"
                                           : n.data.missing.front();
    }
    if (n.data.stats) {
      row.drops = n.data.stats->drop;
      row.early_drops = n.data.stats->early_drop;
    }
    // A namespace's last scan stays until the next one.
    for (const TopRow& old : rows_) {
      if (old.label != row.label) continue;
      row.scan = old.scan;
      row.scan_age_s = old.scan_age_s;
    }
    Previous now{now_s,
                 n.data.count.value_or(0),
                 n.data.stats.value_or(Stats{}),
                 n.data.stats.has_value(),
                 std::nullopt,
                 n.data.count.has_value()};
    auto made = events.find(n.label);
    if (made != events.end()) {
      now.made = made->second.made;
      row.events_lost = made->second.overrun;
    }
    auto listener = listeners_.find(n.label);
    if (listener != listeners_.end() && !listener->second.error.empty() &&
        row.problem.empty()) {
      row.problem = "events: " + listener->second.error;
    }
    auto before = previous_.find(n.label);
    if (before != previous_.end() && now_s > before->second.t) {
      const Previous& b = before->second;
      const double dt = now_s - b.t;
      // Both readings must have had a count: one that failed is no zero.
      if (now.has_count && b.has_count) {
        row.growth_per_s =
            (static_cast<double>(now.count) - static_cast<double>(b.count)) /
            dt;
      }
      if (now.made && b.made && row.growth_per_s) {
        row.new_per_s = static_cast<double>(*now.made - *b.made) / dt;
        row.destroyed_per_s = std::max(0.0, *row.new_per_s - *row.growth_per_s);
      }
      if (now.has_stats && b.has_stats) {
        row.drop_per_s = Rate(now.stats.drop, b.stats.drop, dt);
        row.early_drop_per_s =
            Rate(now.stats.early_drop, b.stats.early_drop, dt);
        row.insert_failed_per_s =
            Rate(now.stats.insert_failed, b.stats.insert_failed, dt);
      }
    }
    auto fc = forecasts_.find(n.label);
    FillForecast forecast = fc != forecasts_.end()
                                ? fc->second
                                : FillForecast(options_.forecast_window_s);
    if (n.data.count) {
      forecast.Add(now_s, *n.data.count);
      if (n.data.max && *n.data.max != 0) {
        row.seconds_to_full = forecast.SecondsUntil(*n.data.max);
      }
    }
    forecasts.emplace(n.label, std::move(forecast));
    previous[n.label] = now;
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end(),
            [](const TopRow& a, const TopRow& b) { return a.label < b.label; });
  // Namespaces that are gone take their history with them.
  rows_ = std::move(rows);
  previous_ = std::move(previous);
  forecasts_ = std::move(forecasts);
}

void TopModel::SetScans(std::map<std::string, TableScan> scans,
                        double now_unix) {
  for (TopRow& row : rows_) {
    auto it = scans.find(row.label);
    if (it == scans.end()) continue;
    row.scan_age_s = std::max(0.0, now_unix - it->second.finished_unix);
    row.scan = std::move(it->second);
  }
}

}  // namespace ctkit::watch
