// ICMP and ICMPv6 tracking (kernel nf_conntrack_proto_icmp{,v6}.c
// behaviour): query/reply tuples, the error path, untracked ND/MLD.
#ifndef CTKIT_PROTO_ICMP_H_
#define CTKIT_PROTO_ICMP_H_

#include "proto/tracker.h"

namespace ctkit {

/// The reply type of a query type (ICMP 8 -> 0, 0 -> 8; ICMPv6 128 -> 129,
/// ...) for l4_proto 1 or 58, or -1
/// when the type has none.
int IcmpReplyType(uint8_t l4_proto, uint8_t type) noexcept;

/// The kernel's per-packet ICMP checks before lookup: header length,
/// checksum, ICMPv4 type <= 18, ICMPv6 redirect rules.
InvalidReason IcmpCheck(const PacketView& pkt, const ProtoConfig& cfg) noexcept;

/// Query entries live icmp_timeout after every packet; a flow may only be
/// created by a request type; it is never ASSURED.
TrackResult IcmpTrack(const PacketView& pkt, const TrackContext& ctx,
                      const ProtoConfig& cfg) noexcept;

}  // namespace ctkit

#endif  // CTKIT_PROTO_ICMP_H_
