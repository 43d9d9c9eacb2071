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
  const std::vector<NetnsRef> refs = options_.all_netns && options_.root.empty()
                                         ? ListNetworkNamespaces()
                                         : std::vector<NetnsRef>{};
  Update(now_s,
         ReadNamespaceCounters(
             options_.root, options_.all_netns && options_.root.empty(), refs));
}

void TopModel::Update(double now_s,
                      const std::vector<NamespaceCounters>& read) {
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
    Previous now{now_s, n.data.count.value_or(0),
                 n.data.stats.value_or(Stats{}), n.data.stats.has_value()};
    auto before = previous_.find(n.label);
    if (before != previous_.end() && now_s > before->second.t) {
      const Previous& b = before->second;
      const double dt = now_s - b.t;
      if (n.data.count) {
        row.growth_per_s =
            (static_cast<double>(now.count) - static_cast<double>(b.count)) /
            dt;
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
