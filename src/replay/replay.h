// Replay: run a capture through the engine and measure what a kernel with
// the same settings would have done: verdicts, drops, the table's fill level
// over time, and what the table held when it was fullest.
#ifndef CTKIT_REPLAY_REPLAY_H_
#define CTKIT_REPLAY_REPLAY_H_

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
#include "replay/zone_map.h"
#include "report/replay_report.h"

namespace ctkit {

/// Where a replay is, for a progress line.
struct ReplayProgress {
  uint64_t packets;  ///< packets read so far
  /// Share of the input read, in [0, 1]; negative when the total is
  /// unknown (standard input, a live capture).
  double fraction;
  bool done;  ///< the last update (fraction 1 if the total is known)
};

/// What a replay should collect beyond the summary.
struct ReplayOptions {
  Tunables tunables;
  /// A replay's report is the same for the same capture on every run (and
  /// kernel-replay, whatif and plan compare replays), so it asks for the
  /// fixed hash key; an engine's default key is random.
  EngineOptions engine = [] {
    EngineOptions o;
    o.hash_seed = kFixedHashSeed;
    return o;
  }();
  /// Timeline interval in ns (0: none). More than 10000 idle intervals in a
  /// row are collapsed into one row.
  uint64_t timeline_interval_ns = 0;
  /// Compute the table's composition at the peak (a census kept from the
  /// engine's events: table_census.h; the engine then runs its packets on
  /// one thread).
  bool composition = true;
  /// How many entries the "top" lists keep.
  size_t top_n = 10;
  /// Called for every packet, in order (1-based index).
  std::function<void(uint64_t index, const PacketOutcome&)> on_packet;
  /// Called for every event (requires engine events; see EngineOptions).
  EventCallback on_event;
  /// Called now and then with the progress, and once at the end with
  /// `done` set.
  std::function<void(const ReplayProgress&)> on_progress;
  /// Sample the curve (ReplayReport::curve) at least every 2048 packets
  /// rather than every 16384 on several threads, for the HTML report's
  /// charts. Smaller batches mean more hand-offs between the threads; on
  /// a 1.2M-packet capture that cost nothing measurable.
  bool fine_curve = false;
  /// Fingerprint the records read (ReplayReport::capture_sha256), for
  /// results `ctkit diff` may compare.
  bool digest = false;
  /// Which zone each packet is in (--zone-map); empty: all in the default
  /// zone. Replays sharing batches (RunReplays) use the first set's.
  ZoneMap zone_map;
};

/// Replays `path` ("-": standard input; gzip is read directly). Fails only
/// when the capture cannot be opened; a read error midway is reported in
/// ReplayReport::read_error. `engine_out`, if given, receives the engine
/// after the last packet (for dumps).
[[nodiscard]] Result<ReplayReport> RunReplay(
    const std::string& path, const ReplayOptions& opts,
    std::unique_ptr<Engine>* engine_out = nullptr);

/// Opens the input of a replay (a file, standard input, an interface).
using CaptureOpener = std::function<Result<std::unique_ptr<CaptureReader>>()>;

/// Replays what `open` gives (opened once); `name` is the report's
/// capture.
[[nodiscard]] Result<ReplayReport> RunReplay(
    const CaptureOpener& open, const std::string& name,
    const ReplayOptions& opts, std::unique_ptr<Engine>* engine_out = nullptr);

/// Replays one input under several sets of options at once: the input is
/// read and decoded once, into shared batches that every set's engine
/// tracks (up to `threads` of them at a time, one engine thread each)
/// before the next batch is read. The reports are the ones RunReplay gives
/// for each set, in order; memory is every set's table plus two batches.
/// The first set's on_progress reports the reading; a set's other
/// callbacks (on_packet, on_event) may run on any of the threads, never
/// two at once for one set. Sets with a timeline (one packet at a time)
/// are refused.
[[nodiscard]] Result<std::vector<ReplayReport>> RunReplays(
    const CaptureOpener& open, const std::string& name,
    const std::vector<ReplayOptions>& sets, unsigned threads);

/// The timeout `conntrack -L` would show right after the last packet: the
/// kernel's dump runs at least a jiffy later, so a just-refreshed entry
/// shows T-1.
uint32_t DumpTimeoutSeconds(const FlowInfo& f);

}  // namespace ctkit

#endif  // CTKIT_REPLAY_REPLAY_H_
