// SCTP through the whole engine (kernel-model §9.2, with §3.3 for early
// drop and §12.1 for events). Every expected state, timeout, flag and
// verdict is what the 6.18 kernel showed for the same packets under
// ctkit kernel-replay (the probes of §9.2). Client 10.1.0.2:6001
// associates with 10.2.0.2:7000; the client's tag is 0x11111111 (what the
// server puts in its packets), the server's 0x22222222.
#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

#include "net/crc32c.h"
#include "proto/sctp.h"
#include "proto/tracker.h"
#include "testing/engine_test_util.h"

namespace ctkit {
namespace {

using namespace enginetest;

constexpr uint32_t kClientTag = 0x11111111;
constexpr uint32_t kServerTag = 0x22222222;
constexpr uint32_t kWrongTag = 0xdeadbeef;

// ---- Building SCTP packets ----------------------------------------------

using Chunk = Bytes;

void Put16(Bytes* b, uint32_t v) {
  b->push_back(static_cast<uint8_t>(v >> 8));
  b->push_back(static_cast<uint8_t>(v));
}
void Put32(Bytes* b, uint32_t v) {
  Put16(b, v >> 16);
  Put16(b, v & 0xffff);
}

/// A chunk: type, flags, length, value, padded to 4 bytes.
Chunk MakeChunk(uint8_t type, uint8_t flags = 0, const Bytes& value = {}) {
  Chunk c{type, flags};
  Put16(&c, static_cast<uint32_t>(4 + value.size()));
  c.insert(c.end(), value.begin(), value.end());
  while (c.size() % 4 != 0) c.push_back(0);
  return c;
}

Chunk InitChunk(uint32_t init_tag, uint8_t type = 1) {
  Bytes v;
  Put32(&v, init_tag);
  Put32(&v, 65536);  // a_rwnd
  Put16(&v, 10);     // outbound streams
  Put16(&v, 10);     // inbound streams
  Put32(&v, 1);      // initial TSN
  return MakeChunk(type, 0, v);
}
Chunk InitAckChunk(uint32_t init_tag) { return InitChunk(init_tag, 2); }
Chunk DataChunk() {
  Bytes v;
  Put32(&v, 1);  // TSN
  Put32(&v, 0);  // stream 0, sequence 0
  Put32(&v, 0);  // payload protocol
  v.insert(v.end(), {'h', 'e', 'l', 'l', 'o'});
  return MakeChunk(0, 3, v);
}
Chunk SackChunk() {
  Bytes v;
  Put32(&v, 1);
  Put32(&v, 65536);
  Put32(&v, 0);
  return MakeChunk(3, 0, v);
}
Chunk HeartbeatChunk(uint8_t type = 4) {
  return MakeChunk(type, 0, {0, 1, 0, 8, 'h', 'b', 'i', 'n'});
}
Chunk HeartbeatAckChunk() { return HeartbeatChunk(5); }
Chunk AbortChunk(bool t = false) { return MakeChunk(6, t ? 1 : 0); }
Chunk ShutdownChunk() { return MakeChunk(7, 0, {0, 0, 0, 1}); }
Chunk ShutdownAckChunk() { return MakeChunk(8); }
Chunk CookieEchoChunk() { return MakeChunk(10, 0, {'c', 'o', 'o', 'k'}); }
Chunk CookieAckChunk() { return MakeChunk(11); }
Chunk ShutdownCompleteChunk(bool t = false) { return MakeChunk(14, t ? 1 : 0); }

/// An SCTP packet with a correct CRC32c (unless `corrupt_crc`).
Bytes Sctp(const Endpoints& ep, uint32_t vtag,
           std::initializer_list<Chunk> chunks, bool corrupt_crc = false) {
  Bytes l4;
  Put16(&l4, ep.sport);
  Put16(&l4, ep.dport);
  Put32(&l4, vtag);
  Put32(&l4, 0);
  for (const Chunk& c : chunks) l4.insert(l4.end(), c.begin(), c.end());
  uint32_t crc = Crc32c(0, l4.data(), l4.size());
  if (corrupt_crc) crc ^= 0x1234;
  for (size_t i = 0; i < 4; ++i)
    l4[8 + i] = static_cast<uint8_t>(crc >> (8 * i));
  Bytes ip = Generic(ep.family, ep.src, ep.dst, ipproto::kSctp,
                     static_cast<uint32_t>(l4.size()));
  std::copy(l4.begin(), l4.end(), ip.begin() + static_cast<long>(L4Offset(ip)));
  return ip;
}

// One association's two ends: each side's packets carry the other's tag.
struct Assoc {
  Endpoints c;  // client -> server
  Bytes FromClient(std::initializer_list<Chunk> ch, uint32_t vtag = kServerTag,
                   bool bad_crc = false) const {
    return Sctp(c, vtag, ch, bad_crc);
  }
  Bytes FromServer(std::initializer_list<Chunk> ch, uint32_t vtag = kClientTag,
                   bool bad_crc = false) const {
    return Sctp(c.Reversed(), vtag, ch, bad_crc);
  }
  Bytes Init() const { return FromClient({InitChunk(kClientTag)}, 0); }
  Bytes InitAck() const { return FromServer({InitAckChunk(kServerTag)}); }
  Bytes CookieEcho() const { return FromClient({CookieEchoChunk()}); }
  Bytes CookieAck() const { return FromServer({CookieAckChunk()}); }
  Tuple tuple() const { return PortTuple(c, ipproto::kSctp); }
};

const Address kClient4 = Ipv4(10, 1, 0, 2);
const Address kServer4 = Ipv4(10, 2, 0, 2);
const Assoc kA{Ep4(kClient4, 6001, kServer4, 7000)};

uint64_t Reason(const Harness& h, InvalidReason r) {
  return h.counters().invalid_by_reason[static_cast<int>(r)];
}

// Runs the four-way handshake at 0.000-0.003 s.
void Handshake(Harness* h, const Assoc& a) {
  EXPECT_EQ(h->Send(a.Init(), 0.000), Verdict::kNew);
  EXPECT_EQ(h->Send(a.InitAck(), 0.001), Verdict::kEstablished);
  EXPECT_EQ(h->Send(a.CookieEcho(), 0.002), Verdict::kEstablished);
  EXPECT_EQ(h->Send(a.CookieAck(), 0.003), Verdict::kEstablished);
}

// ---- Stories
// -----------------------------------------------------------------

// §9.2: a whole association. INIT makes a CLOSED entry (10 s, not
// COOKIE_WAIT); the INIT-ACK answers it (COOKIE_WAIT, 3 s); COOKIE-ECHO
// and COOKIE-ACK reach ESTABLISHED (210 s) and ASSURED; data and
// heartbeats keep it there; the shutdown passes SHUTDOWN_SENT and
// SHUTDOWN_ACK_SENT (3 s each) and SHUTDOWN-COMPLETE leaves it CLOSED
// (10 s), still ASSURED, until it expires.
void WholeAssociation(const Assoc& a) {
  Harness h;
  const Tuple t = a.tuple();
  EXPECT_EQ(h.Send(a.Init(), 0.0), Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(t, {"CLOSED", 10, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.Send(a.InitAck(), 0.1), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(t, {"COOKIE_WAIT", 3, kNotAssured, kReplied}));
  EXPECT_EQ(h.Send(a.CookieEcho(), 0.2), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(t, {"COOKIE_ECHOED", 3, kNotAssured, kReplied}));
  EXPECT_EQ(h.Send(a.CookieAck(), 0.3), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(t, {"ESTABLISHED", 210, kAssured, kReplied}));
  EXPECT_EQ(h.Send(a.FromClient({DataChunk()}), 1.0), Verdict::kEstablished);
  EXPECT_EQ(h.Send(a.FromServer({SackChunk()}), 1.1), Verdict::kEstablished);
  EXPECT_EQ(h.Send(a.FromClient({HeartbeatChunk()}), 2.0),
            Verdict::kEstablished);
  EXPECT_EQ(h.Send(a.FromServer({HeartbeatAckChunk()}), 2.1),
            Verdict::kEstablished);
  EXPECT_EQ(h.Send(a.FromServer({HeartbeatChunk()}), 3.0),
            Verdict::kEstablished);
  EXPECT_EQ(h.Send(a.FromClient({HeartbeatAckChunk()}), 3.1),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(t, {"ESTABLISHED", 210, kAssured, kReplied}));
  EXPECT_EQ(h.Send(a.FromClient({ShutdownChunk()}), 4.0),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(t, {"SHUTDOWN_SENT", 3, kAssured, kReplied}));
  EXPECT_EQ(h.Send(a.FromServer({ShutdownAckChunk()}), 4.1),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(t, {"SHUTDOWN_ACK_SENT", 3, kAssured, kReplied}));
  EXPECT_EQ(h.Send(a.FromClient({ShutdownCompleteChunk()}), 4.2),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(t, {"CLOSED", 10, kAssured, kReplied}));
  EXPECT_TRUE(h.FindAt(t, 14.19).has_value());
  EXPECT_FALSE(h.FindAt(t, 14.2).has_value());
  EXPECT_EQ(h.count(), 1u);
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

TEST(EngineSctp, WholeAssociationIpv4) { WholeAssociation(kA); }

TEST(EngineSctp, WholeAssociationIpv6) {
  WholeAssociation(
      Assoc{Ep6(V6("2001:db8:1::2"), 6001, V6("2001:db8:2::2"), 7000)});
}

// §9.2: the GC's early-drop mode may take ASSURED SCTP entries only in the
// shutdown states (§3.3); the answer follows the state.
TEST(EngineSctp, OnlyShutdownStatesAreEarlyDroppableWhenAssured) {
  ProtoState s{};
  for (SctpState st :
       {SctpState::kClosed, SctpState::kCookieWait, SctpState::kCookieEchoed,
        SctpState::kEstablished, SctpState::kHeartbeatSent}) {
    s.sctp.state = st;
    EXPECT_FALSE(CanEarlyDropAssured(ipproto::kSctp, s)) << SctpStateName(st);
  }
  for (SctpState st : {SctpState::kShutdownSent, SctpState::kShutdownRecd,
                       SctpState::kShutdownAckSent}) {
    s.sctp.state = st;
    EXPECT_TRUE(CanEarlyDropAssured(ipproto::kSctp, s)) << SctpStateName(st);
  }
}

// §3.3 with §9.2: a table of ASSURED associations leaves the allocation-
// time early drop no victim, so a new INIT is dropped and the GC's
// early-drop mode starts; at its next run it takes the five ASSURED
// entries in SHUTDOWN_SENT (their timeout raised so that they outlive the
// minute) and no ESTABLISHED one, stopping when none is left: 100 -> 95.
TEST(EngineSctp, GcEarlyDropModeTakesAssuredShutdownStates) {
  Tunables t;
  t.max = 100;
  t.buckets = 512;
  t.sctp_timeout_shutdown_sent = 600;
  Harness h(t);
  std::vector<Assoc> assocs;
  for (uint16_t n = 0; n < 100; ++n) {
    assocs.push_back(Assoc{
        Ep4(Ipv4(10, 1, 1, static_cast<uint8_t>(n)), 6001, kServer4, 7000)});
    Handshake(&h, assocs.back());
  }
  for (size_t n = 0; n < 5; ++n) {
    ASSERT_EQ(h.Send(assocs[n].FromClient({ShutdownChunk()}), 0.5),
              Verdict::kEstablished);
  }
  ASSERT_EQ(h.count(), 100u);
  EXPECT_EQ(h.Send(Assoc{Ep4(kClient4, 9999, kServer4, 7000)}.Init(), 1.0),
            Verdict::kDrop);
  h.AdvanceTo(62.0);
  EXPECT_EQ(h.count(), 95u);
  for (size_t n = 0; n < 100; ++n) {
    EXPECT_EQ(h.Find(assocs[n].tuple()).has_value(), n >= 5) << n;
  }
  EXPECT_EQ(h.counters().gc_early_drops, 5u);
  EXPECT_TRUE(StatsAre(h.stats(), {.drop = 1}));
}

// §9.2: the server may shut down first (SHUTDOWN_RECD), and an ABORT from
// either side with the receiver's tag closes at once (CLOSED, 10 s).
TEST(EngineSctp, ShutdownFromTheServerAndAbort) {
  Harness h;
  Handshake(&h, kA);
  EXPECT_EQ(h.Send(kA.FromServer({ShutdownChunk()}), 1.0),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kA.tuple(), {"SHUTDOWN_RECD", 3, kAssured, kReplied}));
  EXPECT_EQ(h.Send(kA.FromServer({AbortChunk()}), 1.1), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kA.tuple(), {"CLOSED", 10, kAssured, kReplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §9.2: ABORT's own tag rule: without the T bit the receiver's tag,
// with it the sender's own (reflected). Anything else is INVALID and
// leaves the entry as it was.
TEST(EngineSctp, AbortNeedsTheRightTagForItsTBit) {
  Harness h;
  Handshake(&h, kA);
  EXPECT_EQ(h.Send(kA.FromClient({AbortChunk()}, kWrongTag), 1.0),
            Verdict::kInvalid);
  EXPECT_EQ(h.Send(kA.FromClient({AbortChunk(true)}, kServerTag), 1.0),
            Verdict::kInvalid);
  EXPECT_TRUE(h.FlowIs(kA.tuple(), {"ESTABLISHED", 209, kAssured, kReplied}));
  EXPECT_EQ(h.Send(kA.FromClient({AbortChunk(true)}, kClientTag), 1.1),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kA.tuple(), {"CLOSED", 10, kAssured, kReplied}));
  EXPECT_EQ(Reason(h, InvalidReason::kSctpVtag), 2u);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 2}));
}

// §9.2: which first packets make an entry. DATA, SACK, ABORT, COOKIE-ACK
// and SHUTDOWN-COMPLETE never do (INVALID, no entry); SHUTDOWN-ACK makes
// one in SHUTDOWN_ACK_SENT; SHUTDOWN makes a CLOSED one, but only with tag
// 0 (conntrack knows no tag yet); an INIT needs tag 0.
TEST(EngineSctp, WhatMayStartAnEntry) {
  Harness h;
  auto from = [](uint16_t port, uint32_t vtag, const Chunk& c) {
    return Sctp(Ep4(kClient4, port, kServer4, 7000), vtag, {c});
  };
  auto tuple = [](uint16_t port) {
    return PortTuple(Ep4(kClient4, port, kServer4, 7000), ipproto::kSctp);
  };
  EXPECT_EQ(h.Send(from(1, kServerTag, DataChunk()), 0.0), Verdict::kInvalid);
  EXPECT_EQ(h.Send(from(2, 0, DataChunk()), 0.0), Verdict::kInvalid);
  EXPECT_EQ(h.Send(from(3, kServerTag, SackChunk()), 0.0), Verdict::kInvalid);
  EXPECT_EQ(h.Send(from(4, 0, AbortChunk()), 0.0), Verdict::kInvalid);
  EXPECT_EQ(h.Send(from(5, 0, CookieAckChunk()), 0.0), Verdict::kInvalid);
  EXPECT_EQ(h.Send(from(6, 0, ShutdownCompleteChunk()), 0.0),
            Verdict::kInvalid);
  EXPECT_EQ(h.Send(from(7, kServerTag, InitChunk(kClientTag)), 0.0),
            Verdict::kInvalid);
  EXPECT_EQ(h.Send(from(8, kServerTag, ShutdownChunk()), 0.0),
            Verdict::kInvalid);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(Reason(h, InvalidReason::kSctpState), 6u);
  EXPECT_EQ(Reason(h, InvalidReason::kSctpVtag), 2u);

  EXPECT_EQ(h.Send(from(9, 0, ShutdownChunk()), 0.0), Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(tuple(9), {"CLOSED", 10, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.Send(from(10, kServerTag, ShutdownAckChunk()), 0.0),
            Verdict::kNew);
  EXPECT_TRUE(
      h.FlowIs(tuple(10), {"SHUTDOWN_ACK_SENT", 3, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.Send(from(11, kServerTag, HeartbeatAckChunk()), 0.0),
            Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(tuple(11), {"CLOSED", 10, kNotAssured, kUnreplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 8}));
}

// §9.2: an out-of-the-blue SHUTDOWN-ACK teaches the tag of its answer:
// the SHUTDOWN-COMPLETE back must carry the SHUTDOWN-ACK's own tag.
TEST(EngineSctp, ShutdownAckEntryExpectsItsOwnTagBack) {
  Harness h;
  EXPECT_EQ(h.Send(kA.FromClient({ShutdownAckChunk()}), 0.0), Verdict::kNew);
  EXPECT_EQ(h.Send(kA.FromServer({ShutdownCompleteChunk()}, kClientTag), 0.1),
            Verdict::kInvalid);
  EXPECT_EQ(h.Send(kA.FromServer({ShutdownCompleteChunk()}, kServerTag), 0.2),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kA.tuple(), {"CLOSED", 10, kNotAssured, kReplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1}));
}

// §9.2: on a new entry a HEARTBEAT teaches its sender's tag before any
// chunk is checked (so a COOKIE-ECHO ahead of it passes its own tag rule),
// and a SHUTDOWN-ACK the tag of its answer; SHUTDOWN, ERROR and the rest
// teach nothing: the other side must use tag 0.
TEST(EngineSctp, NewEntryLearnsTagsFromHeartbeatAndShutdownAck) {
  Harness h;
  const Assoc b{Ep4(kClient4, 6002, kServer4, 7000)};
  EXPECT_EQ(h.Send(kA.FromClient({CookieEchoChunk(), HeartbeatChunk()}), 0.0),
            Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(kA.tuple(), {"CLOSED", 10, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.Send(kA.FromClient({DataChunk()}), 0.1), Verdict::kNew);
  EXPECT_EQ(h.Send(b.FromClient({HeartbeatChunk(), ShutdownChunk()}), 0.2),
            Verdict::kNew);
  EXPECT_EQ(h.Send(b.FromServer({DataChunk()}, kServerTag), 0.3),
            Verdict::kInvalid);
  EXPECT_EQ(h.Send(b.FromServer({DataChunk()}, 0), 0.4), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(b.tuple(), {"CLOSED", 10, kNotAssured, kReplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1}));
}

// §9.2: a HEARTBEAT may start an entry (HEARTBEAT_SENT, 30 s); it learns
// the sender's tag. From the other side only the heartbeat exchange and
// data pass; the HEARTBEAT-ACK makes it ESTABLISHED and ASSURED.
TEST(EngineSctp, HeartbeatOnAFreshEntry) {
  Harness h;
  const Tuple t = kA.tuple();
  EXPECT_EQ(h.Send(kA.FromClient({HeartbeatChunk()}), 0.0), Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(t, {"HEARTBEAT_SENT", 30, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.Send(kA.FromClient({DataChunk()}, kWrongTag), 0.1),
            Verdict::kInvalid);
  EXPECT_EQ(h.Send(kA.FromClient({DataChunk()}), 0.2), Verdict::kNew);
  // The server's tag is not known yet: 0 is, its real one is not.
  EXPECT_EQ(h.Send(kA.FromServer({SackChunk()}), 0.3), Verdict::kInvalid);
  EXPECT_EQ(h.Send(kA.FromServer({ShutdownChunk()}, 0), 0.4),
            Verdict::kInvalid);
  // Refreshed by the DATA at 0.2 (30 s), not by the two refused packets.
  EXPECT_TRUE(h.FlowIs(t, {"HEARTBEAT_SENT", 29, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.Send(kA.FromServer({HeartbeatAckChunk()}), 0.5),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(t, {"ESTABLISHED", 210, kAssured, kReplied}));
  EXPECT_EQ(h.Send(kA.FromServer({SackChunk()}), 0.6), Verdict::kEstablished);
  EXPECT_EQ(Reason(h, InvalidReason::kSctpVtag), 2u);
  EXPECT_EQ(Reason(h, InvalidReason::kSctpState), 1u);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 3}));
}

// §9.2: a packet with a tag other than the direction's is INVALID and
// does not refresh the entry.
TEST(EngineSctp, WrongTagIsInvalid) {
  Harness h;
  Handshake(&h, kA);
  EXPECT_EQ(h.Send(kA.FromClient({DataChunk()}, kWrongTag), 1.5),
            Verdict::kInvalid);
  EXPECT_EQ(h.Send(kA.FromServer({DataChunk()}, kServerTag), 1.5),
            Verdict::kInvalid);
  EXPECT_EQ(h.Send(kA.FromClient({DataChunk()}, 0), 1.5), Verdict::kInvalid);
  EXPECT_EQ(h.Send(kA.FromClient({CookieEchoChunk()}, kWrongTag), 1.5),
            Verdict::kInvalid);
  // 210 s from 0.003, seen at 1.5: 208 left.
  EXPECT_TRUE(h.FlowIs(kA.tuple(), {"ESTABLISHED", 208, kAssured, kReplied}));
  // SHUTDOWN-ACK has no tag rule at all.
  EXPECT_EQ(h.Send(kA.FromClient({ShutdownAckChunk()}, kWrongTag), 1.5),
            Verdict::kEstablished);
  EXPECT_EQ(Reason(h, InvalidReason::kSctpVtag), 4u);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 4}));
}

// §9.2: a HEARTBEAT with an unknown tag (a restarted peer) passes without
// refreshing; the HEARTBEAT-ACK from the other side with a new tag then
// replaces the tags: the answering side's becomes the new one and the
// other side's is learned again from its next heartbeat.
TEST(EngineSctp, HeartbeatWithANewTagReplacesTheTags) {
  Harness h;
  Handshake(&h, kA);
  EXPECT_EQ(h.Send(kA.FromClient({HeartbeatChunk()}, kWrongTag), 1.5),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kA.tuple(), {"ESTABLISHED", 208, kAssured, kReplied}));
  // Data in the same packet is not let through.
  EXPECT_EQ(
      h.Send(kA.FromClient({HeartbeatChunk(), DataChunk()}, kWrongTag), 1.5),
      Verdict::kInvalid);
  EXPECT_EQ(h.Send(kA.FromServer({HeartbeatAckChunk()}, kWrongTag + 1), 1.6),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kA.tuple(), {"ESTABLISHED", 210, kAssured, kReplied}));
  EXPECT_EQ(h.Send(kA.FromServer({DataChunk()}, kWrongTag + 1), 1.7),
            Verdict::kEstablished);
  EXPECT_EQ(h.Send(kA.FromServer({DataChunk()}, kClientTag), 1.7),
            Verdict::kInvalid);
  EXPECT_EQ(h.Send(kA.FromClient({DataChunk()}, kServerTag), 1.7),
            Verdict::kInvalid);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 3}));
}

// §9.2: a retransmitted INIT on a CLOSED entry is accepted but does not
// refresh it (10 s from the first INIT; 8 s left 1.5 s later).
TEST(EngineSctp, RetransmittedInitDoesNotRefreshClosed) {
  Harness h;
  EXPECT_EQ(h.Send(kA.Init(), 0.0), Verdict::kNew);
  EXPECT_EQ(h.Send(kA.Init(), 1.5), Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(kA.tuple(), {"CLOSED", 8, kNotAssured, kUnreplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §9.2: chunk layout. INIT, INIT-ACK and SHUTDOWN-COMPLETE must be alone;
// COOKIE-ECHO and COOKIE-ACK first; no chunk of length 0; at least one
// chunk; an INIT must hold its 16-byte header. A length past the end or
// 1-3 trailing bytes are fine.
TEST(EngineSctp, ChunkLayoutRules) {
  Harness h;
  EXPECT_EQ(h.Send(kA.FromClient({InitChunk(kClientTag), DataChunk()}, 0), 0.0),
            Verdict::kInvalid);
  EXPECT_EQ(h.Send(kA.FromClient({}, 0), 0.0), Verdict::kInvalid);
  EXPECT_EQ(h.Send(kA.FromClient({MakeChunk(1, 0, {0, 0, 0, 1})}, 0), 0.0),
            Verdict::kInvalid);
  EXPECT_EQ(h.count(), 0u);
  Handshake(&h, kA);
  EXPECT_EQ(h.Send(kA.FromClient({DataChunk(), CookieEchoChunk()}), 1.0),
            Verdict::kInvalid);
  EXPECT_EQ(h.Send(kA.FromClient({DataChunk(), Chunk{0, 0, 0, 0}}), 1.0),
            Verdict::kInvalid);
  EXPECT_EQ(h.Send(kA.FromClient({CookieEchoChunk(), DataChunk()}), 1.0),
            Verdict::kEstablished);
  EXPECT_EQ(h.Send(kA.FromClient({DataChunk(), Chunk{3, 0, 0, 2}}), 1.0),
            Verdict::kEstablished);
  EXPECT_EQ(h.Send(kA.FromClient({Chunk{0, 3, 1, 0xf4}, Bytes(16, 0)}), 1.0),
            Verdict::kEstablished);
  EXPECT_EQ(Reason(h, InvalidReason::kSctpChunks), 5u);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 5}));
}

// §9.2: with nf_conntrack_checksum=1 a wrong CRC32c is INVALID in either
// direction, new entry or not; a packet under 12 bytes always is.
TEST(EngineSctp, WrongCrcIsInvalidWhenChecked) {
  Harness h;
  EXPECT_EQ(h.Send(kA.FromClient({InitChunk(kClientTag)}, 0, true), 0.0),
            Verdict::kInvalid);
  EXPECT_EQ(h.count(), 0u);
  Handshake(&h, kA);
  EXPECT_EQ(h.Send(kA.FromServer({AbortChunk()}, kClientTag, true), 1.0),
            Verdict::kInvalid);
  EXPECT_TRUE(h.FlowIs(kA.tuple(), {"ESTABLISHED", 209, kAssured, kReplied}));
  Bytes short_packet = Generic(Family::kIPv4, kClient4, kServer4, 132, 8);
  EXPECT_EQ(h.Send(short_packet, 1.0), Verdict::kInvalid);
  EXPECT_EQ(Reason(h, InvalidReason::kSctpChecksum), 2u);
  EXPECT_EQ(Reason(h, InvalidReason::kSctpHeader), 1u);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 3}));
}

TEST(EngineSctp, WrongCrcPassesWhenUnchecked) {
  Tunables t;
  t.checksum = 0;
  Harness h(t);
  EXPECT_EQ(h.Send(kA.FromClient({InitChunk(kClientTag)}, 0, true), 0.0),
            Verdict::kNew);
  EXPECT_EQ(
      h.Send(kA.FromServer({InitAckChunk(kServerTag)}, kClientTag, true), 0.1),
      Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kA.tuple(), {"COOKIE_WAIT", 3, kNotAssured, kReplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §9.2: the timeouts are the nf_conntrack_sctp_timeout_* sysctls.
TEST(EngineSctp, TimeoutsFollowTheSysctls) {
  Tunables t;
  t.sctp_timeout_closed = 20;
  t.sctp_timeout_cookie_wait = 4;
  t.sctp_timeout_established = 1000;
  Harness h(t);
  EXPECT_EQ(h.Send(kA.Init(), 0.0), Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(kA.tuple(), {"CLOSED", 20, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.Send(kA.InitAck(), 0.1), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kA.tuple(), {"COOKIE_WAIT", 4, kNotAssured, kReplied}));
  EXPECT_EQ(h.Send(kA.CookieEcho(), 0.2), Verdict::kEstablished);
  EXPECT_EQ(h.Send(kA.CookieAck(), 0.3), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kA.tuple(), {"ESTABLISHED", 1000, kAssured, kReplied}));
}

// §12.1: a state change is an UPDATE carrying the new state; a packet
// that changes nothing sends none.
TEST(EngineSctp, StateChangesAreUpdates) {
  std::vector<std::string> states;
  EngineOptions o = TestOptions();
  o.on_event = [&states](const Event& e) {
    if (e.type == EventType::kDestroy) return;
    states.push_back(
        std::string(e.type == EventType::kNew ? "NEW " : "UPDATE ") +
        (e.state_changed || e.type == EventType::kNew ? e.flow.state : "-"));
  };
  Harness h(Tunables{}, std::move(o));
  Handshake(&h, kA);
  h.Send(kA.FromClient({DataChunk()}), 1.0);
  h.Send(kA.FromClient({ShutdownChunk()}), 2.0);
  EXPECT_EQ(states,
            (std::vector<std::string>{
                "NEW CLOSED", "UPDATE COOKIE_WAIT", "UPDATE COOKIE_ECHOED",
                "UPDATE ESTABLISHED", "UPDATE SHUTDOWN_SENT"}));
}

}  // namespace
}  // namespace ctkit
