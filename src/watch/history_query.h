// What the flight recorder answers: "what happened at 03:12?".
//
// The samples of a time range (history_file.h) are folded one at a time
// into a few answers per namespace, so a week of samples costs no more
// memory than a minute:
// - when the table crossed 90 % and 100 % of nf_conntrack_max and when it
//   came back under, as intervals ("full from 03:12:10 to 03:19:40"). A
//   sample counts as full when the count had reached the limit or when the
//   kernel's `drop` counter rose since the sample before: a drop happens
//   only in a full table, so a burst shorter than the interval still shows;
// - drops: the deltas of the kernel's `drop`, `insert_failed` and
//   `early_drop` counters between samples (a counter that went down was
//   reset, by a reboot or the kernel's per-CPU 32-bit wrap: the new value
//   is the delta), their totals, the first, and the peak rate per second;
// - what held the table: the table scan nearest the peak (its states,
//   timeout classes, sources, destinations and ports);
// - the settings in force at the start, and every change within the range;
// - the gaps: stretches with no samples (the recorder was not running),
//   which also end an interval, since nobody knows what happened in them.
// Times are wall-clock seconds; they are shown in local time (the TZ
// environment variable), and TIME arguments are read in local time unless
// they end in "Z".
#ifndef CTKIT_WATCH_HISTORY_QUERY_H_
#define CTKIT_WATCH_HISTORY_QUERY_H_

#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ctkit/result.h"
#include "watch/history_file.h"

namespace ctkit::watch {

/// What to answer about.
struct HistoryQuery {
  double from = -std::numeric_limits<double>::infinity();
  double to = std::numeric_limits<double>::infinity();
  std::string netns;  ///< "" every namespace
};

/// A stretch of samples at or over a threshold.
struct ThresholdInterval {
  double start = 0;  ///< the first sample at or over
  double end = 0;    ///< the last sample at or over
  /// The next sample, back under (nullopt: still over at the last sample,
  /// or a gap followed).
  std::optional<double> back_under;
  /// Over already at the range's first sample (it began earlier).
  bool from_before = false;
  uint64_t peak = 0;   ///< the highest count in it
  uint64_t drops = 0;  ///< the `drop` counter's rise during it
};

struct SettingChange {
  double at = 0;  ///< the first sample with the new value
  std::string name;
  std::optional<uint64_t> before, after;  ///< nullopt: not read
};

struct HistoryGap {
  double from = 0, to = 0;  ///< the samples either side
};

/// One counter's rises over the range.
struct CounterRises {
  uint64_t total = 0;
  std::optional<double> first;  ///< the first sample that saw it rise
  double peak_rate = 0;         ///< per second, between two samples
  double peak_rate_at = 0;      ///< the later of those samples
};

struct NamespaceHistory {
  std::string netns;
  uint64_t samples = 0;
  double first_s = 0, last_s = 0;
  std::optional<uint64_t> first_count, last_count;
  uint64_t peak_count = 0;
  double peak_s = 0;
  std::optional<uint64_t> max_at_peak;
  /// At or over 90 % and at 100 % of the limit; the first kMaxIntervals of
  /// each, and how many there were in all.
  std::vector<ThresholdInterval> high, full;
  uint64_t high_total = 0, full_total = 0;
  double seconds_high = 0, seconds_full = 0;  ///< sample spacing summed
  CounterRises drop, insert_failed, early_drop;
  uint64_t counter_resets = 0;
  /// The scan nearest the peak, if any sample carried one.
  std::optional<HistoryScan> at_peak;
  /// nf_conntrack_max, _buckets and the other sysctls at the first and
  /// last sample, and the changes in between (the first kMaxChanges).
  std::map<std::string, uint64_t> settings_first, settings_last;
  std::vector<SettingChange> changes;
  uint64_t changes_total = 0;
  std::vector<HistoryGap> gaps;
  uint64_t gaps_total = 0;

  static constexpr size_t kMaxIntervals = 50;
  static constexpr size_t kMaxChanges = 100;
  static constexpr size_t kMaxGaps = 50;
};

struct HistoryAnswer {
  std::string path;
  HistoryQuery query;
  HistoryReadReport read;
  uint64_t samples_in_file = 0;  ///< of every namespace and time
  std::optional<double> file_first_s, file_last_s;
  std::vector<NamespaceHistory> namespaces;  ///< by label
  /// Samples of namespaces beyond the first kMaxNamespaces, not answered.
  uint64_t samples_left_out = 0;
  static constexpr size_t kMaxNamespaces = 64;
};

/// Folds samples (oldest first) into the answers; memory is bounded by
/// the caps above, whatever the number of samples.
class HistoryAnalyzer {
 public:
  /// `interval_s`: the recording interval, to tell a gap (more than three
  /// intervals without a sample) from the usual spacing.
  HistoryAnalyzer(HistoryQuery query, double interval_s);
  ~HistoryAnalyzer();
  HistoryAnalyzer(const HistoryAnalyzer&) = delete;
  HistoryAnalyzer& operator=(const HistoryAnalyzer&) = delete;

  void Add(const HistorySample& s);
  /// The answers; the analyzer is spent.
  HistoryAnswer Finish();

 private:
  struct State;
  HistoryQuery query_;
  double interval_s_;
  HistoryAnswer answer_;
  std::map<std::string, State*> states_;
};

/// Reads `path` and answers `query`. Fails as ReadHistory fails.
[[nodiscard]] Result<HistoryAnswer> QueryHistory(const std::string& path,
                                                 const HistoryQuery& query);

/// The answers for a person (times in local time).
std::string RenderHistory(const HistoryAnswer& a);
/// The same as JSON (times as unix seconds).
nlohmann::json HistoryToJson(const HistoryAnswer& a);

/// What doctor says about the history: one line per namespace, e.g. "the
/// table was full from 2026-12-03 03:12:10 to 03:19:40 (7 min 30 s, 1234
/// packets dropped)" or "the table never reached 90 % of its limit between
/// ... and ...". Empty when the range held no samples.
std::vector<std::string> HistoryFindingLines(const HistoryAnswer& a);
std::string HistoryFindingText(const HistoryAnswer& a);

/// A TIME argument: unix seconds ("1764731520"), "2026-12-03 03:12[:05]"
/// (or with a T), "2026-12-03", or "03:12[:05]" (today, or yesterday when
/// that is still to come), in local time unless it ends in "Z" (UTC).
[[nodiscard]] Result<double> ParseHistoryTime(const std::string& text,
                                              double now_unix_s);
/// "2026-12-03 03:12:10" in local time.
std::string FormatLocalTime(double unix_s);
/// "7 min 30 s", "2 h 5 min", "40 s".
std::string FormatSpan(double seconds);

}  // namespace ctkit::watch

#endif  // CTKIT_WATCH_HISTORY_QUERY_H_
