// GRE tracker.
//
// GRE has no ports, so the kernel keys it by what PPTP (RFC 2637) puts in
// its "enhanced GRE" header (version 1): a 16-bit call id, chosen by each
// peer for the packets it receives. A version 1 packet carries the peer's
// call id, which becomes the tuple's dstkey; its srckey would be the
// sender's own call id, which is not in the packet: the kernel learns it
// from the PPTP control connection through its PPTP helper. Without the
// helper (the default, and all ctkit models) srckey stays 0, so the two
// directions of a PPTP call never invert into each other and the kernel
// holds two UNREPLIED entries, one per direction (measured,
// kernel-model §9.1). Version 0 GRE (RFC 2784/2890, e.g. Linux gretap
// tunnels) is keyed by addresses only, whatever key the header carries.
//
// Timeouts: like UDP without the two-second rule. An entry is short-lived
// (30 s) until a reply is seen; the first packet after the reply makes it a
// stream (180 s) and ASSURED.
#include "proto/gre.h"

#include "net/byte_order.h"

namespace ctkit {
namespace {

constexpr uint16_t kVersionMask = 0x0007;
constexpr uint16_t kVersionPptp = 1;
// Flags+version, protocol, payload length, call id.
constexpr uint32_t kPptpHeaderUpToCallId = 8;

}  // namespace

InvalidReason GreKeys(const PacketView& pkt, Tuple* out) noexcept {
  out->src_port_or_icmp_id = 0;
  out->dst_port_or_icmp_type_code = 0;
  // A header too short to say its version is keyed like generic; so is a
  // version 1 header cut before its call id (measured: tracked, keys 0).
  if (pkt.l4_caplen < kPptpHeaderUpToCallId) return InvalidReason::kNone;
  if ((LoadBe16(pkt.l4) & kVersionMask) != kVersionPptp) {
    return InvalidReason::kNone;
  }
  if (LoadBe16(pkt.l4 + 2) != kGreProtocolPpp) return InvalidReason::kGreNotPpp;
  out->dst_port_or_icmp_type_code = LoadBe16(pkt.l4 + 6);
  return InvalidReason::kNone;
}

TrackResult GreTrack(const TrackContext& ctx, const ProtoConfig& cfg) noexcept {
  TrackResult r;
  r.verdict = TrackVerdict::kAccept;
  r.refresh = true;
  if (!ctx.reply_seen) {
    r.timeout = cfg.gre_timeout;
    return r;
  }
  r.timeout = cfg.gre_timeout_stream;
  r.set_assured = !ctx.assured;
  return r;
}

}  // namespace ctkit
