// KmsgFollower: the kernel log, followed from where it stands when the
// exporter starts (never re-read from the start), counting conntrack's
// "table full" lines per network namespace and the net_ratelimit
// "callbacks suppressed" lines (host/host_data.h SummarizeKernelLog parses
// both, as doctor does). A thread reads the log and takes the counts'
// lock only to add; a scrape copies them.
//
// The log's lines are rate-limited (net_ratelimit: 10 per 5 s, shared by
// every net message), so the count is of messages, not of drops;
// conntrack_drop_total counts drops. Reading /dev/kmsg may need CAP_SYSLOG
// (kernel.dmesg_restrict); when it cannot be opened, ok() is false and the
// exporter leaves the series out.
#ifndef CTKIT_WATCH_KMSG_FOLLOWER_H_
#define CTKIT_WATCH_KMSG_FOLLOWER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace ctkit::watch {

/// Whole lines out of reads that may hold several records, or part of one
/// (a FIFO; /dev/kmsg gives one record per read). A line without an end
/// waits for the rest; more than 1 MiB without one is junk and dropped, so
/// memory stays bounded whatever the input.
class KmsgLineBuffer {
 public:
  static constexpr size_t kMaxPending = size_t{1} << 20;
  /// Appends `chunk`; returns the complete lines now available (each with
  /// its '\n'), or "" when none.
  std::string Append(std::string_view chunk);

 private:
  std::string pending_;
};

class KmsgFollower {
 public:
  struct Counts {
    /// "table full" lines by namespace: key 0 is the initial namespace
    /// (its line names none), else the inode the line names.
    std::map<uint64_t, uint64_t> table_full_by_netns;
    /// The N of "net_ratelimit: N callbacks suppressed", summed.
    uint64_t ratelimit_suppressed = 0;
  };

  /// Opens `path` (/dev/kmsg; a FIFO in tests) and follows it from its
  /// end (`from_start`: from its beginning, for a FIFO) on a thread.
  KmsgFollower(const std::string& path, bool from_start);
  ~KmsgFollower();
  KmsgFollower(const KmsgFollower&) = delete;
  KmsgFollower& operator=(const KmsgFollower&) = delete;

  /// Whether the log could be opened.
  bool ok() const { return fd_ >= 0; }
  /// Why not, when !ok().
  const std::string& error() const { return error_; }
  Counts counts() const;

 private:
  void Run();
  void Take(const std::string& text);

  int fd_ = -1;
  std::string error_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  Counts counts_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace ctkit::watch

#endif  // CTKIT_WATCH_KMSG_FOLLOWER_H_
