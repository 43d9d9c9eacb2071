// CRC32c, one table lookup per byte. SCTP is rare next to TCP and UDP, and
// a packet is summed once, so the 1 KiB table built at compile time is
// enough; no hardware instruction or wider tables.
//
// SCTP puts the CRC in its header least significant byte first: the
// kernel's own check agrees (measured: a packet with the bytes in network
// order is INVALID under nf_conntrack_checksum=1, kernel-model §9.2).
#include "net/crc32c.h"

#include <array>

namespace ctkit {
namespace {

constexpr uint32_t kReflectedPolynomial = 0x82f63b78u;

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) {
      c = (c & 1) != 0 ? (c >> 1) ^ kReflectedPolynomial : c >> 1;
    }
    t[i] = c;
  }
  return t;
}

constexpr std::array<uint32_t, 256> kTable = MakeTable();

uint32_t Update(uint32_t state, const uint8_t* data, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    state = kTable[(state ^ data[i]) & 0xffu] ^ (state >> 8);
  }
  return state;
}

}  // namespace

uint32_t Crc32c(uint32_t crc, const uint8_t* data, size_t len) noexcept {
  return ~Update(~crc, data, len);
}

bool SctpChecksumValid(const PacketView& pkt) noexcept {
  if (pkt.l4_caplen < 12 || pkt.l4_len < 12) return false;
  if (pkt.is_fragment || pkt.l4_caplen < pkt.l4_len) return true;
  const uint8_t* p = pkt.l4;
  const uint32_t stored =
      static_cast<uint32_t>(p[8]) | static_cast<uint32_t>(p[9]) << 8 |
      static_cast<uint32_t>(p[10]) << 16 | static_cast<uint32_t>(p[11]) << 24;
  static constexpr uint8_t kZeroField[4] = {0, 0, 0, 0};
  uint32_t crc = Crc32c(0, p, 8);
  crc = Crc32c(crc, kZeroField, 4);
  crc = Crc32c(crc, p + 12, pkt.l4_len - 12);
  return crc == stored;
}

}  // namespace ctkit
