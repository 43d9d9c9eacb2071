// IPv6 through the whole engine: the same trackers and table over 128-bit
// addresses (spec §4.1), ICMPv6 queries, errors and ND/MLD (§8).
#include <gtest/gtest.h>

#include "testing/engine_test_util.h"

namespace ctkit {
namespace {

using namespace enginetest;
using namespace tcpflag;

const Address kClient = V6("2001:db8::1");
const Address kServer = V6("2001:db8::2");
const Address kRouter = V6("2001:db8::fe");
const Address kStranger = V6("2001:db8:9::9");

TEST(EngineIpv6, TcpHandshakeAndClose) {
  Harness h;
  const Endpoints c2s = Ep6(kClient, 40000, kServer, 443);
  const Endpoints s2c = c2s.Reversed();
  const Tuple conn = TcpTuple(c2s);
  EXPECT_EQ(h.Send(Tcp(c2s, 1000, 0, kSyn), 0.0), Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(conn, {"SYN_SENT", 120, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.Send(Tcp(s2c, 5000, 1001, kSyn | kAck), 0.1),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(conn, {"SYN_RECV", 60, kNotAssured, kReplied}));
  EXPECT_EQ(h.Send(Tcp(c2s, 1001, 5001, kAck), 0.2), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(conn, {"ESTABLISHED", 432000, kAssured, kReplied}));
  EXPECT_EQ(h.Send(Tcp(c2s, 1001, 5001, kFin | kAck), 1.0),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(conn, {"FIN_WAIT", 120, kAssured, kReplied}));
  EXPECT_EQ(h.Send(Tcp(s2c, 5001, 1002, kFin | kAck), 1.1),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(conn, {"LAST_ACK", 30, kAssured, kReplied}));
  EXPECT_EQ(h.Send(Tcp(c2s, 1002, 5002, kAck), 1.2), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(conn, {"TIME_WAIT", 120, kAssured, kReplied}));
  EXPECT_EQ(h.count(), 1u);
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

TEST(EngineIpv6, RstBeforeReplyDeletesEntry) {
  Harness h;
  const Endpoints c2s = Ep6(kClient, 40000, kServer, 443);
  EXPECT_EQ(h.Send(Tcp(c2s, 1000, 0, kSyn), 0.0), Verdict::kNew);
  EXPECT_EQ(h.Send(Tcp(c2s.Reversed(), 0, 1001, kRst | kAck), 0.01),
            Verdict::kEstablished);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

TEST(EngineIpv6, UdpRequestReplyStream) {
  Harness h;
  const Endpoints req = Ep6(kClient, 40000, kServer, 53);
  const Tuple flow = UdpTuple(req);
  EXPECT_EQ(h.Send(Udp(req), 0.0), Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(flow, {nullptr, 30, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.Send(Udp(req.Reversed()), 0.1), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(flow, {nullptr, 30, kNotAssured, kReplied}));
  EXPECT_EQ(h.Send(Udp(req), 1.0), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(flow, {nullptr, 30, kNotAssured, kReplied}));
  EXPECT_EQ(h.Send(Udp(req), 2.5), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(flow, {nullptr, 120, kAssured, kReplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §7: "A zero checksum is accepted" (conntrack treats it as "no checksum"
// whatever the family), so a zero UDP checksum over IPv6 is not INVALID.
TEST(EngineIpv6, UdpZeroChecksumIsAccepted) {
  Harness h;
  const Endpoints req = Ep6(kClient, 40000, kServer, 53);
  Bytes p = Udp(req);
  p[40 + 6] = 0;
  p[40 + 7] = 0;
  EXPECT_EQ(h.Send(p, 0.0), Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(UdpTuple(req), {nullptr, 30, kNotAssured, kUnreplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {}));
  // A wrong non-zero checksum is still INVALID.
  Bytes bad = Udp(Ep6(kClient, 40001, kServer, 53));
  bad.back() ^= 0x5a;
  EXPECT_EQ(h.Send(bad, 0.1), Verdict::kInvalid);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1}));
}

// §8: ICMPv6 echo (128/129): NEW, 30 s; reply ESTABLISHED; never ASSURED.
TEST(EngineIpv6, Icmpv6EchoRequestReply) {
  Harness h;
  const Tuple ping = IcmpTuple(Family::kIPv6, kClient, kServer, 77, 128);
  EXPECT_EQ(h.Send(Echo(Family::kIPv6, kClient, kServer, true, 77), 0.0),
            Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(ping, {nullptr, 30, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.Send(Echo(Family::kIPv6, kServer, kClient, false, 77), 0.5),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(ping, {nullptr, 30, kNotAssured, kReplied}));
  EXPECT_EQ(h.Send(Echo(Family::kIPv6, kClient, kServer, true, 77, 2), 5.0),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(ping, {nullptr, 30, kNotAssured, kReplied}));
  EXPECT_EQ(h.count(), 1u);
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §1.2: the ICMPv6 timeout is its own sysctl.
TEST(EngineIpv6, Icmpv6TimeoutSysctl) {
  Tunables t;
  t.icmpv6_timeout = 7;
  t.icmp_timeout = 9;
  Harness h(t);
  EXPECT_EQ(h.Send(Echo(Family::kIPv6, kClient, kServer, true, 77), 0.0),
            Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(IcmpTuple(Family::kIPv6, kClient, kServer, 77, 128),
                       {nullptr, 7, kNotAssured, kUnreplied}));
}

// §8: an echo reply with no request: INVALID, invalid +1.
TEST(EngineIpv6, Icmpv6EchoReplyWithoutRequestIsInvalid) {
  Harness h;
  EXPECT_EQ(h.Send(Echo(Family::kIPv6, kServer, kClient, false, 77), 0.0),
            Verdict::kInvalid);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1}));
}

// §8/§11: neighbour discovery and MLD are UNTRACKED: no entry, no counter.
TEST(EngineIpv6, NeighbourDiscoveryIsUntracked) {
  Harness h;
  const Address solicited = V6("ff02::1:ff00:2");
  // Neighbour solicitation (135): reserved word, then the 16-byte target.
  EXPECT_EQ(
      h.Send(Icmp(Family::kIPv6, kClient, solicited, 135, 0, 0, 16, 255), 0.0),
      Verdict::kUntracked);
  // Neighbour advertisement (136), router solicitation (133), MLD report
  // (131), MLDv2 report (143).
  EXPECT_EQ(
      h.Send(Icmp(Family::kIPv6, kServer, kClient, 136, 0, 0, 16, 255), 0.1),
      Verdict::kUntracked);
  EXPECT_EQ(
      h.Send(Icmp(Family::kIPv6, kClient, V6("ff02::2"), 133, 0, 0, 0, 255),
             0.2),
      Verdict::kUntracked);
  EXPECT_EQ(
      h.Send(Icmp(Family::kIPv6, kClient, V6("ff02::16"), 131, 0, 0, 16, 1),
             0.3),
      Verdict::kUntracked);
  EXPECT_EQ(
      h.Send(Icmp(Family::kIPv6, kClient, V6("ff02::16"), 143, 0, 0, 0, 1),
             0.4),
      Verdict::kUntracked);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_TRUE(StatsAre(h.stats(), {}));
  EXPECT_EQ(h.counters().verdicts[static_cast<int>(Verdict::kUntracked)], 5u);
}

// §8: an ICMPv6 error (type < 128; here destination unreachable, 1) quoting
// a tracked UDP packet, sent back to the client: RELATED, no refresh.
TEST(EngineIpv6, Icmpv6ErrorIsRelated) {
  Harness h;
  const Endpoints req = Ep6(kClient, 40000, kServer, 53);
  Bytes request = Udp(req);
  EXPECT_EQ(h.Send(request, 0.0), Verdict::kNew);
  EXPECT_EQ(
      h.Send(IcmpError(Family::kIPv6, kRouter, kClient, 1, 4, request), 6.0),
      Verdict::kRelated);
  EXPECT_TRUE(h.FlowIs(UdpTuple(req), {nullptr, 24, kNotAssured, kUnreplied}));
  // Packet too big (2) and time exceeded (3) are errors as well.
  EXPECT_EQ(
      h.Send(IcmpError(Family::kIPv6, kRouter, kClient, 2, 0, request), 7.0),
      Verdict::kRelated);
  EXPECT_EQ(
      h.Send(IcmpError(Family::kIPv6, kRouter, kClient, 3, 0, request), 8.0),
      Verdict::kRelated);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §8: an ICMPv6 error quoting a TCP SYN is RELATED to that connection.
TEST(EngineIpv6, Icmpv6ErrorForTcpIsRelated) {
  Harness h;
  const Endpoints c2s = Ep6(kClient, 40000, kServer, 443);
  Bytes syn = Tcp(c2s, 1000, 0, kSyn);
  EXPECT_EQ(h.Send(syn, 0.0), Verdict::kNew);
  EXPECT_EQ(h.Send(IcmpError(Family::kIPv6, kRouter, kClient, 1, 0, syn), 1.0),
            Verdict::kRelated);
  EXPECT_TRUE(
      h.FlowIs(TcpTuple(c2s), {"SYN_SENT", 119, kNotAssured, kUnreplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §8 / §5.3: unknown quoted flow and spoofed outer destination both count
// error, not invalid.
TEST(EngineIpv6, Icmpv6ErrorUnknownOrSpoofedCountsError) {
  Harness h;
  const Endpoints req = Ep6(kClient, 40000, kServer, 53);
  Bytes request = Udp(req);
  EXPECT_EQ(
      h.Send(IcmpError(Family::kIPv6, kRouter, kClient, 1, 4, request), 0.0),
      Verdict::kInvalid);
  EXPECT_TRUE(StatsAre(h.stats(), {.error = 1}));
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Send(request, 1.0), Verdict::kNew);
  EXPECT_EQ(
      h.Send(IcmpError(Family::kIPv6, kRouter, kStranger, 1, 4, request), 2.0),
      Verdict::kInvalid);
  EXPECT_TRUE(StatsAre(h.stats(), {.error = 2}));
  EXPECT_EQ(h.count(), 1u);
}

// An ICMPv6 redirect (137) from the link-local router, hop limit 255, whose
// ND options start with `first_option` (4 = redirected header, quoting
// `quoted`; anything else is a plain 8-byte option).
Bytes Redirect(uint8_t first_option, const Bytes& quoted,
               uint8_t hop_limit = 255, const char* router = "fe80::1") {
  Bytes body;
  const Address target = V6("fe80::2");
  body.insert(body.end(), target.bytes, target.bytes + 16);
  body.insert(body.end(), kServer.bytes, kServer.bytes + 16);
  if (first_option == 4) {
    size_t padded = (quoted.size() + 7) / 8 * 8;
    body.push_back(4);
    body.push_back(static_cast<uint8_t>(1 + padded / 8));
    body.insert(body.end(), 6, 0);
    body.insert(body.end(), quoted.begin(), quoted.end());
    body.insert(body.end(), padded - quoted.size(), 0);
  } else {
    body.push_back(first_option);
    body.push_back(1);
    body.insert(body.end(), 6, 0);
  }
  Bytes out;
  BuildIcmp(Family::kIPv6, V6(router), kClient, 137, 0, 0, body, &out,
            hop_limit);
  return out;
}

// §8: a valid redirect whose first option is a redirected header is checked
// like an error: the quoted packet's flow makes it RELATED.
TEST(EngineIpv6, RedirectWithRedirectedHeaderIsRelated) {
  Harness h;
  const Endpoints req = Ep6(kClient, 40000, kServer, 53);
  Bytes request = Udp(req);
  EXPECT_EQ(h.Send(request, 0.0), Verdict::kNew);
  EXPECT_EQ(h.Send(Redirect(4, request), 1.0), Verdict::kRelated);
  EXPECT_TRUE(h.FlowIs(UdpTuple(req), {nullptr, 29, kNotAssured, kUnreplied}));
  EXPECT_TRUE(StatsAre(h.stats(), {}));
  // Quoting a flow that is not tracked: the error path fails, error +1.
  EXPECT_EQ(h.Send(Redirect(4, Udp(Ep6(kClient, 40001, kServer, 53))), 2.0),
            Verdict::kInvalid);
  EXPECT_TRUE(StatsAre(h.stats(), {.error = 1}));
  EXPECT_EQ(h.count(), 1u);
}

// §8: a valid redirect without a redirected header continues as a normal
// packet; type 137 has no inverse, so it is INVALID (invalid +1).
TEST(EngineIpv6, RedirectWithoutRedirectedHeaderIsInvalid) {
  Harness h;
  EXPECT_EQ(h.Send(Redirect(2, {}), 0.0), Verdict::kInvalid);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1}));
  EXPECT_EQ(h.count(), 0u);
}

// §8: a redirect must have hop limit 255 and a link-local source; otherwise
// it fails on the error path (error +1).
TEST(EngineIpv6, RedirectFailingChecksCountsError) {
  Harness h;
  Bytes request = Udp(Ep6(kClient, 40000, kServer, 53));
  EXPECT_EQ(h.Send(request, 0.0), Verdict::kNew);
  EXPECT_EQ(h.Send(Redirect(4, request, 64), 1.0), Verdict::kInvalid);
  EXPECT_EQ(h.Send(Redirect(4, request, 255, "2001:db8::fe"), 1.0),
            Verdict::kInvalid);
  EXPECT_TRUE(StatsAre(h.stats(), {.error = 2}));
}

// IPv4 and IPv6 flows never match each other, even for the "same" ports.
TEST(EngineIpv6, FamiliesAreSeparate) {
  Harness h;
  const Endpoints v6 = Ep6(kClient, 40000, kServer, 53);
  const Endpoints v4 = Ep4(Ipv4(10, 0, 0, 1), 40000, Ipv4(10, 0, 0, 2), 53);
  EXPECT_EQ(h.Send(Udp(v6), 0.0), Verdict::kNew);
  EXPECT_EQ(h.Send(Udp(v4), 0.0), Verdict::kNew);
  EXPECT_EQ(h.Send(Udp(v4.Reversed()), 0.1), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(UdpTuple(v6), {nullptr, 29, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.count(), 2u);
}

// §9: a generic protocol over IPv6 (ESP, 50): 600 s, never ASSURED.
TEST(EngineIpv6, GenericOverIpv6) {
  Harness h;
  const Tuple esp = GenericTuple(Family::kIPv6, kClient, kServer, 50);
  EXPECT_EQ(h.Send(Generic(Family::kIPv6, kClient, kServer, 50), 0.0),
            Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(esp, {nullptr, 600, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.Send(Generic(Family::kIPv6, kServer, kClient, 50), 3.0),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(esp, {nullptr, 600, kNotAssured, kReplied}));
}

}  // namespace
}  // namespace ctkit
