// Scraper: what `ctkit exporter` answers on /metrics, as a library, so the
// CLI only parses flags and serves HTTP.
//
// A scrape reads only what costs O(1) whatever the table's size — the
// sysctls and the kernel's statistics (host/host_data.h CollectCounters) —
// in this namespace or, with all_netns, in every namespace of the host
// (namespaces.h), each opened for the scrape only. To that it adds what
// lives across scrapes: the fill forecast per namespace (forecast.h), the
// kernel log's table-full lines followed since the start
// (kmsg_follower.h), and the last table scan's attribution
// (periodic_scan.h), which runs on its own interval, never in a scrape.
#ifndef CTKIT_WATCH_SCRAPER_H_
#define CTKIT_WATCH_SCRAPER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "ctkit/result.h"
#include "watch/forecast.h"
#include "watch/history_recorder.h"
#include "watch/kmsg_follower.h"
#include "watch/periodic_scan.h"
#include "watch/table_scan.h"

namespace ctkit::watch {

struct ScraperOptions {
  /// A fixture tree or an extracted `doctor --collect` archive to read
  /// instead of the live host ("": the live host).
  std::string root;
  /// "node": node_exporter's names as well.
  std::string compat;
  /// Seconds of scrapes the fill forecast fits a line through.
  double forecast_window_s = 900;
  bool all_netns = false;
  /// The kernel log to follow ("": not followed).
  std::string kernel_log = "/dev/kmsg";
  /// Seconds between table scans; 0: no scans (no attribution metrics).
  double scan_interval_s = 30;
  ScanLimits scan;
  /// The flight recorder's file ("": none), and its interval and retention
  /// in seconds (history_file.h).
  std::string history;
  double history_interval_s = kHistoryDefaultIntervalS;
  double history_retention_s = kHistoryDefaultRetentionS;
};

class Scraper {
 public:
  explicit Scraper(ScraperOptions options);
  ~Scraper();
  Scraper(const Scraper&) = delete;
  Scraper& operator=(const Scraper&) = delete;

  /// Opens (or creates) the history file when options.history names one;
  /// an error names the file and what is wrong with it.
  [[nodiscard]] Result<void> OpenHistory();
  /// Starts following the kernel log, scanning on the interval and
  /// recording the history (a server). Returns why the kernel log is not
  /// followed, or "".
  std::string StartBackground();
  /// One scan round now, on this thread (`--once`: no background), and one
  /// history sample per namespace when recording.
  void ScanNow();

  /// One sample per namespace read now, with its last scan's top.
  std::vector<HistorySample> HistorySamples() const;

  /// One scrape in the text format. Safe from several threads at once.
  std::string Scrape();

 private:
  std::vector<ScanTarget> ScanTargets() const;

  const ScraperOptions options_;
  std::unique_ptr<KmsgFollower> kmsg_;
  std::unique_ptr<PeriodicScan> scan_;
  /// After scan_: stopped before the scans it reads go.
  std::unique_ptr<HistoryRecorder> history_;
  std::atomic<uint64_t> errors_{0};
  std::mutex mu_;
  /// One forecast per namespace label (those of the last scrape only).
  std::map<std::string, FillForecast> forecasts_;
};

}  // namespace ctkit::watch

#endif  // CTKIT_WATCH_SCRAPER_H_
