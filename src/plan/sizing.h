// Capacity planning: how big the conntrack table should be for a memory
// budget and a traffic load, what that costs at this kernel's entry size,
// and how the kernel's and kube-proxy's own sizing compare.
#ifndef CTKIT_PLAN_SIZING_H_
#define CTKIT_PLAN_SIZING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/kernel_sizing.h"
#include "ctkit/result.h"
#include "ctkit/tunables.h"
#include "plan/capture_load.h"
#include "plan/safety.h"
#include "report/json_doc.h"

namespace ctkit {

/// kube-proxy's defaults: max = max(32768 x cpus, 131072)
/// (conntrack.maxPerCore, conntrack.min); it raises the hash size to max/4
/// when the current one (`current_buckets`) is smaller.
TableSize KubeProxySizing(uint64_t cpus, uint64_t current_buckets);

/// New-flow shares by class; they sum to 1.
struct TrafficMix {
  double tcp = 1.0;
  double udp = 0.0;
  double icmp = 0.0;
};

/// Parses "tcp=70,udp=25,icmp=5" (percentages or fractions; scaled to sum
/// to 1). Errors name the bad part: unknown class, not a number, negative,
/// a class given twice, all zero.
[[nodiscard]] Result<TrafficMix> ParseMix(std::string_view text);

/// What the operator told us.
struct PlanInput {
  uint64_t budget_bytes = 0;  ///< REQUIRES: > 0
  uint64_t cpus = 1;          ///< for kube-proxy's formula
  uint64_t ram_bytes = 0;     ///< host RAM, for the kernel's default sizing
  /// Expected new flows per second (the model is used only when set).
  std::optional<double> rate;
  TrafficMix mix;
  /// Mean TCP session length before the close, seconds (0: short sessions).
  double tcp_session_s = 0;
  /// Peak entries measured by replaying a capture (with no limit).
  std::optional<uint64_t> measured_peak;
  std::string capture;  ///< where measured_peak came from
  /// The capture's load per lifetime class (MeasureCapture): its steady
  /// state counts as well as the peak, so a capture shorter than the
  /// lifetimes that bound its table does not understate it.
  std::optional<CaptureLoad> load;
  /// Timeouts are never suggested below these.
  std::vector<TimeoutFloor> floors = DefaultTimeoutFloors();
  /// Timeouts and the settings that add extensions (acct, timestamp,
  /// events=1).
  Tunables tunables;
  /// Entries carry the extension block anyway (e.g. conntrackd listens).
  bool extensions = false;
  /// Spare capacity on top of the expected entries (1.5: 50 % more).
  double headroom = 1.5;
};

/// One traffic class of the model.
struct LoadClass {
  std::string name;  ///< "tcp", "udp", "icmp"
  double share = 0;  ///< of new flows
  double rate = 0;   ///< new flows per second
  double lifetime_s = 0;
  std::string lifetime_from;  ///< e.g. "TIME_WAIT 120 s"
  double concurrent = 0;      ///< rate x lifetime
};

/// One row of the comparison.
struct SizingRow {
  std::string name;
  TableSize size;
  uint64_t memory_when_full = 0;
  bool fits_budget = false;
  std::optional<bool> holds_load;  ///< unset without a load
};

/// A timeout to shorten so the load fits.
struct TimeoutChange {
  std::string sysctl;  ///< full name
  uint32_t from = 0;
  uint32_t to = 0;
};

struct PlanResult {
  PlanInput input;
  bool extensions = false;
  uint64_t entry_bytes = 0;                   ///< per entry, extension included
  std::vector<LoadClass> classes;             ///< when input.rate
  std::optional<double> modelled_concurrent;  ///< when input.rate
  /// Entries to provide for: max(model, measured peak, the capture's
  /// steady state) x headroom.
  std::optional<uint64_t> needed_entries;
  /// The capture cannot answer for some class (see ClassLoad): the needed
  /// entries are a lower bound.
  bool lower_bound = false;
  /// The largest max (a multiple of 512, buckets 1:1) the budget holds.
  uint64_t budget_max = 0;
  TableSize kernel_default;
  TableSize recommended;
  /// Why this recommendation (one sentence).
  std::string reason;
  /// The load fits the budget (true when there is no load).
  bool fits = true;
  /// When !fits: the memory the load needs at the current timeouts.
  uint64_t memory_needed = 0;
  /// When !fits and the model is known: the timeouts that would make it
  /// fit, if any do within the floors (PlanInput::floors).
  std::vector<TimeoutChange> timeout_changes;
  bool timeouts_can_fit = false;
  std::vector<SizingRow> compare;
};

/// The smallest table a plan recommends: 512 entries and 512 buckets (the
/// kernel rounds buckets up to a multiple of 512; plans keep max:buckets
/// 1:1), and its kernel memory.
inline constexpr uint64_t kSmallestTable = 512;
uint64_t SmallestBudget(bool extensions);

/// Computes the plan. Errors (invalid_argument): budget 0, a budget below
/// SmallestBudget (naming it: a plan never says nf_conntrack_max = 0 or
/// buckets = 0, which would mean no limit), a rate that is not positive and
/// finite, headroom < 1.
[[nodiscard]] Result<PlanResult> MakePlan(const PlanInput& in);

}  // namespace ctkit

#endif  // CTKIT_PLAN_SIZING_H_
