// The SCTP tracker. Everything here was measured on the 6.18 kernel with
// kernel-replay (kernel-model §9.2; the probes replay hundreds of small
// associations, one per port, and read each entry's state and timeout).
//
// Conntrack follows an association by its chunks, not by sequence numbers.
// A packet is first checked as a whole: its chunks must be well formed
// (none of length 0; INIT, INIT-ACK and SHUTDOWN-COMPLETE alone in their
// packet; COOKIE-ECHO and COOKIE-ACK first), and its verification tag must
// be the one conntrack learned for that direction, unless a chunk that
// carries its own tag rule is present. Then each chunk in turn checks its
// own tag rule and moves the state through a transition table indexed by
// direction, state and chunk kind (kSctpTransitions below, one row per
// state as the measurements were taken). The packet's timeout is the one
// of the state reached after its last chunk.
//
// The tags: an INIT names the tag its receiver must use (so an INIT from
// one side teaches the tag of the other direction), and so does an
// INIT-ACK; a HEARTBEAT or HEARTBEAT-ACK teaches its own direction's tag
// when none is known. A HEARTBEAT with a wrong tag is let through without
// refreshing the entry (a peer may have restarted, or a path changed), and
// a HEARTBEAT-ACK with a new tag from the other side then replaces both
// tags. Two packets are accepted without a refresh: that HEARTBEAT, and an
// INIT that finds the entry CLOSED and leaves it so (retransmitted INITs
// cannot keep an entry alive).
//
// A new entry is made only by a packet whose every chunk has a state to go
// to from NONE: INIT, INIT-ACK, SHUTDOWN, ERROR and COOKIE-ECHO lead to
// CLOSED, SHUTDOWN-ACK to SHUTDOWN_ACK_SENT, HEARTBEAT to HEARTBEAT_SENT,
// HEARTBEAT-ACK to CLOSED. DATA, SACK, ABORT, COOKIE-ACK,
// SHUTDOWN-COMPLETE and unknown chunks cannot start one.
#include "proto/sctp.h"

#include "net/byte_order.h"
#include "net/crc32c.h"

namespace ctkit {
namespace {

// Chunk type numbers (RFC 9260 §3.2 and its extensions).
namespace chunk {
constexpr uint8_t kData = 0;
constexpr uint8_t kInit = 1;
constexpr uint8_t kInitAck = 2;
constexpr uint8_t kHeartbeat = 4;
constexpr uint8_t kHeartbeatAck = 5;
constexpr uint8_t kAbort = 6;
constexpr uint8_t kShutdown = 7;
constexpr uint8_t kShutdownAck = 8;
constexpr uint8_t kError = 9;
constexpr uint8_t kCookieEcho = 10;
constexpr uint8_t kCookieAck = 11;
constexpr uint8_t kShutdownComplete = 14;
/// ABORT and SHUTDOWN-COMPLETE: the T bit ("tag reflected": the sender
/// had no tag of its own and used the receiver's).
constexpr uint8_t kFlagT = 0x01;
}  // namespace chunk

constexpr uint32_t kCommonHeaderLen = 12;
constexpr uint32_t kChunkHeaderLen = 4;
/// Initiate tag, a_rwnd, stream counts, initial TSN.
constexpr uint32_t kInitHeaderLen = 16;

// The chunk kinds the state machine tells apart; every other chunk (DATA,
// SACK, FORWARD-TSN, AUTH, ...) is kOther, which changes no state.
enum class ChunkKind : uint8_t {
  kInit,
  kInitAck,
  kAbort,
  kShutdown,
  kShutdownAck,
  kError,
  kCookieEcho,
  kCookieAck,
  kShutdownComplete,
  kHeartbeat,
  kHeartbeatAck,
  kOther,
};
constexpr int kChunkKinds = 12;

ChunkKind KindOf(uint8_t type) {
  switch (type) {
    case chunk::kInit:
      return ChunkKind::kInit;
    case chunk::kInitAck:
      return ChunkKind::kInitAck;
    case chunk::kAbort:
      return ChunkKind::kAbort;
    case chunk::kShutdown:
      return ChunkKind::kShutdown;
    case chunk::kShutdownAck:
      return ChunkKind::kShutdownAck;
    case chunk::kError:
      return ChunkKind::kError;
    case chunk::kCookieEcho:
      return ChunkKind::kCookieEcho;
    case chunk::kCookieAck:
      return ChunkKind::kCookieAck;
    case chunk::kShutdownComplete:
      return ChunkKind::kShutdownComplete;
    case chunk::kHeartbeat:
      return ChunkKind::kHeartbeat;
    case chunk::kHeartbeatAck:
      return ChunkKind::kHeartbeatAck;
    default:
      return ChunkKind::kOther;
  }
}

constexpr uint32_t Bit(ChunkKind k) { return 1u << static_cast<int>(k); }

// Short names for the table.
constexpr SctpState CL = SctpState::kClosed;
constexpr SctpState CW = SctpState::kCookieWait;
constexpr SctpState CE = SctpState::kCookieEchoed;
constexpr SctpState ES = SctpState::kEstablished;
constexpr SctpState SS = SctpState::kShutdownSent;
constexpr SctpState SR = SctpState::kShutdownRecd;
constexpr SctpState SA = SctpState::kShutdownAckSent;
constexpr SctpState HS = SctpState::kHeartbeatSent;
constexpr SctpState XX = SctpState::kMax;  // invalid

constexpr int kTableStates = 9;  // NONE .. HEARTBEAT_SENT

// [direction][state][chunk kind] -> next state, as measured (kernel-model
// §9.2): each row is one state, each column the chunk that arrives, with
// the verification tags right.
// Columns: INIT INIT-ACK ABORT SHUTDOWN SHUTDOWN-ACK ERROR COOKIE-ECHO
//          COOKIE-ACK SHUTDOWN-COMPLETE HEARTBEAT HEARTBEAT-ACK other
constexpr SctpState kSctpTransitions[2][kTableStates][kChunkKinds] = {
    {
        // Original direction (the side that sent the entry's first packet).
        // NONE: what may start an entry.
        {CL, CL, XX, CL, SA, CL, CL, XX, XX, HS, CL, XX},
        // CLOSED: stays CLOSED whatever comes.
        {CL, CL, CL, CL, CL, CL, CL, CL, CL, CL, CL, CL},
        // COOKIE_WAIT
        {CW, CW, CL, CW, CW, CW, CE, CW, CW, CW, CW, CW},
        // COOKIE_ECHOED
        {CE, CE, CL, CE, CE, CE, CE, ES, CE, CE, CE, CE},
        // ESTABLISHED
        {ES, ES, CL, SS, ES, ES, ES, ES, ES, ES, ES, ES},
        // SHUTDOWN_SENT: a new INIT from the initiator closes it.
        {CL, SS, CL, SS, SA, SS, SS, SS, SS, SS, SS, SS},
        // SHUTDOWN_RECD
        {CL, SR, CL, SR, SA, SR, SR, SR, SR, SR, SR, SR},
        // SHUTDOWN_ACK_SENT
        {SA, SA, CL, SA, SA, SA, SA, SA, CL, SA, SA, SA},
        // HEARTBEAT_SENT (an entry made by a heartbeat)
        {CW, CL, CL, CL, SA, CL, CL, CL, CL, HS, HS, HS},
    },
    {
        // Reply direction.
        // NONE: never seen (a reply needs an entry).
        {XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX},
        // CLOSED: the answer to an INIT starts the handshake.
        {CL, CW, CL, CL, CL, CL, CL, CL, CL, CL, CL, CL},
        // COOKIE_WAIT
        {CW, CW, CL, CW, CW, CW, CE, CW, CW, CW, CW, CW},
        // COOKIE_ECHOED: an ERROR from the responder (stale cookie) closes.
        {CE, CE, CL, CE, CE, CL, CE, ES, CE, CE, CE, CE},
        // ESTABLISHED
        {ES, ES, CL, SR, ES, ES, ES, ES, ES, ES, ES, ES},
        // SHUTDOWN_SENT
        {SS, SS, CL, SS, SA, SS, SS, SS, SS, SS, SS, SS},
        // SHUTDOWN_RECD
        {SR, SR, CL, SR, SA, SR, SR, SR, SR, SR, SR, SR},
        // SHUTDOWN_ACK_SENT
        {SA, SA, CL, SA, SA, SA, SA, SA, CL, SA, SA, SA},
        // HEARTBEAT_SENT: only the heartbeat exchange and data pass; the
        // HEARTBEAT-ACK makes the association ESTABLISHED.
        {XX, XX, XX, XX, XX, XX, XX, XX, XX, HS, ES, HS},
    },
};

SctpState Transition(Direction dir, SctpState from, ChunkKind kind) {
  const int s = static_cast<int>(from);
  if (s >= kTableStates) return XX;
  return kSctpTransitions[static_cast<int>(dir)][s][static_cast<int>(kind)];
}

// One chunk of the packet, as the walk finds it.
struct Chunk {
  uint32_t offset;  // from the SCTP header
  uint8_t type;
  uint8_t flags;
  uint16_t length;  // the chunk's own length field
};

// Walks the chunks the way conntrack does: from the end of the common
// header while a whole 4-byte chunk header fits, each chunk's length
// rounded up to 4. A length past the packet's end is not an error (the
// walk just ends), nor are 1-3 trailing bytes.
class ChunkWalk {
 public:
  explicit ChunkWalk(const PacketView& pkt)
      : p_(pkt.l4),
        end_(pkt.l4_caplen < pkt.l4_len ? pkt.l4_caplen : pkt.l4_len) {}

  bool Next(Chunk* c) {
    if (offset_ >= end_ || end_ - offset_ < kChunkHeaderLen) return false;
    c->offset = offset_;
    c->type = p_[offset_];
    c->flags = p_[offset_ + 1];
    c->length = LoadBe16(p_ + offset_ + 2);
    offset_ += (static_cast<uint32_t>(c->length) + 3u) & ~3u;
    if (c->length == 0) offset_ = end_;  // the layout check refuses it
    return true;
  }

  /// The 4-byte word `at` bytes into the chunk, if the packet holds it.
  bool Word(const Chunk& c, uint32_t at, uint32_t* out) const {
    if (c.offset + at + 4 > end_) return false;
    *out = LoadBe32(p_ + c.offset + at);
    return true;
  }

  uint32_t end() const { return end_; }

 private:
  const uint8_t* p_;
  uint32_t end_;
  uint32_t offset_ = kCommonHeaderLen;
};

// What the whole packet holds, from a first walk.
struct Survey {
  bool layout_ok = true;
  int count = 0;
  uint32_t kinds = 0;  // Bit(ChunkKind) of every chunk present
  bool has_data = false;
};

Survey SurveyChunks(const PacketView& pkt) {
  Survey s;
  ChunkWalk walk(pkt);
  Chunk c{};
  bool alone_required = false;
  while (walk.Next(&c)) {
    const ChunkKind kind = KindOf(c.type);
    const bool must_lead =
        kind == ChunkKind::kCookieEcho || kind == ChunkKind::kCookieAck;
    const bool must_be_alone = kind == ChunkKind::kInit ||
                               kind == ChunkKind::kInitAck ||
                               kind == ChunkKind::kShutdownComplete;
    alone_required |= must_be_alone;
    if (c.length == 0 || ((must_lead || alone_required) && s.count != 0)) {
      s.layout_ok = false;
      return s;
    }
    s.kinds |= Bit(kind);
    s.has_data |= c.type == chunk::kData;
    ++s.count;
  }
  if (s.count == 0 || (alone_required && s.count > 1)) s.layout_ok = false;
  return s;
}

TrackResult Invalid(InvalidReason why) {
  TrackResult r;
  r.verdict = TrackVerdict::kInvalid;
  r.reason = why;
  return r;
}

// The chunks that bring their own tag rule (or none): a packet holding one
// of them skips the whole-packet tag check.
constexpr uint32_t kOwnTagRule =
    Bit(ChunkKind::kInit) | Bit(ChunkKind::kShutdownComplete) |
    Bit(ChunkKind::kCookieEcho) | Bit(ChunkKind::kAbort) |
    Bit(ChunkKind::kShutdownAck) | Bit(ChunkKind::kHeartbeat) |
    Bit(ChunkKind::kHeartbeatAck);

uint8_t DirBit(int d) { return static_cast<uint8_t>(1u << d); }

}  // namespace

const char* SctpStateName(SctpState s) noexcept {
  switch (s) {
    case SctpState::kNone:
      return "NONE";
    case SctpState::kClosed:
      return "CLOSED";
    case SctpState::kCookieWait:
      return "COOKIE_WAIT";
    case SctpState::kCookieEchoed:
      return "COOKIE_ECHOED";
    case SctpState::kEstablished:
      return "ESTABLISHED";
    case SctpState::kShutdownSent:
      return "SHUTDOWN_SENT";
    case SctpState::kShutdownRecd:
      return "SHUTDOWN_RECD";
    case SctpState::kShutdownAckSent:
      return "SHUTDOWN_ACK_SENT";
    case SctpState::kHeartbeatSent:
      return "HEARTBEAT_SENT";
    case SctpState::kHeartbeatAcked:
      return "HEARTBEAT_ACKED";
    case SctpState::kMax:
      break;
  }
  return "UNKNOWN";
}

SctpConfig SctpConfig::FromTunables(const Tunables& t, uint32_t hz) noexcept {
  auto j = [hz](uint32_t seconds) {
    const uint64_t v = static_cast<uint64_t>(seconds) * hz;
    // The kernel limits timeout sysctls to INT_MAX jiffies.
    return static_cast<uint32_t>(v > 0x7fffffffu ? 0x7fffffffu : v);
  };
  SctpConfig c{};
  c.timeouts[static_cast<int>(SctpState::kClosed)] = j(t.sctp_timeout_closed);
  c.timeouts[static_cast<int>(SctpState::kCookieWait)] =
      j(t.sctp_timeout_cookie_wait);
  c.timeouts[static_cast<int>(SctpState::kCookieEchoed)] =
      j(t.sctp_timeout_cookie_echoed);
  c.timeouts[static_cast<int>(SctpState::kEstablished)] =
      j(t.sctp_timeout_established);
  c.timeouts[static_cast<int>(SctpState::kShutdownSent)] =
      j(t.sctp_timeout_shutdown_sent);
  c.timeouts[static_cast<int>(SctpState::kShutdownRecd)] =
      j(t.sctp_timeout_shutdown_recd);
  c.timeouts[static_cast<int>(SctpState::kShutdownAckSent)] =
      j(t.sctp_timeout_shutdown_ack_sent);
  c.timeouts[static_cast<int>(SctpState::kHeartbeatSent)] =
      j(t.sctp_timeout_heartbeat_sent);
  return c;
}

InvalidReason SctpHeaderCheck(const PacketView& pkt, bool checksum) noexcept {
  if (pkt.l4_caplen < kCommonHeaderLen || pkt.l4_len < kCommonHeaderLen) {
    return InvalidReason::kSctpHeader;
  }
  // Measured: a wrong, zero or byte-swapped CRC is INVALID under
  // nf_conntrack_checksum=1 in either direction, new entry or not; with 0
  // nothing is checked.
  if (checksum && !SctpChecksumValid(pkt)) return InvalidReason::kSctpChecksum;
  return InvalidReason::kNone;
}

TrackResult SctpTrack(SctpConn* conn, const PacketView& pkt,
                      const TrackContext& ctx, const SctpConfig& cfg) noexcept {
  const Survey survey = SurveyChunks(pkt);
  if (!survey.layout_ok) return Invalid(InvalidReason::kSctpChunks);
  const uint32_t vtag = LoadBe32(pkt.l4 + 4);
  const Direction dir = ctx.dir;
  const int d = static_cast<int>(dir);
  const int o = 1 - d;

  if (ctx.is_new) {
    *conn = SctpConn{};
    // Every chunk must have a state to go to from NONE. Two chunks teach a
    // tag before anything is checked (measured): a HEARTBEAT its
    // sender's own, and a SHUTDOWN-ACK the one its answer (the
    // SHUTDOWN-COMPLETE of an out-of-the-blue exchange) will carry.
    ChunkWalk walk(pkt);
    Chunk c{};
    while (walk.Next(&c)) {
      const ChunkKind kind = KindOf(c.type);
      if (Transition(Direction::kOriginal, SctpState::kNone, kind) == XX) {
        return Invalid(InvalidReason::kSctpState);
      }
      if (kind == ChunkKind::kHeartbeat) conn->vtag[d] = vtag;
      if (kind == ChunkKind::kShutdownAck) conn->vtag[o] = vtag;
    }
  }
  // The whole-packet tag check.
  if ((survey.kinds & kOwnTagRule) == 0 && vtag != conn->vtag[d]) {
    return Invalid(InvalidReason::kSctpVtag);
  }

  bool ignore = false;  // accept, but no refresh
  bool state_changed = false;
  bool entered_established = false;
  ChunkWalk walk(pkt);
  Chunk c{};
  while (walk.Next(&c)) {
    const ChunkKind kind = KindOf(c.type);
    switch (kind) {
      case ChunkKind::kInit:
        if (vtag != 0) return Invalid(InvalidReason::kSctpVtag);
        break;
      case ChunkKind::kAbort:
      case ChunkKind::kShutdownComplete: {
        // With T the sender reflected the receiver's tag.
        const uint32_t want =
            (c.flags & chunk::kFlagT) != 0 ? conn->vtag[o] : conn->vtag[d];
        if (vtag != want) return Invalid(InvalidReason::kSctpVtag);
        break;
      }
      case ChunkKind::kCookieEcho:
        if (vtag != conn->vtag[d]) return Invalid(InvalidReason::kSctpVtag);
        break;
      case ChunkKind::kHeartbeat:
        if (conn->vtag[d] == 0) {
          conn->vtag[d] = vtag;
        } else if (vtag != conn->vtag[d]) {
          if (survey.has_data || ignore) {
            return Invalid(InvalidReason::kSctpVtag);
          }
          conn->heartbeat_vtag_failed = true;
          conn->heartbeat_failed_dir = static_cast<uint8_t>(d);
          ignore = true;
          continue;  // no transition for this chunk
        } else {
          conn->heartbeat_vtag_failed = false;
        }
        break;
      case ChunkKind::kHeartbeatAck:
        if (conn->vtag[d] == 0) {
          conn->vtag[d] = vtag;
        } else if (vtag != conn->vtag[d]) {
          // Only as the answer, from the other side, to a HEARTBEAT that
          // carried an unknown tag: the peers have new tags.
          if (survey.has_data || ignore || !conn->heartbeat_vtag_failed ||
              conn->heartbeat_failed_dir == d) {
            return Invalid(InvalidReason::kSctpVtag);
          }
          conn->heartbeat_vtag_failed = false;
          conn->vtag[d] = vtag;
          conn->vtag[o] = 0;
        } else {
          conn->heartbeat_vtag_failed = false;
        }
        break;
      default:
        break;
    }
    const SctpState from = conn->state;
    const SctpState to = Transition(dir, from, kind);
    if (to == XX) return Invalid(InvalidReason::kSctpState);
    if (kind == ChunkKind::kInit || kind == ChunkKind::kInitAck) {
      uint32_t init_tag = 0;
      if (!walk.Word(c, kChunkHeaderLen, &init_tag) ||
          c.offset + kChunkHeaderLen + kInitHeaderLen > walk.end()) {
        return Invalid(InvalidReason::kSctpChunks);
      }
      if (kind == ChunkKind::kInit) {
        // Both sides' INITs crossed: the newer one counts.
        if ((conn->init_seen & DirBit(d)) != 0 &&
            (conn->init_seen & DirBit(o)) != 0) {
          conn->init_seen &= static_cast<uint8_t>(~DirBit(o));
        }
        conn->init_seen |= DirBit(d);
        // A retransmitted INIT on a CLOSED entry does not keep it alive.
        if (from == CL && to == CL && !ctx.is_new) ignore = true;
      } else {
        // The INIT-ACK's tag must be the one already known for the other
        // direction, unless that side's INIT is what it answers; and when
        // both sides sent INITs it must be that tag in any case.
        const uint32_t known = conn->vtag[o];
        const bool init_there = (conn->init_seen & DirBit(o)) != 0;
        const bool init_here = (conn->init_seen & DirBit(d)) != 0;
        if ((!init_there && known != 0 && known != init_tag) ||
            (init_here && init_there && known != init_tag)) {
          return Invalid(InvalidReason::kSctpVtag);
        }
      }
      conn->vtag[o] = init_tag;
    }
    conn->state = to;
    if (to != from) {
      state_changed = true;
      if (to == ES) {
        entered_established = true;
        conn->init_seen = 0;  // measured: later INIT-ACKs need the known tag
      }
    }
  }

  TrackResult r;
  r.state_changed = state_changed;
  r.set_assured = entered_established && !ctx.assured;
  if (ignore) {
    r.verdict = TrackVerdict::kIgnore;
    return r;
  }
  r.verdict = TrackVerdict::kAccept;
  r.refresh = true;
  r.timeout = cfg.timeouts[static_cast<int>(conn->state)];
  return r;
}

bool SctpCanEarlyDrop(const SctpConn& conn) noexcept {
  return conn.state == SctpState::kShutdownSent ||
         conn.state == SctpState::kShutdownRecd ||
         conn.state == SctpState::kShutdownAckSent;
}

}  // namespace ctkit
