// The exporter's table scans on their own interval, served from a cache.
//
// A scrape must answer in well under a second whatever the table's size,
// and a walk of a million entries takes longer than that; so the walk
// (table_scan.h) runs on a thread of its own every --scan-interval seconds,
// one namespace after another, and a scrape copies the families of the
// last scan of each. The first scan starts at once. A namespace that is
// gone by the next round loses its series with it.
#ifndef CTKIT_WATCH_PERIODIC_SCAN_H_
#define CTKIT_WATCH_PERIODIC_SCAN_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "watch/exposition.h"
#include "watch/table_scan.h"

namespace ctkit::watch {

/// A namespace to scan.
struct ScanTarget {
  std::string label;  ///< its netns label
  /// What to open to enter it ("/run/netns/NAME", "/proc/PID/ns/net");
  /// "" for the scanning process's own namespace.
  std::string netns_path;
  /// A fixture tree or an extracted archive to read the table from
  /// instead of the live kernel ("" for the live kernel).
  std::string root;
};

/// One scan of `target` now, on the calling thread.
TableScan ScanOne(const ScanTarget& target, const ScanLimits& limits,
                  uint64_t k0, uint64_t k1);

class PeriodicScan {
 public:
  using Targets = std::function<std::vector<ScanTarget>()>;

  /// Scans what `targets` lists every `interval_s` seconds once started.
  PeriodicScan(double interval_s, ScanLimits limits, Targets targets);
  ~PeriodicScan();
  PeriodicScan(const PeriodicScan&) = delete;
  PeriodicScan& operator=(const PeriodicScan&) = delete;

  /// Starts the scanning thread (the first round at once).
  void Start();
  /// One round now, on the calling thread (`exporter --once`).
  void RunOnce();

  /// The last scan's families of each namespace, and the scan error count.
  std::vector<MetricFamily> Families() const;
  /// The last scan of each namespace, by netns label (the flight recorder
  /// keeps their top).
  std::map<std::string, TableScan> LastScans() const;

 private:
  void Loop();

  const double interval_s_;
  const ScanLimits limits_;
  const Targets targets_;
  uint64_t k0_ = 0, k1_ = 0;  ///< the rankings' hash key, random per run

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::map<std::string, TableScan> last_;  ///< by netns label
  uint64_t errors_ = 0;
  std::thread thread_;
};

}  // namespace ctkit::watch

#endif  // CTKIT_WATCH_PERIODIC_SCAN_H_
