// TopModel: what `ctkit top` knows about each namespace's table between
// two screen refreshes, kept the way the exporter keeps it so that a
// terminal during an incident and a dashboard say the same thing.
//
// Each refresh reads only the O(1) counters of every namespace (the count,
// the limit, the statistics: namespace_counters.h) and turns the change
// since the previous refresh into rates; the fill forecast is the
// exporter's (forecast.h). What the table holds (states, top sources,
// destinations, ports) comes from table scans made on their own, longer
// interval (periodic_scan.h) in bounded memory, and is shown with its age.
//
// The kernel keeps no count of the entries it makes or destroys: measured
// on 6.18, /proc/net/stat/nf_conntrack's `new`, `delete` and `insert`
// columns stay 0 while entries are made (docs/kernel-model.md §5.1, §5.3 say
// which statistics count what). New/s and destroyed/s are known only to an
// event listener, and listening makes every entry made meanwhile carry the
// event extension (more kernel memory per entry, in an incident about
// memory): top listens only when asked (Options::events,
// event_counter.h). Without it, it shows the count's growth per second,
// and the drops and early drops per second.
#ifndef CTKIT_WATCH_TOP_MODEL_H_
#define CTKIT_WATCH_TOP_MODEL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "watch/event_counter.h"
#include "watch/forecast.h"
#include "watch/namespace_counters.h"
#include "watch/table_scan.h"

namespace ctkit::watch {

/// One namespace's line of the view.
struct TopRow {
  std::string label;
  std::optional<uint64_t> count, max, buckets;
  /// Per second since the previous refresh (unset on the first).
  std::optional<double> growth_per_s;  ///< of the count
  std::optional<double> drop_per_s, early_drop_per_s, insert_failed_per_s;
  /// With Options::events: entries made per second (NEW events), and
  /// destroyed per second (made less the count's growth).
  std::optional<double> new_per_s, destroyed_per_s;
  /// Events were lost (a full socket buffer): new_per_s is a floor.
  bool events_lost = false;
  /// Totals since the kernel started counting.
  uint64_t drops = 0, early_drops = 0;
  /// Seconds until the count reaches max at its recent growth (0: full).
  std::optional<double> seconds_to_full;
  /// The last table scan, if one was made; and its age in seconds.
  std::optional<TableScan> scan;
  double scan_age_s = 0;
  /// Why the counters could not be read ("" when they were).
  std::string problem;
};

class TopModel {
 public:
  struct Options {
    std::string root;       ///< a fixture tree instead of the host
    bool all_netns = true;  ///< every namespace, else only this one
    double forecast_window_s = 300;
    /// Listen for each namespace's NEW events (live namespaces only).
    bool events = false;
  };
  /// A namespace's NEW events counted so far.
  struct EventTotals {
    uint64_t made = 0;
    bool overrun = false;
  };
  explicit TopModel(Options options);

  /// Reads every namespace's counters at `now_s` (seconds on a monotonic
  /// clock) and updates the rates and forecasts.
  void Refresh(double now_s);
  /// Reads the events that have arrived, without waiting: call it often
  /// (every 0.1 s) between refreshes, so that no socket buffer overflows.
  void DrainEvents();
  /// The counters read from elsewhere (tests), with each namespace's
  /// events counted so far, by label, when listening.
  void Update(double now_s, const std::vector<NamespaceCounters>& read,
              const std::map<std::string, EventTotals>& events = {});
  /// The latest table scans by netns label (PeriodicScan::LastScans()),
  /// their age taken from their finished_unix and `now_unix`.
  void SetScans(std::map<std::string, TableScan> scans, double now_unix);

  /// The namespaces of the last refresh, in label order.
  const std::vector<TopRow>& rows() const { return rows_; }

 private:
  struct Previous {
    double t = 0;
    uint64_t count = 0;
    Stats stats;
    bool has_stats = false;
    std::optional<uint64_t> made;
    bool has_count = false;
  };
  /// A namespace's listener, or why it could not listen.
  struct Listener {
    std::unique_ptr<ConntrackEventCounter> counter;
    std::string error;
  };
  Options options_;
  std::vector<TopRow> rows_;
  std::map<std::string, Previous> previous_;
  std::map<std::string, FillForecast> forecasts_;
  std::map<std::string, Listener> listeners_;  ///< by netns label
};

}  // namespace ctkit::watch

#endif  // CTKIT_WATCH_TOP_MODEL_H_
