// ReplayReport: what a replay of a capture found (verdicts, drops, the
// table's fill level over time, what the table held when it was fullest),
// as the replay driver (replay/replay.h) and kernel-replay fill it in and
// the formats here (replay_output.h, summary_parts.h) print it.
#ifndef CTKIT_REPORT_REPLAY_REPORT_H_
#define CTKIT_REPORT_REPLAY_REPORT_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/kernel_sizing.h"
#include "ctkit/decode.h"
#include "ctkit/defrag.h"
#include "ctkit/engine.h"
#include "ctkit/result.h"
#include "report/lifetime.h"
#include "report/table_composition.h"

namespace ctkit {

/// A packet's outcome: a Verdict, or SKIP with the decode status.
struct PacketOutcome {
  bool skipped;
  Verdict verdict;      ///< when !skipped
  DecodeStatus reason;  ///< when skipped
};

/// One row of the fill-level timeline.
struct TimelineRow {
  uint64_t t_ns;  ///< end of the interval
  uint32_t count;
  uint64_t created;
  uint64_t destroyed;
  uint64_t early_drop;
  uint64_t drop;
};

/// One point of the table's curve through a replay, for the charts of the
/// HTML report: the count and the engine's running totals after a batch of
/// packets (at most 32 packets apart on one engine thread).
struct CurvePoint {
  uint64_t t_ns = 0;  ///< the batch's last packet
  uint32_t count = 0;
  uint64_t created = 0;
  uint64_t destroyed = 0;
  uint64_t early_drop = 0;
  uint64_t drop = 0;
  /// Live entries by lifetime class (LifetimeKind order); all zero when
  /// the replay kept no census (ReplayOptions::composition off).
  std::array<uint32_t, kLifetimeKindCount> by_class{};
};

/// A lifetime class that held a large share of the table when the capture
/// ended, lives longer than the capture ran, while the table was still
/// growing: the table shown is not the steady state of this traffic.
struct ShortCaptureWarning {
  LifetimeKind klass{};
  uint64_t entries = 0;  ///< of the class, live at the end
  double share = 0;      ///< of the live entries at the end, 0..1
  std::string message;   ///< one sentence for the operator
};

/// One zone's share of a replay (with --zone-map).
struct ZoneCounts {
  Zone zone{};
  uint64_t packets = 0;  ///< packets the map put in the zone
  uint64_t dropped = 0;  ///< of them, dropped (table full, chain too long)
  uint64_t invalid = 0;  ///< of them, INVALID
  uint64_t entries_at_end = 0;  ///< live entries of the zone at the end
};

struct ReplayReport {
  std::string capture;
  uint64_t packets_read = 0;
  uint64_t decoded = 0;
  uint64_t skipped_by_reason[static_cast<int>(DecodeStatus::kCount)] = {};
  uint64_t first_ts_ns = 0;
  uint64_t last_ts_ns = 0;

  Stats stats;
  EngineCounters counters;
  uint32_t max = 0;
  uint32_t buckets = 0;
  uint32_t final_count = 0;
  uint32_t peak_count = 0;
  uint64_t peak_ts_ns = 0;
  uint64_t peak_index = 0;  ///< packet after which the peak was first reached
  double seconds_at_90 = 0;
  double seconds_at_100 = 0;
  /// The first packet dropped because the table was full (the kernel's
  /// `drop`; counters.table_full counts them).
  std::optional<uint64_t> first_drop_ts_ns;
  std::optional<uint64_t> first_drop_index;
  /// The first packet dropped because its hash chain was too long (the
  /// kernel's `chaintoolong`; the table need not be anywhere near full).
  std::optional<uint64_t> first_chain_drop_ts_ns;
  std::optional<uint64_t> first_chain_drop_index;
  std::optional<TableComposition> at_peak;
  uint64_t kernel_memory_bytes = 0;  ///< estimate for the peak table
  std::vector<TimelineRow> timeline;
  /// The table through the capture, at most kMaxCurvePoints points, oldest
  /// first, spread over the whole capture (replay/replay.cc says how).
  std::vector<CurvePoint> curve;
  static constexpr size_t kMaxCurvePoints = 512;
  size_t table_memory_bytes = 0;  ///< ctkit's own table
  /// Live entries by lifetime class after the last packet (LifetimeKind
  /// order), and the count when half the capture's time had passed.
  uint64_t at_end_by_class[kLifetimeKindCount] = {};
  uint32_t count_at_middle = 0;
  /// Lifetime classes the capture is too short for (see ShortCaptureWarning).
  std::vector<ShortCaptureWarning> warnings;
  /// Set when the capture ended in an error; the report covers the
  /// packets before it.
  std::optional<Error> read_error;
  /// With ReplayOptions::digest: CaptureDigest of the records read
  /// (report/capture_digest.h); else empty.
  std::string capture_sha256;
  /// Live captures: packets the kernel dropped before the reader saw them.
  std::optional<uint64_t> capture_dropped;
  /// With a zone map: each zone the map can give (the default zone first).
  std::vector<ZoneCounts> zones;
  /// Reassembly before tracking (ctkit/defrag.h): what became of the
  /// fragments, and the budget (both families' high thresholds). Engine
  /// only; kernel-replay leaves it empty.
  DefragCounters defrag;
  uint64_t defrag_budget_bytes = 0;
};
}  // namespace ctkit

#endif  // CTKIT_REPORT_REPLAY_REPORT_H_
