// SCTP tracking as Linux 6.18 does it (kernel-model §9.2, measured with
// kernel-replay): the tuple with ports, the association's state followed
// chunk by chunk, the two verification tags conntrack learns and checks,
// the chunk-layout rules, and the CRC32c check before lookup.
#ifndef CTKIT_PROTO_SCTP_H_
#define CTKIT_PROTO_SCTP_H_

#include <cstdint>

#include "ctkit/packet.h"
#include "ctkit/tunables.h"
#include "ctkit/verdict.h"
#include "proto/track_result.h"

namespace ctkit {

/// SCTP conntrack states; the values are the kernel's ctnetlink ABI
/// (CTA_PROTOINFO_SCTP_STATE). HEARTBEAT_ACKED keeps its number but 6.18
/// never enters it (an answered heartbeat leads to ESTABLISHED, and the
/// kernel has no sysctl for it any more).
enum class SctpState : uint8_t {
  kNone = 0,
  kClosed = 1,
  kCookieWait = 2,
  kCookieEchoed = 3,
  kEstablished = 4,
  kShutdownSent = 5,
  kShutdownRecd = 6,
  kShutdownAckSent = 7,
  kHeartbeatSent = 8,
  kHeartbeatAcked = 9,
  kMax = 10,  ///< also the "invalid" marker in the transition table
};
inline constexpr int kSctpStateCount = 10;

/// "COOKIE_WAIT", "ESTABLISHED", ... as conntrack -L prints them.
const char* SctpStateName(SctpState s) noexcept;

/// The SCTP timeouts (jiffies), indexed by SctpState; NONE and
/// HEARTBEAT_ACKED are 0 (no entry rests in them).
struct SctpConfig {
  uint32_t timeouts[kSctpStateCount];

  /// The nf_conntrack_sctp_timeout_* sysctls of `t`, in jiffies of `hz`.
  static SctpConfig FromTunables(const Tunables& t, uint32_t hz) noexcept;
};

/// The per-flow SCTP state kept in each Flow (12 bytes of ProtoState).
/// Zero-initialised = NONE with no tag known.
struct SctpConn {
  /// The verification tag each direction's packets must carry (indexed by
  /// Direction); 0 while not known.
  uint32_t vtag[2];
  SctpState state;
  /// Bit d set: direction d sent an INIT that has not yet led to
  /// ESTABLISHED (the INIT-ACK tag checks depend on it).
  uint8_t init_seen;
  /// A HEARTBEAT arrived with a tag other than the known one (a peer that
  /// restarted or moved): a HEARTBEAT-ACK with a new tag from the other
  /// side may then replace the tags.
  bool heartbeat_vtag_failed;
  /// The direction of that HEARTBEAT.
  uint8_t heartbeat_failed_dir;
};

/// Pre-lookup check: a common header of 12 bytes (else kSctpHeader) and,
/// when `checksum`, its CRC32c (else kSctpChecksum). Never inlined, nor is
/// SctpTrack: their callers dispatch every packet by protocol, and SCTP's
/// bodies inlined there made each TCP and UDP packet pay for a heavier
/// function (about 5 % on an established UDP flow, measured).
[[gnu::noinline]] InvalidReason SctpHeaderCheck(const PacketView& pkt,
                                                bool checksum) noexcept;

/// Runs one packet through the entry's state machine (kernel-model §9.2):
/// chunk layout, new-entry rules, verification tags, transitions, timeout.
/// REQUIRES: SctpHeaderCheck(pkt, ...) passed.
[[gnu::noinline]] TrackResult SctpTrack(SctpConn* conn, const PacketView& pkt,
                                        const TrackContext& ctx,
                                        const SctpConfig& cfg) noexcept;

/// The GC's early-drop mode may take an ASSURED SCTP entry in the shutdown
/// states (kernel-model §3.3).
bool SctpCanEarlyDrop(const SctpConn& conn) noexcept;

}  // namespace ctkit

#endif  // CTKIT_PROTO_SCTP_H_
