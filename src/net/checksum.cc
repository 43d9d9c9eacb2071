// Internet checksum (RFC 1071) and L4 checksum verification.
//
// Verification runs once per packet when checksum checking is on, so the sum
// is the hot part. It loads 32-bit words in host byte order into a 64-bit
// accumulator (no carry handling inside the loop, no per-byte shifts) and
// converts to network order only after folding: the one's complement sum is
// byte-order independent up to a final swap (RFC 1071 section 2(B)). The
// partial sums that cross the API (ChecksumAdd's argument and result) are in
// network order, so callers can add a pseudo-header they built by hand.
//
// What counts as "valid" follows the header comment in checksum.h and the
// RFCs: UDP over IPv4 may omit its checksum (0), UDP over IPv6 may not
// (RFC 8200 section 8.1), UDP-Lite never may (RFC 3828 section 3.1). UDP is
// summed over its own length field (the bytes after it are not UDP's); TCP,
// ICMP and ICMPv6 over the whole IP payload; UDP-Lite over its coverage with
// the IP payload length in the pseudo-header. A TCP/UDP checksum that fails
// is looked at once more: a sender's transmit offload leaves the folded
// pseudo-header sum in the field (checksum.h, L4ChecksumStatus).
#include "net/checksum.h"

#include <bit>
#include <cstring>

#include "net/byte_order.h"

namespace ctkit {
namespace {

inline uint16_t Swap16(uint16_t v) {
  return static_cast<uint16_t>((v >> 8) | (v << 8));
}

// Network-order 16-bit value <-> the host-order word whose memory bytes are
// the same.
inline uint16_t NetToHostWord(uint16_t v) {
  if constexpr (std::endian::native == std::endian::little) return Swap16(v);
  return v;
}

inline uint16_t Fold16(uint64_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(acc);
}

// Sum of the pseudo-header fields (network order, unfolded): addresses,
// protocol and the 32-bit upper-layer length. The IPv4 layout (zero, proto,
// 16-bit length) and the IPv6 one (32-bit length, zeros, next header) give
// the same sum, because the IPv4 length never exceeds 16 bits.
uint32_t PseudoHeaderSum(const PacketView& pkt, uint8_t proto,
                         uint32_t length) {
  const uint32_t addr_len = pkt.family == Family::kIPv4 ? 4 : 16;
  uint32_t sum = ChecksumAdd(0, pkt.src.bytes, addr_len);
  sum = ChecksumAdd(sum, pkt.dst.bytes, addr_len);
  return sum + proto + (length >> 16) + (length & 0xffff);
}

// True when the folded sum of pseudo-header + [l4, l4 + len) is all ones.
bool SumsToOnes(uint32_t pseudo, const uint8_t* l4, uint32_t len) {
  return ChecksumFold(ChecksumAdd(pseudo, l4, len)) == 0;
}

// TCP/UDP: valid when the sum comes out all ones; else an offload partial
// checksum when `field` (host order) is exactly the folded pseudo-header sum
// (Fold16 of a non-zero sum is never 0, as in the kernel's fold); else bad.
ChecksumStatus SumOrPartial(uint32_t pseudo, const uint8_t* l4, uint32_t len,
                            uint16_t field) {
  if (SumsToOnes(pseudo, l4, len)) return ChecksumStatus::kValid;
  // `pseudo` is a network-order sum, so its fold reads as a big-endian field.
  return field == Fold16(pseudo) ? ChecksumStatus::kOffload
                                 : ChecksumStatus::kBad;
}

}  // namespace

uint32_t ChecksumAdd(uint32_t sum, const uint8_t* data, uint32_t len) noexcept {
  // Everything below is in host order until the final swap.
  uint64_t acc = NetToHostWord(Fold16(sum));
  while (len >= 16) {
    uint32_t w[4];
    std::memcpy(w, data, sizeof w);
    acc += static_cast<uint64_t>(w[0]) + w[1] + w[2] + w[3];
    data += 16;
    len -= 16;
  }
  while (len >= 4) {
    uint32_t w;
    std::memcpy(&w, data, sizeof w);
    acc += w;
    data += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t w;
    std::memcpy(&w, data, sizeof w);
    acc += w;
    data += 2;
    len -= 2;
  }
  if (len == 1) {
    // A trailing odd byte is the high byte of a zero-padded word.
    const uint8_t pad[2] = {data[0], 0};
    uint16_t w;
    std::memcpy(&w, pad, sizeof w);
    acc += w;
  }
  return NetToHostWord(Fold16(acc));
}

uint16_t ChecksumFold(uint32_t sum) noexcept {
  return static_cast<uint16_t>(~Fold16(sum));
}

namespace {

// A UDP-Lite checksum over its coverage against a pseudo-header of
// `pseudo_proto` and `pseudo_len`: the one check both rules below share
// (the RFC's, and conntrack's measured one).
bool UdpLiteSumValid(const PacketView& pkt, uint8_t pseudo_proto,
                     uint32_t pseudo_len) {
  if (pkt.is_fragment || pkt.l4_caplen < pkt.l4_len) return true;
  const uint8_t* l4 = pkt.l4;
  const uint32_t len = pkt.l4_len;
  if (len < 8) return false;
  uint32_t coverage = LoadBe16(l4 + 4);
  if (coverage == 0) coverage = len;
  if (coverage < 8 || coverage > len) return false;
  if (LoadBe16(l4 + 6) == 0) return false;
  return SumsToOnes(PseudoHeaderSum(pkt, pseudo_proto, pseudo_len), l4,
                    coverage);
}

}  // namespace

bool UdpLiteChecksumValid(const PacketView& pkt,
                          uint8_t pseudo_proto) noexcept {
  return UdpLiteSumValid(pkt, pseudo_proto, pkt.l4_len);
}

bool UdpLiteConntrackChecksumValid(const PacketView& pkt) noexcept {
  const uint32_t len = pkt.l4_len;
  return UdpLiteSumValid(pkt, ipproto::kUdp,
                         pkt.family == Family::kIPv4 ? (len & 0xff) : len);
}

ChecksumStatus L4ChecksumStatus(const PacketView& pkt) noexcept {
  // Nothing to verify against: the payload is elsewhere or not captured.
  if (pkt.is_fragment || pkt.l4_caplen < pkt.l4_len) {
    return ChecksumStatus::kValid;
  }
  const uint8_t* l4 = pkt.l4;
  const uint32_t len = pkt.l4_len;
  auto ok = [](bool valid) {
    return valid ? ChecksumStatus::kValid : ChecksumStatus::kBad;
  };
  switch (pkt.l4_proto) {
    case ipproto::kTcp:
      if (len < 20) return ChecksumStatus::kBad;
      return SumOrPartial(PseudoHeaderSum(pkt, ipproto::kTcp, len), l4, len,
                          LoadBe16(l4 + 16));
    case ipproto::kUdp: {
      if (len < 8) return ChecksumStatus::kBad;
      const uint32_t udp_len = LoadBe16(l4 + 4);
      if (udp_len < 8 || udp_len > len) return ChecksumStatus::kBad;
      const uint16_t field = LoadBe16(l4 + 6);
      if (field == 0) return ok(pkt.family == Family::kIPv4);
      return SumOrPartial(PseudoHeaderSum(pkt, ipproto::kUdp, udp_len), l4,
                          udp_len, field);
    }
    case ipproto::kUdpLite:
      return ok(UdpLiteChecksumValid(pkt, ipproto::kUdpLite));
    case ipproto::kIcmp:
      if (pkt.family != Family::kIPv4) return ChecksumStatus::kValid;
      if (len < 4) return ChecksumStatus::kBad;
      return ok(SumsToOnes(0, l4, len));
    case ipproto::kIcmpv6:
      if (pkt.family != Family::kIPv6) return ChecksumStatus::kValid;
      if (len < 4) return ChecksumStatus::kBad;
      return ok(
          SumsToOnes(PseudoHeaderSum(pkt, ipproto::kIcmpv6, len), l4, len));
    default:
      return ChecksumStatus::kValid;
  }
}

bool L4ChecksumValid(const PacketView& pkt) noexcept {
  return L4ChecksumStatus(pkt) == ChecksumStatus::kValid;
}

uint16_t OffloadCompletedChecksum(const PacketView& pkt) noexcept {
  if (pkt.l4_proto == ipproto::kTcp) {
    return ChecksumFold(ChecksumAdd(0, pkt.l4, pkt.l4_len));
  }
  const uint16_t sum =
      ChecksumFold(ChecksumAdd(0, pkt.l4, LoadBe16(pkt.l4 + 4)));
  return sum == 0 ? 0xffff : sum;
}

bool CompleteOffloadChecksum(const PacketView& pkt, uint8_t* l4) noexcept {
  if (L4ChecksumStatus(pkt) != ChecksumStatus::kOffload) return false;
  StoreBe16(l4 + (pkt.l4_proto == ipproto::kTcp ? 16 : 6),
            OffloadCompletedChecksum(pkt));
  return true;
}

}  // namespace ctkit
