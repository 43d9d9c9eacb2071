// The tracker registry: the one place where the core's protocol-agnostic
// recipe meets the per-protocol trackers (TCP, UDP/UDP-Lite, ICMP/ICMPv6,
// GRE, generic). Like the kernel's nf_conntrack_handle_packet, dispatch is a
// switch on the protocol number with the generic tracker as the fallback,
// so an unknown protocol is never an error. Every tracker answers in the
// same protocol-neutral TrackResult (track_result.h).
#ifndef CTKIT_PROTO_TRACKER_H_
#define CTKIT_PROTO_TRACKER_H_

#include <cstdint>

#include "ctkit/packet.h"
#include "ctkit/tunables.h"
#include "ctkit/tuple.h"
#include "ctkit/verdict.h"
#include "proto/sctp.h"
#include "proto/tcp.h"
#include "proto/tcp_conn.h"
#include "proto/track_result.h"

namespace ctkit {

/// Jiffies per second; the kernel here is built with CONFIG_HZ=250, and
/// the granularity of timeouts and of `conntrack -L` follows from it.
inline constexpr uint32_t kHz = 250;

/// Per-protocol state kept in each flow (60 bytes): one member per
/// protocol that needs state; the flow's protocol says which is live.
union ProtoState {
  /// UDP/UDP-Lite: jiffies after which a replied flow counts as a stream
  /// (first packet + 2 s).
  uint32_t udp_stream_deadline;
  TcpConn tcp;    ///< TCP
  SctpConn sctp;  ///< SCTP
};
static_assert(sizeof(ProtoState) == 60, "ProtoState is part of the Flow");

/// All tracker settings, timeouts converted to jiffies once.
struct ProtoConfig {
  TcpConfig tcp;
  uint32_t udp_timeout;
  uint32_t udp_timeout_stream;
  uint32_t icmp_timeout;
  uint32_t icmpv6_timeout;
  uint32_t generic_timeout;
  uint32_t gre_timeout;         ///< until a reply is seen
  uint32_t gre_timeout_stream;  ///< after it (and ASSURED)
  SctpConfig sctp;
  bool checksum;

  static ProtoConfig FromTunables(const Tunables& t);
  /// The longest time (jiffies) any tracker can give an entry.
  uint32_t LongestTimeout() const noexcept;
};

// InvalidReason and its names are public: ctkit/verdict.h.

/// Reads the tuple of `pkt` (ports, or ICMP id/type/code). Returns kNone on
/// success, else why not (the packet is INVALID without an entry).
InvalidReason ExtractTuple(const PacketView& pkt, Tuple* out) noexcept;

/// The reply tuple of `t`. false if it has none (ICMP types with no reply).
bool InvertTuple(const Tuple& t, Tuple* out) noexcept;

/// Checks that run before lookup for every packet of a protocol (the
/// kernel's per-protocol "error" callbacks): header sanity and checksum.
/// Returns kNone if the packet may proceed to lookup. Sets *offload_checksum
/// when the checksum was a transmit-offload partial one (net/checksum.h):
/// such a packet is tracked as the kernel tracks a packet it sent itself
/// (it never verifies those), and on the kernel's own receive path a
/// partial checksum is not verified either.
InvalidReason PreLookupCheck(const PacketView& pkt, const ProtoConfig& cfg,
                             bool* offload_checksum) noexcept;

/// True for ICMP/ICMPv6 error messages (they are matched to the flow they
/// quote, never tracked on their own).
bool IsIcmpError(const PacketView& pkt) noexcept;

/// True for ICMPv6 neighbour discovery / MLD, which conntrack leaves
/// untracked.
bool IsUntrackedIcmpv6(const PacketView& pkt) noexcept;

/// For an ICMP error: validates it and extracts the tuple of the quoted
/// packet, inverted (the flow as the error's receiver would look it up).
InvalidReason IcmpErrorInnerTuple(const PacketView& pkt, const ProtoConfig& cfg,
                                  Tuple* inverted) noexcept;

/// Runs the tracker for `pkt`'s protocol on `state`. An INVALID result
/// always names its reason.
TrackResult TrackPacket(const PacketView& pkt, uint8_t l4_proto,
                        ProtoState* state, const TrackContext& ctx,
                        const ProtoConfig& cfg) noexcept;

/// GC early-drop mode may also take ASSURED entries in these states (TCP
/// closing states, SCTP shutdown states).
bool CanEarlyDropAssured(uint8_t l4_proto, const ProtoState& s) noexcept;

/// The state name conntrack -L prints after the timeout, or nullptr for
/// protocols without states.
const char* ProtoStateName(uint8_t l4_proto, const ProtoState& s) noexcept;

/// conntrack's protocol name: "tcp", "udp", "icmp", ..., else "unknown".
const char* ProtoName(uint8_t l4_proto) noexcept;

}  // namespace ctkit

#endif  // CTKIT_PROTO_TRACKER_H_
