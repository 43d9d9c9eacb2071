// GRE tracking (the kernel's GRE tracker as measured on 6.18,
// docs/kernel-model.md §9.1).
#ifndef CTKIT_PROTO_GRE_H_
#define CTKIT_PROTO_GRE_H_

#include "proto/tracker.h"

namespace ctkit {

/// The EtherType a PPTP-style (version 1) GRE header must carry: PPP.
inline constexpr uint16_t kGreProtocolPpp = 0x880b;

/// Reads a GRE packet's keys into `out` (srckey into the source-port slot,
/// dstkey into the destination-port slot). Version 1 with a PPP payload:
/// dstkey is the call id the packet carries and srckey is 0 (the other key
/// comes from the PPTP helper, which ctkit does not model). Any other
/// version, or a header too short for a call id: both keys 0, like the
/// generic tracker. Returns kGreNotPpp for version 1 carrying anything but
/// PPP (INVALID without an entry).
InvalidReason GreKeys(const PacketView& pkt, Tuple* out) noexcept;

/// Until a reply has been seen: nf_conntrack_gre_timeout. Any packet after
/// that (the first reply itself still gets the short timeout):
/// nf_conntrack_gre_timeout_stream and ASSURED.
TrackResult GreTrack(const TrackContext& ctx, const ProtoConfig& cfg) noexcept;

}  // namespace ctkit

#endif  // CTKIT_PROTO_GRE_H_
