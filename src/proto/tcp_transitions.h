// The TCP tracker's state machine as data: next state =
// kTcpTransitions[direction][flag class][current state], with the pseudo
// states kMax (INVALID) and kIgnore (accept, change nothing) as outcomes.
// The cells are spec §6.3; the special cases that no table can express
// (reopen, resync, challenge ACKs, simultaneous open, RST checks) live in
// tcp.cc, which consults the table first and then adjusts.
#ifndef CTKIT_PROTO_TCP_TRANSITIONS_H_
#define CTKIT_PROTO_TCP_TRANSITIONS_H_

#include <cstdint>

#include "proto/tcp_conn.h"

namespace ctkit {

/// The class of a segment for the transition table (spec §6.2), in table
/// row order. Stored in TcpConn::last_index.
enum class TcpFlagClass : uint8_t {
  kSyn = 0,     ///< SYN without ACK
  kSynAck = 1,  ///< SYN with ACK
  kFin = 2,     ///< FIN (with or without ACK), no SYN/RST
  kAck = 3,     ///< ACK only (data and PSH allowed)
  kRst = 4,     ///< RST, whatever else is set
  kNone = 5,    ///< nothing of the above (header check rejects these)
};
inline constexpr int kTcpFlagClasses = 6;
/// Columns: the real states kNone..kSynSent2.
inline constexpr int kTcpRealStates = 10;

namespace tcp_table {
// Short names keep each row on one line, so that a row reads like the
// spec's table. kSS in the TIME_WAIT/CLOSE columns is the spec's "SS*": the
// table says SYN_SENT, and tcp.cc decides between reopening and ignoring.
// kIV (the kMax marker) means INVALID, kIG means IGNORE.
inline constexpr TcpState kSS = TcpState::kSynSent;
inline constexpr TcpState kSR = TcpState::kSynRecv;
inline constexpr TcpState kES = TcpState::kEstablished;
inline constexpr TcpState kFW = TcpState::kFinWait;
inline constexpr TcpState kCW = TcpState::kCloseWait;
inline constexpr TcpState kLA = TcpState::kLastAck;
inline constexpr TcpState kTW = TcpState::kTimeWait;
inline constexpr TcpState kCL = TcpState::kClose;
inline constexpr TcpState kS2 = TcpState::kSynSent2;
inline constexpr TcpState kIV = TcpState::kMax;
inline constexpr TcpState kIG = TcpState::kIgnore;

// clang-format off
/// Spec §6.3. Columns in every row:
///   NONE SYN_SENT SYN_RECV ESTABLISHED FIN_WAIT CLOSE_WAIT LAST_ACK
///   TIME_WAIT CLOSE SYN_SENT2
inline constexpr TcpState
    kTcpTransitions[2][kTcpFlagClasses][kTcpRealStates] = {
  {  // ORIGINAL direction: the initiator's side.
    // SYN: a first SYN opens; a SYN on a live connection is ignored (the
    // box may be out of sync; a SYN/ACK answering it resyncs); after a close
    // it may reopen (SS); in SYN_SENT2 it is the crossing SYN.
    //       NONE  SS   SR   ES   FW   CW   LA   TW   CL   S2
    /*SYN*/ {kSS, kSS, kIG, kIG, kIG, kIG, kIG, kSS, kSS, kS2},
    // SYN/ACK from the initiator only makes sense after the responder's
    // own SYN (simultaneous open), or as a retransmission in SYN_RECV.
    /*S/A*/ {kIV, kIV, kSR, kIV, kIV, kIV, kIV, kIV, kIV, kSR},
    // FIN: the first closes one half (FIN_WAIT), the second both
    // (LAST_ACK); a FIN before the handshake completed is invalid.
    /*FIN*/ {kIV, kIV, kFW, kFW, kLA, kLA, kLA, kTW, kCL, kIV},
    // ACK: completes the handshake, acknowledges a FIN (CLOSE_WAIT) or the
    // last FIN (TIME_WAIT). From NONE it is a mid-stream pickup. In
    // SYN_SENT/SYN_SENT2 nothing from our side can be acknowledged yet.
    /*ACK*/ {kES, kIV, kES, kES, kCW, kCW, kTW, kTW, kCL, kIV},
    // RST closes everything (tcp.cc validates its sequence number first).
    /*RST*/ {kIV, kCL, kCL, kCL, kCL, kCL, kCL, kCL, kCL, kCL},
    // No SYN/FIN/ACK/RST: never valid.
    /*NON*/ {kIV, kIV, kIV, kIV, kIV, kIV, kIV, kIV, kIV, kIV},
  },
  {  // REPLY direction: the responder's side.
    // SYN: in SYN_SENT it is a simultaneous open (SYN_SENT2); after a close
    // in TIME_WAIT the responder may reopen (SS); elsewhere invalid.
    //       NONE  SS   SR   ES   FW   CW   LA   TW   CL   S2
    /*SYN*/ {kIV, kS2, kIV, kIV, kIV, kIV, kIV, kSS, kIV, kS2},
    // SYN/ACK: the handshake's second packet; later ones are ignored, and
    // may resync the box to a handshake it missed.
    /*S/A*/ {kIV, kSR, kIG, kIG, kIG, kIG, kIG, kIG, kIG, kSR},
    /*FIN*/ {kIV, kIV, kFW, kFW, kLA, kLA, kLA, kTW, kCL, kIV},
    // ACK: in SYN_SENT it may be a challenge ACK to our SYN (ignored, its
    // ack recorded); in SYN_RECV the table keeps SYN_RECV (tcp.cc turns it
    // into ESTABLISHED after a simultaneous open).
    /*ACK*/ {kIV, kIG, kSR, kES, kCW, kCW, kTW, kTW, kCL, kIG},
    /*RST*/ {kIV, kCL, kCL, kCL, kCL, kCL, kCL, kCL, kCL, kCL},
    /*NON*/ {kIV, kIV, kIV, kIV, kIV, kIV, kIV, kIV, kIV, kIV},
  },
};
// clang-format on
}  // namespace tcp_table

// Only the table leaves tcp_table; the short names stay inside.
using tcp_table::kTcpTransitions;

}  // namespace ctkit

#endif  // CTKIT_PROTO_TCP_TRANSITIONS_H_
