// What-if sweeps: replay one capture under many settings and compare what
// the kernel's table would have done under each (drops, peak, memory).
#ifndef CTKIT_PLAN_WHATIF_H_
#define CTKIT_PLAN_WHATIF_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctkit/engine.h"
#include "ctkit/result.h"
#include "ctkit/tunables.h"
#include "plan/safety.h"
#include "replay/replay.h"
#include "report/json_doc.h"

namespace ctkit {

/// One `--vary NAME=V1,V2,...`: a sysctl and the values to try, in order.
struct VaryAxis {
  std::string name;  ///< canonical short name, e.g. "nf_conntrack_max"
  std::vector<std::string> values;
};

/// How the sweep names a sysctl in its labels and columns:
/// "nf_conntrack_tcp_timeout_time_wait" -> "tcp_timeout_time_wait".
std::string AxisLabel(const std::string& name);

/// Parses "NAME=V1,V2,..." and checks every value against `base` with
/// Tunables::Set, so a bad name or value fails with Set's message (which
/// names the sysctl). Repeated values are kept once.
[[nodiscard]] Result<VaryAxis> ParseVary(std::string_view text,
                                         const Tunables& base);

/// The opt-in pf-style adaptive-timeout policy (NOT a Linux feature): start
/// and end fill levels in percent of nf_conntrack_max.
struct AdaptivePolicy {
  uint32_t start_percent = 0;
  uint32_t end_percent = 0;
};

/// Parses "START%,END%" (the '%' signs are optional). REQUIRES of the input:
/// START < END, END <= 1000.
[[nodiscard]] Result<AdaptivePolicy> ParseAdaptive(std::string_view text);

/// One set of settings to replay.
struct WhatifVariant {
  /// "baseline", "nf_conntrack_max=16384 nf_conntrack_udp_timeout=10", or
  /// "baseline + adaptive 60%..100% (not Linux)".
  std::string label;
  bool baseline = false;
  /// The value each axis takes here (axis order); for the baseline and the
  /// adaptive variant, the base settings' values.
  std::vector<std::pair<std::string, std::string>> settings;
  Tunables tunables;
  /// Set for the adaptive variant only: the engine's thresholds in entries.
  std::optional<AdaptivePolicy> adaptive;
  uint32_t adaptive_start_entries = 0;
  uint32_t adaptive_end_entries = 0;
};

/// The baseline first, then the cartesian product of the axes (first axis
/// varying slowest), then one variant per adaptive policy on the baseline's
/// settings. A product combination whose settings equal the baseline's is
/// the baseline itself and is not repeated. Fails when an adaptive policy
/// needs a limit (nf_conntrack_max = 0) or its thresholds collapse.
[[nodiscard]] Result<std::vector<WhatifVariant>> ExpandVariants(
    const Tunables& base, const std::vector<VaryAxis>& axes,
    const std::vector<AdaptivePolicy>& adaptive);

/// What one variant's replay showed.
struct WhatifRow {
  WhatifVariant variant;
  uint32_t max = 0;      ///< nf_conntrack_max (0: no limit)
  uint32_t buckets = 0;  ///< after the kernel's rounding
  /// Packets dropped because the table was full (the kernel's `drop` for
  /// this cause).
  uint64_t table_full_drops = 0;
  /// The first table-full drop, since the first packet.
  std::optional<uint64_t> first_drop_offset_ns;
  /// Packets dropped because their hash chain was too long (the kernel's
  /// `chaintoolong`): a hash too small for the entries, not a full table.
  uint64_t chain_drops = 0;
  uint32_t peak = 0;
  uint64_t peak_ts_ns = 0;  ///< when the peak was first reached
  double peak_percent = 0;  ///< of max; 0 when there is no limit
  uint64_t early_drops = 0;
  uint64_t invalid = 0;
  uint64_t kernel_memory_at_peak = 0;  ///< §10 estimate, bytes
  uint64_t kernel_memory_at_max = 0;   ///< if the table filled to max
  /// Why this variant may not be recommended (SafetyProblems, and "not a
  /// Linux setting" for the adaptive one); empty when it may.
  std::vector<std::string> unsafe;
  /// Memory saved at the peak against the baseline, 0..1 (negative: costs
  /// more).
  double saving = 0;
  /// The table through the capture (ReplayReport::curve), for charts.
  std::vector<CurvePoint> curve;
  /// No drop of either kind and no early drop: the table never had to
  /// refuse or evict anything.
  bool lossless() const {
    return table_full_drops == 0 && chain_drops == 0 && early_drops == 0;
  }
};

/// A lifetime class the capture is too short for (see ShortCaptureWarning),
/// from the first variant whose replay showed it.
struct WhatifWarning {
  std::string klass;
  size_t variant = 0;
  std::string message;
};

struct WhatifResult {
  std::string capture;
  uint64_t packets = 0;
  uint64_t duration_ns = 0;
  uint64_t first_ts_ns = 0;  ///< the first packet's time (rows' curves)
  std::vector<VaryAxis> axes;
  std::vector<WhatifRow> rows;  ///< in ExpandVariants' order
  /// The variant marked "cheapest": a safe, lossless Linux variant, the one
  /// with the least kernel memory at the peak (ties: the smaller memory at
  /// max, then the earlier row). Only when the baseline loses packets or
  /// entries, or, when it does not, only if it saves at least
  /// WhatifOptions::min_saving of the baseline's memory at the peak. Never
  /// the baseline.
  std::optional<size_t> cheapest_lossless;
  /// What to run: the marked variant; the baseline (0) when it is lossless
  /// and no variant saves enough; unset when nothing safe is lossless.
  std::optional<size_t> recommended;
  std::string recommendation;  ///< one sentence saying which and why
  double min_saving = 0.10;
  std::vector<TimeoutFloor> floors;
  std::vector<WhatifWarning> warnings;
  /// Set when the capture ended in a read error (rows cover the packets
  /// before it).
  std::optional<Error> read_error;
};

struct WhatifOptions {
  /// Threads tracking the variants (besides the one reading the capture);
  /// 0: one per core. Results do not depend on it.
  unsigned threads = 0;
  /// Each row's curve at least every 2048 packets (ReplayOptions::
  /// fine_curve), for the HTML report.
  bool fine_curve = false;
  /// Called now and then with the progress of the one reading of the
  /// capture that feeds every variant.
  std::function<void(const ReplayProgress&)> on_progress;
  /// A variant of a lossless baseline is marked only if it saves at least
  /// this share of the baseline's kernel memory at the peak.
  double min_saving = 0.10;
  /// No variant with a timeout below its floor is marked.
  std::vector<TimeoutFloor> floors = DefaultTimeoutFloors();
};

/// Marks the cheapest variant and sets the recommendation from the rows'
/// results (RunWhatif calls it; exposed for tests): fills each row's
/// `unsafe` and `saving`, then `cheapest_lossless`, `recommended` and
/// `recommendation` as documented on WhatifResult.
void Recommend(WhatifResult* r, double min_saving,
               const std::vector<TimeoutFloor>& floors);

/// Replays `capture` under every variant at once (RunReplays: one reading,
/// shared batches, each variant its own Engine, no composition census),
/// `opts.threads` engines at a time. Fails when the capture cannot be
/// opened or a variant's engine cannot be made.
[[nodiscard]] Result<WhatifResult> RunWhatif(
    const std::string& capture, const std::vector<VaryAxis>& axes,
    const std::vector<WhatifVariant>& variants, const WhatifOptions& opts);

}  // namespace ctkit

#endif  // CTKIT_PLAN_WHATIF_H_
