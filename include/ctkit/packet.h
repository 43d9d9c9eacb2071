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
inline constexpr uint8_t kSctp = 132;
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

/// A conntrack zone, as nft's `ct zone set` gives one to a packet: an id
/// that keeps entries apart (equal tuples in different zones are different
/// entries), applied to both directions (`ct zone set`, dir_mask 0) or to
/// one (`ct original zone set`: kOriginalOnly; `ct reply zone set`:
/// kReplyOnly). In a direction the zone does not apply to, the id is 0, the
/// default zone (docs/kernel-model.md §4.6).
struct Zone {
  static constexpr uint8_t kOriginalOnly = 1;
  static constexpr uint8_t kReplyOnly = 2;
  // No member initialisers: Zone stays trivial, so PacketView does (the
  // decoder sets every field; Zone{} is the default zone).
  uint16_t id;
  uint8_t dir_mask;  ///< 0: both directions

  /// The id in direction `dir` (0 original, 1 reply).
  uint16_t IdIn(int dir) const noexcept {
    return (dir_mask == 0 || (dir_mask & (1u << dir)) != 0) ? id : 0;
  }
  /// Whether this is the default zone (id 0 in both directions).
  bool IsDefault() const noexcept { return id == 0; }
  friend bool operator==(const Zone& a, const Zone& b) {
    return a.id == b.id && (a.id == 0 || a.dir_mask == b.dir_mask);
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
  /// The packet's conntrack zone. The decoder sets the default; a replay
  /// sets it from the user's --zone-map, a dataplane from its own rules.
  Zone zone;
  /// Start of the IP header (for reassembly: ctkit/defrag.h).
  const uint8_t* ip;
};

}  // namespace ctkit

#endif  // CTKIT_PACKET_H_
