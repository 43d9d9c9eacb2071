// UDP and UDP-Lite trackers.
//
// UDP has no state machine; what the kernel tracks is whether a flow has
// become a "stream": a reply has been seen and a packet arrives more than
// two seconds after the first one. Only then does the flow get the long
// timeout and ASSURED, which is why DNS-style request/reply flows stay
// early-droppable forever. The reply-seen bit is set by the core after the
// first reply has been tracked, so that reply itself still gets the short
// timeout. UDP-Lite (RFC 3828) has no two-second rule.
#include "proto/udp.h"

#include "net/byte_order.h"
#include "net/checksum.h"

namespace ctkit {

InvalidReason UdpCheck(const PacketView& pkt, const ProtoConfig& cfg,
                       bool* offload) noexcept {
  if (pkt.l4_caplen < 8 || pkt.l4_len < 8) return InvalidReason::kUdpHeader;
  // A first fragment carries only part of the datagram, so its length
  // field describes bytes we do not have; the kernel sees the reassembled
  // datagram. Skip the length checks for it.
  if (!pkt.is_fragment) {
    uint16_t len = LoadBe16(pkt.l4 + 4);
    if (pkt.l4_proto == ipproto::kUdpLite) {
      if (len != 0 && (len < 8 || len > pkt.l4_len)) {
        return InvalidReason::kUdpHeader;
      }
    } else if (len < 8 || len > pkt.l4_len) {
      return InvalidReason::kUdpHeader;
    }
  }
  // Spec §7: a zero UDP checksum means "no checksum" and is accepted, for
  // IPv6 as well as IPv4 (conntrack does not enforce RFC 8200 here).
  // UDP-Lite has no such exception: a zero checksum is INVALID even with
  // nf_conntrack_checksum=0 (measured: a header check, not a
  // verification).
  if (LoadBe16(pkt.l4 + 6) == 0) {
    return pkt.l4_proto == ipproto::kUdp ? InvalidReason::kNone
                                         : InvalidReason::kUdpChecksum;
  }
  if (!cfg.checksum) return InvalidReason::kNone;
  if (pkt.l4_proto == ipproto::kUdpLite) {
    // Measured against the kernel (tests/fidelity/s-udplite,
    // s-udplite-checksums): not RFC 3828's sum but UDP's protocol number
    // in the pseudo-header, and over IPv4 the length cut to 8 bits
    // (net/checksum.h). Faithful to the kernel, not to the RFC.
    return UdpLiteConntrackChecksumValid(pkt) ? InvalidReason::kNone
                                              : InvalidReason::kUdpChecksum;
  }
  const ChecksumStatus c = L4ChecksumStatus(pkt);
  if (c == ChecksumStatus::kBad) return InvalidReason::kUdpChecksum;
  if (c == ChecksumStatus::kOffload) *offload = true;
  return InvalidReason::kNone;
}

TrackResult UdpTrack(bool lite, ProtoState* state, const TrackContext& ctx,
                     const ProtoConfig& cfg) noexcept {
  TrackResult r;
  r.verdict = TrackVerdict::kAccept;
  r.refresh = true;
  if (ctx.is_new) state->udp_stream_deadline = ctx.now + 2 * kHz;
  if (!ctx.reply_seen) {
    r.timeout = cfg.udp_timeout;
    return r;
  }
  bool stream =
      lite || static_cast<int32_t>(ctx.now - state->udp_stream_deadline) > 0;
  if (stream) {
    r.timeout = cfg.udp_timeout_stream;
    r.set_assured = !ctx.assured;
  } else {
    r.timeout = cfg.udp_timeout;
  }
  return r;
}

}  // namespace ctkit
