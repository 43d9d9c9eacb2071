// Zones through the whole engine (kernel-model §4.6). Every case was
// measured on 6.18 with nft `ct zone set` rules and `conntrack -L`, or with
// kernel-replay (tests/fidelity/s-zones). A UDP client 127.0.0.1:40000
// sends to servers .2, .3 and .4 on port 9999.
#include <gtest/gtest.h>

#include "testing/engine_test_util.h"

namespace ctkit {
namespace {

using namespace enginetest;

const Address kClient = Ipv4(127, 0, 0, 1);
const Endpoints To2 = Ep4(kClient, 40000, Ipv4(127, 0, 0, 2), 9999);
const Endpoints To3 = Ep4(kClient, 40000, Ipv4(127, 0, 0, 3), 9999);
const Endpoints To4 = Ep4(kClient, 40000, Ipv4(127, 0, 0, 4), 9999);
constexpr Zone kBoth5{5, 0};
constexpr Zone kOriginal5{5, Zone::kOriginalOnly};
constexpr Zone kReply5{5, Zone::kReplyOnly};

// Equal tuples in zone 5 and in the default zone are two entries.
TEST(EngineZone, EqualTuplesInTwoZonesAreTwoEntries) {
  Harness h;
  EXPECT_EQ(h.Send(Udp(To2), 0.0, kBoth5), Verdict::kNew);
  EXPECT_EQ(h.Send(Udp(To2), 0.1), Verdict::kNew);
  EXPECT_EQ(h.count(), 2u);
  std::optional<FlowInfo> zoned = h.Find(UdpTuple(To2), kBoth5);
  ASSERT_TRUE(zoned.has_value());
  EXPECT_EQ(zoned->zone, kBoth5);
  std::optional<FlowInfo> plain = h.Find(UdpTuple(To2));
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->zone.id, 0);
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// A packet whose zone applies to both directions finds the entry made in
// the same zone for the original direction only: in that direction the two
// ids agree. One entry, zone-orig=5.
TEST(EngineZone, OriginalOnlyEntryTakesATwoWayPacket) {
  Harness h;
  EXPECT_EQ(h.Send(Udp(To3), 0.0, kOriginal5), Verdict::kNew);
  EXPECT_EQ(h.Send(Udp(To3), 0.1, kBoth5), Verdict::kNew);
  EXPECT_EQ(h.count(), 1u);
  std::optional<FlowInfo> f = h.Find(UdpTuple(To3), kOriginal5);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->zone, kOriginal5);
}

// An original-only and a reply-only zone with the same id disagree in the
// original direction (5 against 0): two entries.
TEST(EngineZone, OriginalOnlyAndReplyOnlyAreTwoEntries) {
  Harness h;
  EXPECT_EQ(h.Send(Udp(To4), 0.0, kOriginal5), Verdict::kNew);
  EXPECT_EQ(h.Send(Udp(To4), 0.1, kReply5), Verdict::kNew);
  EXPECT_EQ(h.count(), 2u);
}

// Replies without a zone: they match an entry whose zone applies to the
// original direction only (its reply-direction id is 0), and not one whose
// zone applies both ways, which leaves a second, unzoned entry.
TEST(EngineZone, UnzonedReplyMatchesOnlyAnOriginalOnlyZone) {
  Harness h;
  EXPECT_EQ(h.Send(Udp(To3), 0.0, kOriginal5), Verdict::kNew);
  EXPECT_EQ(h.Send(Udp(To3.Reversed()), 0.1), Verdict::kEstablished);
  // Found from the reply side without a zone; from the original side only
  // in its zone.
  std::optional<FlowInfo> f = h.Find(UdpTuple(To3.Reversed()));
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE(f->seen_reply);
  EXPECT_EQ(f->zone, kOriginal5);
  EXPECT_FALSE(h.Find(UdpTuple(To3)).has_value());
  EXPECT_EQ(h.count(), 1u);

  EXPECT_EQ(h.Send(Udp(To2), 0.2, kBoth5), Verdict::kNew);
  EXPECT_EQ(h.Send(Udp(To2.Reversed()), 0.3), Verdict::kNew);
  EXPECT_EQ(h.count(), 3u);
  std::optional<FlowInfo> zoned = h.Find(UdpTuple(To2), kBoth5);
  ASSERT_TRUE(zoned.has_value());
  EXPECT_FALSE(zoned->seen_reply);
}

// s-zones: a flow whose packets both ways are in zone 7 is one entry, and
// an ICMP error in zone 7 is RELATED to the flow it quotes there.
TEST(EngineZone, ZonedFlowAndItsIcmpError) {
  Harness h;
  const Zone z7{7, 0};
  const Endpoints ep = Ep4(Ipv4(10, 1, 0, 2), 54001, Ipv4(10, 2, 0, 3), 33434);
  const Bytes u = Udp(ep);
  EXPECT_EQ(h.Send(u, 0.0, z7), Verdict::kNew);
  EXPECT_EQ(h.Send(IcmpError(Family::kIPv4, ep.dst, ep.src, 3, 3, u), 0.1, z7),
            Verdict::kRelated);
  // The same error outside the zone quotes a flow it cannot see: INVALID,
  // as any error quoting no flow (kernel-model §8).
  EXPECT_EQ(h.Send(IcmpError(Family::kIPv4, ep.dst, ep.src, 3, 3, u), 0.2),
            Verdict::kInvalid);
  EXPECT_EQ(h.count(), 1u);
}

}  // namespace
}  // namespace ctkit
