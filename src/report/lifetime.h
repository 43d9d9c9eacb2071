// Lifetime classes: what decides how long an entry stays in the table, and
// whether a capture ran long enough to show the table's steady state.
//
// An entry's lifetime is set by its protocol and state: a TCP entry in
// TIME_WAIT lives nf_conntrack_tcp_timeout_time_wait after its last packet,
// a UDP stream nf_conntrack_udp_timeout_stream, and so on. A capture shorter
// than the lifetime of the class that fills its table ends before any entry
// of that class expires, so the table it shows is still filling: the same
// traffic run longer holds more.
#ifndef CTKIT_REPORT_LIFETIME_H_
#define CTKIT_REPORT_LIFETIME_H_

#include <cstdint>
#include <string>

#include "ctkit/engine.h"
#include "ctkit/tunables.h"
#include "proto/timeout_class.h"

namespace ctkit {

/// The lifetime classes, by the timeout that ends an entry's life: the
/// timeout classes of proto/timeout_class.h, the one home of that mapping.
using LifetimeKind = TimeoutClass;
inline constexpr int kLifetimeKindCount = kTimeoutClassCount;

/// What one class's lifetime is under a set of tunables.
struct LifetimeInfo {
  const char* name;  ///< "tcp TIME_WAIT", "udp stream (ASSURED)", ...
  /// The sysctl without the net.netfilter.nf_conntrack_ prefix, e.g.
  /// "tcp_timeout_time_wait"; "" for SYN_SENT2 (fixed at 120 s).
  const char* sysctl;
  uint32_t seconds;
  /// ESTABLISHED: an entry lives as long as its connection stays open; the
  /// timeout (5 days) only ends connections that vanished without a close.
  /// Every other class ends on its timer after the last packet.
  bool connection_bound;
};

/// The class of an entry of ctkit's engine: TimeoutClassOf with ctkit's
/// trackers (GRE is generic).
LifetimeKind LifetimeKindOf(const FlowInfo& f);

LifetimeInfo DescribeLifetime(LifetimeKind c, const Tunables& t);

/// "net.netfilter.nf_conntrack_tcp_timeout_time_wait = 120 s", or
/// "120 s (fixed)" for a class without a sysctl.
std::string LifetimeSetting(const LifetimeInfo& info);

}  // namespace ctkit

#endif  // CTKIT_REPORT_LIFETIME_H_
