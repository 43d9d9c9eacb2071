// Events (spec §12.1) through the whole engine: which packets make NEW,
// UPDATE and DESTROY, whether an UPDATE carries the TCP state (the kernel's
// PROTOINFO bit: conntrack -E prints the state only then), and when an
// event is dated. The sequences are the ones recorded from the kernel with
// conntrack -E in tests/formats/ (record.sh).
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "testing/engine_test_util.h"

namespace ctkit {
namespace {

using namespace enginetest;

const Address kClient = Ipv4(10, 1, 0, 2);
const Address kServer = Ipv4(10, 2, 0, 2);

struct Seen {
  EventType type;
  uint64_t ts_ns;
  bool state_changed;
  std::string state;
  uint32_t timeout_s;
  bool assured;
  bool seen_reply;
};

EngineOptions Listening(std::vector<Seen>* out) {
  EngineOptions o = TestOptions();
  o.on_event = [out](const Event& e) {
    out->push_back({e.type, e.ts_ns, e.state_changed,
                    e.flow.state ? e.flow.state : "", e.flow.timeout_s,
                    e.flow.assured, e.flow.seen_reply});
  };
  return o;
}

// Recorded: [NEW] SYN_SENT 120, [UPDATE] SYN_RECV 60, [UPDATE] ESTABLISHED
// 432000 [ASSURED]: every UPDATE of a handshake changes the state.
TEST(EngineEvents, HandshakeUpdatesCarryTheState) {
  std::vector<Seen> ev;
  Harness h(Tunables{}, Listening(&ev));
  const Endpoints c = Ep4(kClient, 41000, kServer, 8080);
  h.Send(Tcp(c, 1000, 0, tcpflag::kSyn), 0.0);
  h.Send(Tcp(c.Reversed(), 5000, 1001, tcpflag::kSyn | tcpflag::kAck), 0.001);
  h.Send(Tcp(c, 1001, 5001, tcpflag::kAck), 0.002);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].type, EventType::kNew);
  EXPECT_EQ(ev[0].state, "SYN_SENT");
  EXPECT_EQ(ev[1].type, EventType::kUpdate);
  EXPECT_TRUE(ev[1].state_changed);
  EXPECT_EQ(ev[1].state, "SYN_RECV");
  EXPECT_EQ(ev[2].type, EventType::kUpdate);
  EXPECT_TRUE(ev[2].state_changed);
  EXPECT_EQ(ev[2].state, "ESTABLISHED");
  EXPECT_EQ(ev[2].timeout_s, 432000u);
  EXPECT_TRUE(ev[2].assured);
}

// Recorded (a connection picked up mid-stream, then reset):
//     [NEW] tcp 6 300 ESTABLISHED ... [UNREPLIED]
//  [UPDATE] tcp 6 300 ...               (the reply: no state)
//  [UPDATE] tcp 6 432000 ... [ASSURED]  (ASSURED alone: no state)
//  [UPDATE] tcp 6 10 CLOSE ... [ASSURED]
TEST(EngineEvents, UpdatesWithoutAStateChangeSayNotChanged) {
  std::vector<Seen> ev;
  Harness h(Tunables{}, Listening(&ev));
  const Endpoints c = Ep4(kClient, 55408, kServer, 8081);
  h.Send(Tcp(c, 2000, 7000, tcpflag::kPsh | tcpflag::kAck, 1), 0.0);
  h.Send(Tcp(c.Reversed(), 7000, 2001, tcpflag::kPsh | tcpflag::kAck, 1),
         0.001);
  h.Send(Tcp(c, 2001, 7001, tcpflag::kAck), 0.002);
  h.Send(Tcp(c, 2001, 7001, tcpflag::kRst | tcpflag::kAck), 0.05);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0].type, EventType::kNew);
  EXPECT_EQ(ev[0].state, "ESTABLISHED");
  EXPECT_EQ(ev[0].timeout_s, 300u);
  EXPECT_FALSE(ev[0].seen_reply);

  EXPECT_EQ(ev[1].type, EventType::kUpdate);
  EXPECT_FALSE(ev[1].state_changed);
  EXPECT_TRUE(ev[1].seen_reply);
  EXPECT_FALSE(ev[1].assured);

  EXPECT_EQ(ev[2].type, EventType::kUpdate);
  EXPECT_FALSE(ev[2].state_changed);
  EXPECT_TRUE(ev[2].assured);
  EXPECT_EQ(ev[2].timeout_s, 432000u);

  EXPECT_EQ(ev[3].type, EventType::kUpdate);
  EXPECT_TRUE(ev[3].state_changed);
  EXPECT_EQ(ev[3].state, "CLOSE");
  EXPECT_EQ(ev[3].timeout_s, 10u);
}

// An event is dated when it happened: a DESTROY found by the packet's own
// lookup at the packet, one from a GC run (replayed while the clock catches
// up to a later packet) at that run, after the entry expired and before the
// packet.
TEST(EngineEvents, DestroyIsDatedAtTheLookupOrTheGcRun) {
  std::vector<Seen> ev;
  Tunables t;
  t.generic_timeout = 2;
  Harness h(t, Listening(&ev));
  Bytes g = Generic(Family::kIPv4, kClient, kServer, 253);
  h.Send(g, 0.0);
  // The GC's first run is 1 s after the clock starts and it has not come
  // back by 3.5 s with one young entry in the table: the packet's lookup
  // reaps the entry.
  h.Send(g, 3.5);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[1].type, EventType::kDestroy);
  EXPECT_EQ(ev[1].timeout_s, 0u);
  EXPECT_EQ(ev[2].type, EventType::kNew);
  EXPECT_EQ(ev[1].ts_ns, AtNs(3.5));

  // Ten minutes of silence: the GC runs of the gap reap it, well before
  // the next packet.
  ev.clear();
  Bytes other = Generic(Family::kIPv4, kClient, Ipv4(10, 2, 0, 3), 253);
  h.Send(other, 600.0);
  ASSERT_GE(ev.size(), 2u);
  EXPECT_EQ(ev[0].type, EventType::kDestroy);
  EXPECT_GE(ev[0].ts_ns, AtNs(5.5));
  EXPECT_LT(ev[0].ts_ns, AtNs(600.0));
  EXPECT_EQ(ev.back().type, EventType::kNew);
  EXPECT_EQ(ev.back().ts_ns, AtNs(600.0));
}

// EngineOptions::on_event must not throw; one that does ends the program
// rather than unwinding out of the packet path with the table half-updated.
TEST(EngineEventsDeathTest, ACallbackThatThrowsEndsTheProgram) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        EngineOptions o = TestOptions();
        o.on_event = [](const Event&) { throw std::runtime_error("listener"); };
        Harness h(Tunables{}, o);
        h.Send(Udp(Ep4(kClient, 40000, kServer, 53), 10), 0.0);
      },
      "");
}

}  // namespace
}  // namespace ctkit
