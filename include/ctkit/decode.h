// Frame decoding: link layer -> IPv4/IPv6 -> the start of the L4 header.
//
// Bounds-checked, allocation-free and exception-free: every byte read is
// checked against the captured length first. A frame that cannot be decoded
// yields a DecodeStatus naming why; the engine never sees it.
#ifndef CTKIT_DECODE_H_
#define CTKIT_DECODE_H_

#include <cstdint>

#include "ctkit/packet.h"

namespace ctkit {

/// Capture link types (LINKTYPE_* values as stored in pcap/pcapng files).
namespace linktype {
inline constexpr uint32_t kNull = 0;        ///< BSD loopback, host-order AF
inline constexpr uint32_t kEthernet = 1;    ///< Ethernet II, 802.1Q, QinQ
inline constexpr uint32_t kRaw = 101;       ///< raw IPv4/IPv6 (by version)
inline constexpr uint32_t kLoop = 108;      ///< OpenBSD loopback, BE AF
inline constexpr uint32_t kLinuxSll = 113;  ///< Linux cooked v1
inline constexpr uint32_t kIpv4 = 228;
inline constexpr uint32_t kIpv6 = 229;
inline constexpr uint32_t kLinuxSll2 = 276;  ///< Linux cooked v2
}  // namespace linktype

/// Why a frame did or did not yield a PacketView. Everything but kOk is a
/// "skip" reason: the packet never reaches conntrack.
enum class DecodeStatus : uint8_t {
  kOk = 0,
  kUnsupportedLinkType,  ///< link type this decoder does not know
  kTruncatedLink,        ///< frame shorter than its link header
  kNotIp,                ///< ARP, LLDP, ...: not IPv4 or IPv6
  kTruncatedIp,          ///< captured bytes end inside the IP header(s)
  kBadIpHeader,          ///< version/IHL/total length inconsistent (the IP
                         ///< layer would discard it before conntrack)
  kBadIpv6ExtHeader,     ///< extension chain malformed, too long or looping
  kNonFirstFragment,     ///< a fragment without the L4 header (see docs)
  /// Not the decoder's: a fragment a Reassembler (defrag.h) took; the
  /// engine sees its datagram with the fragment that completes it.
  kFragmentHeld,
  kCount,
};

/// Short stable name for a status, e.g. "non-ip", "truncated-ip".
const char* DecodeStatusName(DecodeStatus status) noexcept;

/// Decodes one captured frame of the given link type.
/// REQUIRES: data points at caplen readable bytes. On kOk, *out borrows data.
DecodeStatus DecodeFrame(uint32_t link_type, const uint8_t* data,
                         uint32_t caplen, PacketView* out) noexcept;

/// Decodes an IPv4/IPv6 packet starting at data (version from the first
/// nibble). With `embedded` (the packet quoted inside an ICMP error) the
/// packet is allowed to be cut short after the first 8 bytes of L4 header,
/// and its claimed total length is not checked against len.
/// Both modes need only the IP header(s) within len: l4_len follows the
/// header's claim, l4_caplen what len holds (0 if the quote stops right
/// after the IP header). On a status other than kOk the view may be partly
/// filled; with kNonFirstFragment it has addresses, l4_proto and lengths.
DecodeStatus DecodeIp(const uint8_t* data, uint32_t len, PacketView* out,
                      bool embedded = false) noexcept;

}  // namespace ctkit

#endif  // CTKIT_DECODE_H_
