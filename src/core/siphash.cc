// SipHash-2-4, written from the algorithm's description: four 64-bit state
// words initialised from the key and constants, two SipRounds per 8-byte
// message word, the length in the top byte of the last word, four final
// rounds. Verified against the paper's test vector in siphash_test.cc.
#include "core/siphash.h"

#include <cstring>

namespace ctkit {
namespace {

inline uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

struct State {
  uint64_t v0, v1, v2, v3;

  void Round() {
    v0 += v1;
    v1 = Rotl(v1, 13);
    v1 ^= v0;
    v0 = Rotl(v0, 32);
    v2 += v3;
    v3 = Rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = Rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = Rotl(v1, 17);
    v1 ^= v2;
    v2 = Rotl(v2, 32);
  }

  void Absorb(uint64_t m) {
    v3 ^= m;
    Round();
    Round();
    v0 ^= m;
  }
};

}  // namespace

uint64_t SipHash24(uint64_t k0, uint64_t k1, const void* data,
                   size_t len) noexcept {
  State s{k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull,
          k0 ^ 0x6c7967656e657261ull, k1 ^ 0x7465646279746573ull};
  const auto* p = static_cast<const uint8_t*>(data);
  size_t full = len & ~static_cast<size_t>(7);
  for (size_t i = 0; i < full; i += 8) {
    uint64_t m;
    std::memcpy(&m, p + i, 8);  // little-endian hosts only (x86-64, arm64)
    s.Absorb(m);
  }
  uint64_t last = static_cast<uint64_t>(len) << 56;
  for (size_t i = 0; i < (len & 7); ++i) {
    last |= static_cast<uint64_t>(p[full + i]) << (8 * i);
  }
  s.Absorb(last);
  s.v2 ^= 0xff;
  s.Round();
  s.Round();
  s.Round();
  s.Round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace ctkit
