// Flow: one conntrack entry. Both directions of a flow are linked into the
// table through the two `next` links (node ids flow*2 + direction); the
// reply tuple is not stored, it is the original inverted (no NAT).
#ifndef CTKIT_CORE_FLOW_H_
#define CTKIT_CORE_FLOW_H_

#include <cstdint>

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
}  // namespace flowstatus

/// 112 bytes. The first 52 (links, expiry, status, tuple) are all a lookup
/// touches; the tracker state follows.
struct alignas(16) Flow {
  uint32_t next[2];  ///< next node in each direction's chain, or kNil
  uint32_t expiry;   ///< absolute jiffies; expired when (expiry-now) <= 0
  uint16_t status;   ///< flowstatus bits
  Tuple orig;        ///< the original-direction tuple (38 bytes)
  ProtoState proto;  ///< tracker state (60 bytes)
};
static_assert(sizeof(Tuple) == 38, "Tuple is packed into Flow");
static_assert(sizeof(Flow) == 112, "Flow layout is part of the memory budget");

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
