// The flight recorder's clock (see history_recorder.h).
#include "watch/history_recorder.h"

#include <chrono>
#include <map>
#include <utility>

#include "watch/namespace_counters.h"
#include "watch/namespaces.h"
#include "watch/periodic_scan.h"

namespace ctkit::watch {

std::vector<HistorySample> SampleNamespaces(const std::string& root,
                                            bool all_netns,
                                            const PeriodicScan* scan) {
  const double now = std::chrono::duration<double>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  const std::vector<NetnsRef> refs =
      all_netns ? ListNetworkNamespaces() : std::vector<NetnsRef>{};
  const std::vector<NamespaceCounters> reads =
      ReadNamespaceCounters(root, all_netns, refs);
  const std::map<std::string, TableScan> scans =
      scan != nullptr ? scan->LastScans() : std::map<std::string, TableScan>{};
  std::vector<HistorySample> out;
  out.reserve(reads.size());
  for (const NamespaceCounters& r : reads) {
    auto it = scans.find(r.label);
    out.push_back(SampleOf(now, r.label, r.data,
                           it != scans.end() ? &it->second : nullptr));
  }
  return out;
}

HistoryRecorder::HistoryRecorder(std::unique_ptr<HistoryWriter> writer,
                                 double interval_s, Source source)
    : interval_s_(interval_s),
      source_(std::move(source)),
      writer_(std::move(writer)) {}

HistoryRecorder::~HistoryRecorder() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HistoryRecorder::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void HistoryRecorder::RecordNow() {
  const std::vector<HistorySample> samples = source_();
  uint64_t written = 0, failed = 0;
  std::string why;
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    for (const HistorySample& s : samples) {
      if (Result<void> r = writer_->Append(s); r) {
        ++written;
      } else {
        ++failed;
        why = r.error().message;
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  counts_.samples += written;
  counts_.errors += failed;
  if (failed > 0) counts_.last_error = std::move(why);
}

HistoryRecorder::Counts HistoryRecorder::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_;
}

void HistoryRecorder::Loop() {
  using Clock = std::chrono::steady_clock;
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(interval_s_));
  auto next = Clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    RecordNow();
    lock.lock();
    // On a fixed grid, so samples stay interval apart however long a
    // write took; a round that overran starts the grid again from now.
    next += interval;
    if (next < Clock::now()) next = Clock::now() + interval;
    wake_.wait_until(lock, next, [this] { return stop_; });
  }
}

}  // namespace ctkit::watch
