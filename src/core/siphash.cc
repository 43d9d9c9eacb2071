// SipHash over a byte string, written from the algorithm's description:
// 8-byte little-endian words, the length in the top byte of the last word.
// Verified against the paper's test vector in siphash_test.cc.
#include "core/siphash.h"

#include <cstring>

namespace ctkit {

template <int C, int D>
uint64_t SipHash(uint64_t k0, uint64_t k1, const void* data,
                 size_t len) noexcept {
  SipHasher<C, D> h(k0, k1);
  const auto* p = static_cast<const uint8_t*>(data);
  size_t full = len & ~static_cast<size_t>(7);
  for (size_t i = 0; i < full; i += 8) {
    uint64_t m;
    std::memcpy(&m, p + i, 8);  // little-endian hosts only (x86-64, arm64)
    h.Absorb(m);
  }
  uint64_t last = static_cast<uint64_t>(len) << 56;
  for (size_t i = 0; i < (len & 7); ++i) {
    last |= static_cast<uint64_t>(p[full + i]) << (8 * i);
  }
  h.Absorb(last);
  return h.Finish();
}

template uint64_t SipHash<1, 3>(uint64_t, uint64_t, const void*,
                                size_t) noexcept;
template uint64_t SipHash<2, 4>(uint64_t, uint64_t, const void*,
                                size_t) noexcept;

}  // namespace ctkit
