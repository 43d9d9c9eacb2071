// The flight recorder's clock: every --history.interval it asks its source
// for one sample per namespace and appends them to the history file
// (history_file.h), on a thread of its own.
//
// Writing waits for the disk (fdatasync), which can take a while on a busy
// host; on its own thread that never delays a scrape, and a scrape never
// delays a sample. The source is the exporter's (scraper.h): the O(1)
// counters read afresh and the periodic scan's last summary, so recording
// adds no table walk. A write that fails is counted and the recorder goes
// on: a full disk must not stop the exporter.
#ifndef CTKIT_WATCH_HISTORY_RECORDER_H_
#define CTKIT_WATCH_HISTORY_RECORDER_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "watch/history_file.h"

namespace ctkit::watch {

class PeriodicScan;

/// One sample of each namespace now: its O(1) counters
/// (namespace_counters.h, for `root` and `all_netns` as there) and the last
/// table scan of `scan` (may be null), as the exporter and `ctkit top`
/// record them.
std::vector<HistorySample> SampleNamespaces(const std::string& root,
                                            bool all_netns,
                                            const PeriodicScan* scan);

class HistoryRecorder {
 public:
  using Source = std::function<std::vector<HistorySample>()>;

  HistoryRecorder(std::unique_ptr<HistoryWriter> writer, double interval_s,
                  Source source);
  ~HistoryRecorder();
  HistoryRecorder(const HistoryRecorder&) = delete;
  HistoryRecorder& operator=(const HistoryRecorder&) = delete;

  /// Starts the thread; the first samples are taken at once.
  void Start();
  /// One round now, on the calling thread (`exporter --once`).
  void RecordNow();

  struct Counts {
    uint64_t samples = 0;  ///< appended
    uint64_t errors = 0;   ///< appends that failed
    std::string last_error;
  };
  Counts counts() const;

 private:
  void Loop();

  const double interval_s_;
  const Source source_;
  std::mutex write_mu_;  ///< one round at a time
  std::unique_ptr<HistoryWriter> writer_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  Counts counts_;
  std::thread thread_;
};

}  // namespace ctkit::watch

#endif  // CTKIT_WATCH_HISTORY_RECORDER_H_
