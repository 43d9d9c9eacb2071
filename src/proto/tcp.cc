// The TCP tracker: for one segment of one flow, decide whether the segment
// fits what the middle box has seen of the connection, move the connection's
// state, and pick its timeout. It reproduces the behaviour of Linux 6.18's
// TCP tracker (net/netfilter/nf_conntrack_proto_tcp.c) as the spec (§6)
// describes it (no kernel code is reused), so that a replay
// predicts what a real box would do: which packets become INVALID, which are
// silently ignored, when an entry is ASSURED, and how long it lives.
//
// A segment goes through five stages, each kept as its own function:
//  1. header sanity (TcpHeaderCheck, which the engine's pre-lookup checks
//     call: a bad checksum is told apart from a bad header);
//  2. for a new flow, the "may this packet create an entry" rule (SYN, or an
//     ACK pickup when tcp_loose is on);
//  3. the transition table (tcp_transitions.h) plus the special cases a
//     table cannot express: reopening a closed connection, resyncing to a
//     handshake the box missed, RFC 5961 challenge ACKs, simultaneous open,
//     and the RST sequence checks;
//  4. window tracking: each side's highest sequence sent and the right edge
//     the peer allowed, with four bound checks (RFC 9293 §3.10.7.4 in spirit,
//     but deliberately looser, since the box sees packets its endpoints may
//     never receive);
//  5. commit and timeout choice, including the rules that depend on whether
//     the peer ever answered (no refresh for a SYN retransmission, instant
//     deletion on an unanswered RST, a 300 s cap for unanswered pickups).
//
// Everything is in jiffies and modulo-2^32 sequence arithmetic; nothing here
// allocates or throws. The tracker never sees the table: it changes only the
// TcpConn it is given and tells the engine the rest through TrackResult.
#include "proto/tcp.h"

#include "net/byte_order.h"
#include "net/checksum.h"
#include "proto/tcp_options.h"
#include "proto/tcp_transitions.h"

namespace ctkit {

const char* TcpStateName(TcpState s) noexcept {
  switch (s) {
    case TcpState::kNone:
      return "NONE";
    case TcpState::kSynSent:
      return "SYN_SENT";
    case TcpState::kSynRecv:
      return "SYN_RECV";
    case TcpState::kEstablished:
      return "ESTABLISHED";
    case TcpState::kFinWait:
      return "FIN_WAIT";
    case TcpState::kCloseWait:
      return "CLOSE_WAIT";
    case TcpState::kLastAck:
      return "LAST_ACK";
    case TcpState::kTimeWait:
      return "TIME_WAIT";
    case TcpState::kClose:
      return "CLOSE";
    case TcpState::kSynSent2:
      return "SYN_SENT2";
    case TcpState::kMax:
      return "MAX";
    case TcpState::kIgnore:
      return "IGNORE";
    case TcpState::kRetrans:
      return "RETRANS";
    case TcpState::kUnack:
      return "UNACK";
  }
  return "UNKNOWN";
}

namespace {

constexpr uint8_t kFin = 0x01;
constexpr uint8_t kSyn = 0x02;
constexpr uint8_t kRst = 0x04;
constexpr uint8_t kPsh = 0x08;
constexpr uint8_t kAck = 0x10;
constexpr uint8_t kUrg = 0x20;
constexpr uint8_t kEce = 0x40;
constexpr uint8_t kCwr = 0x80;

constexpr uint32_t kTcpHeaderLen = 20;
// Check IV tolerates acks this far below the receiver's end even when the
// sender's window is smaller: old, delayed ACKs are common and harmless.
constexpr uint32_t kMinAckWindow = 66000;

constexpr int Idx(Direction d) { return static_cast<int>(d); }
constexpr int Idx(TcpState s) { return static_cast<int>(s); }

// Modulo-2^32 sequence order (RFC 1982 style): a is before b when the
// signed distance from b to a is negative.
constexpr bool SeqBefore(uint32_t a, uint32_t b) {
  return static_cast<int32_t>(a - b) < 0;
}
constexpr bool SeqAfter(uint32_t a, uint32_t b) { return SeqBefore(b, a); }

// The fields of one segment the tracker works with, read once.
struct Segment {
  uint32_t seq;
  uint32_t ack;  // raw ack field, meaningful with kAck
  uint32_t end;  // seq + payload + SYN + FIN
  uint16_t window;
  uint8_t flags;
  TcpFlagClass cls;
  const uint8_t* opts;  // option area, or nullptr
  uint32_t opts_len;    // 0 when absent or not captured
};

// Spec §6.2, checked in this order.
TcpFlagClass Classify(uint8_t flags) {
  if (flags & kRst) return TcpFlagClass::kRst;
  if (flags & kSyn) {
    return (flags & kAck) ? TcpFlagClass::kSynAck : TcpFlagClass::kSyn;
  }
  if (flags & kFin) return TcpFlagClass::kFin;
  if (flags & kAck) return TcpFlagClass::kAck;
  return TcpFlagClass::kNone;
}

// REQUIRES: TcpHeaderValid(pkt).
Segment ReadSegment(const PacketView& pkt) {
  Segment s{};
  const uint8_t* h = pkt.l4;
  const uint32_t hdr_len = static_cast<uint32_t>(h[12] >> 4) * 4;
  s.seq = LoadBe32(h + 4);
  s.ack = LoadBe32(h + 8);
  s.flags = h[13];
  s.window = LoadBe16(h + 14);
  s.cls = Classify(s.flags);
  // The IP header's length, not the capture's, says how much data the
  // segment carries: a snaplen-truncated capture still moved the bytes.
  s.end = s.seq + (pkt.l4_len - hdr_len) + ((s.flags & kSyn) ? 1u : 0u) +
          ((s.flags & kFin) ? 1u : 0u);
  // Options are hints only; if the capture cut into them, act as if the
  // segment had none rather than read past the buffer.
  if (hdr_len > kTcpHeaderLen && pkt.l4_caplen >= hdr_len) {
    s.opts = h + kTcpHeaderLen;
    s.opts_len = hdr_len - kTcpHeaderLen;
  }
  return s;
}

bool FlagsAllowed(uint8_t flags) {
  // PSH, ECE and CWR never matter; of the rest only these combinations are
  // legal (spec §6.4 step 1).
  switch (flags & static_cast<uint8_t>(~(kPsh | kEce | kCwr))) {
    case kSyn:
    case kSyn | kUrg:
    case kSyn | kAck:
    case kRst:
    case kRst | kAck:
    case kFin | kAck:
    case kFin | kAck | kUrg:
    case kAck:
    case kAck | kUrg:
      return true;
    default:
      return false;
  }
}

// A SYN (re)defines its sender's window scale and SACK permission. When the
// header carries options the direction's scale and flags start over from
// zero (the kernel's behaviour: a new SYN describes the sender afresh); a
// SYN without options leaves whatever was known.
void ApplySynOptions(TcpWindow* w, const Segment& s) {
  if (s.opts_len == 0) return;
  const TcpSynOptions o = ParseTcpSynOptions(s.opts, s.opts_len);
  w->scale = 0;
  w->flags = 0;
  if (o.window_scale) {
    w->flags |= tcpwin::kWindowScale;
    w->scale = o.scale;
  }
  if (o.sack_perm) w->flags |= tcpwin::kSackPerm;
}

// Initialises the sender's window from its SYN or SYN/ACK (spec §6.5).
void InitFromSyn(TcpWindow* sender, TcpWindow* receiver, const Segment& s,
                 Direction dir) {
  sender->end = s.end;
  sender->maxend = s.end;
  sender->maxwin = s.window == 0 ? 1u : s.window;
  ApplySynOptions(sender, s);
  // RFC 7323: scaling is on only if both SYNs carried the option. The
  // answer's SYN is the one that settles it. This applies to any reply SYN,
  // also the crossing SYN of a simultaneous open.
  if (dir == Direction::kReply && !((sender->flags & tcpwin::kWindowScale) &&
                                    (receiver->flags & tcpwin::kWindowScale))) {
    sender->scale = 0;
    receiver->scale = 0;
  }
}

// Spec §6.4 step 2: may this first packet create an entry? On success the
// original direction's window is seeded from the packet.
bool StartFlow(TcpConn* c, const Segment& s, const TcpConfig& cfg) {
  const TcpState first =
      kTcpTransitions[Idx(Direction::kOriginal)][static_cast<int>(s.cls)]
                     [Idx(TcpState::kNone)];
  if (first == TcpState::kSynSent) {
    *c = TcpConn{};
    TcpWindow& w = c->seen[Idx(Direction::kOriginal)];
    w.end = s.end;
    w.maxend = s.end;
    w.maxwin = s.window == 0 ? 1u : s.window;
    ApplySynOptions(&w, s);
  } else if (first == TcpState::kEstablished && cfg.loose) {
    // Mid-stream pickup: the history (ISNs, scale factors) is lost, so the
    // window can never be judged reliably. Both sides become liberal for the
    // rest of the entry's life; SACK is assumed so that SACKed data does not
    // look like an ack beyond what was sent.
    *c = TcpConn{};
    TcpWindow& w = c->seen[Idx(Direction::kOriginal)];
    w.end = s.end;
    w.maxwin = s.window == 0 ? 1u : s.window;
    w.maxend = s.end + w.maxwin;
    const uint8_t assumed = tcpwin::kSackPerm | tcpwin::kBeLiberal;
    c->seen[0].flags = assumed;
    c->seen[1].flags = assumed;
  } else {
    return false;
  }
  // No segment has been committed yet; a zero here would read as "last was
  // a SYN" to the RST rules.
  c->last_index = static_cast<uint8_t>(TcpFlagClass::kNone);
  return true;
}

enum class WindowVerdict : uint8_t { kAccept, kIgnore, kInvalid };

// Spec §6.5: initialisation, normalisation, checks I/III/II/IV, updates and
// retransmission counting, for a segment from `dir`.
WindowVerdict CheckWindow(TcpConn* c, Direction dir, const Segment& s,
                          const TcpConfig& cfg) {
  TcpWindow& snd = c->seen[Idx(dir)];
  TcpWindow& rcv = c->seen[Idx(Opposite(dir))];
  const bool has_ack = (s.flags & kAck) != 0;
  const bool is_syn = (s.flags & kSyn) != 0;
  const bool is_rst = (s.flags & kRst) != 0;

  uint32_t seq = s.seq;
  uint32_t end = s.end;
  uint32_t ack = s.ack;
  // With SACK the peer may legitimately acknowledge beyond the cumulative
  // ack; the highest SACKed edge is what must not exceed data seen.
  uint32_t sack = ack;
  if ((rcv.flags & tcpwin::kSackPerm) && s.opts_len != 0) {
    sack = TcpHighestSack(s.opts, s.opts_len, ack);
  }
  uint32_t win = s.window;

  if (snd.maxwin == 0) {
    if (is_syn) {
      // The answer to a SYN, or the crossing SYN of a simultaneous open.
      InitFromSyn(&snd, &rcv, s, dir);
      // A bare SYN acknowledges nothing, so there is nothing to check.
      if (!has_ack) return WindowVerdict::kAccept;
    } else {
      // This side's first segment is mid-stream: trust the packet.
      snd.end = end;
      const uint32_t swin = win << snd.scale;
      snd.maxwin = swin == 0 ? 1u : swin;
      snd.maxend = end + snd.maxwin;
      if (rcv.maxwin == 0) {
        // Nothing known of the peer either: make III and IV pass until
        // it speaks.
        rcv.end = sack;
        rcv.maxend = sack;
      } else if (sack == rcv.end + 1) {
        // Answer to a keepalive (which sends one byte below end).
        rcv.end += 1;
      }
    }
  } else if (is_syn && SeqAfter(end, snd.end) &&
             (c->state == TcpState::kSynSent ||
              c->state == TcpState::kSynRecv)) {
    // A SYN with a higher ISN: the endpoint restarted its attempt
    // (RFC 9293 §3.4.1 lets it reuse the quadruple with larger numbers).
    InitFromSyn(&snd, &rcv, s, dir);
    if (dir == Direction::kReply && !has_ack) return WindowVerdict::kAccept;
  }

  // No ack to check (or, from some stacks, an RST with ACK set and a zero
  // ack field): pretend it acknowledged exactly what the receiver sent.
  if (!has_ack || (is_rst && ack == 0)) {
    ack = rcv.end;
    sack = rcv.end;
  }
  if (is_rst && seq == 0 && c->state == TcpState::kSynSent) {
    // An RST refusing our SYN may carry seq 0.
    seq = snd.end;
    end = snd.end;
  }

  // be_liberal turns every failure into an accept, at the point of failure
  // and without the updates that follow a pass.
  const bool liberal = cfg.be_liberal || (snd.flags & tcpwin::kBeLiberal);
  const auto fail = [liberal](WindowVerdict v) {
    return liberal ? WindowVerdict::kAccept : v;
  };
  const uint32_t max_ack_window =
      snd.maxwin > kMinAckWindow ? snd.maxwin : kMinAckWindow;
  // II: the segment ends inside (or after) the receiver's window: it is
  // not wholly old data.
  const bool seq_not_too_low =
      rcv.maxwin == 0 || SeqAfter(end, snd.end - rcv.maxwin - 1);
  // III: the (s)ack does not acknowledge data the receiver never sent.
  const bool ack_not_too_high = SeqBefore(sack, rcv.end + 1);
  // IV: the ack is not absurdly old.
  const bool ack_not_too_low = SeqAfter(sack, rcv.end - max_ack_window - 1);

  // I: the segment starts inside what the receiver allowed.
  if (!SeqBefore(seq, snd.maxend + 1)) {
    const uint32_t overshoot = end - snd.maxend + 1;
    if (rcv.maxwin != 0 && seq_not_too_low && ack_not_too_low &&
        overshoot <= rcv.maxwin && ack_not_too_high) {
      // A sender slightly overrunning the advertised window. Remember the
      // data anyway so that the peer's ack for it does not fail III later.
      snd.end = end;
      snd.flags |= tcpwin::kDataUnacknowledged;
      return fail(WindowVerdict::kIgnore);
    }
    return fail(WindowVerdict::kInvalid);  // SEQ is over upper bound
  }
  if (!ack_not_too_high) return fail(WindowVerdict::kInvalid);
  if (!seq_not_too_low) return fail(WindowVerdict::kIgnore);
  if (!ack_not_too_low) return fail(WindowVerdict::kIgnore);

  // 1. A SYN's window is never scaled (RFC 7323 §2.2).
  if (!is_syn) win <<= snd.scale;
  // 2. The largest window the sender has offered, SACK gap included.
  const uint32_t swin = win + (sack - ack);
  if (snd.maxwin < swin) snd.maxwin = swin;
  // 3. New data from the sender is outstanding until acknowledged.
  if (SeqAfter(end, snd.end)) {
    snd.end = end;
    snd.flags |= tcpwin::kDataUnacknowledged;
  }
  // 4. Highest ack sent; the RST checks compare against it.
  if (has_ack) {
    if (!(snd.flags & tcpwin::kMaxAckSet)) {
      snd.maxack = ack;
      snd.flags |= tcpwin::kMaxAckSet;
    } else if (SeqAfter(ack, snd.maxack)) {
      snd.maxack = ack;
    }
  }
  // 5. The sender went past the right edge (allowed by the overshoot rule
  // or liberal mode earlier): the receiver's window must be bigger.
  if (rcv.maxwin != 0 && SeqAfter(end, snd.maxend)) {
    rcv.maxwin += end - snd.maxend;
  }
  // 6. What the sender now allows the receiver to send.
  if (SeqAfter(sack + win, rcv.maxend - 1)) {
    rcv.maxend = sack + win;
    if (win == 0) rcv.maxend += 1;  // room for a zero-window probe
  }
  // 7. Everything the receiver sent is acknowledged.
  if (ack == rcv.end) {
    rcv.flags &= static_cast<uint8_t>(~tcpwin::kDataUnacknowledged);
  }

  // Retransmission counting: identical ACK-class segments in a row. One
  // record serves both directions, so any other segment restarts the count.
  if (s.cls == TcpFlagClass::kAck) {
    const uint8_t d = static_cast<uint8_t>(dir);
    if (c->last_dir == d && c->last_seq == seq && c->last_ack == ack &&
        c->last_end == end && c->last_win == s.window) {
      ++c->retrans;  // u8: wraps after 255, as the kernel's does
    } else {
      c->last_dir = d;
      c->last_seq = seq;
      c->last_ack = ack;
      c->last_end = end;
      c->last_win = s.window;
      c->retrans = 0;
    }
  }
  return WindowVerdict::kAccept;
}

// Spec §6.4 SS*: a SYN after the connection closed starts a new one if the
// close was real (someone sent the first FIN) or this side itself aborted.
bool MayReopen(const TcpConn& c, Direction dir) {
  const uint8_t any_flags = c.seen[0].flags | c.seen[1].flags;
  return (any_flags & tcpwin::kCloseInit) ||
         (c.last_dir == static_cast<uint8_t>(dir) &&
          c.last_index == static_cast<uint8_t>(TcpFlagClass::kRst));
}

// Spec §6.4 IGN resync: a SYN/ACK against the direction of the SYN we
// ignored, acknowledging exactly that SYN, proves the endpoints agree on a
// new handshake the box did not believe.
bool IsResyncSynAck(const TcpConn& c, const Segment& s, Direction dir) {
  return s.cls == TcpFlagClass::kSynAck &&
         c.last_index == static_cast<uint8_t>(TcpFlagClass::kSyn) &&
         c.last_dir != static_cast<uint8_t>(dir) && s.ack == c.last_end;
}

// Rebuilds the SYN sender's window from what the ignored SYN recorded and
// clears the answering side so that its SYN/ACK initialises it afresh.
void Resync(TcpConn* c, Direction dir) {
  TcpWindow& syn_side = c->seen[c->last_dir & 1];
  syn_side.end = c->last_end;
  syn_side.maxend = c->last_end;
  syn_side.maxwin = c->last_win == 0 ? 1u : c->last_win;
  syn_side.scale = c->last_wscale;
  c->last_flags &= static_cast<uint8_t>(~tcpwin::kChallengeAck);
  syn_side.flags = c->last_flags;

  TcpWindow& answer_side = c->seen[Idx(dir)];
  const uint8_t keep = answer_side.flags & tcpwin::kBeLiberal;
  answer_side = TcpWindow{};
  answer_side.flags = keep;
}

// Records an ignored segment, so that a later segment can be recognised as
// the answer to it (resync, challenge ACK, RST rules 3 and 4).
void RecordIgnored(TcpConn* c, const Segment& s, Direction dir,
                   TcpState old_state) {
  c->last_index = static_cast<uint8_t>(s.cls);
  c->last_dir = static_cast<uint8_t>(dir);
  c->last_seq = s.seq;
  c->last_end = s.end;
  c->last_win = s.window;
  if (s.cls == TcpFlagClass::kSyn && dir == Direction::kOriginal) {
    // Keep the options: if the responder answers with a SYN/ACK, they are
    // the new connection's options.
    c->last_flags = 0;
    c->last_wscale = 0;
    if (s.opts_len != 0) {
      const TcpSynOptions o = ParseTcpSynOptions(s.opts, s.opts_len);
      if (o.window_scale) {
        c->last_flags |= tcpwin::kWindowScale;
        c->last_wscale = o.scale;
      }
      if (o.sack_perm) c->last_flags |= tcpwin::kSackPerm;
    }
    // RFC 5961: the peer in LAST_ACK answers a SYN with a challenge ACK,
    // which the table would take as the final ACK.
    if (old_state == TcpState::kLastAck) {
      c->last_flags |= tcpwin::kChallengeAck;
    }
  }
  // RFC 5961: an ACK from the responder while our SYN is outstanding may be
  // its challenge ACK; an RST answering it will carry this number as seq.
  if (old_state == TcpState::kSynSent && s.cls == TcpFlagClass::kAck &&
      dir == Direction::kReply) {
    c->last_ack = s.ack;
  }
}

bool IsClosing(TcpState s) {
  return s == TcpState::kFinWait || s == TcpState::kCloseWait ||
         s == TcpState::kLastAck || s == TcpState::kTimeWait ||
         s == TcpState::kClose;
}

enum class RstAction : uint8_t { kCheckWindow, kSkipWindow, kInvalid };

// Spec §6.4 "next state CLOSE caused by an RST", rules 1-4 in order. May set
// *new_state back to old_state (rule 2, last sub-rule).
RstAction ClassifyRst(const TcpConn& c, const Segment& s, Direction dir,
                      const TrackContext& ctx, const TcpConfig& cfg,
                      TcpState old_state, TcpState* new_state) {
  // 1. Closing already: the tuple may be reused, the window data stale.
  if (IsClosing(old_state)) return RstAction::kSkipWindow;

  // 2. Compare with the highest ack the peer sent, unless a SYN we let
  // through may have made it stale.
  const TcpWindow& peer = c.seen[Idx(Opposite(dir))];
  if ((peer.flags & tcpwin::kMaxAckSet) &&
      c.last_index != static_cast<uint8_t>(TcpFlagClass::kSyn)) {
    const bool established = old_state == TcpState::kEstablished && ctx.assured;
    // Likely the answer to a SYN we let through.
    if (s.seq == 0 && !established) return RstAction::kCheckWindow;
    if (SeqBefore(s.seq, peer.maxack) && !cfg.ignore_invalid_rst) {
      return RstAction::kInvalid;  // "invalid rst"
    }
    if (!established || s.seq == peer.maxack) return RstAction::kCheckWindow;
    // The RST ends a train of data we accepted from the same side.
    if (c.last_index == static_cast<uint8_t>(TcpFlagClass::kAck) &&
        c.last_dir == static_cast<uint8_t>(dir) && s.seq == c.last_end) {
      return RstAction::kCheckWindow;
    }
    // Not exact: keep the state so that the challenge ACK (RFC 5961 §3.2)
    // the endpoint will send finds the connection still open.
    *new_state = old_state;
  }

  // 3. The RST answers a SYN or ACK we let through (ignored) earlier; it
  // may acknowledge data the box never counted, so skip the window.
  const bool answers_syn =
      ctx.reply_seen &&
      c.last_index == static_cast<uint8_t>(TcpFlagClass::kSyn) &&
      c.last_dir != static_cast<uint8_t>(dir);
  const bool answers_ack =
      !ctx.assured && c.last_index == static_cast<uint8_t>(TcpFlagClass::kAck);
  if ((answers_syn || answers_ack) && s.ack == c.last_end) {
    return RstAction::kSkipWindow;
  }

  // 4. The initiator answers the responder's challenge ACK (recorded while
  // in SYN_SENT) with an RST at exactly the acked number.
  if (old_state == TcpState::kSynSent &&
      c.last_index == static_cast<uint8_t>(TcpFlagClass::kAck) &&
      c.last_dir == static_cast<uint8_t>(Direction::kReply) &&
      s.seq == c.last_ack) {
    return RstAction::kSkipWindow;
  }
  return RstAction::kCheckWindow;
}

// Spec §6.4 "timeout lowering on an INVALID FIN/RST": when both sides send
// FIN/RST that the box thinks are out of window, the box is out of sync
// with a connection that is ending; do not keep it for days. Returns true
// when the entry's time left must be cut to UNACK (the result's cap).
bool HandleInvalidWindow(TcpConn* c, const Segment& s, Direction dir,
                         const TrackContext& ctx, const TcpConfig& cfg) {
  if (!ctx.assured) return false;
  if (s.cls != TcpFlagClass::kFin && s.cls != TcpFlagClass::kRst) return false;
  const bool last_was_close =
      c->last_index == static_cast<uint8_t>(TcpFlagClass::kFin) ||
      c->last_index == static_cast<uint8_t>(TcpFlagClass::kRst);
  if (c->last_dir != static_cast<uint8_t>(dir) && last_was_close) {
    const uint32_t remaining =
        ctx.remaining > 0 ? static_cast<uint32_t>(ctx.remaining) : 0u;
    // The threshold is a fixed 120 s in the kernel; the SYN_SENT2 slot is
    // exactly that (it is no sysctl), already in this clock's jiffies.
    if (remaining < cfg.timeouts[Idx(TcpState::kSynSent2)]) return false;
    return remaining > cfg.timeouts[Idx(TcpState::kUnack)];
  }
  c->last_index = static_cast<uint8_t>(s.cls);
  c->last_dir = static_cast<uint8_t>(dir);
  return false;
}

// Spec §6.6: the first rule that applies.
uint32_t SelectTimeout(const TcpConn& c, const Segment& s, TcpState state,
                       const TcpConfig& cfg) {
  const uint32_t* t = cfg.timeouts;
  const uint32_t normal = t[Idx(state)];
  const uint32_t retrans = t[Idx(TcpState::kRetrans)];
  const uint32_t unack = t[Idx(TcpState::kUnack)];
  if (c.retrans >= cfg.max_retrans && normal > retrans) return retrans;
  if (s.cls == TcpFlagClass::kRst) return t[Idx(TcpState::kClose)];
  if (((c.seen[0].flags | c.seen[1].flags) & tcpwin::kDataUnacknowledged) &&
      normal > unack) {
    return unack;
  }
  if (c.last_win == 0 && normal > retrans) return retrans;
  return normal;
}

}  // namespace

TcpHeaderError TcpHeaderCheck(const PacketView& pkt, bool checksum,
                              bool* offload) noexcept {
  if (pkt.l4_caplen < kTcpHeaderLen) return TcpHeaderError::kHeader;
  const uint32_t hdr_len = static_cast<uint32_t>(pkt.l4[12] >> 4) * 4;
  if (hdr_len < kTcpHeaderLen || pkt.l4_len < hdr_len) {
    return TcpHeaderError::kHeader;
  }
  if (checksum) {
    const ChecksumStatus c = L4ChecksumStatus(pkt);
    if (c == ChecksumStatus::kBad) return TcpHeaderError::kChecksum;
    if (c == ChecksumStatus::kOffload) *offload = true;
  }
  return FlagsAllowed(pkt.l4[13]) ? TcpHeaderError::kNone
                                  : TcpHeaderError::kHeader;
}

bool TcpHeaderValid(const PacketView& pkt, bool checksum) noexcept {
  bool offload = false;
  return TcpHeaderCheck(pkt, checksum, &offload) == TcpHeaderError::kNone;
}

TrackResult TcpTrackSegment(TcpConn* conn, const PacketView& pkt,
                            const TrackContext& ctx,
                            const TcpConfig& cfg) noexcept {
  TrackResult r;  // kInvalid until decided otherwise
  const Segment s = ReadSegment(pkt);
  const Direction dir = ctx.dir;
  if (ctx.is_new && !StartFlow(conn, s, cfg)) {
    r.reason = InvalidReason::kTcpNewNotSyn;
    return r;
  }

  TcpState old_state = conn->state;
  TcpState new_state =
      kTcpTransitions[Idx(dir)][static_cast<int>(s.cls)][Idx(old_state)];
  bool check_window = true;

  switch (new_state) {
    case TcpState::kSynSent:
      if (old_state < TcpState::kTimeWait) break;  // first or repeated SYN
      // SS*: a SYN after TIME_WAIT/CLOSE.
      if (MayReopen(*conn, dir)) {
        r.verdict = TrackVerdict::kReopen;
        return r;
      }
      [[fallthrough]];  // not a real close: treat like any ignored SYN
    case TcpState::kIgnore:
      if (IsResyncSynAck(*conn, s, dir)) {
        Resync(conn, dir);
        old_state = TcpState::kSynSent;
        new_state = TcpState::kSynRecv;
        break;
      }
      RecordIgnored(conn, s, dir, old_state);
      r.verdict = TrackVerdict::kIgnore;
      return r;
    case TcpState::kMax:
      // No synproxy here, so no keepalive exception: INVALID.
      r.reason = InvalidReason::kTcpState;
      return r;
    case TcpState::kTimeWait:
      // LAST_ACK -> TIME_WAIT by an ACK that is really the challenge ACK
      // answering a SYN we ignored: it does not acknowledge the last FIN.
      if (old_state == TcpState::kLastAck && s.cls == TcpFlagClass::kAck &&
          conn->last_dir != static_cast<uint8_t>(dir) &&
          conn->last_index == static_cast<uint8_t>(TcpFlagClass::kSyn) &&
          (conn->last_flags & tcpwin::kChallengeAck)) {
        conn->last_flags &= static_cast<uint8_t>(~tcpwin::kChallengeAck);
        r.verdict = TrackVerdict::kIgnore;
        return r;
      }
      break;
    case TcpState::kSynSent2:
      // The table cannot remember that both sides sent a SYN; this does.
      conn->last_flags |= tcpwin::kSimultaneousOpen;
      break;
    case TcpState::kSynRecv:
      // After a simultaneous open the responder's ACK completes it.
      if (dir == Direction::kReply && s.cls == TcpFlagClass::kAck &&
          (conn->last_flags & tcpwin::kSimultaneousOpen)) {
        new_state = TcpState::kEstablished;
      }
      break;
    case TcpState::kClose:
      if (s.cls != TcpFlagClass::kRst) break;
      switch (ClassifyRst(*conn, s, dir, ctx, cfg, old_state, &new_state)) {
        case RstAction::kInvalid:
          r.reason = InvalidReason::kTcpRst;
          return r;
        case RstAction::kSkipWindow:
          check_window = false;
          break;
        case RstAction::kCheckWindow:
          break;
      }
      break;
    default:
      break;
  }

  if (check_window) {
    switch (CheckWindow(conn, dir, s, cfg)) {
      case WindowVerdict::kIgnore:
        r.verdict = TrackVerdict::kIgnore;
        return r;
      case WindowVerdict::kInvalid:
        r.reason = InvalidReason::kTcpWindow;
        if (HandleInvalidWindow(conn, s, dir, ctx, cfg)) {
          r.cap = cfg.timeouts[Idx(TcpState::kUnack)];
        }
        return r;
      case WindowVerdict::kAccept:
        break;
    }
  }

  // Commit (spec §6.4 step 5).
  conn->last_index = static_cast<uint8_t>(s.cls);
  conn->last_dir = static_cast<uint8_t>(dir);
  conn->state = new_state;
  if (old_state != new_state && new_state == TcpState::kFinWait) {
    conn->seen[Idx(dir)].flags |= tcpwin::kCloseInit;
  }
  uint32_t timeout = SelectTimeout(*conn, s, new_state, cfg);
  r.verdict = TrackVerdict::kAccept;
  r.state_changed = old_state != new_state;

  if (!ctx.reply_seen) {
    // An RST is the only answer: nothing was ever established, so the
    // entry goes at once (step 6).
    if (s.cls == TcpFlagClass::kRst) {
      r.kill = true;
      return r;
    }
    // A retransmitted SYN must not extend the entry, or a client (or NAT)
    // reusing the port could keep it alive for ever.
    if (s.cls == TcpFlagClass::kSyn && old_state == TcpState::kSynSent) {
      return r;
    }
    // An unanswered pickup may be a stray packet: do not keep it for days.
    const uint32_t unack = cfg.timeouts[Idx(TcpState::kUnack)];
    if (new_state == TcpState::kEstablished && timeout > unack) {
      timeout = unack;
    }
  } else if (!ctx.assured &&
             (old_state == TcpState::kSynRecv ||
              old_state == TcpState::kEstablished) &&
             new_state == TcpState::kEstablished) {
    // Step 7: traffic in both directions and a completed handshake (or an
    // answered pickup): the entry is ASSURED and safe from early drop.
    r.set_assured = true;
  }
  r.refresh = true;
  r.timeout = timeout;
  return r;
}

}  // namespace ctkit
