// ICMP and ICMPv6.
//
// Queries (echo, timestamp, information, address mask; ICMPv6 echo and node
// information) are flows keyed by (addresses, id, type, code) whose reply
// tuple carries the reply type. Errors (destination unreachable, time
// exceeded, ...) are never flows of their own: they quote the head of the
// packet that caused them, and conntrack attaches them as RELATED to the
// flow that packet belongs to, after checking that the error is addressed
// to that flow's endpoint. Neighbour discovery and MLD are left untracked.
#include "proto/icmp.h"

#include "ctkit/decode.h"
#include "net/byte_order.h"
#include "net/checksum.h"

namespace ctkit {
namespace {

constexpr uint8_t kIcmpv6Redirect = 137;

bool IsLinkLocalV6(const Address& a) {
  return a.bytes[0] == 0xfe && (a.bytes[1] & 0xc0) == 0x80;
}

// An ICMPv6 redirect is the 8-byte header, the target and the destination
// (16 bytes each), then ND options. The "redirected header" option (type 4)
// has 8 bytes of its own (type, length, 6 reserved) before the quoted packet.
constexpr uint32_t kRedirectFirstOption = 40;
constexpr uint8_t kNdOptRedirectedHeader = 4;
constexpr uint32_t kRedirectQuote = kRedirectFirstOption + 8;

// Spec §8: a redirect (code 0) that passed IcmpCheck and whose first option
// is a redirected header quotes a packet and is looked up like an error.
bool IsRedirectWithQuote(const PacketView& pkt) {
  return pkt.l4_proto == ipproto::kIcmpv6 && pkt.family == Family::kIPv6 &&
         pkt.l4_caplen > kRedirectQuote && pkt.l4[0] == kIcmpv6Redirect &&
         pkt.l4[1] == 0 &&
         pkt.l4[kRedirectFirstOption] == kNdOptRedirectedHeader;
}

}  // namespace

int IcmpReplyType(uint8_t l4_proto, uint8_t type) noexcept {
  if (l4_proto == ipproto::kIcmp) {
    switch (type) {
      case 8:
        return 0;
      case 0:
        return 8;
      case 13:
        return 14;
      case 14:
        return 13;
      case 15:
        return 16;
      case 16:
        return 15;
      case 17:
        return 18;
      case 18:
        return 17;
      default:
        return -1;
    }
  }
  switch (type) {
    case 128:
      return 129;
    case 129:
      return 128;
    case 139:
      return 140;
    case 140:
      return 139;
    default:
      return -1;
  }
}

InvalidReason IcmpCheck(const PacketView& pkt,
                        const ProtoConfig& cfg) noexcept {
  if (pkt.l4_caplen < 8 || pkt.l4_len < 8) return InvalidReason::kIcmpHeader;
  // Linux computes ICMP/ICMPv6 checksums in software, so no offload partial
  // checksum is taken here (net/checksum.h).
  if (cfg.checksum && !L4ChecksumValid(pkt)) {
    return InvalidReason::kIcmpChecksum;
  }
  uint8_t type = pkt.l4[0];
  if (pkt.family == Family::kIPv4) {
    if (type > 18) return InvalidReason::kIcmpHeader;
    return InvalidReason::kNone;
  }
  if (type == kIcmpv6Redirect && pkt.l4[1] == 0) {
    // A redirect must come from a link-local router with hop limit 255 and
    // carry at least the target and destination plus one ND option.
    if (pkt.hop_limit != 255 || !IsLinkLocalV6(pkt.src) || pkt.l4_len < 48) {
      return InvalidReason::kIcmpHeader;
    }
  }
  return InvalidReason::kNone;
}

bool IsIcmpError(const PacketView& pkt) noexcept {
  if (pkt.l4_caplen < 1) return false;
  uint8_t type = pkt.l4[0];
  if (pkt.l4_proto == ipproto::kIcmp && pkt.family == Family::kIPv4) {
    return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
  }
  if (pkt.l4_proto == ipproto::kIcmpv6 && pkt.family == Family::kIPv6) {
    return type < 128 || IsRedirectWithQuote(pkt);
  }
  return false;
}

bool IsUntrackedIcmpv6(const PacketView& pkt) noexcept {
  if (pkt.l4_proto != ipproto::kIcmpv6 || pkt.l4_caplen < 1) return false;
  uint8_t type = pkt.l4[0];
  return (type >= 130 && type <= 136) || type == 143 || type == 151 ||
         type == 152;
}

InvalidReason IcmpErrorInnerTuple(const PacketView& pkt, const ProtoConfig& cfg,
                                  Tuple* inverted) noexcept {
  (void)cfg;
  const uint32_t quote = IsRedirectWithQuote(pkt) ? kRedirectQuote : 8;
  PacketView inner{};
  if (pkt.l4_caplen < quote ||
      DecodeIp(pkt.l4 + quote, pkt.l4_caplen - quote, &inner,
               /*embedded=*/true) != DecodeStatus::kOk) {
    return InvalidReason::kIcmpErrorBad;
  }
  if (inner.family != pkt.family) return InvalidReason::kIcmpErrorBad;
  Tuple quoted;
  if (ExtractTuple(inner, &quoted) != InvalidReason::kNone) {
    return InvalidReason::kIcmpErrorBad;
  }
  // The quoted packet travelled towards the error's sender; the flow the
  // error belongs to is looked up by the inverse of its tuple.
  if (!InvertTuple(quoted, inverted)) return InvalidReason::kIcmpErrorBad;
  return InvalidReason::kNone;
}

TrackResult IcmpTrack(const PacketView& pkt, const TrackContext& ctx,
                      const ProtoConfig& cfg) noexcept {
  TrackResult r;
  uint8_t type = pkt.l4[0];
  if (ctx.is_new) {
    bool creates = pkt.family == Family::kIPv4
                       ? (type == 8 || type == 13 || type == 15 || type == 17)
                       : (type == 128 || type == 139);
    if (!creates) {
      r.verdict = TrackVerdict::kInvalid;
      r.reason = InvalidReason::kIcmpNoEntry;
      return r;
    }
  }
  r.verdict = TrackVerdict::kAccept;
  r.refresh = true;
  r.timeout =
      pkt.family == Family::kIPv4 ? cfg.icmp_timeout : cfg.icmpv6_timeout;
  return r;
}

}  // namespace ctkit
