// GRE through the whole engine (kernel-model §9.1, measured on 6.18 with
// kernel-replay; tests/fidelity/s-gre*). Client 10.0.0.1 and server
// 10.0.0.2 (2001:db8::1 and ::2 over IPv6).
#include <gtest/gtest.h>

#include "testing/engine_test_util.h"

namespace ctkit {
namespace {

using namespace enginetest;

const Address kClient = Ipv4(10, 0, 0, 1);
const Address kServer = Ipv4(10, 0, 0, 2);
const Tuple kTunnel = GreTuple(Family::kIPv4, kClient, kServer);

// §9.1: a version 0 tunnel is 30 s [UNREPLIED]; its first reply still 30 s
// (the reply-seen bit is set after it); the next packet, either way, makes
// it 180 s and ASSURED, and every later packet refreshes 180 s.
TEST(EngineGre, TunnelIsShortUntilRepliedThenAssured) {
  Harness h;
  EXPECT_EQ(h.Send(Gre(Family::kIPv4, kClient, kServer), 0.0), Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(kTunnel, {nullptr, 30, kNotAssured, kUnreplied}));

  EXPECT_EQ(h.Send(Gre(Family::kIPv4, kServer, kClient), 0.1),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kTunnel, {nullptr, 30, kNotAssured, kReplied}));

  // No two-second rule as UDP has: at once.
  EXPECT_EQ(h.Send(Gre(Family::kIPv4, kClient, kServer), 0.2),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kTunnel, {nullptr, 180, kAssured, kReplied}));

  EXPECT_EQ(h.Send(Gre(Family::kIPv4, kServer, kClient), 100.0),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kTunnel, {nullptr, 180, kAssured, kReplied}));
  EXPECT_EQ(h.count(), 1u);
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §9.1: without the PPTP helper a PPTP call is two entries. Each side's
// packets carry the other's call id as dstkey, srckey stays 0, so the
// server's packets never match the client's entry's reply tuple.
TEST(EngineGre, PptpCallIsTwoUnrepliedEntries) {
  Harness h;
  EXPECT_EQ(h.Send(Gre(Family::kIPv4, kClient, kServer, 1, 0x5678), 0.0),
            Verdict::kNew);
  EXPECT_EQ(h.Send(Gre(Family::kIPv4, kServer, kClient, 1, 0x00ef), 0.1),
            Verdict::kNew);
  EXPECT_EQ(h.Send(Gre(Family::kIPv4, kClient, kServer, 1, 0x5678), 0.2),
            Verdict::kNew);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_TRUE(h.FlowIs(GreTuple(Family::kIPv4, kClient, kServer, 0, 0x5678),
                       {nullptr, 30, kNotAssured, kUnreplied}));
  // Sent 0.1 s ago: 29.9 s left, which conntrack -L shows as 29.
  EXPECT_TRUE(h.FlowIs(GreTuple(Family::kIPv4, kServer, kClient, 0, 0x00ef),
                       {nullptr, 29, kNotAssured, kUnreplied}));
  // The kernel's reply tuple of the client's entry has the keys swapped.
  std::optional<FlowInfo> f =
      h.Find(GreTuple(Family::kIPv4, kClient, kServer, 0, 0x5678));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->reply.src_port_or_icmp_id, 0x5678);
  EXPECT_EQ(f->reply.dst_port_or_icmp_type_code, 0);
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §9.1: version 1 carrying anything but PPP is INVALID (counted, no entry),
// also on a tuple that has one; a version 1 header cut before its call id
// and any other version are keyed 0/0.
TEST(EngineGre, VersionOneMustCarryPpp) {
  Harness h;
  EXPECT_EQ(
      h.Send(Gre(Family::kIPv4, kClient, kServer, 1, 0x1111, 0x0800), 0.0),
      Verdict::kInvalid);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Send(Gre(Family::kIPv4, kClient, kServer, 1, 0x1111), 0.1),
            Verdict::kNew);
  EXPECT_EQ(
      h.Send(Gre(Family::kIPv4, kClient, kServer, 1, 0x1111, 0x0800), 0.2),
      Verdict::kInvalid);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.counters()
                .invalid_by_reason[static_cast<int>(InvalidReason::kGreNotPpp)],
            2u);

  // Version 7 (reserved), with a call id that version 1 would read.
  const Address other = Ipv4(10, 0, 0, 3);
  EXPECT_EQ(h.Send(Gre(Family::kIPv4, kClient, other, 7, 0xabcd), 0.3),
            Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(GreTuple(Family::kIPv4, kClient, other),
                       {nullptr, 30, kNotAssured, kUnreplied}));
  // Version 1 cut to its first 4 bytes, not even PPP: keys 0, the same entry.
  Bytes cut = Generic(Family::kIPv4, kClient, other, ipproto::kGre, 4);
  const uint8_t v1_ip[4] = {0x20, 0x01, 0x08, 0x00};
  std::copy(v1_ip, v1_ip + 4, cut.begin() + 20);
  EXPECT_EQ(h.Send(cut, 0.4), Verdict::kNew);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 2}));
}

// §9.1: GRE over IPv6 is tracked the same way (v6_v0, v6_v1 probes).
TEST(EngineGre, Ipv6TunnelAndCall) {
  Harness h;
  const Address c = V6("2001:db8::1"), s = V6("2001:db8::2");
  EXPECT_EQ(h.Send(Gre(Family::kIPv6, c, s), 0.0), Verdict::kNew);
  EXPECT_EQ(h.Send(Gre(Family::kIPv6, s, c), 0.1), Verdict::kEstablished);
  EXPECT_EQ(h.Send(Gre(Family::kIPv6, c, s), 0.2), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(GreTuple(Family::kIPv6, c, s),
                       {nullptr, 180, kAssured, kReplied}));
  EXPECT_EQ(h.Send(Gre(Family::kIPv6, c, s, 1, 0x1111), 0.3), Verdict::kNew);
  EXPECT_EQ(h.Send(Gre(Family::kIPv6, s, c, 1, 0x2222), 0.4), Verdict::kNew);
  EXPECT_EQ(h.count(), 3u);
  EXPECT_TRUE(h.FlowIs(GreTuple(Family::kIPv6, s, c, 0, 0x2222),
                       {nullptr, 30, kNotAssured, kUnreplied}));
}

// The two sysctls (s-gre-timeouts: 2 s and 5 s): unreplied and replied
// entries go after 2 s, the ASSURED one after 5 s.
TEST(EngineGre, TimeoutsFollowTheirSysctls) {
  Tunables t;
  ASSERT_TRUE(t.Set("net.netfilter.nf_conntrack_gre_timeout", "2"));
  ASSERT_TRUE(t.Set("net.netfilter.nf_conntrack_gre_timeout_stream", "5"));
  Harness h(t);
  const Address other = Ipv4(10, 0, 0, 3);
  h.Send(Gre(Family::kIPv4, kClient, kServer), 0.0);
  h.Send(Gre(Family::kIPv4, kClient, other), 0.0);
  h.Send(Gre(Family::kIPv4, other, kClient), 0.1);
  h.Send(Gre(Family::kIPv4, kClient, other), 0.2);
  // 0.2 s after its only packet: 1.8 s left, shown as 1.
  EXPECT_TRUE(h.FlowIs(kTunnel, {nullptr, 1, kNotAssured, kUnreplied}));
  EXPECT_TRUE(h.FlowIs(GreTuple(Family::kIPv4, kClient, other),
                       {nullptr, 5, kAssured, kReplied}));
  EXPECT_FALSE(h.FindAt(kTunnel, 2.0).has_value());
  EXPECT_TRUE(h.FindAt(GreTuple(Family::kIPv4, kClient, other), 5.1));
  EXPECT_FALSE(h.FindAt(GreTuple(Family::kIPv4, kClient, other), 5.2));
}

// `conntrack -L` shows no state for GRE (§12.2).
TEST(EngineGre, HasNoStateName) {
  Harness h;
  h.Send(Gre(Family::kIPv4, kClient, kServer), 0.0);
  std::optional<FlowInfo> f = h.Find(kTunnel);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->state, nullptr);
}

}  // namespace
}  // namespace ctkit
