// Hostile clocks (issue 5 §2, "Time"): capture timestamps that step
// backwards, repeat, or jump months and years forward, and timeouts around
// the 32-bit jiffies wrap. The kernel's rules (spec §3.1): expiry is a u32
// jiffy count compared as a signed 32-bit difference, timeouts are capped
// at INT_MAX jiffies. ctkit's documented choices (docs/design.md, "Clock"):
// a backwards step is "no time passed"; a forward step of more than 2^30
// jiffies (~49.7 days) reaps everything that expired during the step, so
// no entry becomes immortal when the signed difference would wrap.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "ctkit/engine.h"
#include "testing/engine_test_util.h"

namespace ctkit::enginetest {
namespace {

/// A small deterministic generator (xorshift64*), 32-bit draws.
struct Rng {
  uint64_t s;
  uint32_t operator()() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return static_cast<uint32_t>((s * 0x2545f4914f6cdd1dull) >> 32);
  }
};

constexpr double kDay = 86400.0;
constexpr double kYear = 365.0 * kDay;

const Endpoints kClient = Ep4(Ipv4(10, 0, 0, 1), 40000, Ipv4(10, 0, 0, 2), 80);

::testing::AssertionResult Sound(const Engine& e) {
  std::string why;
  if (e.CheckInvariants(&why)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << why;
}

/// An ESTABLISHED, ASSURED TCP connection at `at` (5-day timeout).
void Establish(Harness& h, const Endpoints& ep, double at) {
  ASSERT_EQ(h.Send(Tcp(ep, 100, 0, tcpflag::kSyn), at), Verdict::kNew);
  ASSERT_EQ(
      h.Send(Tcp(ep.Reversed(), 900, 101, tcpflag::kSyn | tcpflag::kAck), at),
      Verdict::kEstablished);
  ASSERT_EQ(h.Send(Tcp(ep, 101, 901, tcpflag::kAck), at),
            Verdict::kEstablished);
  ASSERT_TRUE(
      h.FlowIs(TcpTuple(ep), {"ESTABLISHED", 432000, kAssured, kReplied}));
}

/// Some unrelated packet, to move the engine's clock to `at`.
Verdict Tick(Harness& h, double at, uint8_t host = 200) {
  return h.Send(Udp(Ep4(Ipv4(10, 9, 9, host), 5353, Ipv4(10, 9, 9, 1), 53)),
                at);
}

TEST(HostileClock, RepeatedTimestampsDoNotAgeOrStall) {
  Harness h;
  Establish(h, kClient, 0);
  // A thousand packets carrying the very same timestamp: requests and
  // their acknowledgements.
  for (uint32_t i = 0; i < 500; ++i) {
    ASSERT_EQ(h.Send(Tcp(kClient, 101 + 10 * i, 901,
                         tcpflag::kAck | tcpflag::kPsh, 10),
                     0),
              Verdict::kEstablished);
    ASSERT_EQ(
        h.Send(Tcp(kClient.Reversed(), 901, 111 + 10 * i, tcpflag::kAck), 0),
        Verdict::kEstablished);
  }
  EXPECT_TRUE(
      h.FlowIs(TcpTuple(kClient), {"ESTABLISHED", 432000, kAssured, kReplied}));
  // And time still moves on afterwards.
  Tick(h, 10);
  EXPECT_TRUE(
      h.FlowIs(TcpTuple(kClient), {"ESTABLISHED", 431990, kAssured, kReplied}));
}

TEST(HostileClock, BackwardsStepsStandStillAndEntriesStillExpire) {
  Tunables t;
  t.udp_timeout = 30;
  Harness h(t);
  const Endpoints dns = Ep4(Ipv4(10, 0, 0, 3), 3333, Ipv4(10, 0, 0, 4), 53);
  ASSERT_EQ(h.Send(Udp(dns), 100), Verdict::kNew);
  // Timestamps jumping back by up to a year: the clock stands at 100 s.
  Rng rng{3};
  for (int i = 0; i < 200; ++i) {
    double back = 100.0 - static_cast<double>(rng() % 1000000) * 0.01;
    Tick(h, back < -kYear ? -kYear : back, static_cast<uint8_t>(i));
  }
  EXPECT_TRUE(h.FlowIs(UdpTuple(dns), {nullptr, 30, kNotAssured, kUnreplied}));
  // The entry did not become immortal: 30 s after its last packet it is
  // gone, and the GC reaps it without any packet for its bucket.
  Tick(h, 131);
  EXPECT_TRUE(h.Gone(UdpTuple(dns)));
  h.AdvanceTo(131 + 3 * 60);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_TRUE(Sound(h.engine()));
}

TEST(HostileClock, TimeoutAcrossTheJiffiesWrap) {
  // The clock starts 300 s before the 32-bit jiffies wrap (as the kernel's
  // does), so an entry created at 290 s with a 30 s timeout expires at
  // 320 s, on the far side of the wrap.
  Tunables t;
  t.udp_timeout = 30;
  Harness h(t);
  const Endpoints ep = Ep4(Ipv4(10, 0, 0, 5), 1000, Ipv4(10, 0, 0, 6), 2000);
  Tick(h, 0);
  ASSERT_EQ(h.Send(Udp(ep), 290), Verdict::kNew);
  Tick(h, 299.996);  // the last jiffy before the wrap
  EXPECT_TRUE(h.FlowIs(UdpTuple(ep), {nullptr, 20, kNotAssured, kUnreplied}));
  Tick(h, 300);  // jiffies == 0
  EXPECT_TRUE(h.FlowIs(UdpTuple(ep), {nullptr, 20, kNotAssured, kUnreplied}));
  Tick(h, 319.99);
  EXPECT_TRUE(h.Find(UdpTuple(ep)).has_value());
  Tick(h, 320);
  EXPECT_TRUE(h.Gone(UdpTuple(ep)));
  h.AdvanceTo(320 + 3 * 60);
  EXPECT_EQ(h.count(), 0u);
}

TEST(HostileClock, LongestAllowedTimeoutAcrossTheWrap) {
  // INT_MAX jiffies (~99.4 days), the kernel's ceiling, set when the clock
  // starts (5 minutes before the wrap): it must neither look expired at once
  // nor live forever.
  Tunables t;
  t.generic_timeout = 0x7fffffff / 250;  // 8589934 s
  Harness h(t);
  const Address a = Ipv4(10, 0, 0, 7), b = Ipv4(10, 0, 0, 8);
  ASSERT_EQ(h.Send(Generic(Family::kIPv4, a, b, 253), 299), Verdict::kNew);
  const Tuple other = GenericTuple(Family::kIPv4, a, b, 253);
  Tick(h, 299 + 60 * kDay);  // a step of more than 2^30 jiffies
  std::optional<FlowInfo> f = h.Find(other);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->timeout_s, 8589934u - static_cast<uint32_t>(60 * kDay));
  Tick(h, 299 + 99 * kDay);  // a smaller step: still alive
  EXPECT_TRUE(h.Find(other).has_value());
  Tick(h, 299 + 8589934 + 1);
  EXPECT_TRUE(h.Gone(other));
  EXPECT_TRUE(Sound(h.engine()));
}

// The known gap this closes: a forward jump of more than 2^31 jiffies
// (~99.4 days) made signed comparison see long-expired entries as alive
// again, and at 2^32 jiffies (~199 days) exactly as they were.
TEST(HostileClock, JumpsOfMonthsAndYearsExpireEverythingDue) {
  for (double jump : {50 * kDay, 100 * kDay, 150 * kDay, 198.8 * kDay,
                      199 * kDay, 400 * kDay, 3 * kYear, 30 * kYear}) {
    SCOPED_TRACE("jump of " + std::to_string(jump / kDay) + " days");
    Harness h;
    Establish(h, kClient, 0);
    const Endpoints dns = Ep4(Ipv4(10, 0, 0, 3), 3333, Ipv4(10, 0, 0, 4), 53);
    ASSERT_EQ(h.Send(Udp(dns), 0), Verdict::kNew);
    ASSERT_EQ(h.count(), 2u);
    Tick(h, jump);
    EXPECT_TRUE(h.Gone(TcpTuple(kClient)));
    EXPECT_TRUE(h.Gone(UdpTuple(dns)));
    EXPECT_EQ(h.count(), 1u);  // only the tick's own entry
    EXPECT_TRUE(Sound(h.engine()));
    // The old connection's next packet is a new flow again (loose pickup).
    EXPECT_EQ(h.Send(Tcp(kClient, 101, 901, tcpflag::kAck), jump + 1),
              Verdict::kNew);
    // And the GC still runs on schedule after the jump: the tick's entry
    // (30 s) is reaped within a few minutes without a packet for it.
    h.AdvanceTo(jump + 5 * 60);
    uint32_t udp_left = 0;
    h.engine().Visit(h.now_ns(), [&](const FlowInfo& f) {
      if (f.original.l4_proto == ipproto::kUdp) ++udp_left;
    });
    EXPECT_EQ(udp_left, 0u);
  }
}

TEST(HostileClock, StepsJustBelowTheLongGapKeepTimeoutsExact) {
  // Forward steps of 49 days (just under 2^30 jiffies) are left to the GC:
  // a 99-day entry survives one step and is gone after the third.
  Tunables t;
  t.generic_timeout = 99 * 86400;
  Harness h(t);
  const Address a = Ipv4(10, 0, 0, 9), b = Ipv4(10, 0, 0, 10);
  const Tuple other = GenericTuple(Family::kIPv4, a, b, 253);
  ASSERT_EQ(h.Send(Generic(Family::kIPv4, a, b, 253), 0), Verdict::kNew);
  Tick(h, 49 * kDay);
  ASSERT_TRUE(h.Find(other).has_value());
  EXPECT_EQ(h.Find(other)->timeout_s, static_cast<uint32_t>(50 * kDay));
  Tick(h, 98 * kDay);
  EXPECT_TRUE(h.Find(other).has_value());
  Tick(h, 147 * kDay);
  EXPECT_TRUE(h.Gone(other));
  EXPECT_TRUE(Sound(h.engine()));
}

TEST(HostileClock, RandomClockNeverLeavesStuckOrImmortalEntries) {
  // Random traffic on a clock that repeats, steps back, creeps and leaps;
  // after each packet the table is sound, and in the end, once the longest
  // timeout has passed, nothing is left.
  Tunables t;
  t.max = 256;
  t.buckets = 512;
  Harness h(t);
  Rng rng{11};
  double now = 0, high = 0;
  for (int i = 0; i < 5000; ++i) {
    switch (rng() % 8) {
      case 0:
        break;  // repeat
      case 1:
        now -= static_cast<double>(rng() % 100000);  // backwards
        break;
      case 2:
        now = high + static_cast<double>(rng() % 10) * kDay;  // leap
        break;
      case 3:
        now = high + static_cast<double>(rng() % 3) * 49.7 * kDay;
        break;
      default:
        now = high + static_cast<double>(rng() % 5000) * 0.001;
        break;
    }
    if (now > high) high = now;
    Endpoints ep = Ep4(Ipv4(10, 1, 0, static_cast<uint8_t>(rng() % 32)),
                       static_cast<uint16_t>(1000 + rng() % 4),
                       Ipv4(10, 2, 0, static_cast<uint8_t>(rng() % 4)), 80);
    double at = now < -1e9 ? -1e9 : now;
    switch (rng() % 3) {
      case 0:
        h.Send(Tcp(ep, rng(), 0, tcpflag::kSyn), at);
        break;
      case 1:
        h.Send(Udp(ep), at);
        break;
      default:
        h.Send(Udp(ep.Reversed()), at);
        break;
    }
    ASSERT_TRUE(Sound(h.engine())) << "after packet " << i;
    ASSERT_LE(h.count(), t.max);
  }
  // The longest timeout here is 5 days (established TCP); all is gone once
  // it and a GC cycle have passed.
  h.AdvanceTo(high + 432000 + 5 * 60);
  EXPECT_EQ(h.count(), 0u);
}

}  // namespace
}  // namespace ctkit::enginetest
