// Building well-formed IPv4/IPv6 packets (with correct checksums) for tests,
// the `ctkit gen` workloads and benchmarks. Not used on the packet hot path.
#ifndef CTKIT_GEN_PACKET_BUILDER_H_
#define CTKIT_GEN_PACKET_BUILDER_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "ctkit/packet.h"

namespace ctkit {

/// TCP flag bits as in the header's flags byte.
namespace tcpflag {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
inline constexpr uint8_t kUrg = 0x20;
inline constexpr uint8_t kEce = 0x40;
inline constexpr uint8_t kCwr = 0x80;
}  // namespace tcpflag

/// An IPv4 address from four octets.
Address Ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
/// An IPv4 address from a host-order 32-bit value.
Address Ipv4(uint32_t host_order);
/// Parses dotted IPv4 or textual IPv6; nullopt when malformed.
std::optional<Address> ParseAddress(std::string_view text, Family* family);

/// Source and destination of one direction of a flow.
struct Endpoints {
  Family family = Family::kIPv4;
  Address src{};
  Address dst{};
  uint16_t sport = 0;
  uint16_t dport = 0;

  /// The same flow seen from the other side.
  Endpoints Reversed() const { return {family, dst, src, dport, sport}; }
};

/// TCP options to emit (in the order MSS, SACK-permitted, window scale,
/// SACK blocks), padded with NOPs to a multiple of 4.
struct TcpOptions {
  uint16_t mss = 0;        ///< 0: no MSS option
  int wscale = -1;         ///< -1: no window-scale option
  bool sack_perm = false;  ///< SACK-permitted option
  std::vector<std::pair<uint32_t, uint32_t>> sack;  ///< (left, right) blocks
};

/// Each Build* appends one complete IP packet (no link header) to *out and
/// returns the number of bytes appended. IPv4 headers get TTL 64, DF clear,
/// a correct header checksum; IPv6 hop limit 64. L4 checksums are correct.
/// A packet too long for its IP length field appends nothing and returns 0;
/// SACK blocks beyond the 40 bytes of TCP option space are dropped.
size_t BuildTcp(const Endpoints& ep, uint32_t seq, uint32_t ack, uint8_t flags,
                uint16_t window, uint32_t payload_len, const TcpOptions& opts,
                std::vector<uint8_t>* out);

/// UDP (proto 17) or UDP-Lite (proto 136, checksum coverage = whole packet).
size_t BuildUdp(const Endpoints& ep, uint32_t payload_len,
                std::vector<uint8_t>* out, uint8_t proto = ipproto::kUdp);

/// ICMP (IPv4) or ICMPv6 (IPv6) message with the given type/code, the 4
/// bytes after the checksum (`rest`: id<<16|seq for echo), then payload.
size_t BuildIcmp(Family family, const Address& src, const Address& dst,
                 uint8_t type, uint8_t code, uint32_t rest,
                 std::span<const uint8_t> payload, std::vector<uint8_t>* out,
                 uint8_t hop_limit = 64);

/// Echo request (ICMP 8 / ICMPv6 128) or reply (0 / 129).
size_t BuildIcmpEcho(Family family, const Address& src, const Address& dst,
                     bool request, uint16_t id, uint16_t seq,
                     std::vector<uint8_t>* out);

/// An ICMP error (e.g. type 3 / ICMPv6 1) quoting `quoted` (a whole packet
/// as built above; the builder quotes its IP header + first 8 L4 bytes for
/// IPv4, up to 1232 bytes for IPv6).
size_t BuildIcmpError(Family family, const Address& src, const Address& dst,
                      uint8_t type, uint8_t code,
                      std::span<const uint8_t> quoted,
                      std::vector<uint8_t>* out);

/// A packet of any other protocol with payload_len zero bytes.
size_t BuildGeneric(Family family, const Address& src, const Address& dst,
                    uint8_t proto, uint32_t payload_len,
                    std::vector<uint8_t>* out);

/// A GRE packet: version 0 carrying a 20-byte IPv4 payload (`version` 0), or
/// a PPTP-style version 1 header (key bit, protocol `protocol`, payload
/// length 0, `call_id`); any other version gets the version 1 layout with
/// that version number.
size_t BuildGre(Family family, const Address& src, const Address& dst,
                uint8_t version, uint16_t protocol, uint16_t call_id,
                std::vector<uint8_t>* out);

/// One fragment of the whole IP packet `ip` (as built above, without
/// extension headers): bytes [from, to) of what follows its IP header
/// (IPv4: its 20 bytes; IPv6: the base header, before which a fragment
/// header with `id` is inserted), offset `from` (a multiple of 8), more
/// fragments set unless `to` reaches the end. IPv4 takes the low 16 bits
/// of `id`. Appends the fragment and returns its length (0 if the range is
/// not inside the payload).
size_t BuildFragment(std::span<const uint8_t> ip, uint32_t from, uint32_t to,
                     uint32_t id, std::vector<uint8_t>* out);

/// Prepends an Ethernet II header (with `vlan_tags` 802.1Q tags, outermost
/// 0x88a8 when two) to the IP packet `ip`, appending the frame to *out.
size_t WrapEthernet(std::span<const uint8_t> ip, int vlan_tags,
                    std::vector<uint8_t>* out);

}  // namespace ctkit

#endif  // CTKIT_GEN_PACKET_BUILDER_H_
