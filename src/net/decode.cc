// Frame decoding: link header -> IPv4/IPv6 header(s) -> PacketView.
//
// This runs once per captured packet, so it reads bytes in place (no copy,
// no allocation, no exceptions) and checks every offset against the number
// of bytes it may read before touching them. Two lengths matter for an IP
// packet: what its header claims (ip_len, l4_len) and what was captured
// (l4_caplen). A capture with a snaplen cuts packets short, so a claim
// larger than the capture is accepted and reported; the L4 checksum and the
// trackers then know not to read past l4_caplen. A capture that is longer
// than the claim (Ethernet pads frames to 60 bytes) is cut back to the claim.
//
// The checks mirror what the IP layer does before conntrack sees a packet:
// an IPv4 header with a bad version, IHL or total length never reaches it,
// and neither does an IPv6 jumbogram (payload length 0; we do not parse the
// hop-by-hop jumbo option). IPv6 extension headers are walked to find the
// upper-layer protocol, at most kMaxExtHeaders of them; a non-first fragment
// (of either family) carries no L4 header, so it stops the walk with
// kNonFirstFragment and the view filled as far as it goes.
#include "ctkit/decode.h"

#include <cstring>

#include "net/byte_order.h"

namespace ctkit {
namespace {

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86dd;
constexpr uint16_t kEtherVlan = 0x8100;        // 802.1Q customer tag
constexpr uint16_t kEtherQinQ = 0x88a8;        // 802.1ad service tag
constexpr uint16_t kEtherQinQLegacy = 0x9100;  // pre-802.1ad stacked tag

// Extension headers walked before giving up on an IPv6 packet. Real chains
// have a handful; a longer one is an attack or garbage.
constexpr int kMaxExtHeaders = 16;

constexpr uint8_t kIpv6HopByHop = 0;
constexpr uint8_t kIpv6Routing = 43;
constexpr uint8_t kIpv6Fragment = 44;
constexpr uint8_t kIpv6Ah = 51;
constexpr uint8_t kIpv6NoNext = 59;
constexpr uint8_t kIpv6DestOpts = 60;

inline uint32_t Le32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[3]) << 24) |
         (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[1]) << 8) | p[0];
}

// Sets out's L4 fields for an L4 header at data + off, in a packet that
// claims `claimed` bytes of which `avail` are readable (avail <= claimed).
inline void SetL4(const uint8_t* data, uint32_t off, uint32_t claimed,
                  uint32_t avail, PacketView* out) {
  out->l4 = data + off;
  out->l4_len = claimed - off;
  out->l4_caplen = avail > off ? avail - off : 0;
}

DecodeStatus DecodeIpv4(const uint8_t* data, uint32_t len,
                        PacketView* out) noexcept {
  if (len < 20) return DecodeStatus::kTruncatedIp;
  const uint32_t header_len = (data[0] & 0x0fu) * 4u;
  if (header_len < 20) return DecodeStatus::kBadIpHeader;
  if (header_len > len) return DecodeStatus::kTruncatedIp;
  const uint32_t total = LoadBe16(data + 2);
  if (total < header_len) return DecodeStatus::kBadIpHeader;

  out->family = Family::kIPv4;
  out->zone = Zone{};
  out->ip = data;
  out->l4_proto = data[9];
  out->hop_limit = data[8];
  std::memcpy(out->src.bytes, data + 12, 4);
  std::memcpy(out->dst.bytes, data + 16, 4);
  out->ip_len = total;
  // total > len: the capture cut the packet; total < len: link padding.
  SetL4(data, header_len, total, total < len ? total : len, out);

  const uint16_t frag = LoadBe16(data + 6);
  const bool more_fragments = (frag & 0x2000) != 0;
  const uint16_t offset = frag & 0x1fff;
  out->is_fragment = more_fragments || offset != 0;
  if (offset != 0) return DecodeStatus::kNonFirstFragment;
  out->first_fragment = more_fragments;
  return DecodeStatus::kOk;
}

DecodeStatus DecodeIpv6(const uint8_t* data, uint32_t len,
                        PacketView* out) noexcept {
  if (len < 40) return DecodeStatus::kTruncatedIp;
  const uint32_t payload_len = LoadBe16(data + 4);
  if (payload_len == 0) return DecodeStatus::kBadIpHeader;  // jumbogram
  const uint32_t total = 40 + payload_len;
  const uint32_t avail = total < len ? total : len;

  out->family = Family::kIPv6;
  out->zone = Zone{};
  out->ip = data;
  out->hop_limit = data[7];
  std::memcpy(out->src.bytes, data + 8, 16);
  std::memcpy(out->dst.bytes, data + 24, 16);
  out->ip_len = total;

  uint8_t next = data[6];
  uint32_t off = 40;
  for (int walked = 0;; ++walked) {
    uint32_t ext_len;
    switch (next) {
      case kIpv6HopByHop:
      case kIpv6Routing:
      case kIpv6DestOpts:
      case kIpv6Fragment:
      case kIpv6Ah:
        break;
      case kIpv6NoNext:
        // Nothing follows, whatever the payload length says.
        out->l4_proto = next;
        out->l4 = data + off;
        out->l4_len = 0;
        out->l4_caplen = 0;
        return DecodeStatus::kOk;
      default:  // an upper-layer protocol (ESP included: opaque to us)
        out->l4_proto = next;
        SetL4(data, off, total, avail, out);
        return DecodeStatus::kOk;
    }
    if (walked == kMaxExtHeaders) return DecodeStatus::kBadIpv6ExtHeader;
    // Every extension header starts with next-header and a length byte.
    if (off + 2 > total) return DecodeStatus::kBadIpv6ExtHeader;
    if (off + 2 > avail) return DecodeStatus::kTruncatedIp;
    if (next == kIpv6Fragment) {
      ext_len = 8;
    } else if (next == kIpv6Ah) {
      ext_len = (data[off + 1] + 2u) * 4u;
    } else {
      ext_len = (data[off + 1] + 1u) * 8u;
    }
    if (off + ext_len > total) return DecodeStatus::kBadIpv6ExtHeader;
    if (off + ext_len > avail) return DecodeStatus::kTruncatedIp;
    const uint8_t this_header = next;
    next = data[off];
    if (this_header == kIpv6Fragment) {
      const uint16_t frag = LoadBe16(data + off + 2);
      const uint16_t offset = frag >> 3;
      const bool more_fragments = (frag & 1) != 0;
      // An atomic fragment (offset 0, M clear) is a whole packet.
      out->is_fragment = more_fragments || offset != 0;
      out->first_fragment = more_fragments && offset == 0;
      if (offset != 0) {
        out->l4_proto = next;
        SetL4(data, off + ext_len, total, avail, out);
        return DecodeStatus::kNonFirstFragment;
      }
    }
    off += ext_len;
  }
}

// Decodes the IP packet behind a link header whose protocol field said
// IPv4 or IPv6; a version nibble that disagrees is a bad header.
DecodeStatus DecodeIpAs(Family family, const uint8_t* data, uint32_t len,
                        PacketView* out) noexcept {
  if (len == 0) return DecodeStatus::kTruncatedIp;
  const int version = data[0] >> 4;
  if (family == Family::kIPv4) {
    return version == 4 ? DecodeIpv4(data, len, out)
                        : DecodeStatus::kBadIpHeader;
  }
  return version == 6 ? DecodeIpv6(data, len, out) : DecodeStatus::kBadIpHeader;
}

DecodeStatus DecodeEthertype(uint16_t type, const uint8_t* data, uint32_t len,
                             PacketView* out) noexcept {
  if (type == kEtherIpv4) return DecodeIpAs(Family::kIPv4, data, len, out);
  if (type == kEtherIpv6) return DecodeIpAs(Family::kIPv6, data, len, out);
  return DecodeStatus::kNotIp;
}

// BSD address families as written by DLT_NULL/DLT_LOOP: AF_INET is 2
// everywhere; AF_INET6 is 24 (NetBSD, OpenBSD), 28 (FreeBSD) or 30 (macOS).
DecodeStatus DecodeAddressFamily(uint32_t af, const uint8_t* data, uint32_t len,
                                 PacketView* out) noexcept {
  switch (af) {
    case 2:
      return DecodeIpAs(Family::kIPv4, data, len, out);
    case 24:
    case 28:
    case 30:
      return DecodeIpAs(Family::kIPv6, data, len, out);
    default:
      return DecodeStatus::kNotIp;
  }
}

bool IsKnownAddressFamily(uint32_t af) {
  return af == 2 || af == 24 || af == 28 || af == 30;
}

}  // namespace

const char* DecodeStatusName(DecodeStatus status) noexcept {
  switch (status) {
    case DecodeStatus::kOk:
      return "ok";
    case DecodeStatus::kUnsupportedLinkType:
      return "unsupported-link-type";
    case DecodeStatus::kTruncatedLink:
      return "truncated-link";
    case DecodeStatus::kNotIp:
      return "non-ip";
    case DecodeStatus::kTruncatedIp:
      return "truncated-ip";
    case DecodeStatus::kBadIpHeader:
      return "bad-ip-header";
    case DecodeStatus::kBadIpv6ExtHeader:
      return "bad-ipv6-ext-header";
    case DecodeStatus::kNonFirstFragment:
      return "non-first-fragment";
    case DecodeStatus::kFragmentHeld:
      return "fragment-held";
    case DecodeStatus::kCount:
      break;
  }
  return "unknown";
}

DecodeStatus DecodeIp(const uint8_t* data, uint32_t len, PacketView* out,
                      bool embedded) noexcept {
  // A quoted packet (embedded) is decoded like a snaplen-cut one: only its
  // IP header(s) must be present, and the L4 lengths report the claim and
  // what the quote holds. The flag is kept for callers' clarity and for
  // future differences; the rules are currently the same.
  static_cast<void>(embedded);
  *out = PacketView{};
  if (len == 0) return DecodeStatus::kTruncatedIp;
  switch (data[0] >> 4) {
    case 4:
      return DecodeIpv4(data, len, out);
    case 6:
      return DecodeIpv6(data, len, out);
    default:
      return DecodeStatus::kBadIpHeader;
  }
}

DecodeStatus DecodeFrame(uint32_t link_type, const uint8_t* data,
                         uint32_t caplen, PacketView* out) noexcept {
  *out = PacketView{};
  switch (link_type) {
    case linktype::kEthernet: {
      if (caplen < 14) return DecodeStatus::kTruncatedLink;
      uint32_t off = 12;
      uint16_t type = LoadBe16(data + off);
      // VLAN tags (any number, any mix): 2 bytes TCI, then the next type.
      while (type == kEtherVlan || type == kEtherQinQ ||
             type == kEtherQinQLegacy) {
        if (off + 6 > caplen) return DecodeStatus::kTruncatedLink;
        off += 4;
        type = LoadBe16(data + off);
      }
      off += 2;
      return DecodeEthertype(type, data + off, caplen - off, out);
    }
    case linktype::kLinuxSll:
      if (caplen < 16) return DecodeStatus::kTruncatedLink;
      return DecodeEthertype(LoadBe16(data + 14), data + 16, caplen - 16, out);
    case linktype::kLinuxSll2:
      if (caplen < 20) return DecodeStatus::kTruncatedLink;
      return DecodeEthertype(LoadBe16(data), data + 20, caplen - 20, out);
    case linktype::kRaw:
      if (caplen == 0) return DecodeStatus::kTruncatedIp;
      switch (data[0] >> 4) {
        case 4:
          return DecodeIpv4(data, caplen, out);
        case 6:
          return DecodeIpv6(data, caplen, out);
        default:
          return DecodeStatus::kNotIp;
      }
    case linktype::kIpv4:
      return DecodeIpAs(Family::kIPv4, data, caplen, out);
    case linktype::kIpv6:
      return DecodeIpAs(Family::kIPv6, data, caplen, out);
    case linktype::kNull: {
      // Host byte order of the capturing machine, which may not be ours:
      // the family is small, so whichever reading is a known family wins.
      if (caplen < 4) return DecodeStatus::kTruncatedLink;
      uint32_t af = Le32(data);
      if (!IsKnownAddressFamily(af)) af = LoadBe32(data);
      return DecodeAddressFamily(af, data + 4, caplen - 4, out);
    }
    case linktype::kLoop:
      if (caplen < 4) return DecodeStatus::kTruncatedLink;
      return DecodeAddressFamily(LoadBe32(data), data + 4, caplen - 4, out);
    default:
      return DecodeStatus::kUnsupportedLinkType;
  }
}

}  // namespace ctkit
