// The per-flow TCP state the tracker keeps inside each Flow (60 bytes), and
// the TCP state names. Field meanings follow the kernel's ip_ct_tcp so that
// behaviour can be compared field by field.
#ifndef CTKIT_PROTO_TCP_CONN_H_
#define CTKIT_PROTO_TCP_CONN_H_

#include <cstdint>

namespace ctkit {

/// TCP conntrack states; the values are the kernel's ctnetlink ABI.
enum class TcpState : uint8_t {
  kNone = 0,
  kSynSent = 1,
  kSynRecv = 2,
  kEstablished = 3,
  kFinWait = 4,
  kCloseWait = 5,
  kLastAck = 6,
  kTimeWait = 7,
  kClose = 8,
  kSynSent2 = 9,
  kMax = 10,      ///< also the "invalid" marker in the transition table
  kIgnore = 11,   ///< transition-table marker: accept, change nothing
  kRetrans = 12,  ///< timeout slot only
  kUnack = 13,    ///< timeout slot only
};
inline constexpr int kTcpTimeoutSlots = 14;

/// "SYN_SENT", "ESTABLISHED", ... as conntrack -L prints them.
const char* TcpStateName(TcpState s) noexcept;

/// Per-direction flags (the kernel's IP_CT_TCP_FLAG_* ABI values).
namespace tcpwin {
inline constexpr uint8_t kWindowScale = 0x01;
inline constexpr uint8_t kSackPerm = 0x02;
inline constexpr uint8_t kCloseInit = 0x04;
inline constexpr uint8_t kBeLiberal = 0x08;
inline constexpr uint8_t kDataUnacknowledged = 0x10;
inline constexpr uint8_t kMaxAckSet = 0x20;
inline constexpr uint8_t kChallengeAck = 0x40;
inline constexpr uint8_t kSimultaneousOpen = 0x80;
}  // namespace tcpwin

/// What one side has sent and been allowed to send (sequence space).
struct TcpWindow {
  uint32_t end;     ///< highest seq + len sent
  uint32_t maxend;  ///< highest ack + window the peer advertised
  uint32_t maxwin;  ///< largest window seen (+ SACK adjustment)
  uint32_t maxack;  ///< highest ack sent (valid with kMaxAckSet)
  uint8_t scale;    ///< window scale shift
  uint8_t flags;    ///< tcpwin::*
};

/// The whole TCP tracking state of one flow (60 bytes). Zero-initialised =
/// kNone.
struct TcpConn {
  TcpWindow seen[2];  ///< indexed by Direction
  uint32_t last_seq;  ///< last recorded segment, for retrans/resync
  uint32_t last_ack;
  uint32_t last_end;
  uint16_t last_win;  ///< raw (unscaled) window of the last segment
  TcpState state;
  uint8_t last_dir;    ///< Direction of the last recorded segment
  uint8_t last_index;  ///< flag class (TcpFlagClass) of the last segment
  uint8_t last_wscale;
  uint8_t last_flags;  ///< tcpwin flags recorded from an ignored SYN
  uint8_t retrans;     ///< identical retransmissions seen (wraps at 255)
};
static_assert(sizeof(TcpConn) == 60, "TcpConn is part of the Flow layout");

}  // namespace ctkit

#endif  // CTKIT_PROTO_TCP_CONN_H_
