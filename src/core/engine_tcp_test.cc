// TCP through the whole engine: the state machine (spec §6.3/§6.4), window
// checks (§6.5), timeout choice (§6.6), what the engine does with the
// tracker's answers (kill, reopen, ASSURED, [UNREPLIED]) and the table-full
// interaction of packets that turn out INVALID (§2.1).
//
// Client 10.0.0.1:40000 (ISN 1000) connects to server 10.0.0.2:80 (ISN
// 5000); windows 65535, no options. Timeouts are the 6.18 defaults: SYN_SENT
// 120, SYN_RECV 60, ESTABLISHED 432000, FIN_WAIT 120, CLOSE_WAIT 60,
// LAST_ACK 30, TIME_WAIT 120, CLOSE 10, SYN_SENT2 120, retrans/unack 300.
#include <gtest/gtest.h>

#include "testing/engine_test_util.h"

namespace ctkit {
namespace {

using namespace enginetest;
using namespace tcpflag;

const Address kClient = Ipv4(10, 0, 0, 1);
const Address kServer = Ipv4(10, 0, 0, 2);
const Endpoints kC2S = Ep4(kClient, 40000, kServer, 80);
const Endpoints kS2C = kC2S.Reversed();
const Tuple kConn = TcpTuple(kC2S);
constexpr uint32_t kCIsn = 1000;
constexpr uint32_t kSIsn = 5000;
constexpr uint8_t kFinAck = kFin | kAck;
constexpr uint8_t kSynAck = kSyn | kAck;
constexpr uint8_t kRstAck = kRst | kAck;

// SYN, SYN/ACK, ACK at 0, 0.1, 0.2 s, checking each step (§6.4 "When
// ASSURED is set": on the third packet).
void Handshake(Harness& h) {
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn, 0, kSyn), 0.0), Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(kConn, {"SYN_SENT", 120, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.count(), 1u);

  EXPECT_EQ(h.Send(Tcp(kS2C, kSIsn, kCIsn + 1, kSynAck), 0.1),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"SYN_RECV", 60, kNotAssured, kReplied}));

  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 1, kSIsn + 1, kAck), 0.2),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"ESTABLISHED", 432000, kAssured, kReplied}));
  EXPECT_EQ(h.count(), 1u);
}

TEST(EngineTcp, HandshakeAssuredOnThirdPacket) {
  Harness h;
  Handshake(h);
  // Data both ways keeps it ESTABLISHED; once acknowledged, the full
  // 5-day timeout applies again.
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 1, kSIsn + 1, kAck | kPsh, 100), 1.0),
            Verdict::kEstablished);
  EXPECT_EQ(h.Send(Tcp(kS2C, kSIsn + 1, kCIsn + 101, kAck | kPsh, 200), 1.1),
            Verdict::kEstablished);
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 101, kSIsn + 201, kAck), 1.2),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"ESTABLISHED", 432000, kAssured, kReplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §6.6 rule 3: while data is unacknowledged, ESTABLISHED is capped at UNACK
// (300 s); the acknowledgement restores 432000.
TEST(EngineTcp, UnacknowledgedDataCapsTimeout) {
  Harness h;
  Handshake(h);
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 1, kSIsn + 1, kAck | kPsh, 100), 1.0),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"ESTABLISHED", 300, kAssured, kReplied}));
  EXPECT_EQ(h.Send(Tcp(kS2C, kSIsn + 1, kCIsn + 101, kAck), 1.1),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"ESTABLISHED", 432000, kAssured, kReplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §6.3: the client closes first. FIN_WAIT 120, CLOSE_WAIT 60, LAST_ACK 30,
// TIME_WAIT 120.
TEST(EngineTcp, ClientClosesFirstToTimeWait) {
  Harness h;
  Handshake(h);
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 1, kSIsn + 1, kFinAck), 1.0),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"FIN_WAIT", 120, kAssured, kReplied}));
  EXPECT_EQ(h.Send(Tcp(kS2C, kSIsn + 1, kCIsn + 2, kAck), 1.1),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"CLOSE_WAIT", 60, kAssured, kReplied}));
  EXPECT_EQ(h.Send(Tcp(kS2C, kSIsn + 1, kCIsn + 2, kFinAck), 1.2),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"LAST_ACK", 30, kAssured, kReplied}));
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 2, kSIsn + 2, kAck), 1.3),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"TIME_WAIT", 120, kAssured, kReplied}));
  EXPECT_EQ(h.count(), 1u);
  EXPECT_TRUE(StatsAre(h.stats(), {}));
  // TIME_WAIT expires 120 s later.
  EXPECT_TRUE(h.FindAt(kConn, 121.296).has_value());
  EXPECT_FALSE(h.FindAt(kConn, 121.3).has_value());
}

// §6.3: the server closes first; the same states, mirrored.
TEST(EngineTcp, ServerClosesFirstToTimeWait) {
  Harness h;
  Handshake(h);
  EXPECT_EQ(h.Send(Tcp(kS2C, kSIsn + 1, kCIsn + 1, kFinAck), 1.0),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"FIN_WAIT", 120, kAssured, kReplied}));
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 1, kSIsn + 2, kAck), 1.1),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"CLOSE_WAIT", 60, kAssured, kReplied}));
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 1, kSIsn + 2, kFinAck), 1.2),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"LAST_ACK", 30, kAssured, kReplied}));
  EXPECT_EQ(h.Send(Tcp(kS2C, kSIsn + 2, kCIsn + 2, kAck), 1.3),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"TIME_WAIT", 120, kAssured, kReplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §6.3: both FINs cross (FIN_WAIT -> LAST_ACK on the second FIN), then the
// last ACK gives TIME_WAIT.
TEST(EngineTcp, SimultaneousCloseToTimeWait) {
  Harness h;
  Handshake(h);
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 1, kSIsn + 1, kFinAck), 1.0),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"FIN_WAIT", 120, kAssured, kReplied}));
  EXPECT_EQ(h.Send(Tcp(kS2C, kSIsn + 1, kCIsn + 1, kFinAck), 1.0),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"LAST_ACK", 30, kAssured, kReplied}));
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 2, kSIsn + 2, kAck), 1.1),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"TIME_WAIT", 120, kAssured, kReplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §6.3/§6.6 rule 2: an in-window RST in ESTABLISHED gives CLOSE with 10 s;
// a reply was seen, so the entry stays until it expires.
TEST(EngineTcp, RstInEstablishedGivesClose10) {
  Harness h;
  Handshake(h);
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 1, 0, kRst), 5.0), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"CLOSE", 10, kAssured, kReplied}));
  EXPECT_EQ(h.count(), 1u);
  EXPECT_TRUE(h.FindAt(kConn, 14.996).has_value());
  EXPECT_FALSE(h.FindAt(kConn, 15.0).has_value());
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §6.4 RST rule 2, last case: on an ESTABLISHED+ASSURED entry an in-window
// RST whose seq is not exactly the peer's max-ack (and continues no data
// train) keeps the state, so a challenge ACK can follow, but the RST still
// sets the 10 s CLOSE timeout (§6.6 rule 2).
TEST(EngineTcp, InexactRstKeepsEstablishedWithCloseTimeout) {
  Harness h;
  Handshake(h);
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 501, 0, kRst), 5.0),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"ESTABLISHED", 10, kAssured, kReplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §6.4 RST rule 2: an RST below the peer's max-ack is an "invalid rst":
// INVALID, invalid +1, entry untouched; with tcp_ignore_invalid_rst=1 the
// check is skipped and the RST is accepted (10 s).
TEST(EngineTcp, RstBelowMaxAckIsInvalidUnlessIgnored) {
  {
    Harness h;
    Handshake(h);
    EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn - 100, 0, kRst), 5.0), Verdict::kInvalid);
    EXPECT_TRUE(h.FlowIs(kConn, {"ESTABLISHED", 431995, kAssured, kReplied}));
    EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1}));
  }
  {
    Tunables t;
    t.tcp_ignore_invalid_rst = 1;
    Harness h(t);
    Handshake(h);
    EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn - 100, 0, kRst), 5.0),
              Verdict::kEstablished);
    std::optional<FlowInfo> f = h.Find(kConn);
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->timeout_s, 10u);
    EXPECT_TRUE(StatsAre(h.stats(), {}));
  }
}

// §6.4 "Timeout lowering on an INVALID FIN/RST": on an ASSURED entry, a FIN
// that fails the window check right after an accepted RST from the other
// side, with more than UNACK (300 s) left, cuts the expiry to now + 300 s.
// tcp_timeout_close is raised to 1000 s so that more than 300 s remain (a
// FIN would not do: its unacknowledged byte caps it at 300 s by itself).
TEST(EngineTcp, InvalidFinAfterPeerRstLowersTimeout) {
  Tunables t;
  t.tcp_timeout_close = 1000;
  Harness h(t);
  Handshake(h);
  EXPECT_EQ(h.Send(Tcp(kS2C, kSIsn + 1, 0, kRst), 1.0), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"CLOSE", 1000, kAssured, kReplied}));
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 1 + 1000000, kSIsn + 1, kFinAck), 2.0),
            Verdict::kInvalid);
  EXPECT_TRUE(h.FlowIs(kConn, {"CLOSE", 300, kAssured, kReplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1}));
}

// §6.4 step 6 / §12.1 observation: the SYN of a connection to a closed port
// is answered by RST/ACK. That RST is the first reply-direction packet, so
// its verdict is ESTABLISHED (reply), and since no reply had been seen the
// entry is deleted at once.
TEST(EngineTcp, RstBeforeAnyReplyDeletesEntry) {
  Harness h;
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn, 0, kSyn), 0.0), Verdict::kNew);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.Send(Tcp(kS2C, 0, kCIsn + 1, kRstAck), 0.001),
            Verdict::kEstablished);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_TRUE(h.Gone(kConn));
  EXPECT_EQ(h.counters().killed, 1u);
  EXPECT_TRUE(StatsAre(h.stats(), {}));

  // The client retries: a brand new entry.
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn, 0, kSyn), 1.0), Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(kConn, {"SYN_SENT", 120, kNotAssured, kUnreplied}));
}

// §6.4 step 6: a SYN retransmitted in SYN_SENT does not refresh the
// timeout, so the entry lives at most 120 s from the first SYN; the
// retransmission is still NEW (§11).
TEST(EngineTcp, SynRetransmissionDoesNotRefresh) {
  Harness h;
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn, 0, kSyn), 0.0), Verdict::kNew);
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn, 0, kSyn), 50.0), Verdict::kNew);
  h.AdvanceTo(60.0);
  EXPECT_TRUE(h.FlowIs(kConn, {"SYN_SENT", 60, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn, 0, kSyn), 100.0), Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(kConn, {"SYN_SENT", 20, kNotAssured, kUnreplied}));
  EXPECT_FALSE(h.FindAt(kConn, 120.0).has_value());
  EXPECT_EQ(h.count(), 1u);  // expired, not reaped yet
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §6.3/§6.4: simultaneous open. SYN, then a SYN from the other side
// (SYN_SENT2, 120 s), then a SYN/ACK (SYN_RECV), then a reply ACK, which the
// table maps to SYN_RECV but simultaneous open turns into ESTABLISHED; the
// transition SYN_RECV -> ESTABLISHED with a reply seen sets ASSURED.
TEST(EngineTcp, SimultaneousOpen) {
  Harness h;
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn, 0, kSyn), 0.0), Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(kConn, {"SYN_SENT", 120, kNotAssured, kUnreplied}));
  // The SYNs cross: the server's arrives in the same instant. (A
  // reply-direction SYN arriving later does not re-arm the entry: see
  // SynSent2KeepsSynSentsTimeUntilAPacketReArmsIt.)
  EXPECT_EQ(h.Send(Tcp(kS2C, kSIsn, 0, kSyn), 0.0), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"SYN_SENT2", 120, kNotAssured, kReplied}));
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn, kSIsn + 1, kSynAck), 0.2),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"SYN_RECV", 60, kNotAssured, kReplied}));
  EXPECT_EQ(h.Send(Tcp(kS2C, kSIsn + 1, kCIsn + 1, kAck), 0.3),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"ESTABLISHED", 432000, kAssured, kReplied}));
  EXPECT_EQ(h.count(), 1u);
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// Measured on 6.18 (ctkit kernel-replay of SYN, the reply's SYN 1 ms later,
// with nf_conntrack_tcp_timeout_syn_sent=30): the reply's SYN moves the
// entry to SYN_SENT2 without re-arming it (29 s left at the dump, not 119:
// as a SYN in SYN_SENT before any reply, it gets no refresh, §6.4 step 6);
// the first SYN sent again 1 s later re-arms it with SYN_SENT2's fixed
// 120 s (119 s left), not SYN_SENT's 30. So no sysctl change reaches a
// SYN_SENT2 entry (proto/timeout_class.h).
TEST(EngineTcp, SynSent2KeepsSynSentsTimeUntilAPacketReArmsIt) {
  Tunables t;
  t.tcp_timeout_syn_sent = 30;
  Harness h(t);
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn, 0, kSyn), 0.0), Verdict::kNew);
  EXPECT_EQ(h.Send(Tcp(kS2C, kSIsn, 0, kSyn), 10.0), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"SYN_SENT2", 20, kNotAssured, kReplied}));
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn, 0, kSyn), 15.0), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"SYN_SENT2", 120, kNotAssured, kReplied}));
}

// §6.4 step 2 (loose=1): a mid-stream ACK creates an ESTABLISHED entry,
// capped at 300 s while no reply has been seen (the reply itself is still
// processed before the reply-seen bit is set). The next packet gives the
// full timeout and ASSURED.
TEST(EngineTcp, PickupWithLoose) {
  Harness h;  // tcp_loose = 1 by default
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 1, kSIsn + 1, kAck), 0.0), Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(kConn, {"ESTABLISHED", 300, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.Send(Tcp(kS2C, kSIsn + 1, kCIsn + 1, kAck), 0.1),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"ESTABLISHED", 300, kNotAssured, kReplied}));
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 1, kSIsn + 1, kAck, 0, 65000), 0.2),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"ESTABLISHED", 432000, kAssured, kReplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// A picked-up connection with no reply stays capped at 300 s however many
// packets the original side sends (each one NEW).
TEST(EngineTcp, UnrepliedPickupStaysCapped) {
  Harness h;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 1, kSIsn + 1, kAck), i * 10.0),
              Verdict::kNew);
    EXPECT_TRUE(h.FlowIs(kConn, {"ESTABLISHED", 300, kNotAssured, kUnreplied}));
  }
}

// §6.4 step 2 / §13(c): with loose=0 a first ACK cannot create an entry:
// INVALID, invalid +1, nothing in the table.
TEST(EngineTcp, PickupRefusedWithoutLoose) {
  Tunables t;
  t.tcp_loose = 0;
  Harness h(t);
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 1, kSIsn + 1, kAck), 0.0),
            Verdict::kInvalid);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_TRUE(h.Gone(kConn));
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1}));
  // A SYN still works.
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn, 0, kSyn), 1.0), Verdict::kNew);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1}));
}

// §6.5 check III / §6.7: an ACK for data the server never sent is INVALID
// (invalid +1); the entry stays and is not refreshed.
TEST(EngineTcp, AckAboveWindowIsInvalid) {
  Harness h;
  Handshake(h);
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 1, kSIsn + 1 + 1000000, kAck), 10.0),
            Verdict::kInvalid);
  // Not refreshed: 432000 s from 0.2 s, seen at 10 s.
  EXPECT_TRUE(h.FlowIs(kConn, {"ESTABLISHED", 431990, kAssured, kReplied}));
  EXPECT_EQ(h.count(), 1u);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1}));
}

// §6.5 check I: a segment far beyond the window the server advertised is
// INVALID.
TEST(EngineTcp, SequenceAboveWindowIsInvalid) {
  Harness h;
  Handshake(h);
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 1 + 1000000, kSIsn + 1, kAck, 10), 10.0),
            Verdict::kInvalid);
  EXPECT_TRUE(h.FlowIs(kConn, {"ESTABLISHED", 431990, kAssured, kReplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1}));
}

// §6.5 be_liberal: the same out-of-window ACK is accepted and refreshes.
TEST(EngineTcp, BeLiberalAcceptsOutOfWindow) {
  Tunables t;
  t.tcp_be_liberal = 1;
  Harness h(t);
  Handshake(h);
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 1, kSIsn + 1 + 1000000, kAck), 10.0),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"ESTABLISHED", 432000, kAssured, kReplied}));
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 1 + 1000000, kSIsn + 1, kAck, 10), 11.0),
            Verdict::kEstablished);
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §6.5/§6.6 rule 1: after tcp_max_retrans (3) identical ACK-class
// retransmissions, ESTABLISHED is capped at timeout_max_retrans (300 s).
TEST(EngineTcp, MaxRetransCapsTimeout) {
  Harness h;
  Handshake(h);
  Bytes ack = Tcp(kS2C, kSIsn + 1, kCIsn + 1, kAck);
  // First copy: recorded, retrans = 0. Copies 2 and 3: retrans 1 and 2.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(h.Send(ack, 1.0 + i), Verdict::kEstablished);
    EXPECT_TRUE(h.FlowIs(kConn, {"ESTABLISHED", 432000, kAssured, kReplied}));
  }
  // Copy 4: retrans = 3 >= tcp_max_retrans.
  EXPECT_EQ(h.Send(ack, 4.0), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"ESTABLISHED", 300, kAssured, kReplied}));
  // A different segment resets the counter.
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 1, kSIsn + 1, kAck), 5.0),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"ESTABLISHED", 432000, kAssured, kReplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// The cap is the max_retrans sysctl, not the unacknowledged one.
TEST(EngineTcp, MaxRetransUsesItsOwnSysctl) {
  Tunables t;
  t.tcp_timeout_max_retrans = 200;
  t.tcp_max_retrans = 1;
  Harness h(t);
  Handshake(h);
  Bytes ack = Tcp(kS2C, kSIsn + 1, kCIsn + 1, kAck);
  EXPECT_EQ(h.Send(ack, 1.0), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"ESTABLISHED", 432000, kAssured, kReplied}));
  EXPECT_EQ(h.Send(ack, 2.0), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"ESTABLISHED", 200, kAssured, kReplied}));
}

// §6.4 SS*: a new SYN on the same ports in TIME_WAIT (a FIN was seen) kills
// the old entry and is processed as the first packet of a new connection:
// NEW, SYN_SENT 120, [UNREPLIED], not ASSURED.
TEST(EngineTcp, SynReopensTimeWait) {
  Harness h;
  Handshake(h);
  ASSERT_EQ(h.Send(Tcp(kC2S, kCIsn + 1, kSIsn + 1, kFinAck), 1.0),
            Verdict::kEstablished);
  ASSERT_EQ(h.Send(Tcp(kS2C, kSIsn + 1, kCIsn + 2, kFinAck), 1.1),
            Verdict::kEstablished);
  ASSERT_EQ(h.Send(Tcp(kC2S, kCIsn + 2, kSIsn + 2, kAck), 1.2),
            Verdict::kEstablished);
  ASSERT_TRUE(h.FlowIs(kConn, {"TIME_WAIT", 120, kAssured, kReplied}));

  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 100000, 0, kSyn), 5.0), Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(kConn, {"SYN_SENT", 120, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.counters().killed, 1u);
  EXPECT_EQ(h.counters().created, 2u);
  EXPECT_TRUE(StatsAre(h.stats(), {}));

  // And the new connection completes normally.
  EXPECT_EQ(h.Send(Tcp(kS2C, kSIsn + 7, kCIsn + 100001, kSynAck), 5.1),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"SYN_RECV", 60, kNotAssured, kReplied}));
}

// §6.4 step 2: a SYN/ACK with no entry is INVALID (invalid +1), nothing is
// left in the table.
TEST(EngineTcp, SynAckWithoutEntryIsInvalid) {
  Harness h;
  EXPECT_EQ(h.Send(Tcp(kS2C, kSIsn, kCIsn + 1, kSynAck), 0.0),
            Verdict::kInvalid);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1}));
  // Likewise a bare RST and a FIN/ACK.
  EXPECT_EQ(h.Send(Tcp(kS2C, kSIsn, 0, kRst), 0.1), Verdict::kInvalid);
  EXPECT_EQ(h.Send(Tcp(kS2C, kSIsn, kCIsn, kFinAck), 0.2), Verdict::kInvalid);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 3}));
}

// §2.1: the SYN/ACK is allocated before the tracker rejects it, so with the
// table at max it triggers early drop of a non-ASSURED entry in its 8-bucket
// window, and is INVALID afterwards (early_drop +1, invalid +1).
TEST(EngineTcp, SynAckWithoutEntryStillTriggersEarlyDrop) {
  Tunables t;
  t.max = 2;
  t.buckets = 512;
  Harness h(t);
  BucketOracle oracle(512, h.seed());
  const Endpoints synack_ep = kS2C;
  const uint32_t start = oracle.Of(TcpTuple(synack_ep));

  // A victim: an unreplied UDP flow in the SYN/ACK's own bucket (both of a
  // flow's nodes share one); a bystander far from the window.
  std::optional<Endpoints> victim, bystander;
  for (uint16_t port = 1024; port < 65000 && !(victim && bystander); ++port) {
    Endpoints ep = Ep4(Ipv4(10, 1, 0, 1), port, Ipv4(10, 1, 0, 2), 9999);
    uint32_t ob = oracle.Of(UdpTuple(ep));
    uint32_t rb = oracle.Of(Reversed(UdpTuple(ep)));
    if (!victim && ob == start && rb == start) victim = ep;
    if (!bystander && !oracle.InWindow(ob, start) &&
        !oracle.InWindow(rb, start)) {
      bystander = ep;
    }
  }
  ASSERT_TRUE(victim && bystander);
  ASSERT_EQ(h.Send(Udp(*victim), 0.0), Verdict::kNew);
  ASSERT_EQ(h.Send(Udp(*bystander), 0.0), Verdict::kNew);
  ASSERT_EQ(h.count(), 2u);

  EXPECT_EQ(h.Send(Tcp(synack_ep, kSIsn, kCIsn + 1, kSynAck), 0.1),
            Verdict::kInvalid);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1, .early_drop = 1}));
  EXPECT_EQ(h.count(), 1u);
  EXPECT_TRUE(h.Gone(UdpTuple(*victim)));
  EXPECT_TRUE(h.Find(UdpTuple(*bystander)).has_value());
}

// §2.1: on a table full of ASSURED entries the same SYN/ACK is DROPped by
// the allocation (drop +1), never reaching the tracker (invalid stays 0).
TEST(EngineTcp, SynAckWithoutEntryOnFullAssuredTableIsDropped) {
  Tunables t;
  t.max = 1;
  Harness h(t);
  Handshake(h);  // one ASSURED connection fills the table
  const Endpoints other = Ep4(kServer, 81, kClient, 40001);
  EXPECT_EQ(h.Send(Tcp(other, kSIsn, kCIsn + 1, kSynAck), 1.0), Verdict::kDrop);
  EXPECT_TRUE(StatsAre(h.stats(), {.drop = 1}));
  EXPECT_EQ(h.counters().log_lines, 1u);
  EXPECT_EQ(h.count(), 1u);
}

// §6.4 step 1: illegal flag combinations are INVALID before any lookup,
// for new and existing flows alike.
TEST(EngineTcp, IllegalFlagsAreInvalid) {
  Harness h;
  Handshake(h);
  const Endpoints other = Ep4(kClient, 40001, kServer, 80);
  EXPECT_EQ(h.Send(Tcp(other, kCIsn, 0, kSyn | kFin), 1.0), Verdict::kInvalid);
  EXPECT_EQ(h.Send(Tcp(other, kCIsn, 0, 0), 1.0), Verdict::kInvalid);
  EXPECT_EQ(h.Send(Tcp(other, kCIsn, kSIsn, kSynAck | kUrg), 1.0),
            Verdict::kInvalid);
  EXPECT_TRUE(h.Gone(TcpTuple(other)));
  EXPECT_EQ(h.count(), 1u);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 3}));

  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 1, 0, kFin), 1.0), Verdict::kInvalid);
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 1, kSIsn + 1, kFin | kPsh | kUrg), 1.1),
            Verdict::kInvalid);
  // Not refreshed: 432000 s from 0.2 s, seen at 1.1 s.
  EXPECT_TRUE(h.FlowIs(kConn, {"ESTABLISHED", 431999, kAssured, kReplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 5}));
}

// §6.3: a SYN in ESTABLISHED is ignored: accepted with its ctinfo
// (ESTABLISHED), no state or timeout change, not counted as invalid.
TEST(EngineTcp, SynInEstablishedIsIgnored) {
  Harness h;
  Handshake(h);
  EXPECT_EQ(h.Send(Tcp(kC2S, kCIsn + 50000, 0, kSyn), 10.0),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kConn, {"ESTABLISHED", 431990, kAssured, kReplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

}  // namespace
}  // namespace ctkit
