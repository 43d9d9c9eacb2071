// The TCP tracker: the kernel's state machine, window tracking and timeout
// selection for one segment of one flow. It knows nothing of the table: the
// engine gives it the flow's TcpConn and a little context, and applies the
// protocol-neutral TrackResult it returns (refresh, ASSURED, kill, reopen,
// the cap after an invalid FIN/RST).
#ifndef CTKIT_PROTO_TCP_H_
#define CTKIT_PROTO_TCP_H_

#include <cstdint>

#include "ctkit/packet.h"
#include "ctkit/tuple.h"
#include "proto/tcp_conn.h"
#include "proto/track_result.h"

namespace ctkit {

/// Live TCP settings, timeouts already converted to jiffies.
struct TcpConfig {
  uint32_t timeouts[kTcpTimeoutSlots];  ///< jiffies, indexed by TcpState
  bool loose;
  bool be_liberal;
  bool ignore_invalid_rst;
  uint8_t max_retrans;
  bool checksum;
};

/// What TcpHeaderCheck found first.
enum class TcpHeaderError : uint8_t { kNone, kHeader, kChecksum };

/// Header sanity as the kernel's tcp_error, in its order: the header is
/// readable (data offset >= 5 and within l4_len), the checksum is right (if
/// `checksum`; an offload partial checksum passes and sets *offload), and
/// the flag combination is allowed (kHeader otherwise).
TcpHeaderError TcpHeaderCheck(const PacketView& pkt, bool checksum,
                              bool* offload) noexcept;

/// TcpHeaderCheck(...) == kNone. false = INVALID.
bool TcpHeaderValid(const PacketView& pkt, bool checksum) noexcept;

/// Tracks one segment. REQUIRES: TcpHeaderValid(pkt) was true; for a new
/// flow, *conn is zero-initialised. ctx.now is not used: TCP's decisions
/// depend on the time left (ctx.remaining), not on the clock. An INVALID
/// result names one of the kTcp* reasons of ctkit/verdict.h.
TrackResult TcpTrackSegment(TcpConn* conn, const PacketView& pkt,
                            const TrackContext& ctx,
                            const TcpConfig& cfg) noexcept;

}  // namespace ctkit

#endif  // CTKIT_PROTO_TCP_H_
