// PacketView: what the decoder extracts from a frame, and what the engine
// consumes. It borrows the frame's bytes (no copy, no allocation): the view is
// valid only as long as the buffer it was decoded from.
#ifndef CTKIT_PACKET_H_
#define CTKIT_PACKET_H_

#include <cstdint>
#include <cstring>

namespace ctkit {

/// Address family, with the kernel's l3num values (AF_INET, AF_INET6).
enum class Family : uint8_t { kIPv4 = 2, kIPv6 = 10 };

/// IP protocol numbers the engine has trackers for.
namespace ipproto {
inline constexpr uint8_t kIcmp = 1;
inline constexpr uint8_t kTcp = 6;
inline constexpr uint8_t kUdp = 17;
inline constexpr uint8_t kGre = 47;
inline constexpr uint8_t kIcmpv6 = 58;
inline constexpr uint8_t kUdpLite = 136;
}  // namespace ipproto

/// An IPv4 or IPv6 address. IPv4 uses bytes[0..3]; the rest are zero, as in
/// the kernel's tuple, so equality and hashing need no family switch.
struct Address {
  uint8_t bytes[16];

  friend bool operator==(const Address& a, const Address& b) {
    return std::memcmp(a.bytes, b.bytes, 16) == 0;
  }
};

/// One decoded IPv4/IPv6 packet. Filled by DecodeFrame()/DecodeIp().
struct PacketView {
  Family family;
  /// The upper-layer protocol after walking IPv6 extension headers.
  uint8_t l4_proto;
  /// IPv4 TTL or IPv6 hop limit (ICMPv6 redirect validation needs it).
  uint8_t hop_limit;
  /// True for any fragment (MF set or offset != 0); see first_fragment.
  bool is_fragment;
  /// True for a fragment at offset 0 (carries the L4 header); false for
  /// non-fragments too.
  bool first_fragment;
  Address src;
  Address dst;
  /// Length of the whole IP packet as its header claims (bytes).
  uint32_t ip_len;
  /// Start of the L4 header; l4_caplen bytes of it are readable.
  const uint8_t* l4;
  /// Readable bytes from l4 to the end of the IP payload or of the capture,
  /// whichever comes first.
  uint32_t l4_caplen;
  /// Bytes from l4 to the end of the IP payload as the IP header claims
  /// (>= l4_caplen unless the capture cut the packet short).
  uint32_t l4_len;
  /// Start of the IP header (for reassembly: ctkit/defrag.h).
  const uint8_t* ip;
};

}  // namespace ctkit

#endif  // CTKIT_PACKET_H_
