// The verdict for one packet: what nftables' `ct state` would see, or DROP
// when conntrack itself dropped the packet; and, for INVALID, why.
#ifndef CTKIT_VERDICT_H_
#define CTKIT_VERDICT_H_

#include <cstddef>
#include <cstdint>

namespace ctkit {

/// What nftables' `ct state` would see for a packet, or DROP when conntrack
/// itself dropped it (table full, chain too long).
enum class Verdict : uint8_t {
  kNew = 0,
  kEstablished,
  kRelated,
  kInvalid,
  kUntracked,
  kDrop,
};
inline constexpr int kVerdictCount = 6;
/// "NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED", "DROP".
const char* VerdictName(Verdict v) noexcept;

/// Why a packet was INVALID or went to the ICMP error path; reported by
/// replay as "invalid (by reason)".
enum class InvalidReason : uint8_t {
  kNone = 0,
  kL4Truncated,      ///< L4 header too short to read ports/id
  kNotInvertible,    ///< no reply tuple (e.g. ICMP router advertisement)
  kTcpHeader,        ///< bad data offset or flags
  kTcpNewNotSyn,     ///< first packet of a flow is not SYN (or ACK+loose)
  kTcpState,         ///< the transition table said invalid
  kTcpRst,           ///< RST failing the sequence check
  kTcpWindow,        ///< sequence/ack outside the window
  kUdpHeader,        ///< short header or bad length
  kIcmpHeader,       ///< short header, bad type (error path)
  kIcmpNoEntry,      ///< reply-type ICMP with no request seen
  kIcmpErrorNoFlow,  ///< ICMP error quoting a flow that is not tracked
  kIcmpErrorBad,     ///< quoted packet unparsable, or spoofed destination
  kTcpChecksum,      ///< wrong TCP checksum (nf_conntrack_checksum=1)
  kUdpChecksum,      ///< wrong UDP/UDP-Lite checksum
  kIcmpChecksum,     ///< wrong ICMP/ICMPv6 checksum (error path)
  kGreNotPpp,        ///< GRE version 1 (PPTP) not carrying PPP
  kSctpHeader,       ///< SCTP common header shorter than 12 bytes
  kSctpChunks,       ///< SCTP chunks badly laid out (none, zero length, ...)
  kSctpChecksum,     ///< wrong SCTP CRC32c (nf_conntrack_checksum=1)
  kSctpVtag,         ///< SCTP verification tag not the one learned
  kSctpState,        ///< SCTP chunk with no transition from the state
  kCount,
};
/// How many InvalidReason values there are, kNone included: the size of
/// EngineCounters::invalid_by_reason.
inline constexpr size_t kInvalidReasonCount =
    static_cast<size_t>(InvalidReason::kCount);
/// The reason's name as replay prints it: "tcp-state", "udp-checksum", ...
const char* InvalidReasonName(InvalidReason r) noexcept;
/// True for the reasons that mean a wrong checksum.
bool IsChecksumReason(InvalidReason r) noexcept;
/// True for the reasons the kernel counts under `error` rather than
/// `invalid` (its ICMP/ICMPv6 error callback failed: a bad ICMP header, type
/// or checksum, or an ICMP error quoting no entry or failing the checks).
bool CountsAsError(InvalidReason r) noexcept;

}  // namespace ctkit

#endif  // CTKIT_VERDICT_H_
