// Replay: run a capture through the engine and measure what a kernel with
// the same settings would have done: verdicts, drops, the table's fill level
// over time, and what the table held when it was fullest.
#ifndef CTKIT_REPORT_REPLAY_H_
#define CTKIT_REPORT_REPLAY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/kernel_sizing.h"
#include "ctkit/capture.h"
#include "ctkit/decode.h"
#include "ctkit/engine.h"
#include "ctkit/result.h"
#include "ctkit/tunables.h"
#include "report/lifetime.h"
#include "report/table_composition.h"

namespace ctkit {

/// A packet's outcome: a Verdict, or SKIP with the decode status.
struct PacketOutcome {
  bool skipped;
  Verdict verdict;      ///< when !skipped
  DecodeStatus reason;  ///< when skipped
};

/// Where a replay is, for a progress line.
struct ReplayProgress {
  enum class Pass : uint8_t {
    kReading,      ///< reading the capture through the engine
    kComposition,  ///< re-reading a file up to the peak for its composition
  };
  Pass pass;
  uint64_t packets;  ///< packets of this pass so far
  /// Share of the pass done, in [0, 1]; negative when the total is unknown
  /// (standard input, a live capture).
  double fraction;
  bool done;  ///< the pass's last update (fraction 1 if the total is known)
};

/// What a replay should collect beyond the summary.
struct ReplayOptions {
  Tunables tunables;
  EngineOptions engine;
  /// Timeline interval in ns (0: none). More than 10000 idle intervals in a
  /// row are collapsed into one row.
  uint64_t timeline_interval_ns = 0;
  /// Compute the table's composition at the peak (needs a second pass).
  bool composition = true;
  /// How many entries the "top" lists keep.
  size_t top_n = 10;
  /// Called for every packet, in order (1-based index).
  std::function<void(uint64_t index, const PacketOutcome&)> on_packet;
  /// Called for every event (requires engine events; see EngineOptions).
  EventCallback on_event;
  /// Called now and then with the progress of each pass, and once at the
  /// end of each with `done` set.
  std::function<void(const ReplayProgress&)> on_progress;
  /// For an input read only once: at most about this many bytes of packets
  /// past the peak are held to take the composition (see peak_follower.h).
  size_t follow_budget_bytes = 64u << 20;
  /// Fingerprint the records read (ReplayReport::capture_sha256), for
  /// results `ctkit diff` may compare.
  bool digest = false;
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

/// A lifetime class that held a large share of the table when the capture
/// ended, lives longer than the capture ran, while the table was still
/// growing: the table shown is not the steady state of this traffic.
struct ShortCaptureWarning {
  LifetimeKind klass{};
  uint64_t entries = 0;  ///< of the class, live at the end
  double share = 0;      ///< of the live entries at the end, 0..1
  std::string message;   ///< one sentence for the operator
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
};

/// Replays `path` ("-": standard input; gzip is read directly). Fails only
/// when the capture cannot be opened; a read error midway is reported in
/// ReplayReport::read_error. `engine_out`, if given, receives the engine
/// after the last packet (for dumps).
Result<ReplayReport> RunReplay(const std::string& path,
                               const ReplayOptions& opts,
                               std::unique_ptr<Engine>* engine_out = nullptr);

/// Opens the input of a replay (a file, standard input, an interface).
using CaptureOpener = std::function<Result<std::unique_ptr<CaptureReader>>()>;

/// Replays what `open` gives; `name` is the report's capture. When the
/// reader is reopenable() the composition at the peak comes from a second
/// pass over a fresh reader, else from a PeakFollower during the only one;
/// both give the same composition.
Result<ReplayReport> RunReplay(const CaptureOpener& open,
                               const std::string& name,
                               const ReplayOptions& opts,
                               std::unique_ptr<Engine>* engine_out = nullptr);

/// The timeout `conntrack -L` would show right after the last packet: the
/// kernel's dump runs at least a jiffy later, so a just-refreshed entry
/// shows T-1.
uint32_t DumpTimeoutSeconds(const FlowInfo& f);

}  // namespace ctkit

#endif  // CTKIT_REPORT_REPLAY_H_
