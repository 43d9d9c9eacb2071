// CRC32c (Castagnoli), the checksum of an SCTP packet (RFC 9260 appendix
// A), and the check conntrack applies to it (kernel-model §9.2).
#ifndef CTKIT_NET_CRC32C_H_
#define CTKIT_NET_CRC32C_H_

#include <cstddef>
#include <cstdint>

#include "ctkit/packet.h"

namespace ctkit {

/// Continues a CRC32c over `len` bytes. Start with `crc` = 0; the result is
/// the finished CRC (pre- and post-inverted, reflected polynomial
/// 0x82f63b78), so Crc32c(0, "123456789", 9) == 0xe3069283, and a running
/// CRC can be fed the next span: Crc32c(Crc32c(0, a, n), b, m) is the CRC
/// of a followed by b.
uint32_t Crc32c(uint32_t crc, const uint8_t* data, size_t len) noexcept;

/// True when the SCTP packet's checksum field (common-header bytes 8-11,
/// the CRC stored least significant byte first) is the CRC32c of the whole
/// SCTP packet with that field taken as zero; also true when it cannot be
/// verified: a capture that cut the packet short, or a fragment (the
/// kernel checks the reassembled packet). A header shorter than 12 bytes
/// is not valid.
/// REQUIRES: pkt.l4_proto is SCTP.
bool SctpChecksumValid(const PacketView& pkt) noexcept;

}  // namespace ctkit

#endif  // CTKIT_NET_CRC32C_H_
