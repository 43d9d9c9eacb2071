// Tuple: the identity of one direction of a flow, as the kernel's
// nf_conntrack_tuple (addresses, ports or ICMP id/type/code, protocols).
#ifndef CTKIT_TUPLE_H_
#define CTKIT_TUPLE_H_

#include <cstdint>

#include "ctkit/packet.h"

namespace ctkit {

/// Which side of a flow a packet or tuple belongs to.
enum class Direction : uint8_t { kOriginal = 0, kReply = 1 };

inline Direction Opposite(Direction d) {
  return d == Direction::kOriginal ? Direction::kReply : Direction::kOriginal;
}

/// One direction's identity. Overloaded fields say so in their names: for
/// ICMP/ICMPv6 the source "port" is the echo identifier and the destination
/// "port" carries type (high byte) and code (low byte), as the kernel's
/// tuple does. Generic protocols use zero ports. Host byte order.
struct Tuple {
  Address src{};
  Address dst{};
  uint16_t src_port_or_icmp_id = 0;
  uint16_t dst_port_or_icmp_type_code = 0;
  uint8_t l4_proto = 0;
  Family family = Family::kIPv4;

  uint8_t icmp_type() const {
    return static_cast<uint8_t>(dst_port_or_icmp_type_code >> 8);
  }
  uint8_t icmp_code() const {
    return static_cast<uint8_t>(dst_port_or_icmp_type_code & 0xff);
  }

  friend bool operator==(const Tuple& a, const Tuple& b) {
    return a.src == b.src && a.dst == b.dst &&
           a.src_port_or_icmp_id == b.src_port_or_icmp_id &&
           a.dst_port_or_icmp_type_code == b.dst_port_or_icmp_type_code &&
           a.l4_proto == b.l4_proto && a.family == b.family;
  }
};

}  // namespace ctkit

#endif  // CTKIT_TUPLE_H_
