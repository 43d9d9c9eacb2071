// Statistics: the kernel's conntrack counters (as `conntrack -S` shows
// them, summed over CPUs) and ctkit's own per-replay counters.
#ifndef CTKIT_STATS_H_
#define CTKIT_STATS_H_

#include <cstdint>

#include "ctkit/verdict.h"

namespace ctkit {

/// The kernel's ip_conntrack_stat counters, with the kernel's increment
/// rules (spec §5.3): `found` only counts NAT taken-checks and `insert`
/// only ctnetlink inserts, so both stay 0 in a replay, as on a router.
/// 64-bit here; the kernel's per-CPU u32 counters wrap.
struct Stats {
  uint64_t found = 0;
  uint64_t invalid = 0;
  uint64_t insert = 0;
  uint64_t insert_failed = 0;
  uint64_t drop = 0;
  uint64_t early_drop = 0;
  uint64_t error = 0;
  uint64_t search_restart = 0;
  uint64_t clash_resolve = 0;
  uint64_t chaintoolong = 0;
};

/// Counters the kernel does not keep but a replay reports.
struct EngineCounters {
  uint64_t packets = 0;         ///< packets given to Process()
  uint64_t created = 0;         ///< entries confirmed into the table
  uint64_t destroyed = 0;       ///< entries removed (any cause)
  uint64_t expired = 0;         ///< of destroyed: reaped after expiry
  uint64_t killed = 0;          ///< of destroyed: TCP RST/reopen kills
  uint64_t gc_early_drops = 0;  ///< of destroyed: GC early-drop mode
  uint64_t gc_runs = 0;
  uint64_t table_full = 0;      ///< allocations refused (count > max)
  uint64_t log_lines = 0;       ///< "table full" lines the log would show
  uint64_t log_suppressed = 0;  ///< lines the rate limit suppressed
  uint64_t invalid_by_reason[kInvalidReasonCount] = {};  ///< by InvalidReason
  uint64_t verdicts[kVerdictCount] = {};                 ///< by Verdict
  /// Packets whose TCP/UDP checksum was a transmit-offload partial one
  /// (counted only while checksums are verified); tracked, not INVALID.
  uint64_t offload_checksums = 0;
  /// Packets that ran on worker threads (EngineOptions::threads > 1); the
  /// rest ran serially. Not a result: the same run gives the same verdicts,
  /// table and other counters with any thread count.
  uint64_t parallel_packets = 0;
};

}  // namespace ctkit

#endif  // CTKIT_STATS_H_
