// Safety floors: the shortest timeouts ctkit will recommend, and the
// largest entries-per-bucket ratio, each with the reason for its value.
// `ctkit whatif` never marks a variant below them, and `ctkit plan` never
// suggests a timeout below them: a shorter timeout frees entries sooner,
// but each of these ends connections that are still in use.
#ifndef CTKIT_PLAN_SAFETY_H_
#define CTKIT_PLAN_SAFETY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ctkit/result.h"
#include "ctkit/tunables.h"

namespace ctkit {

/// The shortest value a timeout sysctl may be given.
struct TimeoutFloor {
  std::string
      sysctl;  ///< short name, e.g. "nf_conntrack_tcp_timeout_time_wait"
  uint32_t seconds = 0;
  std::string reason;  ///< why this value
};

/// The defaults (see safety.cc for each reason): tcp_timeout_established
/// 7200 s, tcp_timeout_time_wait 60 s, udp_timeout 10 s,
/// udp_timeout_stream 120 s, icmp_timeout and icmpv6_timeout 10 s.
std::vector<TimeoutFloor> DefaultTimeoutFloors();

/// Parses "NAME=SECONDS" (NAME in any form Tunables::Set accepts, and a
/// timeout: its name contains "timeout"). Errors name the text.
[[nodiscard]] Result<TimeoutFloor> ParseTimeoutFloor(std::string_view text);

/// Replaces the floor for the same sysctl in `floors`, or adds it.
void SetTimeoutFloor(std::vector<TimeoutFloor>* floors, TimeoutFloor f);

/// The floor for `sysctl` (short name), 0 if none.
uint32_t FloorFor(const std::vector<TimeoutFloor>& floors,
                  std::string_view sysctl);

/// The largest nf_conntrack_max per bucket ctkit calls safe: 8, the
/// kernel's own ratio when nf_conntrack.hashsize= is given at boot (16
/// nodes per chain when full, far below the 52..81-node chain limit).
inline constexpr uint32_t kMaxEntriesPerBucket = 8;

/// Why `t` is not safe to recommend, one phrase each ("tcp_timeout_time_wait
/// 30 s is below its floor of 60 s", "nf_conntrack_max 65536 is more than
/// 8 x the 1024 buckets", "nf_conntrack_max 0: no limit"); empty when safe.
std::vector<std::string> SafetyProblems(
    const Tunables& t, const std::vector<TimeoutFloor>& floors);

}  // namespace ctkit

#endif  // CTKIT_PLAN_SAFETY_H_
