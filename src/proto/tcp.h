// The TCP tracker: the kernel's state machine, window tracking and timeout
// selection for one segment of one flow. It knows nothing of the table: the
// engine gives it the flow's TcpConn and a little context, and applies what
// it returns (refresh, ASSURED, kill, reopen).
#ifndef CTKIT_PROTO_TCP_H_
#define CTKIT_PROTO_TCP_H_

#include <cstdint>

#include "ctkit/packet.h"
#include "ctkit/tuple.h"
#include "proto/tcp_conn.h"

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

/// The flow's status as the engine sees it before this segment.
struct TcpContext {
  Direction dir;
  bool is_new;      ///< the flow is unconfirmed: this is its first segment
  bool reply_seen;  ///< a reply-direction packet was seen before
  bool assured;
  /// expiry - now in jiffies (signed) before this segment; used by the
  /// timeout-lowering rule for invalid FIN/RST.
  int32_t remaining;
};

enum class TcpVerdict : uint8_t {
  kAccept,   ///< accepted; apply refresh/assured/kill as flagged
  kIgnore,   ///< accepted with the entry, but state and timeout unchanged
  kInvalid,  ///< INVALID: the packet goes on without an entry
  kReopen,   ///< SYN on TIME_WAIT/CLOSE: kill the flow, reprocess as new
};

/// Why a segment was INVALID (for replay's "invalid by reason").
enum class TcpInvalid : uint8_t {
  kNone,
  kNewNotSyn,  ///< a flow's first segment is not SYN (or ACK with loose)
  kState,      ///< the transition table says invalid
  kRst,        ///< an RST failing the sequence check
  kWindow,     ///< SEQ or ACK beyond the window
};

struct TcpResult {
  TcpVerdict verdict = TcpVerdict::kInvalid;
  TcpInvalid invalid = TcpInvalid::kNone;  ///< with kInvalid
  bool refresh = false;                    ///< set expiry = now + timeout
  uint32_t timeout = 0;                    ///< jiffies, meaningful with refresh
  bool set_assured = false;                ///< flow becomes ASSURED now
  bool kill = false;  ///< delete the flow now (RST with no reply)
  bool state_changed = false;
  /// Invalid FIN/RST on an assured flow: expiry = now + timeouts[kUnack].
  bool cap_to_unack = false;
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
/// flow, *conn is zero-initialised.
TcpResult TcpTrackSegment(TcpConn* conn, const PacketView& pkt,
                          const TcpContext& ctx, const TcpConfig& cfg) noexcept;

}  // namespace ctkit

#endif  // CTKIT_PROTO_TCP_H_
