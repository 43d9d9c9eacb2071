// L4 checksum verification (the kernel's nf_conntrack_checksum at
// PREROUTING): TCP, UDP, UDP-Lite, ICMP, ICMPv6.
#ifndef CTKIT_NET_CHECKSUM_H_
#define CTKIT_NET_CHECKSUM_H_

#include <cstdint>

#include "ctkit/packet.h"

namespace ctkit {

/// Internet checksum (RFC 1071) partial sum over len bytes, folded later.
uint32_t ChecksumAdd(uint32_t sum, const uint8_t* data, uint32_t len) noexcept;
/// Folds a partial sum to 16 bits and complements it.
uint16_t ChecksumFold(uint32_t sum) noexcept;

/// True when the packet's L4 checksum is correct, or cannot be verified
/// because the capture cut the packet short (l4_caplen < l4_len) or it is a
/// fragment. UDP over IPv4 with checksum 0 is valid (no checksum). ICMPv4 has
/// no pseudo-header; TCP/UDP/UDP-Lite/ICMPv6 do. UDP-Lite uses its coverage
/// field. Other protocols: true.
bool L4ChecksumValid(const PacketView& pkt) noexcept;

/// A UDP-Lite checksum over its coverage with `pseudo_proto` as the
/// pseudo-header's protocol: RFC 3828 says UDP-Lite (136); conntrack on the
/// kernels measured here checks it with UDP (17) — see proto/udp.cc.
/// REQUIRES: pkt.l4_proto is UDP-Lite.
bool UdpLiteChecksumValid(const PacketView& pkt, uint8_t pseudo_proto) noexcept;

}  // namespace ctkit

#endif  // CTKIT_NET_CHECKSUM_H_
