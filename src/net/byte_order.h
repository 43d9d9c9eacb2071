// Unaligned, endian-explicit loads from packet bytes. Packet headers are
// big-endian and may sit at any alignment; memcpy makes the load defined
// behaviour and compiles to a single instruction plus a byte swap.
#ifndef CTKIT_NET_BYTE_ORDER_H_
#define CTKIT_NET_BYTE_ORDER_H_

#include <cstdint>
#include <cstring>

namespace ctkit {

inline uint16_t LoadBe16(const uint8_t* p) noexcept {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return __builtin_bswap16(v);
}

inline uint32_t LoadBe32(const uint8_t* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}

inline void StoreBe16(uint8_t* p, uint16_t v) noexcept {
  v = __builtin_bswap16(v);
  std::memcpy(p, &v, 2);
}

inline void StoreBe32(uint8_t* p, uint32_t v) noexcept {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}

}  // namespace ctkit

#endif  // CTKIT_NET_BYTE_ORDER_H_
