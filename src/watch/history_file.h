// The flight recorder's file: a bounded on-disk ring of samples, so that
// after an incident `ctkit history` can say what the table did at 03:12.
//
// A sample is what the exporter already reads every scrape (count, limit,
// buckets, the kernel's ten statistics, the nf_conntrack_* sysctls in
// force) plus the top five of the last table scan (states, timeout
// classes, sources, destinations, ports), for one namespace at one time.
//
// The file is a header and a fixed number of fixed-size slots, created at
// its full size once, so it never grows: retention / interval slots (7 days
// at 10 s: 60480 slots of 1 KiB, 59 MiB). Sample number N (its sequence,
// from 1) goes to slot (N - 1) mod slots, overwriting the oldest. Each
// slot carries its sequence, its length and a CRC-32 over both and the
// payload, and is written with one pwrite followed by fdatasync. That is
// the whole crash-safety argument: a crash can tear at most the slot being
// written, the CRC finds it, and the reader orders the good slots by
// sequence, so there is no index or "newest" pointer that a crash could
// leave disagreeing with the slots. The header is written once, into a
// temporary file that is renamed into place, so a file either exists with
// its header or does not.
//
// Reading streams the slots through a window of a few hundred KiB, twice
// (once to find the newest sequence, once to hand the samples out oldest
// first): memory does not depend on the file's size. A slot that fails its
// CRC, or holds a sequence that does not belong there, is reported with
// its byte offset and skipped; a file cut short is reported where it ends,
// and its whole slots are still read. docs/flight-recorder.md has the
// byte layout.
#ifndef CTKIT_WATCH_HISTORY_FILE_H_
#define CTKIT_WATCH_HISTORY_FILE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ctkit/result.h"
#include "ctkit/stats.h"
#include "host/host_data.h"
#include "watch/table_scan.h"

namespace ctkit::watch {

/// Bytes per slot: the file is kHistorySlotSize * (slots + 1) bytes.
inline constexpr uint32_t kHistorySlotSize = 1024;
/// Entries kept of each ranking of a scan (states, classes, sources, ...).
inline constexpr size_t kHistoryTopK = 5;
/// The defaults: 7 days at 10 s.
inline constexpr double kHistoryDefaultIntervalS = 10;
inline constexpr double kHistoryDefaultRetentionS = 7 * 86400;
/// The shortest interval (tests) and the most slots a file may have.
inline constexpr double kHistoryMinIntervalS = 0.1;
inline constexpr uint64_t kHistoryMaxSlots = uint64_t{1} << 22;

/// One ranked key of a stored scan: a state ("tcp" "ESTABLISHED"), a
/// timeout class ("" "nf_conntrack_tcp_timeout_established"), a source or
/// destination ("" "10.0.0.1"), a port ("tcp" "443").
struct HistoryRanked {
  std::string protocol;
  std::string key;
  uint64_t entries = 0;
  bool operator==(const HistoryRanked&) const = default;
};

/// The top of one table scan, as a sample keeps it.
struct HistoryScan {
  double finished_unix = 0;
  bool complete = false;
  uint64_t total = 0, assured = 0, unreplied = 0;
  std::vector<HistoryRanked> states, classes, sources, destinations, ports;
  bool operator==(const HistoryScan&) const = default;
};

/// One namespace at one time.
struct HistorySample {
  double unix_s = 0;  ///< wall-clock time of the reading
  std::string netns;  ///< the exporter's netns label
  std::optional<uint64_t> count, max, buckets;
  std::optional<Stats> stats;
  /// Every numeric nf_conntrack_* sysctl read but the count, the max and
  /// the buckets (those are above), by short name.
  std::map<std::string, uint64_t> settings;
  std::optional<HistoryScan> scan;  ///< the last scan's top, if any
};

/// A sample of what the exporter read: `data` from CollectCounters and the
/// namespace's last table scan (nullptr or a failed scan: none).
HistorySample SampleOf(double unix_s, const std::string& netns,
                       const HostData& data, const TableScan* scan);

/// Encodes `s` into at most `capacity` bytes; when the whole does not fit
/// (long IPv6 rankings, many unknown sysctls) the rankings are shortened
/// until it does. Exposed for tests.
[[nodiscard]] Result<std::string> EncodeSample(const HistorySample& s,
                                               size_t capacity);
[[nodiscard]] Result<HistorySample> DecodeSample(const std::string& payload);

/// The file's shape, fixed when it is created.
struct HistoryGeometry {
  uint32_t slot_size = kHistorySlotSize;
  uint32_t slot_count = 0;
  uint32_t interval_ms = 0;  ///< the recording interval
  int64_t created_unix_ns = 0;

  uint64_t file_size() const {
    return uint64_t{slot_size} * (uint64_t{slot_count} + 1);
  }
};

/// Slots for `retention_s` at `interval_s` (at least 2), or an error naming
/// the flags when they are out of range.
[[nodiscard]] Result<HistoryGeometry> GeometryFor(double interval_s,
                                                  double retention_s);

/// A slot (or the file's end) the reader could not use.
struct HistoryProblem {
  uint64_t offset = 0;  ///< byte offset in the file
  std::string what;
};

/// What a read found besides the samples.
struct HistoryReadReport {
  HistoryGeometry geometry;
  uint64_t samples = 0;      ///< good slots handed out
  uint64_t empty_slots = 0;  ///< never written
  uint64_t bad_slots = 0;    ///< torn, corrupt or misplaced (all of them)
  /// The first problems (at most kMaxProblems), by offset.
  std::vector<HistoryProblem> problems;
  /// Where the file ends when it is shorter than its geometry.
  std::optional<uint64_t> truncated_at;
  uint64_t oldest_sequence = 0, newest_sequence = 0;

  static constexpr size_t kMaxProblems = 20;
  bool clean() const { return bad_slots == 0 && !truncated_at; }
};

/// Reads `path`'s good slots oldest first into `visit`. Fails only when
/// the file cannot be opened or read or its header is not a history
/// file's (the error names the file and the field); torn slots and a
/// truncated file are in the report. `on_geometry`, when given, is called
/// with the header's geometry before the first sample.
[[nodiscard]] Result<HistoryReadReport> ReadHistory(
    const std::string& path,
    const std::function<void(const HistorySample&)>& visit,
    const std::function<void(const HistoryGeometry&)>& on_geometry = {});

/// Appends samples to a history file; one writer per file (flock).
class HistoryWriter {
 public:
  /// Opens `path`, creating it with `geometry` when it does not exist. An
  /// existing file must have the same slot size, slot count and interval
  /// (an error naming the file and the field otherwise: an operator's
  /// history is never cut to fit), and must not be truncated.
  [[nodiscard]] static Result<std::unique_ptr<HistoryWriter>> Open(
      const std::string& path, const HistoryGeometry& geometry);
  ~HistoryWriter();
  HistoryWriter(const HistoryWriter&) = delete;
  HistoryWriter& operator=(const HistoryWriter&) = delete;

  /// Writes `s` over the oldest slot and waits for it to reach the disk.
  [[nodiscard]] Result<void> Append(const HistorySample& s);

  uint64_t next_sequence() const { return next_sequence_; }
  const HistoryGeometry& geometry() const { return geometry_; }
  const std::string& path() const { return path_; }

 private:
  HistoryWriter(std::string path, int fd, HistoryGeometry geometry,
                uint64_t next_sequence);

  std::string path_;
  int fd_ = -1;
  HistoryGeometry geometry_;
  uint64_t next_sequence_ = 1;
  std::string slot_;  ///< one slot's bytes, reused
};

}  // namespace ctkit::watch

#endif  // CTKIT_WATCH_HISTORY_FILE_H_
