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

namespace ctkit {

/// The lifetime classes, by the timeout that ends an entry's life.
enum class LifetimeKind : uint8_t {
  kTcpSynSent,
  kTcpSynRecv,
  kTcpEstablished,
  /// ESTABLISHED before ASSURED: a mid-stream pickup no reply has answered
  /// yet, capped at nf_conntrack_tcp_timeout_unacknowledged (spec §6.6).
  kTcpEstablishedUnassured,
  kTcpFinWait,
  kTcpCloseWait,
  kTcpLastAck,
  kTcpTimeWait,
  kTcpClose,
  kTcpSynSent2,
  kUdpUnreplied,
  kUdpReplied,
  kUdpStream,
  kIcmp,
  kIcmpv6,
  kGeneric,
};
inline constexpr int kLifetimeKindCount = 16;

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

/// The class of an entry (UDP-Lite counts as UDP; SCTP, GRE and other
/// protocols tracked as generic as generic). This is the one place that
/// says which timeout governs an entry; the replay's diagnosis, its
/// capture-too-short warnings and `plan --capture` all ask it.
LifetimeKind LifetimeKindOf(const FlowInfo& f);

LifetimeInfo DescribeLifetime(LifetimeKind c, const Tunables& t);

/// "net.netfilter.nf_conntrack_tcp_timeout_time_wait = 120 s", or
/// "120 s (fixed)" for a class without a sysctl.
std::string LifetimeSetting(const LifetimeInfo& info);

}  // namespace ctkit

#endif  // CTKIT_REPORT_LIFETIME_H_
