// SipHash-2-4 (Aumasson & Bernstein), the keyed hash the kernel uses for
// the conntrack table. Keyed so that an attacker who does not know the key
// cannot choose tuples that share a bucket (hash flooding).
#ifndef CTKIT_CORE_SIPHASH_H_
#define CTKIT_CORE_SIPHASH_H_

#include <cstddef>
#include <cstdint>

namespace ctkit {

/// SipHash-2-4 of len bytes under the 128-bit key (k0, k1).
uint64_t SipHash24(uint64_t k0, uint64_t k1, const void* data,
                   size_t len) noexcept;

}  // namespace ctkit

#endif  // CTKIT_CORE_SIPHASH_H_
