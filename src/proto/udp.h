// UDP and UDP-Lite tracking (kernel nf_conntrack_proto_udp.c behaviour).
#ifndef CTKIT_PROTO_UDP_H_
#define CTKIT_PROTO_UDP_H_

#include "proto/tracker.h"

namespace ctkit {

/// Header sanity: 8-byte header, length field within [8, l4_len] (UDP-Lite:
/// coverage 0 or within [8, l4_len]) or kUdpHeader; checksum when
/// cfg.checksum or kUdpChecksum (an offload partial checksum passes and sets
/// *offload).
InvalidReason UdpCheck(const PacketView& pkt, const ProtoConfig& cfg,
                       bool* offload) noexcept;

/// Unreplied flows get udp_timeout; once a reply was seen and the packet
/// comes more than 2 s after the first one (UDP-Lite: at once), the flow is a
/// stream: udp_timeout_stream and ASSURED.
TrackResult UdpTrack(bool lite, ProtoState* state, const TrackContext& ctx,
                     const ProtoConfig& cfg) noexcept;

}  // namespace ctkit

#endif  // CTKIT_PROTO_UDP_H_
