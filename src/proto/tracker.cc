// The tracker registry: tuple extraction and inversion, the pre-lookup
// checks, and dispatch to the per-protocol trackers, with the generic
// tracker (600 s, never ASSURED) for every protocol that has none.
//
// DCCP is tracked as generic here, as it is in 6.18.
#include "proto/tracker.h"

#include <initializer_list>

#include "net/byte_order.h"
#include "proto/gre.h"
#include "proto/icmp.h"
#include "proto/timeout_class.h"
#include "proto/udp.h"

namespace ctkit {
namespace {

bool HasPorts(uint8_t proto) {
  return proto == ipproto::kTcp || proto == ipproto::kUdp ||
         proto == ipproto::kUdpLite || proto == ipproto::kSctp;
}

bool IsIcmpProto(uint8_t proto) {
  return proto == ipproto::kIcmp || proto == ipproto::kIcmpv6;
}

}  // namespace

ProtoConfig ProtoConfig::FromTunables(const Tunables& t) {
  ProtoConfig c{};
  auto j = [](uint32_t seconds) {
    uint64_t v = static_cast<uint64_t>(seconds) * kHz;
    // The kernel limits timeout sysctls to INT_MAX jiffies.
    return static_cast<uint32_t>(v > 0x7fffffffu ? 0x7fffffffu : v);
  };
  uint32_t* tt = c.tcp.timeouts;
  tt[static_cast<int>(TcpState::kNone)] = 0;
  tt[static_cast<int>(TcpState::kSynSent)] = j(t.tcp_timeout_syn_sent);
  tt[static_cast<int>(TcpState::kSynRecv)] = j(t.tcp_timeout_syn_recv);
  tt[static_cast<int>(TcpState::kEstablished)] = j(t.tcp_timeout_established);
  tt[static_cast<int>(TcpState::kFinWait)] = j(t.tcp_timeout_fin_wait);
  tt[static_cast<int>(TcpState::kCloseWait)] = j(t.tcp_timeout_close_wait);
  tt[static_cast<int>(TcpState::kLastAck)] = j(t.tcp_timeout_last_ack);
  tt[static_cast<int>(TcpState::kTimeWait)] = j(t.tcp_timeout_time_wait);
  tt[static_cast<int>(TcpState::kClose)] = j(t.tcp_timeout_close);
  // SYN_SENT2 has no sysctl; the kernel fixes it at 120 s.
  tt[static_cast<int>(TcpState::kSynSent2)] = j(kTcpSynSent2Seconds);
  tt[static_cast<int>(TcpState::kMax)] = 0;
  tt[static_cast<int>(TcpState::kIgnore)] = 0;
  tt[static_cast<int>(TcpState::kRetrans)] = j(t.tcp_timeout_max_retrans);
  tt[static_cast<int>(TcpState::kUnack)] = j(t.tcp_timeout_unacknowledged);
  c.tcp.loose = t.tcp_loose != 0;
  c.tcp.be_liberal = t.tcp_be_liberal != 0;
  c.tcp.ignore_invalid_rst = t.tcp_ignore_invalid_rst != 0;
  c.tcp.max_retrans = t.tcp_max_retrans;
  c.tcp.checksum = t.checksum != 0;
  c.udp_timeout = j(t.udp_timeout);
  c.udp_timeout_stream = j(t.udp_timeout_stream);
  c.icmp_timeout = j(t.icmp_timeout);
  c.icmpv6_timeout = j(t.icmpv6_timeout);
  c.generic_timeout = j(t.generic_timeout);
  c.gre_timeout = j(t.gre_timeout);
  c.gre_timeout_stream = j(t.gre_timeout_stream);
  c.sctp = SctpConfig::FromTunables(t, kHz);
  c.checksum = t.checksum != 0;
  return c;
}

uint32_t ProtoConfig::LongestTimeout() const noexcept {
  uint32_t longest = udp_timeout;
  for (uint32_t v : tcp.timeouts) longest = v > longest ? v : longest;
  for (uint32_t v : sctp.timeouts) longest = v > longest ? v : longest;
  for (uint32_t v : {udp_timeout_stream, icmp_timeout, icmpv6_timeout,
                     generic_timeout, gre_timeout, gre_timeout_stream}) {
    longest = v > longest ? v : longest;
  }
  return longest;
}

const char* InvalidReasonName(InvalidReason r) noexcept {
  switch (r) {
    case InvalidReason::kNone:
      return "none";
    case InvalidReason::kL4Truncated:
      return "l4-truncated";
    case InvalidReason::kNotInvertible:
      return "not-invertible";
    case InvalidReason::kTcpHeader:
      return "tcp-header";
    case InvalidReason::kTcpNewNotSyn:
      return "tcp-new-not-syn";
    case InvalidReason::kTcpState:
      return "tcp-state";
    case InvalidReason::kTcpRst:
      return "tcp-invalid-rst";
    case InvalidReason::kTcpWindow:
      return "tcp-window";
    case InvalidReason::kUdpHeader:
      return "udp-header";
    case InvalidReason::kIcmpHeader:
      return "icmp-header";
    case InvalidReason::kIcmpNoEntry:
      return "icmp-reply-without-request";
    case InvalidReason::kIcmpErrorNoFlow:
      return "icmp-error-unknown-flow";
    case InvalidReason::kIcmpErrorBad:
      return "icmp-error-bad-quote";
    case InvalidReason::kTcpChecksum:
      return "tcp-checksum";
    case InvalidReason::kUdpChecksum:
      return "udp-checksum";
    case InvalidReason::kIcmpChecksum:
      return "icmp-checksum";
    case InvalidReason::kGreNotPpp:
      return "gre-not-ppp";
    case InvalidReason::kSctpHeader:
      return "sctp-header";
    case InvalidReason::kSctpChunks:
      return "sctp-chunks";
    case InvalidReason::kSctpChecksum:
      return "sctp-checksum";
    case InvalidReason::kSctpVtag:
      return "sctp-vtag";
    case InvalidReason::kSctpState:
      return "sctp-state";
    case InvalidReason::kCount:
      break;
  }
  return "?";
}

bool IsChecksumReason(InvalidReason r) noexcept {
  return r == InvalidReason::kTcpChecksum || r == InvalidReason::kUdpChecksum ||
         r == InvalidReason::kIcmpChecksum || r == InvalidReason::kSctpChecksum;
}

bool CountsAsError(InvalidReason r) noexcept {
  return r == InvalidReason::kIcmpHeader || r == InvalidReason::kIcmpChecksum ||
         r == InvalidReason::kIcmpErrorNoFlow ||
         r == InvalidReason::kIcmpErrorBad;
}

InvalidReason ExtractTuple(const PacketView& pkt, Tuple* out) noexcept {
  out->src = pkt.src;
  out->dst = pkt.dst;
  out->family = pkt.family;
  out->l4_proto = pkt.l4_proto;
  out->src_port_or_icmp_id = 0;
  out->dst_port_or_icmp_type_code = 0;
  if (HasPorts(pkt.l4_proto)) {
    if (pkt.l4_caplen < 4) return InvalidReason::kL4Truncated;
    out->src_port_or_icmp_id = LoadBe16(pkt.l4);
    out->dst_port_or_icmp_type_code = LoadBe16(pkt.l4 + 2);
  } else if (IsIcmpProto(pkt.l4_proto)) {
    if (pkt.l4_caplen < 8) return InvalidReason::kL4Truncated;
    out->src_port_or_icmp_id = LoadBe16(pkt.l4 + 4);
    out->dst_port_or_icmp_type_code = LoadBe16(pkt.l4);  // type, code
  } else if (pkt.l4_proto == ipproto::kGre) {
    return GreKeys(pkt, out);
  }
  return InvalidReason::kNone;
}

bool InvertTuple(const Tuple& t, Tuple* out) noexcept {
  out->src = t.dst;
  out->dst = t.src;
  out->family = t.family;
  out->l4_proto = t.l4_proto;
  if (IsIcmpProto(t.l4_proto)) {
    int reply = IcmpReplyType(t.l4_proto, t.icmp_type());
    if (reply < 0) return false;
    out->src_port_or_icmp_id = t.src_port_or_icmp_id;
    out->dst_port_or_icmp_type_code =
        static_cast<uint16_t>((reply << 8) | t.icmp_code());
    return true;
  }
  out->src_port_or_icmp_id = t.dst_port_or_icmp_type_code;
  out->dst_port_or_icmp_type_code = t.src_port_or_icmp_id;
  return true;
}

InvalidReason PreLookupCheck(const PacketView& pkt, const ProtoConfig& cfg,
                             bool* offload_checksum) noexcept {
  switch (pkt.l4_proto) {
    case ipproto::kTcp:
      // Ports first: a header too short to hold them has no tuple at all.
      if (pkt.l4_caplen < 4) return InvalidReason::kL4Truncated;
      switch (TcpHeaderCheck(pkt, cfg.checksum, offload_checksum)) {
        case TcpHeaderError::kNone:
          return InvalidReason::kNone;
        case TcpHeaderError::kChecksum:
          return InvalidReason::kTcpChecksum;
        case TcpHeaderError::kHeader:
          break;
      }
      return InvalidReason::kTcpHeader;
    case ipproto::kUdp:
    case ipproto::kUdpLite:
      return UdpCheck(pkt, cfg, offload_checksum);
    case ipproto::kIcmp:
    case ipproto::kIcmpv6:
      return IcmpCheck(pkt, cfg);
    case ipproto::kSctp:
      return SctpHeaderCheck(pkt, cfg.checksum);
    default:
      return InvalidReason::kNone;
  }
}

TrackResult TrackPacket(const PacketView& pkt, uint8_t l4_proto,
                        ProtoState* state, const TrackContext& ctx,
                        const ProtoConfig& cfg) noexcept {
  switch (l4_proto) {
    case ipproto::kTcp:
      return TcpTrackSegment(&state->tcp, pkt, ctx, cfg.tcp);
    case ipproto::kUdp:
      return UdpTrack(false, state, ctx, cfg);
    case ipproto::kUdpLite:
      return UdpTrack(true, state, ctx, cfg);
    case ipproto::kIcmp:
    case ipproto::kIcmpv6:
      return IcmpTrack(pkt, ctx, cfg);
    case ipproto::kGre:
      return GreTrack(ctx, cfg);
    case ipproto::kSctp:
      return SctpTrack(&state->sctp, pkt, ctx, cfg.sctp);
    default: {
      TrackResult r;
      r.verdict = TrackVerdict::kAccept;
      r.refresh = true;
      r.timeout = cfg.generic_timeout;
      return r;
    }
  }
}

bool CanEarlyDropAssured(uint8_t l4_proto, const ProtoState& s) noexcept {
  if (l4_proto == ipproto::kSctp) return SctpCanEarlyDrop(s.sctp);
  if (l4_proto != ipproto::kTcp) return false;
  switch (s.tcp.state) {
    case TcpState::kFinWait:
    case TcpState::kCloseWait:
    case TcpState::kLastAck:
    case TcpState::kTimeWait:
    case TcpState::kClose:
      return true;
    default:
      return false;
  }
}

const char* ProtoStateName(uint8_t l4_proto, const ProtoState& s) noexcept {
  if (l4_proto == ipproto::kTcp) return TcpStateName(s.tcp.state);
  if (l4_proto == ipproto::kSctp) return SctpStateName(s.sctp.state);
  return nullptr;
}

const char* ProtoName(uint8_t l4_proto) noexcept {
  switch (l4_proto) {
    case ipproto::kTcp:
      return "tcp";
    case ipproto::kUdp:
      return "udp";
    case ipproto::kUdpLite:
      return "udplite";
    case ipproto::kIcmp:
      return "icmp";
    case ipproto::kIcmpv6:
      return "icmpv6";
    case ipproto::kSctp:
      return "sctp";
    case ipproto::kGre:
      return "gre";
    case 33:
      return "dccp";
    default:
      return "unknown";
  }
}

}  // namespace ctkit
