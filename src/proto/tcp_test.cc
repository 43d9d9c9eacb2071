// Scenario tests for the TCP tracker. Each test is a story: a sequence of
// segments between a client (the ORIGINAL direction) and a server (REPLY),
// with what spec §6 says must happen after each one: verdict, state, timeout
// (in seconds, as the spec gives them) and the ASSURED/kill decisions. The
// fixture plays the engine's part (reply-seen bit, ASSURED bit, expiry,
// reopen), so the stories read like what a box would see on the wire.
#include "proto/tcp.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "ctkit/decode.h"
#include "gen/packet_builder.h"
#include "proto/tcp_transitions.h"

namespace ctkit {
namespace {

using tcpflag::kAck;
using tcpflag::kCwr;
using tcpflag::kEce;
using tcpflag::kFin;
using tcpflag::kPsh;
using tcpflag::kRst;
using tcpflag::kSyn;
using tcpflag::kUrg;

constexpr Direction kOrig = Direction::kOriginal;
constexpr Direction kReply = Direction::kReply;

// Jiffies per second on the reference host (spec §0: CONFIG_HZ=250).
constexpr uint32_t kTestHz = 250;
constexpr uint32_t Sec(uint32_t s) { return s * kTestHz; }

// Initial sequence numbers of the two sides in every story.
constexpr uint32_t kClientIsn = 1000;
constexpr uint32_t kServerIsn = 500000;
constexpr uint16_t kClientWin = 64240;
constexpr uint16_t kServerWin = 65160;

// SYN options as a Linux stack sends them: MSS, then window scale (-1 for
// none) and SACK-permitted.
TcpOptions SynOptions(int wscale, bool sack_perm) {
  TcpOptions o;
  o.mss = 1460;
  o.wscale = wscale;
  o.sack_perm = sack_perm;
  return o;
}

// The kernel's defaults (spec §6.6), in jiffies.
TcpConfig DefaultConfig() {
  TcpConfig c{};
  const auto set = [&c](TcpState s, uint32_t secs) {
    c.timeouts[static_cast<int>(s)] = Sec(secs);
  };
  set(TcpState::kSynSent, 120);
  set(TcpState::kSynRecv, 60);
  set(TcpState::kEstablished, 432000);
  set(TcpState::kFinWait, 120);
  set(TcpState::kCloseWait, 60);
  set(TcpState::kLastAck, 30);
  set(TcpState::kTimeWait, 120);
  set(TcpState::kClose, 10);
  set(TcpState::kSynSent2, 120);
  set(TcpState::kRetrans, 300);
  set(TcpState::kUnack, 300);
  c.loose = true;
  c.be_liberal = false;
  c.ignore_invalid_rst = false;
  c.max_retrans = 3;
  c.checksum = true;
  return c;
}

class TcpTrackerTest : public ::testing::Test {
 protected:
  // Sends one segment through "the engine": header check, tracker, and the
  // bookkeeping the engine does with the result (spec §6.4, §11).
  TrackResult Send(Direction dir, uint32_t seq, uint32_t ack, uint8_t flags,
                   uint16_t win, uint32_t len = 0,
                   const TcpOptions& opts = {}) {
    buf_.clear();
    const Endpoints ep = dir == kOrig ? client_ : client_.Reversed();
    EXPECT_GT(BuildTcp(ep, seq, ack, flags, win, len, opts, &buf_), 0u);
    PacketView pkt{};
    EXPECT_EQ(DecodeIp(buf_.data(), static_cast<uint32_t>(buf_.size()), &pkt),
              DecodeStatus::kOk);
    if (corrupt_checksum_)
      buf_[static_cast<size_t>(pkt.l4 + 16 - buf_.data())] ^= 0x5a;
    return Process(pkt, dir);
  }

  TrackResult Process(const PacketView& pkt, Direction dir) {
    reopened_ = false;
    if (!TcpHeaderValid(pkt, cfg_.checksum)) return TrackResult{};
    TrackResult r = Track(pkt, dir);
    if (r.verdict == TrackVerdict::kReopen) {
      // The engine kills the old entry and starts over: the sender of this
      // packet is the new connection's client.
      reopened_ = true;
      exists_ = false;
      if (dir == kReply) client_ = client_.Reversed();
      r = Track(pkt, kOrig);
      dir = kOrig;
    }
    Apply(r, dir);
    return r;
  }

  TrackResult Track(const PacketView& pkt, Direction dir) {
    const bool is_new = !exists_;
    if (is_new) {
      EXPECT_EQ(dir, kOrig) << "only the client can create an entry";
      conn_ = TcpConn{};
      reply_seen_ = false;
      assured_ = false;
    }
    const TrackContext ctx{dir,
                           is_new,
                           reply_seen_,
                           assured_,
                           static_cast<int32_t>(expiry_ - now_),
                           now_};
    return TcpTrackSegment(&conn_, pkt, ctx, cfg_);
  }

  void Apply(const TrackResult& r, Direction dir) {
    switch (r.verdict) {
      case TrackVerdict::kInvalid:
        if (r.cap != kNoCap && static_cast<int32_t>(expiry_ - now_) >
                                   static_cast<int32_t>(r.cap)) {
          expiry_ = now_ + r.cap;
        }
        return;  // a new entry is freed: exists_ stays as it was
      case TrackVerdict::kReopen:
        ADD_FAILURE() << "reopen twice for one packet";
        return;
      case TrackVerdict::kIgnore:
        break;
      case TrackVerdict::kAccept:
        exists_ = true;
        if (r.refresh) expiry_ = now_ + r.timeout;
        if (r.set_assured) assured_ = true;
        if (r.kill) exists_ = false;
        break;
    }
    if (dir == kReply) reply_seen_ = true;  // set after the packet passed
  }

  // The normal three-way handshake; the entry ends ESTABLISHED and ASSURED.
  void Handshake(const TcpOptions& client_opts = {},
                 const TcpOptions& server_opts = {},
                 uint16_t client_win = kClientWin) {
    ASSERT_EQ(
        Send(kOrig, kClientIsn, 0, kSyn, client_win, 0, client_opts).verdict,
        TrackVerdict::kAccept);
    ASSERT_EQ(Send(kReply, kServerIsn, kClientIsn + 1, kSyn | kAck, kServerWin,
                   0, server_opts)
                  .verdict,
              TrackVerdict::kAccept);
    ASSERT_EQ(
        Send(kOrig, kClientIsn + 1, kServerIsn + 1, kAck, client_win).verdict,
        TrackVerdict::kAccept);
    ASSERT_EQ(conn_.state, TcpState::kEstablished);
    ASSERT_TRUE(assured_);
  }

  // Accepted, state now `state`, expiry refreshed to `secs` from now.
  ::testing::AssertionResult Accepted(const TrackResult& r, TcpState state,
                                      uint32_t secs) const {
    if (r.verdict != TrackVerdict::kAccept) {
      return ::testing::AssertionFailure()
             << "verdict " << static_cast<int>(r.verdict) << ", not accept";
    }
    if (conn_.state != state) {
      return ::testing::AssertionFailure()
             << "state " << TcpStateName(conn_.state) << ", expected "
             << TcpStateName(state);
    }
    if (!r.refresh) return ::testing::AssertionFailure() << "no refresh";
    if (r.timeout != Sec(secs)) {
      return ::testing::AssertionFailure()
             << "timeout " << r.timeout / kTestHz << " s, expected " << secs;
    }
    return ::testing::AssertionSuccess();
  }

  uint32_t RemainingSecs() const { return (expiry_ - now_) / kTestHz; }
  void Advance(uint32_t secs) { now_ += Sec(secs); }

  TcpConfig cfg_ = DefaultConfig();
  Endpoints client_{Family::kIPv4, Ipv4(192, 0, 2, 1), Ipv4(198, 51, 100, 7),
                    40000, 443};
  TcpConn conn_{};
  bool exists_ = false;
  bool reply_seen_ = false;
  bool assured_ = false;
  bool reopened_ = false;
  bool corrupt_checksum_ = false;
  uint32_t now_ = 1000000;  // arbitrary, not 0
  uint32_t expiry_ = 0;
  std::vector<uint8_t> buf_;
};

// ---------------------------------------------------------------- opening

TEST_F(TcpTrackerTest, ThreeWayHandshakeAssuresOnThirdPacket) {
  TrackResult r = Send(kOrig, kClientIsn, 0, kSyn, kClientWin);
  EXPECT_TRUE(Accepted(r, TcpState::kSynSent, 120));
  EXPECT_TRUE(r.state_changed);
  EXPECT_FALSE(r.set_assured);

  r = Send(kReply, kServerIsn, kClientIsn + 1, kSyn | kAck, kServerWin);
  EXPECT_TRUE(Accepted(r, TcpState::kSynRecv, 60));
  EXPECT_FALSE(r.set_assured);  // the reply bit is set only after this one

  r = Send(kOrig, kClientIsn + 1, kServerIsn + 1, kAck, kClientWin);
  EXPECT_TRUE(Accepted(r, TcpState::kEstablished, 432000));
  EXPECT_TRUE(r.set_assured);

  // Already ASSURED: no second ASSURED decision.
  r = Send(kReply, kServerIsn + 1, kClientIsn + 1, kAck, kServerWin);
  EXPECT_TRUE(Accepted(r, TcpState::kEstablished, 432000));
  EXPECT_FALSE(r.set_assured);
  EXPECT_FALSE(r.state_changed);
}

TEST_F(TcpTrackerTest, HandshakeOverIpv6) {
  Endpoints v6{};
  v6.family = Family::kIPv6;
  v6.src.bytes[0] = 0x20;
  v6.src.bytes[1] = 0x01;
  v6.src.bytes[2] = 0x0d;
  v6.src.bytes[3] = 0xb8;
  v6.src.bytes[15] = 1;
  v6.dst = v6.src;
  v6.dst.bytes[15] = 2;
  v6.sport = 50000;
  v6.dport = 80;
  client_ = v6;

  EXPECT_TRUE(Accepted(Send(kOrig, kClientIsn, 0, kSyn, kClientWin),
                       TcpState::kSynSent, 120));
  EXPECT_TRUE(Accepted(
      Send(kReply, kServerIsn, kClientIsn + 1, kSyn | kAck, kServerWin),
      TcpState::kSynRecv, 60));
  const TrackResult r =
      Send(kOrig, kClientIsn + 1, kServerIsn + 1, kAck, kClientWin);
  EXPECT_TRUE(Accepted(r, TcpState::kEstablished, 432000));
  EXPECT_TRUE(r.set_assured);
}

TEST_F(TcpTrackerTest, RetransmittedSynDoesNotRefresh) {
  EXPECT_TRUE(Accepted(Send(kOrig, kClientIsn, 0, kSyn, kClientWin),
                       TcpState::kSynSent, 120));
  Advance(50);
  // Same SYN again, 50 s later: accepted, but the entry still dies 120 s
  // after the first SYN (spec §6.4 step 6).
  const TrackResult r = Send(kOrig, kClientIsn, 0, kSyn, kClientWin);
  EXPECT_EQ(r.verdict, TrackVerdict::kAccept);
  EXPECT_FALSE(r.refresh);
  EXPECT_FALSE(r.state_changed);
  EXPECT_EQ(conn_.state, TcpState::kSynSent);
  EXPECT_EQ(RemainingSecs(), 70u);
}

TEST_F(TcpTrackerTest, SynWithNewIsnReinitialisesTheClientSide) {
  Send(kOrig, kClientIsn, 0, kSyn, kClientWin);
  // The client gave up and retried with a higher ISN (spec §6.5).
  const TrackResult r = Send(kOrig, kClientIsn + 5000, 0, kSyn, kClientWin);
  EXPECT_EQ(r.verdict, TrackVerdict::kAccept);
  EXPECT_FALSE(r.refresh);
  EXPECT_EQ(conn_.seen[0].end, kClientIsn + 5001);
  // The server answers the new SYN: without the re-init its ack would be
  // beyond anything the client sent (check III).
  EXPECT_TRUE(Accepted(
      Send(kReply, kServerIsn, kClientIsn + 5001, kSyn | kAck, kServerWin),
      TcpState::kSynRecv, 60));
}

TEST_F(TcpTrackerTest, SimultaneousOpenThroughSynSent2) {
  EXPECT_TRUE(Accepted(Send(kOrig, kClientIsn, 0, kSyn, kClientWin),
                       TcpState::kSynSent, 120));
  // The server's own SYN crosses ours.
  // No reply was seen before it and the entry was in SYN_SENT, so like a
  // retransmitted SYN it does not refresh (spec §6.4 step 6 names no
  // direction); SYN_SENT2's own timeout is 120 s as well.
  TrackResult r = Send(kReply, kServerIsn, 0, kSyn, kServerWin);
  EXPECT_EQ(r.verdict, TrackVerdict::kAccept);
  EXPECT_EQ(conn_.state, TcpState::kSynSent2);
  EXPECT_TRUE(r.state_changed);
  EXPECT_FALSE(r.refresh);
  EXPECT_TRUE(conn_.last_flags & tcpwin::kSimultaneousOpen);
  // Each side answers the other's SYN with a SYN/ACK.
  r = Send(kOrig, kClientIsn, kServerIsn + 1, kSyn | kAck, kClientWin);
  EXPECT_TRUE(Accepted(r, TcpState::kSynRecv, 60));
  EXPECT_FALSE(r.set_assured);
  r = Send(kReply, kServerIsn, kClientIsn + 1, kSyn | kAck, kServerWin);
  EXPECT_EQ(r.verdict, TrackVerdict::kIgnore);  // SYN/ACK in SYN_RECV
  EXPECT_EQ(conn_.state, TcpState::kSynRecv);
  // The server's ACK, which the table maps to SYN_RECV, establishes.
  r = Send(kReply, kServerIsn + 1, kClientIsn + 1, kAck, kServerWin);
  EXPECT_TRUE(Accepted(r, TcpState::kEstablished, 432000));
  EXPECT_TRUE(r.set_assured);
}

TEST_F(TcpTrackerTest, OnlySynOrAckMayCreateAnEntry) {
  const TrackResult synack =
      Send(kOrig, kServerIsn, kClientIsn + 1, kSyn | kAck, kServerWin);
  EXPECT_EQ(synack.verdict, TrackVerdict::kInvalid);
  EXPECT_EQ(synack.reason, InvalidReason::kTcpNewNotSyn);
  EXPECT_FALSE(exists_);
  EXPECT_EQ(
      Send(kOrig, kClientIsn, kServerIsn, kFin | kAck, kClientWin).verdict,
      TrackVerdict::kInvalid);
  EXPECT_EQ(Send(kOrig, kClientIsn, 0, kRst, kClientWin).verdict,
            TrackVerdict::kInvalid);
  EXPECT_EQ(Send(kOrig, kClientIsn, kServerIsn, kRst | kAck, 0).verdict,
            TrackVerdict::kInvalid);
  EXPECT_FALSE(exists_);
}

// ---------------------------------------------------------------- pickup

TEST_F(TcpTrackerTest, PickupWithLooseIsCappedUntilAnswered) {
  // The box starts seeing an established connection mid-stream.
  TrackResult r = Send(kOrig, 7001, 90001, kAck, 1000);
  EXPECT_TRUE(Accepted(r, TcpState::kEstablished, 300));
  EXPECT_TRUE(r.state_changed);
  const uint8_t liberal = tcpwin::kSackPerm | tcpwin::kBeLiberal;
  EXPECT_EQ(conn_.seen[0].flags & liberal, liberal);
  EXPECT_EQ(conn_.seen[1].flags & liberal, liberal);

  // The first answer: still no reply seen when it is processed.
  r = Send(kReply, 90001, 7001, kAck, 2000);
  EXPECT_TRUE(Accepted(r, TcpState::kEstablished, 300));
  EXPECT_FALSE(r.set_assured);

  // The next packet, either direction, finds the reply seen.
  r = Send(kOrig, 7001, 90001, kAck | kPsh, 1000, 10);
  EXPECT_EQ(r.verdict, TrackVerdict::kAccept);
  EXPECT_TRUE(r.set_assured);
}

TEST_F(TcpTrackerTest, PickupAnsweredWithoutDataGetsFullTimeout) {
  Send(kOrig, 7001, 90001, kAck, 1000);
  Send(kReply, 90001, 7001, kAck, 2000);
  const TrackResult r = Send(kOrig, 7001, 90001, kAck, 1000);
  EXPECT_TRUE(Accepted(r, TcpState::kEstablished, 432000));
  EXPECT_TRUE(r.set_assured);
}

TEST_F(TcpTrackerTest, PickupWindowIsNeverChecked) {
  Send(kOrig, 7001, 90001, kAck, 1000);
  Send(kReply, 90001, 7001, kAck, 2000);
  // Far outside any window: liberal tracking accepts it anyway.
  EXPECT_EQ(Send(kOrig, 7001 + 100000000, 90001, kAck, 1000).verdict,
            TrackVerdict::kAccept);
}

TEST_F(TcpTrackerTest, NoPickupWithoutLoose) {
  cfg_.loose = false;
  EXPECT_EQ(Send(kOrig, 7001, 90001, kAck, 1000).verdict,
            TrackVerdict::kInvalid);
  EXPECT_FALSE(exists_);
  // A SYN still opens.
  EXPECT_TRUE(Accepted(Send(kOrig, kClientIsn, 0, kSyn, kClientWin),
                       TcpState::kSynSent, 120));
}

// --------------------------------------------------------------- closing

TEST_F(TcpTrackerTest, ClientClosesFirst) {
  Handshake();
  TrackResult r =
      Send(kOrig, kClientIsn + 1, kServerIsn + 1, kFin | kAck, kClientWin);
  EXPECT_TRUE(Accepted(r, TcpState::kFinWait, 120));
  EXPECT_TRUE(conn_.seen[0].flags & tcpwin::kCloseInit);
  EXPECT_FALSE(conn_.seen[1].flags & tcpwin::kCloseInit);
  r = Send(kReply, kServerIsn + 1, kClientIsn + 2, kAck, kServerWin);
  EXPECT_TRUE(Accepted(r, TcpState::kCloseWait, 60));
  r = Send(kReply, kServerIsn + 1, kClientIsn + 2, kFin | kAck, kServerWin);
  EXPECT_TRUE(Accepted(r, TcpState::kLastAck, 30));
  r = Send(kOrig, kClientIsn + 2, kServerIsn + 2, kAck, kClientWin);
  EXPECT_TRUE(Accepted(r, TcpState::kTimeWait, 120));
}

TEST_F(TcpTrackerTest, ServerClosesFirst) {
  Handshake();
  TrackResult r =
      Send(kReply, kServerIsn + 1, kClientIsn + 1, kFin | kAck, kServerWin);
  EXPECT_TRUE(Accepted(r, TcpState::kFinWait, 120));
  EXPECT_TRUE(conn_.seen[1].flags & tcpwin::kCloseInit);
  EXPECT_FALSE(conn_.seen[0].flags & tcpwin::kCloseInit);
  r = Send(kOrig, kClientIsn + 1, kServerIsn + 2, kAck, kClientWin);
  EXPECT_TRUE(Accepted(r, TcpState::kCloseWait, 60));
  r = Send(kOrig, kClientIsn + 1, kServerIsn + 2, kFin | kAck, kClientWin);
  EXPECT_TRUE(Accepted(r, TcpState::kLastAck, 30));
  r = Send(kReply, kServerIsn + 2, kClientIsn + 2, kAck, kServerWin);
  EXPECT_TRUE(Accepted(r, TcpState::kTimeWait, 120));
}

TEST_F(TcpTrackerTest, BothClose) {
  Handshake();
  EXPECT_TRUE(Accepted(
      Send(kOrig, kClientIsn + 1, kServerIsn + 1, kFin | kAck, kClientWin),
      TcpState::kFinWait, 120));
  // The server's FIN also acknowledges ours: straight to LAST_ACK.
  EXPECT_TRUE(Accepted(
      Send(kReply, kServerIsn + 1, kClientIsn + 2, kFin | kAck, kServerWin),
      TcpState::kLastAck, 30));
  EXPECT_TRUE(
      Accepted(Send(kOrig, kClientIsn + 2, kServerIsn + 2, kAck, kClientWin),
               TcpState::kTimeWait, 120));
}

TEST_F(TcpTrackerTest, SynAfterCloseReopens) {
  Handshake();
  Send(kOrig, kClientIsn + 1, kServerIsn + 1, kFin | kAck, kClientWin);
  Send(kReply, kServerIsn + 1, kClientIsn + 2, kFin | kAck, kServerWin);
  Send(kOrig, kClientIsn + 2, kServerIsn + 2, kAck, kClientWin);
  ASSERT_EQ(conn_.state, TcpState::kTimeWait);

  // The client reuses the port: the tracker asks for a new entry.
  PacketView pkt{};
  buf_.clear();
  BuildTcp(client_, 90000, 0, kSyn, kClientWin, 0, {}, &buf_);
  ASSERT_EQ(DecodeIp(buf_.data(), static_cast<uint32_t>(buf_.size()), &pkt),
            DecodeStatus::kOk);
  TcpConn copy = conn_;
  const TrackContext ctx{
      kOrig, false, true, true, static_cast<int32_t>(Sec(100)), now_};
  EXPECT_EQ(TcpTrackSegment(&copy, pkt, ctx, cfg_).verdict,
            TrackVerdict::kReopen);

  // Through the engine: the old entry goes, the SYN starts a fresh one.
  const TrackResult r = Send(kOrig, 90000, 0, kSyn, kClientWin);
  EXPECT_TRUE(reopened_);
  EXPECT_TRUE(Accepted(r, TcpState::kSynSent, 120));
  EXPECT_FALSE(assured_);
  EXPECT_FALSE(reply_seen_);
  EXPECT_EQ(conn_.seen[0].end, 90001u);
}

TEST_F(TcpTrackerTest, SynInTimeWaitWithoutCloseInitiatorIsIgnored) {
  // A TIME_WAIT entry that no FIN of ours ever marked.
  Handshake();
  conn_.state = TcpState::kTimeWait;
  conn_.seen[0].flags &= static_cast<uint8_t>(~tcpwin::kCloseInit);
  conn_.seen[1].flags &= static_cast<uint8_t>(~tcpwin::kCloseInit);
  const TrackResult r = Send(kOrig, 90000, 0, kSyn, kClientWin);
  EXPECT_FALSE(reopened_);
  EXPECT_EQ(r.verdict, TrackVerdict::kIgnore);
  EXPECT_FALSE(r.refresh);
  EXPECT_EQ(conn_.state, TcpState::kTimeWait);
}

TEST_F(TcpTrackerTest, ServerResetThenClientSynResyncsOnServerSynAck) {
  Handshake();
  // The server aborts: CLOSE, 10 s.
  EXPECT_TRUE(
      Accepted(Send(kReply, kServerIsn + 1, 0, kRst, 0), TcpState::kClose, 10));
  // Nobody sent a FIN and the last RST came from the other side: the new
  // SYN does not reopen; it is let through and remembered.
  const TcpOptions syn_opts = SynOptions(7, true);
  TrackResult r = Send(kOrig, 90000, 0, kSyn, 1000, 0, syn_opts);
  EXPECT_FALSE(reopened_);
  EXPECT_EQ(r.verdict, TrackVerdict::kIgnore);
  EXPECT_EQ(conn_.state, TcpState::kClose);
  EXPECT_EQ(conn_.last_end, 90001u);
  EXPECT_EQ(conn_.last_wscale, 7);
  // The server's SYN/ACK for exactly that SYN proves the endpoints agree:
  // the box resyncs to SYN_RECV with the client side rebuilt from the SYN.
  r = Send(kReply, 300000, 90001, kSyn | kAck, kServerWin, 0, syn_opts);
  EXPECT_TRUE(Accepted(r, TcpState::kSynRecv, 60));
  EXPECT_EQ(conn_.seen[0].end, 90001u);
  EXPECT_EQ(conn_.seen[0].scale, 7);
  EXPECT_TRUE(conn_.seen[0].flags & tcpwin::kSackPerm);
  EXPECT_EQ(conn_.seen[1].end, 300001u);
  EXPECT_TRUE(Accepted(Send(kOrig, 90001, 300001, kAck, 1000),
                       TcpState::kEstablished, 432000));
}

TEST_F(TcpTrackerTest, ClientResetThenClientSynReopens) {
  Handshake();
  EXPECT_TRUE(
      Accepted(Send(kOrig, kClientIsn + 1, 0, kRst, 0), TcpState::kClose, 10));
  // The last RST came from this same side: the connection was aborted, a
  // new one may start.
  const TrackResult r = Send(kOrig, 90000, 0, kSyn, kClientWin);
  EXPECT_TRUE(reopened_);
  EXPECT_TRUE(Accepted(r, TcpState::kSynSent, 120));
}

TEST_F(TcpTrackerTest, SynOnEstablishedIsIgnoredAndResyncs) {
  Handshake();
  TrackResult r = Send(kOrig, 90000, 0, kSyn, kClientWin);
  EXPECT_EQ(r.verdict, TrackVerdict::kIgnore);
  EXPECT_EQ(conn_.state, TcpState::kEstablished);
  r = Send(kReply, 300000, 90001, kSyn | kAck, kServerWin);
  EXPECT_TRUE(Accepted(r, TcpState::kSynRecv, 60));
}

TEST_F(TcpTrackerTest, ChallengeAckInLastAckKeepsState) {
  Handshake();
  Send(kOrig, kClientIsn + 1, kServerIsn + 1, kFin | kAck, kClientWin);
  Send(kReply, kServerIsn + 1, kClientIsn + 2, kAck, kServerWin);
  Send(kReply, kServerIsn + 1, kClientIsn + 2, kFin | kAck, kServerWin);
  ASSERT_EQ(conn_.state, TcpState::kLastAck);
  // The client (already closed) sends a SYN; it is ignored and marks a
  // possible RFC 5961 challenge ACK.
  EXPECT_EQ(Send(kOrig, 90000, 0, kSyn, kClientWin).verdict,
            TrackVerdict::kIgnore);
  EXPECT_TRUE(conn_.last_flags & tcpwin::kChallengeAck);
  // The server's challenge ACK does not acknowledge the last FIN.
  TrackResult r =
      Send(kReply, kServerIsn + 2, kClientIsn + 2, kAck, kServerWin);
  EXPECT_EQ(r.verdict, TrackVerdict::kIgnore);
  EXPECT_EQ(conn_.state, TcpState::kLastAck);
  EXPECT_FALSE(conn_.last_flags & tcpwin::kChallengeAck);
  // The client's real last ACK does.
  r = Send(kOrig, kClientIsn + 2, kServerIsn + 2, kAck, kClientWin);
  EXPECT_TRUE(Accepted(r, TcpState::kTimeWait, 120));
}

// ----------------------------------------------------------------- resets

TEST_F(TcpTrackerTest, RefusedConnectionIsDeletedAtOnce) {
  Send(kOrig, kClientIsn, 0, kSyn, kClientWin);
  // Port closed: RST/ACK with seq 0 answering the SYN, before any reply.
  const TrackResult r = Send(kReply, 0, kClientIsn + 1, kRst | kAck, 0);
  EXPECT_EQ(r.verdict, TrackVerdict::kAccept);
  EXPECT_TRUE(r.kill);
  EXPECT_EQ(conn_.state, TcpState::kClose);
  EXPECT_FALSE(exists_);
}

TEST_F(TcpTrackerTest, ResetInEstablishedClosesInTenSeconds) {
  Handshake();
  // The server acknowledged up to kClientIsn + 1; an RST at exactly that
  // sequence number is believed.
  const TrackResult r = Send(kOrig, kClientIsn + 1, 0, kRst, 0);
  EXPECT_TRUE(Accepted(r, TcpState::kClose, 10));
  EXPECT_FALSE(r.kill);  // the reply was seen
  EXPECT_TRUE(r.state_changed);
}

TEST_F(TcpTrackerTest, ResetBelowPeersAckIsInvalid) {
  Handshake();
  Send(kOrig, kClientIsn + 1, kServerIsn + 1, kAck | kPsh, kClientWin, 100);
  Send(kReply, kServerIsn + 1, kClientIsn + 101, kAck, kServerWin);
  // The server has acknowledged up to +101; an RST at +1 is old.
  const TrackResult r = Send(kOrig, kClientIsn + 1, 0, kRst, 0);
  EXPECT_EQ(r.verdict, TrackVerdict::kInvalid);
  EXPECT_EQ(r.reason, InvalidReason::kTcpRst);
  EXPECT_EQ(conn_.state, TcpState::kEstablished);
}

TEST_F(TcpTrackerTest, IgnoreInvalidRstKeepsStateButShortensTimeout) {
  cfg_.ignore_invalid_rst = true;
  Handshake();
  Send(kOrig, kClientIsn + 1, kServerIsn + 1, kAck | kPsh, kClientWin, 100);
  Send(kReply, kServerIsn + 1, kClientIsn + 101, kAck, kServerWin);
  // Not exact and not part of a train: the state stays ESTABLISHED for a
  // possible challenge ACK, but the RST timeout applies (spec §6.4 rule 2).
  const TrackResult r = Send(kOrig, kClientIsn + 1, 0, kRst, 0);
  EXPECT_TRUE(Accepted(r, TcpState::kEstablished, 10));
  EXPECT_FALSE(r.state_changed);
}

TEST_F(TcpTrackerTest, ResetEndingADataTrainCloses) {
  Handshake();
  // foo > bar: P 1001:1101 ack 500001, then R 1101:1101.
  Send(kOrig, kClientIsn + 1, kServerIsn + 1, kAck | kPsh, kClientWin, 100);
  const TrackResult r = Send(kOrig, kClientIsn + 101, 0, kRst, 0);
  EXPECT_TRUE(Accepted(r, TcpState::kClose, 10));
}

TEST_F(TcpTrackerTest, ResetAnsweringAnIgnoredSynSkipsTheWindow) {
  Handshake();
  EXPECT_EQ(Send(kOrig, 90000, 0, kSyn, kClientWin).verdict,
            TrackVerdict::kIgnore);
  // The server refuses that SYN; its seq is nowhere near the window, but
  // its ack matches the ignored SYN exactly (spec §6.4 RST rule 3).
  const TrackResult r = Send(kReply, 0, 90001, kRst | kAck, 0);
  EXPECT_TRUE(Accepted(r, TcpState::kClose, 10));
}

TEST_F(TcpTrackerTest, ResetAnsweringAChallengeAckInSynSent) {
  Send(kOrig, kClientIsn, 0, kSyn, kClientWin);
  // The server still has an old connection on this quadruple and answers
  // the SYN with a challenge ACK: ignored in SYN_SENT, its ack recorded.
  TrackResult r = Send(kReply, 777777, 424242, kAck, kServerWin);
  EXPECT_EQ(r.verdict, TrackVerdict::kIgnore);
  EXPECT_EQ(conn_.last_ack, 424242u);
  EXPECT_EQ(conn_.state, TcpState::kSynSent);
  // The client resets the old connection at the acked number.
  r = Send(kOrig, 424242, 0, kRst, 0);
  EXPECT_TRUE(Accepted(r, TcpState::kClose, 10));
}

TEST_F(TcpTrackerTest, ResetInClosingStateSkipsWindow) {
  Handshake();
  Send(kOrig, kClientIsn + 1, kServerIsn + 1, kFin | kAck, kClientWin);
  ASSERT_EQ(conn_.state, TcpState::kFinWait);
  // Way out of window, but the connection is closing (rule 1).
  EXPECT_TRUE(Accepted(Send(kReply, 123, 0, kRst, 0), TcpState::kClose, 10));
}

// ---------------------------------------------------------- header sanity

TEST_F(TcpTrackerTest, IllegalFlagCombinationsAreInvalid) {
  for (const uint8_t flags :
       {uint8_t{0}, kFin, uint8_t(kSyn | kFin), uint8_t(kSyn | kRst),
        uint8_t(kSyn | kAck | kUrg), uint8_t(kFin | kPsh | kUrg),
        uint8_t(kFin | kSyn | kRst | kPsh | kAck | kUrg), kUrg, kPsh}) {
    EXPECT_EQ(Send(kOrig, kClientIsn, 0, flags, kClientWin).verdict,
              TrackVerdict::kInvalid)
        << "flags 0x" << std::hex << int{flags};
    EXPECT_FALSE(exists_);
  }
}

TEST_F(TcpTrackerTest, PshEceCwrDoNotMatter) {
  // An ECN-setup SYN (ECE+CWR) opens like a plain SYN.
  EXPECT_TRUE(Accepted(Send(kOrig, kClientIsn, 0, kSyn | kEce | kCwr, 1000),
                       TcpState::kSynSent, 120));
  EXPECT_TRUE(Accepted(
      Send(kReply, kServerIsn, kClientIsn + 1, kSyn | kAck | kEce, kServerWin),
      TcpState::kSynRecv, 60));
  EXPECT_TRUE(Accepted(Send(kOrig, kClientIsn + 1, kServerIsn + 1,
                            kAck | kPsh | kUrg | kCwr, 1000),
                       TcpState::kEstablished, 432000));
}

TEST_F(TcpTrackerTest, BadChecksumIsInvalidOnlyWhenChecked) {
  corrupt_checksum_ = true;
  EXPECT_EQ(Send(kOrig, kClientIsn, 0, kSyn, kClientWin).verdict,
            TrackVerdict::kInvalid);
  EXPECT_FALSE(exists_);
  cfg_.checksum = false;
  EXPECT_TRUE(Accepted(Send(kOrig, kClientIsn, 0, kSyn, kClientWin),
                       TcpState::kSynSent, 120));
}

TEST_F(TcpTrackerTest, TruncatedHeaderIsInvalid) {
  buf_.clear();
  BuildTcp(client_, kClientIsn, 0, kSyn, kClientWin, 0, {}, &buf_);
  PacketView pkt{};
  ASSERT_EQ(DecodeIp(buf_.data(), static_cast<uint32_t>(buf_.size()), &pkt),
            DecodeStatus::kOk);
  EXPECT_TRUE(TcpHeaderValid(pkt, false));
  // Data offset 4 (16 bytes): shorter than a TCP header.
  buf_[static_cast<size_t>(pkt.l4 + 12 - buf_.data())] = 4 << 4;
  EXPECT_FALSE(TcpHeaderValid(pkt, false));
  // Data offset 15 (60 bytes) in a 20-byte segment.
  buf_[static_cast<size_t>(pkt.l4 + 12 - buf_.data())] = 15 << 4;
  EXPECT_FALSE(TcpHeaderValid(pkt, false));
  // Fewer than 20 bytes captured.
  buf_[static_cast<size_t>(pkt.l4 + 12 - buf_.data())] = 5 << 4;
  PacketView short_pkt = pkt;
  short_pkt.l4_caplen = 19;
  EXPECT_FALSE(TcpHeaderValid(short_pkt, false));
}

// -------------------------------------------------------- window tracking

TEST_F(TcpTrackerTest, SegmentFarBeyondTheWindowIsInvalid) {
  Handshake();
  const TrackResult r = Send(kOrig, kClientIsn + 1 + 10000000, kServerIsn + 1,
                             kAck | kPsh, kClientWin, 100);
  EXPECT_EQ(r.verdict, TrackVerdict::kInvalid);  // check I
  EXPECT_EQ(r.reason, InvalidReason::kTcpWindow);
  EXPECT_EQ(r.cap, kNoCap);  // not a FIN/RST
  EXPECT_EQ(conn_.state, TcpState::kEstablished);
}

TEST_F(TcpTrackerTest, BeLiberalAcceptsWhatTheWindowRejects) {
  cfg_.be_liberal = true;
  Handshake();
  const TrackResult r = Send(kOrig, kClientIsn + 1 + 10000000, kServerIsn + 1,
                             kAck | kPsh, kClientWin, 100);
  EXPECT_TRUE(Accepted(r, TcpState::kEstablished, 432000));
  // Accepted at the failing check, before any update.
  EXPECT_EQ(conn_.seen[0].end, kClientIsn + 1);
}

TEST_F(TcpTrackerTest, AckForDataNeverSentIsInvalid) {
  Handshake();
  // The server sent nothing after its SYN/ACK (check III).
  const TrackResult r =
      Send(kOrig, kClientIsn + 1, kServerIsn + 1 + 1000, kAck, kClientWin);
  EXPECT_EQ(r.verdict, TrackVerdict::kInvalid);
}

TEST_F(TcpTrackerTest, OldRetransmissionBelowTheWindowIsIgnored) {
  Handshake();
  Send(kOrig, kClientIsn + 1, kServerIsn + 1, kAck | kPsh, kClientWin, 1000);
  Send(kReply, kServerIsn + 1, kClientIsn + 1001, kAck, kServerWin);
  // A segment ending far before anything the server can still want
  // (check II): not invalid, just not counted.
  const TrackResult r = Send(kOrig, kClientIsn + 1 - 200000, kServerIsn + 1,
                             kAck | kPsh, kClientWin, 100);
  EXPECT_EQ(r.verdict, TrackVerdict::kIgnore);
  EXPECT_FALSE(r.refresh);
}

TEST_F(TcpTrackerTest, SmallOvershootIsIgnoredButRemembered) {
  // The client offers only 1000 bytes.
  Handshake({}, {}, 1000);
  // The server's segment starts past the right edge (check I fails) but by
  // less than the window: ignored, yet its end is remembered...
  TrackResult r = Send(kReply, kServerIsn + 1101, kClientIsn + 1, kAck | kPsh,
                       kServerWin, 100);
  EXPECT_EQ(r.verdict, TrackVerdict::kIgnore);
  EXPECT_EQ(conn_.seen[1].end, kServerIsn + 1201);
  // ...so the client's ack for it is not "over upper bound".
  r = Send(kOrig, kClientIsn + 1, kServerIsn + 1201, kAck, 1000);
  EXPECT_TRUE(Accepted(r, TcpState::kEstablished, 432000));
}

TEST_F(TcpTrackerTest, WindowScalingOnBothSidesWidensTheWindow) {
  const TcpOptions ws7 = SynOptions(7, true);
  Handshake(ws7, ws7, 1000);
  EXPECT_EQ(conn_.seen[0].scale, 7);
  EXPECT_EQ(conn_.seen[1].scale, 7);
  // The client's window is 1000 << 7 = 128000 bytes: a server segment
  // 60000 bytes ahead is inside it.
  const TrackResult r = Send(kReply, kServerIsn + 1 + 60000, kClientIsn + 1,
                             kAck | kPsh, kServerWin, 1000);
  // Accepted; the new data is unacknowledged, so capped at UNACK.
  EXPECT_TRUE(Accepted(r, TcpState::kEstablished, 300));
}

TEST_F(TcpTrackerTest, WindowScalingNeedsBothSides) {
  Handshake(SynOptions(7, false), {}, 1000);
  // The server did not agree: both scales are reset (RFC 7323).
  EXPECT_EQ(conn_.seen[0].scale, 0);
  EXPECT_EQ(conn_.seen[1].scale, 0);
  // 1000 bytes of window only: 60000 bytes ahead is over the upper bound.
  const TrackResult r = Send(kReply, kServerIsn + 1 + 60000, kClientIsn + 1,
                             kAck | kPsh, kServerWin, 1000);
  EXPECT_EQ(r.verdict, TrackVerdict::kInvalid);
}

TEST_F(TcpTrackerTest, SackedDataMayBeAckedBeyondTheCumulativeAck) {
  const TcpOptions sack_ok = SynOptions(-1, true);
  Handshake(sack_ok, sack_ok);
  Send(kReply, kServerIsn + 1, kClientIsn + 1, kAck | kPsh, kServerWin, 3000);
  // Client SACKs the last 1000 bytes: highest edge = everything sent.
  TcpOptions sack{};
  sack.sack = {{kServerIsn + 2001, kServerIsn + 3001}};
  EXPECT_EQ(
      Send(kOrig, kClientIsn + 1, kServerIsn + 1001, kAck, kClientWin, 0, sack)
          .verdict,
      TrackVerdict::kAccept);
  // A SACK edge beyond what the server sent fails check III.
  sack.sack = {{kServerIsn + 2001, kServerIsn + 5001}};
  EXPECT_EQ(
      Send(kOrig, kClientIsn + 1, kServerIsn + 1001, kAck, kClientWin, 0, sack)
          .verdict,
      TrackVerdict::kInvalid);
}

// --------------------------------------------------------------- timeouts

TEST_F(TcpTrackerTest, UnacknowledgedDataCapsTheTimeout) {
  Handshake();
  TrackResult r =
      Send(kOrig, kClientIsn + 1, kServerIsn + 1, kAck | kPsh, kClientWin, 100);
  EXPECT_TRUE(Accepted(r, TcpState::kEstablished, 300));
  EXPECT_TRUE(conn_.seen[0].flags & tcpwin::kDataUnacknowledged);
  // Acknowledged exactly: the cap is lifted.
  r = Send(kReply, kServerIsn + 1, kClientIsn + 101, kAck, kServerWin);
  EXPECT_TRUE(Accepted(r, TcpState::kEstablished, 432000));
  EXPECT_FALSE(conn_.seen[0].flags & tcpwin::kDataUnacknowledged);
}

TEST_F(TcpTrackerTest, ZeroWindowCapsTheTimeout) {
  Handshake();
  // The server's receive buffer is full.
  TrackResult r = Send(kReply, kServerIsn + 1, kClientIsn + 1, kAck, 0);
  EXPECT_TRUE(Accepted(r, TcpState::kEstablished, 300));
  r = Send(kReply, kServerIsn + 1, kClientIsn + 1, kAck, kServerWin);
  EXPECT_TRUE(Accepted(r, TcpState::kEstablished, 432000));
}

TEST_F(TcpTrackerTest, ThreeDuplicateAcksCapAtMaxRetrans) {
  Handshake();
  // The same pure ACK four times: the original and 3 retransmissions.
  const uint32_t expected[] = {432000, 432000, 432000, 300};
  for (const uint32_t secs : expected) {
    const TrackResult r =
        Send(kReply, kServerIsn + 1, kClientIsn + 1, kAck, kServerWin);
    EXPECT_TRUE(Accepted(r, TcpState::kEstablished, secs));
  }
  EXPECT_EQ(conn_.retrans, 3);
  // Any different segment restarts the count.
  EXPECT_TRUE(
      Accepted(Send(kOrig, kClientIsn + 1, kServerIsn + 1, kAck, kClientWin),
               TcpState::kEstablished, 432000));
  EXPECT_EQ(conn_.retrans, 0);
}

TEST_F(TcpTrackerTest, RetransmittedDataHitsMaxRetransAfterThree) {
  // An UNACK timeout above RETRANS makes the two caps distinguishable.
  cfg_.timeouts[static_cast<int>(TcpState::kUnack)] = Sec(600);
  Handshake();
  // The data segment and its retransmissions, never acknowledged.
  const uint32_t expected[] = {600, 600, 600, 300};
  for (const uint32_t secs : expected) {
    const TrackResult r = Send(kOrig, kClientIsn + 1, kServerIsn + 1,
                               kAck | kPsh, kClientWin, 500);
    EXPECT_TRUE(Accepted(r, TcpState::kEstablished, secs));
  }
}

TEST_F(TcpTrackerTest, RaisingMaxRetransDelaysTheCap) {
  cfg_.max_retrans = 5;
  Handshake();
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(
        Accepted(Send(kReply, kServerIsn + 1, kClientIsn + 1, kAck, kServerWin),
                 TcpState::kEstablished, 432000));
  }
  EXPECT_TRUE(
      Accepted(Send(kReply, kServerIsn + 1, kClientIsn + 1, kAck, kServerWin),
               TcpState::kEstablished, 300));
}

TEST_F(TcpTrackerTest, RetransmissionCounterWrapsAfter255) {
  Handshake();
  TrackResult r;
  for (int i = 0; i < 257; ++i) {
    r = Send(kReply, kServerIsn + 1, kClientIsn + 1, kAck, kServerWin);
  }
  // 256 repeats after the first: 255 + 1 wraps to 0 (u8).
  EXPECT_EQ(conn_.retrans, 0);
  EXPECT_TRUE(Accepted(r, TcpState::kEstablished, 432000));
}

TEST_F(TcpTrackerTest, OutOfWindowFinsFromBothSidesLowerTheTimeout) {
  Handshake();
  const uint32_t far = 10000000;
  // The box is out of sync; the client's FIN looks out of window. The
  // first one only records itself.
  TrackResult r =
      Send(kOrig, kClientIsn + far, kServerIsn + 1, kFin | kAck, kClientWin);
  EXPECT_EQ(r.verdict, TrackVerdict::kInvalid);
  EXPECT_EQ(r.cap, kNoCap);
  EXPECT_EQ(RemainingSecs(), 432000u);
  // The server's FIN, also out of window, answers it: the entry that would
  // otherwise live 5 days goes to UNACK (300 s).
  r = Send(kReply, kServerIsn + far, kClientIsn + 1, kFin | kAck, kServerWin);
  EXPECT_EQ(r.verdict, TrackVerdict::kInvalid);
  EXPECT_EQ(r.cap, Sec(300));
  EXPECT_EQ(RemainingSecs(), 300u);
}

TEST_F(TcpTrackerTest, OutOfWindowFinsNearExpiryChangeNothing) {
  Handshake();
  const uint32_t far = 10000000;
  Advance(432000 - 100);  // 100 s left: below the 120 s threshold
  Send(kOrig, kClientIsn + far, kServerIsn + 1, kFin | kAck, kClientWin);
  const TrackResult r =
      Send(kReply, kServerIsn + far, kClientIsn + 1, kFin | kAck, kServerWin);
  EXPECT_EQ(r.verdict, TrackVerdict::kInvalid);
  EXPECT_EQ(r.cap, kNoCap);
}

TEST_F(TcpTrackerTest, StateNames) {
  EXPECT_STREQ(TcpStateName(TcpState::kNone), "NONE");
  EXPECT_STREQ(TcpStateName(TcpState::kSynSent), "SYN_SENT");
  EXPECT_STREQ(TcpStateName(TcpState::kSynRecv), "SYN_RECV");
  EXPECT_STREQ(TcpStateName(TcpState::kEstablished), "ESTABLISHED");
  EXPECT_STREQ(TcpStateName(TcpState::kFinWait), "FIN_WAIT");
  EXPECT_STREQ(TcpStateName(TcpState::kCloseWait), "CLOSE_WAIT");
  EXPECT_STREQ(TcpStateName(TcpState::kLastAck), "LAST_ACK");
  EXPECT_STREQ(TcpStateName(TcpState::kTimeWait), "TIME_WAIT");
  EXPECT_STREQ(TcpStateName(TcpState::kClose), "CLOSE");
  EXPECT_STREQ(TcpStateName(TcpState::kSynSent2), "SYN_SENT2");
}

TEST(TcpTransitions, TableMatchesSpotChecksFromTheSpec) {
  const auto at = [](Direction d, TcpFlagClass c, TcpState s) {
    return kTcpTransitions[static_cast<int>(d)][static_cast<int>(c)]
                          [static_cast<int>(s)];
  };
  EXPECT_EQ(at(kOrig, TcpFlagClass::kSyn, TcpState::kNone), TcpState::kSynSent);
  EXPECT_EQ(at(kOrig, TcpFlagClass::kAck, TcpState::kNone),
            TcpState::kEstablished);
  EXPECT_EQ(at(kOrig, TcpFlagClass::kSynAck, TcpState::kNone), TcpState::kMax);
  EXPECT_EQ(at(kReply, TcpFlagClass::kSyn, TcpState::kSynSent),
            TcpState::kSynSent2);
  EXPECT_EQ(at(kReply, TcpFlagClass::kSyn, TcpState::kTimeWait),
            TcpState::kSynSent);
  EXPECT_EQ(at(kReply, TcpFlagClass::kSyn, TcpState::kClose), TcpState::kMax);
  EXPECT_EQ(at(kReply, TcpFlagClass::kAck, TcpState::kSynSent),
            TcpState::kIgnore);
  EXPECT_EQ(at(kReply, TcpFlagClass::kAck, TcpState::kSynRecv),
            TcpState::kSynRecv);
  EXPECT_EQ(at(kOrig, TcpFlagClass::kFin, TcpState::kSynSent2), TcpState::kMax);
  for (int s = 0; s < kTcpRealStates; ++s) {
    for (const Direction d : {kOrig, kReply}) {
      EXPECT_EQ(at(d, TcpFlagClass::kNone, static_cast<TcpState>(s)),
                TcpState::kMax);
      EXPECT_EQ(at(d, TcpFlagClass::kRst, static_cast<TcpState>(s)),
                s == 0 ? TcpState::kMax : TcpState::kClose);
    }
  }
}

}  // namespace
}  // namespace ctkit
