// The timeout class of an entry: which of the kernel's timeouts governs it
// now, and so which sysctl sets how long it stays after its last packet.
// This is the one place that says it; replay (its diagnosis and its
// capture-too-short warnings), `plan --capture` and doctor all ask here.
//
// The class follows what conntrack -L shows of an entry (protocol, state,
// ASSURED, UNREPLIED), as the trackers choose their timeouts from it
// (kernel-model §6.6, §7, §8, §9):
// - TCP by state; ESTABLISHED before ASSURED is a connection no reply has
//   confirmed yet (a mid-stream pickup), whose timeout is capped at
//   nf_conntrack_tcp_timeout_unacknowledged (§6.4 step 6). SYN_SENT2 has no
//   sysctl: the reply's SYN that enters it leaves the entry what it had
//   left of SYN_SENT's timeout, and any later packet re-arms it with a
//   fixed 120 s (§1.2; measured on 6.18), so no sysctl change reaches it.
//   The caps that conntrack -L cannot
//   show (unacknowledged data, retransmissions, a zero window: §6.6) are
//   not classes: such an entry is in its state's class with less time left.
// - UDP and UDP-Lite by whether a reply was seen and whether the flow became
//   a stream (ASSURED); ICMP and ICMPv6 by protocol.
// - SCTP by state (§9.2), in the kernel and in ctkit alike.
// - GRE by ASSURED (§9.1), in the kernel and in ctkit alike.
// - Every other protocol: generic.
// A TCP or SCTP state that names no class (NONE, which the kernel shows
// only before a first packet was handled; empty; unknown) is kUnknown: no
// sysctl can be said to govern it.
#ifndef CTKIT_PROTO_TIMEOUT_CLASS_H_
#define CTKIT_PROTO_TIMEOUT_CLASS_H_

#include <cstdint>
#include <string_view>

#include "ctkit/tunables.h"

namespace ctkit {

/// The timeout classes. The order is the reports' order.
enum class TimeoutClass : uint8_t {
  kTcpSynSent,
  kTcpSynRecv,
  kTcpEstablished,
  /// ESTABLISHED before ASSURED: capped at tcp_timeout_unacknowledged.
  kTcpEstablishedUnassured,
  kTcpFinWait,
  kTcpCloseWait,
  kTcpLastAck,
  kTcpTimeWait,
  kTcpClose,
  kTcpSynSent2,  ///< no sysctl: fixed 120 s
  kUdpUnreplied,
  kUdpReplied,
  kUdpStream,
  kIcmp,
  kIcmpv6,
  kGeneric,
  kSctpClosed,
  kSctpCookieWait,
  kSctpCookieEchoed,
  kSctpEstablished,
  kSctpShutdownSent,
  kSctpShutdownRecd,
  kSctpShutdownAckSent,
  kSctpHeartbeatSent,
  // Only in the kernel's table (ctkit tracks GRE as generic).
  kGre,
  kGreStream,
  kUnknown,  ///< a state that names no class: no sysctl
};
inline constexpr int kTimeoutClassCount = 27;

/// SYN_SENT2's timeout, the one TCP state without a sysctl (seconds).
inline constexpr uint32_t kTcpSynSent2Seconds = 120;

/// What decides an entry's class, as conntrack -L shows it.
struct EntryFacts {
  uint8_t l4_proto = 0;
  /// The TCP/SCTP state as conntrack -L prints it ("TIME_WAIT"; any case);
  /// empty for protocols without states.
  std::string_view state;
  bool assured = false;
  bool seen_reply = false;  ///< not [UNREPLIED]
};

/// The class of an entry.
TimeoutClass TimeoutClassOf(const EntryFacts& e) noexcept;

/// The class's name in reports: "tcp TIME_WAIT", "udp stream (ASSURED)",
/// "other protocols", ...
const char* TimeoutClassName(TimeoutClass c) noexcept;

/// The kernel sysctl that sets the class's timeout, without the
/// "net.netfilter." prefix ("nf_conntrack_tcp_timeout_time_wait"), or ""
/// for a class without one (SYN_SENT2, kUnknown).
const char* TimeoutClassSysctl(TimeoutClass c) noexcept;

/// The class's timeout in seconds under `t` (SYN_SENT2: 120; kUnknown: 0).
uint32_t TimeoutClassSeconds(TimeoutClass c, const Tunables& t) noexcept;

}  // namespace ctkit

#endif  // CTKIT_PROTO_TIMEOUT_CLASS_H_
