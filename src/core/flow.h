// Flow: one conntrack entry. Both directions of a flow are linked into the
// table through the two `next` links (node ids flow*2 + direction); the
// reply tuple is not stored, it is the original inverted (no NAT).
#ifndef CTKIT_CORE_FLOW_H_
#define CTKIT_CORE_FLOW_H_

#include <cstdint>
#include <cstring>

#include "ctkit/tuple.h"
#include "proto/tracker.h"

namespace ctkit {

/// "No node": ends a chain, marks an empty bucket.
inline constexpr uint32_t kNil = 0xffffffffu;

/// Status bits; where the kernel has the same bit (IPS_*) the value is the
/// kernel's.
namespace flowstatus {
inline constexpr uint16_t kSeenReply = 1u << 1;
inline constexpr uint16_t kAssured = 1u << 2;
inline constexpr uint16_t kConfirmed = 1u << 3;
inline constexpr uint16_t kDying = 1u << 9;
inline constexpr uint16_t kFixedTimeout = 1u << 10;
// ctkit's own: which "extensions" the entry was created with.
inline constexpr uint16_t kHasAcct = 1u << 12;
inline constexpr uint16_t kHasTimestamp = 1u << 13;
inline constexpr uint16_t kHasEvents = 1u << 14;
// The entry is in a zone other than the default: FlowTable::ZoneOf.
inline constexpr uint16_t kHasZone = 1u << 15;
}  // namespace flowstatus

/// A flow's original-direction tuple in 14 bytes: ports, protocols, and
/// 4 bytes of each address — all of an IPv4 address; for IPv6 the last 4
/// (the host part, which differs most), with the full addresses in the
/// table's IPv6 side pool (FlowTable::V6). Equal keys (and, for IPv6, equal
/// side-pool addresses) mean equal tuples.
struct FlowKey {
  uint8_t src4[4];
  uint8_t dst4[4];
  uint16_t src_port_or_icmp_id;
  uint16_t dst_port_or_icmp_type_code;
  uint8_t l4_proto;
  Family family;

  static FlowKey Of(const Tuple& t) noexcept {
    FlowKey k{};
    int at = t.family == Family::kIPv4 ? 0 : 12;
    std::memcpy(k.src4, t.src.bytes + at, 4);
    std::memcpy(k.dst4, t.dst.bytes + at, 4);
    k.src_port_or_icmp_id = t.src_port_or_icmp_id;
    k.dst_port_or_icmp_type_code = t.dst_port_or_icmp_type_code;
    k.l4_proto = t.l4_proto;
    k.family = t.family;
    return k;
  }
};
static_assert(sizeof(FlowKey) == 14, "FlowKey is packed into Flow");

/// 88 bytes. The first 28 (links, expiry, status, key) are all an IPv4
/// lookup touches; the tracker state follows. With a 4-byte bucket head and
/// a 2-byte chain length per entry (1:1 buckets) that is 94 bytes per IPv4
/// entry, 126 per IPv6 entry (+32 in the side pool).
struct alignas(8) Flow {
  uint32_t next[2];  ///< next node in each direction's chain, or kNil
  uint32_t expiry;   ///< absolute jiffies; expired when (expiry-now) <= 0
  uint16_t status;   ///< flowstatus bits
  FlowKey key;       ///< the original-direction tuple, compact
  ProtoState proto;  ///< tracker state (60 bytes)
};
static_assert(sizeof(Flow) == 88, "Flow layout is part of the memory budget");

/// An IPv6 flow's full addresses (original direction), by flow index.
struct V6Addresses {
  Address src;
  Address dst;
};

/// Node ids: the node of `dir` of flow `index`.
inline uint32_t NodeId(uint32_t index, Direction dir) {
  return index * 2 + static_cast<uint32_t>(dir);
}
inline uint32_t NodeFlow(uint32_t node) { return node >> 1; }
inline Direction NodeDir(uint32_t node) {
  return static_cast<Direction>(node & 1);
}

/// Signed jiffies until `expiry` (<= 0: expired), wrap-safe.
inline int32_t JiffiesLeft(uint32_t expiry, uint32_t now) {
  return static_cast<int32_t>(expiry - now);
}

}  // namespace ctkit

#endif  // CTKIT_CORE_FLOW_H_
