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

/// What a packet's L4 checksum field holds.
enum class ChecksumStatus : uint8_t {
  kValid,    ///< correct, or not verifiable (see L4ChecksumStatus)
  kOffload,  ///< a transmit-offload partial checksum (TCP, UDP)
  kBad,      ///< wrong, or the header too short to hold one
};

/// Classifies the packet's L4 checksum.
///
/// kValid: correct, or it cannot be verified because the capture cut the
/// packet short (l4_caplen < l4_len) or it is a fragment. UDP over IPv4 with
/// checksum 0 is valid (no checksum). ICMPv4 has no pseudo-header;
/// TCP/UDP/UDP-Lite/ICMPv6 do. UDP-Lite uses its coverage field. Other
/// protocols: valid.
///
/// kOffload: TCP or UDP whose field holds exactly the folded (not
/// complemented) pseudo-header sum, with the L4 length (UDP: its length
/// field) as the pseudo-header's length: what Linux writes into a packet it
/// leaves for the NIC to finish (CHECKSUM_PARTIAL), and so what a capture
/// on the sending host shows for every such packet (and on a veth
/// receiver, for incoming ones too). The fold is the end-around-carry
/// one, so the value is never 0. Measured on this kernel for TCP and UDP,
/// IPv4 and IPv6, GSO super-packets included (docs/kernel-differences.md).
/// Linux computes ICMP, ICMPv6 and UDP-Lite checksums in software, so they
/// never carry one: for them such a value is kBad.
///
/// kBad: anything else.
ChecksumStatus L4ChecksumStatus(const PacketView& pkt) noexcept;

/// L4ChecksumStatus(pkt) == kValid: the checksum is complete and correct (or
/// cannot be verified).
bool L4ChecksumValid(const PacketView& pkt) noexcept;

/// What the NIC writes into a packet that left its host with an offload
/// partial checksum: the complement of the sum over the L4 bytes (TCP: the
/// whole L4 payload; UDP: its length field's worth) with the partial value
/// left in the field, which already holds the pseudo-header's share; UDP
/// writes 0xffff for 0. Used to send such a packet on as the wire carried it
/// (kernel-replay): a router's conntrack would otherwise verify the partial
/// value and call the packet INVALID.
/// REQUIRES: L4ChecksumStatus(pkt) == ChecksumStatus::kOffload.
uint16_t OffloadCompletedChecksum(const PacketView& pkt) noexcept;

/// Writes OffloadCompletedChecksum into the L4 header at `l4` (a writable
/// copy of pkt's L4 bytes). Returns false, writing nothing, unless pkt
/// carries an offload partial checksum.
bool CompleteOffloadChecksum(const PacketView& pkt, uint8_t* l4) noexcept;

/// A UDP-Lite checksum over its coverage with `pseudo_proto` as the
/// pseudo-header's protocol: RFC 3828 says UDP-Lite (136); conntrack on the
/// kernels measured here checks it with UDP (17) — see proto/udp.cc.
/// REQUIRES: pkt.l4_proto is UDP-Lite.
bool UdpLiteChecksumValid(const PacketView& pkt, uint8_t pseudo_proto) noexcept;

/// A UDP-Lite checksum as conntrack verifies it on 6.18 (measured,
/// docs/kernel-model.md §7): over its coverage, with UDP's protocol (17)
/// in the pseudo-header and, for IPv4, the length cut to its low 8 bits
/// (the two fields then sum to 17 + length mod 256; below 256 bytes that
/// is UDP's own sum); for IPv6 the true length. A zero field is invalid.
/// REQUIRES: pkt.l4_proto is UDP-Lite.
bool UdpLiteConntrackChecksumValid(const PacketView& pkt) noexcept;

}  // namespace ctkit

#endif  // CTKIT_NET_CHECKSUM_H_
