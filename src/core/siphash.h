// SipHash (Aumasson & Bernstein), the keyed hash family the kernel uses for
// the conntrack table. Keyed so that an attacker who does not know the key
// cannot choose tuples that share a bucket (hash flooding).
//
// SipHash-c-d runs c rounds per 8-byte message word and d final rounds. The
// kernel uses 2-4; the table uses 1-3 (as CPython's and Rust's hash tables
// do), which keeps the keyed PRF that makes flooding impractical at about
// half the cost per packet. Which member of the family hashes the table is
// invisible from outside: the key is secret either way.
#ifndef CTKIT_CORE_SIPHASH_H_
#define CTKIT_CORE_SIPHASH_H_

#include <cstddef>
#include <cstdint>

namespace ctkit {

/// The SipHash state: initialise with a key, absorb 8-byte little-endian
/// message words (the last one carrying the length in its top byte), then
/// finish.
template <int kCompressionRounds, int kFinalRounds>
class SipHasher {
 public:
  SipHasher(uint64_t k0, uint64_t k1)
      : v0_(k0 ^ 0x736f6d6570736575ull),
        v1_(k1 ^ 0x646f72616e646f6dull),
        v2_(k0 ^ 0x6c7967656e657261ull),
        v3_(k1 ^ 0x7465646279746573ull) {}

  void Absorb(uint64_t m) {
    v3_ ^= m;
    for (int i = 0; i < kCompressionRounds; ++i) Round();
    v0_ ^= m;
  }

  uint64_t Finish() {
    v2_ ^= 0xff;
    for (int i = 0; i < kFinalRounds; ++i) Round();
    return v0_ ^ v1_ ^ v2_ ^ v3_;
  }

 private:
  static uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }
  void Round() {
    v0_ += v1_;
    v1_ = Rotl(v1_, 13);
    v1_ ^= v0_;
    v0_ = Rotl(v0_, 32);
    v2_ += v3_;
    v3_ = Rotl(v3_, 16);
    v3_ ^= v2_;
    v0_ += v3_;
    v3_ = Rotl(v3_, 21);
    v3_ ^= v0_;
    v2_ += v1_;
    v1_ = Rotl(v1_, 17);
    v1_ ^= v2_;
    v2_ = Rotl(v2_, 32);
  }

  uint64_t v0_, v1_, v2_, v3_;
};

/// SipHash-c-d of len bytes (little-endian hosts).
template <int C, int D>
uint64_t SipHash(uint64_t k0, uint64_t k1, const void* data,
                 size_t len) noexcept;

/// SipHash-2-4, as the kernel uses; the reference test vectors check it.
inline uint64_t SipHash24(uint64_t k0, uint64_t k1, const void* data,
                          size_t len) noexcept {
  return SipHash<2, 4>(k0, k1, data, len);
}

}  // namespace ctkit

#endif  // CTKIT_CORE_SIPHASH_H_
