// ICMP queries and errors, and the generic tracker, through the whole engine
// (spec §8, §9, §11, counters §5.3). Client 10.0.0.1 pings 10.0.0.2; a
// router 10.0.0.254 sends errors.
#include <gtest/gtest.h>

#include "testing/engine_test_util.h"

namespace ctkit {
namespace {

using namespace enginetest;

const Address kClient = Ipv4(10, 0, 0, 1);
const Address kServer = Ipv4(10, 0, 0, 2);
const Address kRouter = Ipv4(10, 0, 0, 254);
const Address kStranger = Ipv4(10, 9, 9, 9);
constexpr uint16_t kId = 0x1234;
const Tuple kPing = IcmpTuple(Family::kIPv4, kClient, kServer, kId, 8);

// §8: echo request NEW, 30 s; the reply is ESTABLISHED, refreshes 30 s and
// does not delete the entry; the entry is never ASSURED.
TEST(EngineIcmp, EchoRequestReply) {
  Harness h;
  EXPECT_EQ(h.Send(Echo(Family::kIPv4, kClient, kServer, true, kId, 1), 0.0),
            Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(kPing, {nullptr, 30, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.count(), 1u);

  EXPECT_EQ(h.Send(Echo(Family::kIPv4, kServer, kClient, false, kId, 1), 5.0),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kPing, {nullptr, 30, kNotAssured, kReplied}));
  EXPECT_EQ(h.count(), 1u);

  // The next ping with the same id is the same entry, seen in the original
  // direction after a reply: ESTABLISHED. Still not ASSURED, even > 2 s on.
  EXPECT_EQ(h.Send(Echo(Family::kIPv4, kClient, kServer, true, kId, 2), 10.0),
            Verdict::kEstablished);
  EXPECT_EQ(h.Send(Echo(Family::kIPv4, kServer, kClient, false, kId, 2), 10.1),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kPing, {nullptr, 30, kNotAssured, kReplied}));
  // The reply tuple finds the same entry.
  std::optional<FlowInfo> via_reply =
      h.Find(IcmpTuple(Family::kIPv4, kServer, kClient, kId, 0));
  ASSERT_TRUE(via_reply.has_value());
  EXPECT_EQ(via_reply->original, kPing);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §8: an echo reply with no request is a reply type with no entry: an entry
// is allocated, the tracker refuses it, invalid +1.
TEST(EngineIcmp, EchoReplyWithoutRequestIsInvalid) {
  Harness h;
  EXPECT_EQ(h.Send(Echo(Family::kIPv4, kServer, kClient, false, kId), 0.0),
            Verdict::kInvalid);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1}));
}

// §2.1 + §8: because the reply-type packet is allocated before the tracker
// refuses it, on a table full of ASSURED entries it is DROPped (drop +1),
// not INVALID. A router advertisement (no inverse) is refused before
// allocation, so it stays INVALID on the same full table.
TEST(EngineIcmp, AllocationHappensForReplyTypesButNotForNonInvertible) {
  Tunables t;
  t.max = 1;
  Harness h(t);
  const Endpoints udp = Ep4(kClient, 5000, kServer, 5001);
  ASSERT_EQ(h.Send(Udp(udp), 0.0), Verdict::kNew);
  ASSERT_EQ(h.Send(Udp(udp.Reversed()), 0.1), Verdict::kEstablished);
  ASSERT_EQ(h.Send(Udp(udp), 2.5), Verdict::kEstablished);
  ASSERT_TRUE(h.Find(UdpTuple(udp))->assured);

  EXPECT_EQ(h.Send(Echo(Family::kIPv4, kServer, kClient, false, kId), 3.0),
            Verdict::kDrop);
  EXPECT_TRUE(StatsAre(h.stats(), {.drop = 1}));

  EXPECT_EQ(h.Send(Icmp(Family::kIPv4, kRouter, kClient, 9, 0), 3.1),
            Verdict::kInvalid);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1, .drop = 1}));
  EXPECT_EQ(h.count(), 1u);
}

// §8: a router advertisement (type 9) has no reply type: INVALID, counted
// as invalid, no entry.
TEST(EngineIcmp, RouterAdvertisementIsInvalidWithoutEntry) {
  Harness h;
  EXPECT_EQ(h.Send(Icmp(Family::kIPv4, kRouter, kClient, 9, 0), 0.0),
            Verdict::kInvalid);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1}));
}

// §8: ICMPv4 types above 18 fail on the error path: error +1, not invalid.
TEST(EngineIcmp, TypeAbove18CountsError) {
  Harness h;
  EXPECT_EQ(h.Send(Icmp(Family::kIPv4, kClient, kServer, 19, 0), 0.0),
            Verdict::kInvalid);
  EXPECT_EQ(h.Send(Icmp(Family::kIPv4, kClient, kServer, 42, 0), 0.1),
            Verdict::kInvalid);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_TRUE(StatsAre(h.stats(), {.error = 2}));
}

// §8: an ICMP error quoting a tracked packet is RELATED (here it goes back
// to the client, matching the reply tuple: RELATED_REPLY, which is `ct state
// related`), creates nothing and does not refresh the flow's timeout.
TEST(EngineIcmp, ErrorForTrackedUdpIsRelatedWithoutRefresh) {
  Harness h;
  const Endpoints req = Ep4(kClient, 40000, kServer, 53);
  Bytes request = Udp(req);
  EXPECT_EQ(h.Send(request, 0.0), Verdict::kNew);

  // Port unreachable from the server itself, and net unreachable from a
  // router on the way: both addressed to the client.
  EXPECT_EQ(
      h.Send(IcmpError(Family::kIPv4, kServer, kClient, 3, 3, request), 10.0),
      Verdict::kRelated);
  EXPECT_TRUE(h.FlowIs(UdpTuple(req), {nullptr, 20, kNotAssured, kUnreplied}));
  EXPECT_EQ(
      h.Send(IcmpError(Family::kIPv4, kRouter, kClient, 3, 0, request), 12.0),
      Verdict::kRelated);
  EXPECT_TRUE(h.FlowIs(UdpTuple(req), {nullptr, 18, kNotAssured, kUnreplied}));
  // Time exceeded (11) is an error type as well.
  EXPECT_EQ(
      h.Send(IcmpError(Family::kIPv4, kRouter, kClient, 11, 0, request), 13.0),
      Verdict::kRelated);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §8: an error about a reply-direction packet, sent to the server, matches
// the original tuple: RELATED as well.
TEST(EngineIcmp, ErrorForReplyDirectionPacketIsRelated) {
  Harness h;
  const Endpoints req = Ep4(kClient, 40000, kServer, 53);
  EXPECT_EQ(h.Send(Udp(req), 0.0), Verdict::kNew);
  Bytes reply = Udp(req.Reversed());
  EXPECT_EQ(h.Send(reply, 0.1), Verdict::kEstablished);
  EXPECT_EQ(
      h.Send(IcmpError(Family::kIPv4, kClient, kServer, 3, 3, reply), 1.0),
      Verdict::kRelated);
  EXPECT_TRUE(h.FlowIs(UdpTuple(req), {nullptr, 29, kNotAssured, kReplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §8 / §5.3: an error quoting a flow that is not tracked: INVALID through
// the error path, error +1 (not invalid), nothing created.
TEST(EngineIcmp, ErrorForUnknownFlowCountsError) {
  Harness h;
  const Endpoints req = Ep4(kClient, 40000, kServer, 53);
  EXPECT_EQ(
      h.Send(IcmpError(Family::kIPv4, kServer, kClient, 3, 3, Udp(req)), 0.0),
      Verdict::kInvalid);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_TRUE(StatsAre(h.stats(), {.error = 1}));
}

// §8 step 4: the error's outer destination must be the endpoint the matched
// direction sends to; otherwise INVALID, error +1.
TEST(EngineIcmp, ErrorWithSpoofedOuterDestinationCountsError) {
  Harness h;
  const Endpoints req = Ep4(kClient, 40000, kServer, 53);
  Bytes request = Udp(req);
  EXPECT_EQ(h.Send(request, 0.0), Verdict::kNew);
  EXPECT_EQ(
      h.Send(IcmpError(Family::kIPv4, kServer, kStranger, 3, 3, request), 1.0),
      Verdict::kInvalid);
  // Addressed to the server rather than to the client who sent the quoted
  // packet: also spoofed.
  EXPECT_EQ(
      h.Send(IcmpError(Family::kIPv4, kRouter, kServer, 3, 3, request), 2.0),
      Verdict::kInvalid);
  EXPECT_TRUE(StatsAre(h.stats(), {.error = 2}));
  EXPECT_TRUE(h.FlowIs(UdpTuple(req), {nullptr, 28, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.count(), 1u);
}

// §8: an error quoting an ICMP echo request (e.g. host unreachable for a
// ping) is RELATED to the ping's entry.
TEST(EngineIcmp, ErrorForTrackedPingIsRelated) {
  Harness h;
  Bytes ping = Echo(Family::kIPv4, kClient, kServer, true, kId);
  EXPECT_EQ(h.Send(ping, 0.0), Verdict::kNew);
  EXPECT_EQ(h.Send(IcmpError(Family::kIPv4, kRouter, kClient, 3, 1, ping), 4.0),
            Verdict::kRelated);
  EXPECT_TRUE(h.FlowIs(kPing, {nullptr, 26, kNotAssured, kUnreplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §8: other query types create entries too (timestamp 13 -> 14).
TEST(EngineIcmp, TimestampRequestReply) {
  Harness h;
  EXPECT_EQ(
      h.Send(Icmp(Family::kIPv4, kClient, kServer, 13, 0, 0x00070001u, 12),
             0.0),
      Verdict::kNew);
  const Tuple ts = IcmpTuple(Family::kIPv4, kClient, kServer, 7, 13);
  EXPECT_TRUE(h.FlowIs(ts, {nullptr, 30, kNotAssured, kUnreplied}));
  EXPECT_EQ(
      h.Send(Icmp(Family::kIPv4, kServer, kClient, 14, 0, 0x00070001u, 12),
             1.0),
      Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(ts, {nullptr, 30, kNotAssured, kReplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §8: ICMP entries expire 30 s after the last packet.
TEST(EngineIcmp, EntryExpiresAfterIcmpTimeout) {
  Tunables t;
  t.icmp_timeout = 5;
  Harness h(t);
  EXPECT_EQ(h.Send(Echo(Family::kIPv4, kClient, kServer, true, kId), 0.0),
            Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(kPing, {nullptr, 5, kNotAssured, kUnreplied}));
  EXPECT_TRUE(h.FindAt(kPing, 4.996).has_value());
  EXPECT_FALSE(h.FindAt(kPing, 5.0).has_value());
}

// §9: protocols without a tracker (here ESP, 50) are generic: 600 s,
// refreshed by every packet, never ASSURED; the reply is ESTABLISHED.
TEST(EngineGeneric, EspIsGeneric600NeverAssured) {
  Harness h;
  const Tuple esp = GenericTuple(Family::kIPv4, kClient, kServer, 50);
  EXPECT_EQ(h.Send(Generic(Family::kIPv4, kClient, kServer, 50), 0.0),
            Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(esp, {nullptr, 600, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.Send(Generic(Family::kIPv4, kServer, kClient, 50), 1.0),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(esp, {nullptr, 600, kNotAssured, kReplied}));
  EXPECT_EQ(h.Send(Generic(Family::kIPv4, kClient, kServer, 50), 100.0),
            Verdict::kEstablished);
  EXPECT_EQ(h.Send(Generic(Family::kIPv4, kServer, kClient, 50), 200.0),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(esp, {nullptr, 600, kNotAssured, kReplied}));
  EXPECT_EQ(h.count(), 1u);
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §4.1/§9: DCCP (33) has no tracker in 6.18, so it is generic: no ports in
// the tuple, and every DCCP "connection" between two hosts shares one entry.
TEST(EngineGeneric, DccpFlowsBetweenTwoHostsShareOneEntry) {
  Harness h;
  Bytes a = Generic(Family::kIPv4, kClient, kServer, 33, 16);
  Bytes b = a;
  b[20] = 0x12;  // a different "source port" in the DCCP header
  EXPECT_EQ(h.Send(a, 0.0), Verdict::kNew);
  EXPECT_EQ(h.Send(b, 0.5), Verdict::kNew);  // no reply yet: still NEW
  EXPECT_EQ(h.count(), 1u);
  EXPECT_TRUE(h.FlowIs(GenericTuple(Family::kIPv4, kClient, kServer, 33),
                       {nullptr, 600, kNotAssured, kUnreplied}));
}

}  // namespace
}  // namespace ctkit
