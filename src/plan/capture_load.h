// What a capture says about the table its traffic needs, per lifetime
// class, including the part a short capture cannot show directly.
//
// A capture shorter than the lifetime of the entries that fill the table
// (TIME_WAIT 120 s, a UDP stream 120 s, a SYN_SENT 120 s, ...) ends before
// any of them expires: its peak is still climbing. The steady state of the
// same traffic is, per class (Little's law), the rate at which entries come
// to rest in the class times the class's lifetime. Entries "come to rest"
// in a class when they stay in it until they leave the table: an entry that
// moves on (SYN_SENT answered, UNREPLIED replied, ESTABLISHED closed) does
// not count for the class it left.
#ifndef CTKIT_PLAN_CAPTURE_LOAD_H_
#define CTKIT_PLAN_CAPTURE_LOAD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ctkit/result.h"
#include "ctkit/tunables.h"
#include "report/lifetime.h"

namespace ctkit {

/// One lifetime class as the capture showed it.
struct ClassLoad {
  LifetimeKind kind = LifetimeKind::kGeneric;
  LifetimeInfo info{};
  /// Counts over the whole capture.
  uint64_t entered = 0;  ///< entries that entered the class
  uint64_t left = 0;     ///< ... then moved to another class, or were killed
  uint64_t ended = 0;    ///< ... then expired in it
  uint64_t at_end = 0;   ///< live in the class when the capture ended
  /// Of at_end (timer-bound classes): entries with a packet since they
  /// entered the class (a UDP
  /// stream still flowing), and entries idle since (a TIME_WAIT): only the
  /// idle ones have started their lifetime's countdown.
  uint64_t active_at_end = 0;
  uint64_t resting_at_end = 0;
  /// By when they entered the class, in the capture's first or second
  /// half: entries that expired in it, and entries idle in it at the end.
  double expired_by_half[2] = {0, 0};
  uint64_t idle_by_half[2] = {0, 0};
  /// For connection-bound classes: live at the end, entered in the second
  /// half.
  uint64_t at_end_late = 0;
  /// Filled by EstimateSteadyState.
  double rest_rate = 0;  ///< entries per second coming to rest in the class
  double steady = 0;     ///< entries of this class in the steady state
  bool shorter_than_lifetime = false;  ///< capture < lifetime
  /// Connection-bound (ESTABLISHED): connections opened in the second half
  /// were still open at the end and nothing says when they close.
  bool cannot_answer = false;
  double unresolved = 0;  ///< those connections (weighted)
};

struct CaptureLoad {
  std::string capture;
  uint64_t packets = 0;
  double duration_s = 0;
  /// The largest count replaying with no limit.
  uint64_t peak = 0;
  /// The replay ran out of entries (more than the engine's 4194304 with no
  /// limit): peak and estimates are lower bounds.
  bool pool_exhausted = false;
  /// New entries in the capture's first and second half. When one half has
  /// less than half the other's, the traffic was not steady and the
  /// estimate takes the busier half.
  uint64_t new_entries[2] = {0, 0};
  bool steady_traffic = true;
  /// Classes with any entry, in LifetimeKind order.
  std::vector<ClassLoad> classes;
  /// The kernel GC's interval in the steady state, seconds: expired
  /// entries count until it reaps them.
  double gc_lag_s = 60;
  double steady_total = 0;     ///< sum of the classes' steady states
  bool cannot_answer = false;  ///< some class cannot be answered
};

/// Replays `capture` with no limit (the other settings from `t`; a hash of
/// at least 262144 buckets, so chain limits do not cut the demand short)
/// and an event listener that follows every entry from class to class,
/// then estimates. Fails when the capture cannot be read (naming it).
[[nodiscard]] Result<CaptureLoad> MeasureCapture(const std::string& capture,
                                                 const Tunables& t);

/// From the counts. For each timer-bound class, the rate at which entries
/// come to rest in it is the busier half's rested / (duration / 2), where
/// an entry idle in the class at the end counts (1 - f) times, f being the
/// share of the class's known fates that were moves to another class or
/// kills (so an entry caught mid-way, like a SYN_SENT just before its
/// SYN-ACK, counts only as often as the class keeps its entries). Then
///   steady = active_at_end + max(resting_at_end, rate x (lifetime + lag)),
/// the lag being the GC's interval from the entries' mean remaining
/// lifetime (spec §3.3): an expired entry counts until the GC reaps it.
/// A class whose lifetime the capture spans, and a connection-bound class:
/// steady = at_end; the latter flagged cannot_answer when the
/// connections opened in the second half and still open (weighted by
/// 1 - f) are at least 5 % of the total.
void EstimateSteadyState(CaptureLoad* load);

}  // namespace ctkit

#endif  // CTKIT_PLAN_CAPTURE_LOAD_H_
