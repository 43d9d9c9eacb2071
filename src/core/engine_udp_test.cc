// UDP and UDP-Lite through the whole engine (spec §7, with §3 for expiry
// and §5.3 for counters). Client 10.0.0.1:40000 talks to 10.0.0.2:53.
#include <gtest/gtest.h>

#include "testing/engine_test_util.h"

namespace ctkit {
namespace {

using namespace enginetest;

const Address kClient = Ipv4(10, 0, 0, 1);
const Address kServer = Ipv4(10, 0, 0, 2);
const Endpoints kReq = Ep4(kClient, 40000, kServer, 53);
const Endpoints kRep = kReq.Reversed();
const Tuple kFlow = UdpTuple(kReq);

// §7: request 30 s [UNREPLIED]; first reply 30 s (the reply-seen bit is set
// after it); more packets within 2 s of the first stay at 30 s and are never
// ASSURED; a packet more than 2 s after the first makes it a stream: 120 s
// and ASSURED.
TEST(EngineUdp, RequestReplyThenStream) {
  Harness h;
  EXPECT_EQ(h.Send(Udp(kReq), 0.0), Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(kFlow, {nullptr, 30, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.count(), 1u);

  EXPECT_EQ(h.Send(Udp(kRep), 0.5), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kFlow, {nullptr, 30, kNotAssured, kReplied}));

  EXPECT_EQ(h.Send(Udp(kReq), 1.0), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kFlow, {nullptr, 30, kNotAssured, kReplied}));

  // Exactly 2 s after the first packet is not "more than 2 s".
  EXPECT_EQ(h.Send(Udp(kRep), 2.0), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kFlow, {nullptr, 30, kNotAssured, kReplied}));

  EXPECT_EQ(h.Send(Udp(kReq), 2.2), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kFlow, {nullptr, 120, kAssured, kReplied}));

  // A stream stays a stream: every packet refreshes with 120 s.
  EXPECT_EQ(h.Send(Udp(kRep), 50.0), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kFlow, {nullptr, 120, kAssured, kReplied}));
  EXPECT_EQ(h.count(), 1u);
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §7 / §11: every original-direction packet before the first reply is NEW,
// and each refreshes the 30 s timeout.
TEST(EngineUdp, UnrepliedPacketsAreAllNew) {
  Harness h;
  EXPECT_EQ(h.Send(Udp(kReq), 0.0), Verdict::kNew);
  EXPECT_EQ(h.Send(Udp(kReq), 10.0), Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(kFlow, {nullptr, 30, kNotAssured, kUnreplied}));
  // 5 s later the timeout shows 25 s.
  h.AdvanceTo(15.0);
  EXPECT_TRUE(h.FlowIs(kFlow, {nullptr, 25, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.count(), 1u);
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// A DNS-like exchange: all packets within 2 s, so the flow never becomes
// ASSURED and keeps the 30 s timeout (spec §7 "Observed").
TEST(EngineUdp, ShortExchangeNeverAssured) {
  Harness h;
  EXPECT_EQ(h.Send(Udp(kReq), 0.0), Verdict::kNew);
  EXPECT_EQ(h.Send(Udp(kRep), 0.05), Verdict::kEstablished);
  EXPECT_EQ(h.Send(Udp(kReq), 0.1), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kFlow, {nullptr, 30, kNotAssured, kReplied}));
  // 29.99 s after the last packet it is still live (showing 0 s left); 30 s
  // after it, it has expired.
  std::optional<FlowInfo> late = h.FindAt(kFlow, 30.09);
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->timeout_s, 0u);
  EXPECT_FALSE(h.FindAt(kFlow, 30.1).has_value());
}

// §3.1/§3.2: an expired entry is invisible to lookups but keeps counting
// until something reaps it; a lookup of the same flow reaps it and the
// packet then creates a fresh entry (NEW, [UNREPLIED] again).
TEST(EngineUdp, ExpiryCountsUntilReapedThenFreshEntry) {
  Harness h;
  EXPECT_EQ(h.Send(Udp(kReq), 0.0), Verdict::kNew);
  EXPECT_EQ(h.Send(Udp(kRep), 0.5), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kFlow, {nullptr, 30, kNotAssured, kReplied}));

  // Expired at 30.5 s (expiry - now <= 0), not reaped yet.
  EXPECT_TRUE(h.FindAt(kFlow, 30.496).has_value());
  EXPECT_FALSE(h.FindAt(kFlow, 30.5).has_value());
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.counters().expired, 0u);

  // The same flow again: the lookup walks its bucket, reaps the old entry
  // and the packet starts a new flow.
  EXPECT_EQ(h.Send(Udp(kReq), 31.0), Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(kFlow, {nullptr, 30, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.counters().expired, 1u);
  EXPECT_EQ(h.counters().created, 2u);
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §7: UDP-Lite has no 2-second rule: the first packet after the reply gets
// the stream timeout and ASSURED. (Checksums off: see the next test.)
TEST(EngineUdp, UdpLiteStreamRightAfterReply) {
  Tunables t;
  t.checksum = 0;
  Harness h(t);
  const Tuple lite = UdpTuple(kReq, ipproto::kUdpLite);
  EXPECT_EQ(h.Send(Udp(kReq, 16, ipproto::kUdpLite), 0.0), Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(lite, {nullptr, 30, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.Send(Udp(kRep, 16, ipproto::kUdpLite), 0.1),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(lite, {nullptr, 30, kNotAssured, kReplied}));
  EXPECT_EQ(h.Send(Udp(kReq, 16, ipproto::kUdpLite), 0.2),
            Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(lite, {nullptr, 120, kAssured, kReplied}));
  // UDP and UDP-Lite are different protocols: no UDP entry exists.
  EXPECT_FALSE(h.Find(kFlow).has_value());
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// The kernel checks a UDP-Lite checksum with UDP's protocol number (17)
// in the pseudo-header (measured: tests/fidelity/s-udplite). An RFC 3828
// checksum (136) is INVALID (invalid +1, no entry); the same packet with
// the checksum computed over 17 is NEW. With nf_conntrack_checksum=0 the
// RFC packet is NEW too.
TEST(EngineUdp, UdpLiteChecksumIsVerifiedAsUdp) {
  Bytes rfc = Udp(kReq, 16, ipproto::kUdpLite);
  // Rewrite the checksum as the kernel wants it: the sum over the same
  // bytes with 17 instead of 136 in the pseudo-header is 136-17 less, in
  // one's-complement arithmetic (adding 0xffff - 119).
  Bytes as_udp = rfc;
  size_t l4 = L4Offset(as_udp);
  uint32_t sum = static_cast<uint32_t>(as_udp[l4 + 6] << 8 | as_udp[l4 + 7]);
  sum = (~sum & 0xffff) + (0xffff - (ipproto::kUdpLite - ipproto::kUdp));
  sum = (sum & 0xffff) + (sum >> 16);
  sum = ~sum & 0xffff;
  as_udp[l4 + 6] = static_cast<uint8_t>(sum >> 8);
  as_udp[l4 + 7] = static_cast<uint8_t>(sum);

  Harness h;
  EXPECT_EQ(h.Send(rfc, 0.0), Verdict::kInvalid);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1}));
  EXPECT_EQ(h.Send(as_udp, 0.1), Verdict::kNew);
  EXPECT_EQ(h.count(), 1u);

  Tunables off;
  off.checksum = 0;
  Harness h2(off);
  EXPECT_EQ(h2.Send(rfc, 0.0), Verdict::kNew);
  EXPECT_TRUE(StatsAre(h2.stats(), {}));
}

// Rewrites a UDP-Lite datagram's coverage and checksum. The checksum is the
// one's-complement sum of the addresses, `length_and_proto` (the pseudo-
// header's length and protocol fields added together), and the first
// `coverage` bytes of the datagram (0: all), computed here from the bytes
// themselves, as docs/kernel-model.md §7 says the kernel does.
Bytes WithUdpLiteChecksum(Bytes ip, uint16_t coverage,
                          uint32_t length_and_proto) {
  const size_t l4 = L4Offset(ip);
  const bool v6 = l4 == 40;
  ip[l4 + 4] = static_cast<uint8_t>(coverage >> 8);
  ip[l4 + 5] = static_cast<uint8_t>(coverage);
  ip[l4 + 6] = ip[l4 + 7] = 0;
  uint64_t sum = length_and_proto;
  auto add = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; i += 2) {
      sum += static_cast<uint32_t>(ip[i] << 8 | (i + 1 < to ? ip[i + 1] : 0));
    }
  };
  add(v6 ? 8 : 12, v6 ? 40 : 20);  // source and destination addresses
  add(l4, coverage == 0 ? ip.size() : l4 + coverage);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  const auto c = static_cast<uint16_t>(~sum & 0xffff);
  ip[l4 + 6] = static_cast<uint8_t>(c >> 8);
  ip[l4 + 7] = static_cast<uint8_t>(c);
  return ip;
}

// §7, measured on 6.18: over IPv4, from 256 bytes on, conntrack wants the
// pseudo-header's length cut to its low 8 bits (length and protocol then
// add up to 17 + length mod 256); UDP's own sum (17 + length) is INVALID
// there. A 308-byte datagram: 17 + 52 passes, 17 + 308 does not; both
// with all of it covered and with 20 bytes covered.
TEST(EngineUdp, UdpLiteOverIpv4From256BytesSumsTheLengthCutTo8Bits) {
  const Bytes dgram = Udp(kReq, 300, ipproto::kUdpLite);  // 8 + 300 bytes
  for (uint16_t coverage : {uint16_t{0}, uint16_t{20}}) {
    SCOPED_TRACE(coverage);
    Harness h;
    EXPECT_EQ(h.Send(WithUdpLiteChecksum(dgram, coverage, 17 + 308), 0.0),
              Verdict::kInvalid);
    EXPECT_EQ(h.count(), 0u);
    EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1}));
    EXPECT_EQ(h.Send(WithUdpLiteChecksum(dgram, coverage, 17 + 308 % 256), 0.1),
              Verdict::kNew);
    EXPECT_EQ(h.count(), 1u);
  }
  // Below 256 bytes the two sums are one: 8 + 200 bytes with 17 + 208.
  Harness h;
  EXPECT_EQ(h.Send(WithUdpLiteChecksum(Udp(kReq, 200, ipproto::kUdpLite), 0,
                                       17 + 208),
                   0.0),
            Verdict::kNew);
}

// §7: over IPv6 the pseudo-header holds the true length with protocol 17,
// whatever the length; the coverage is honoured (20 of 308 bytes summed).
TEST(EngineUdp, UdpLiteOverIpv6SumsTheTrueLengthAndItsCoverage) {
  const Endpoints req6 = Ep6(V6("2001:db8::1"), 40000, V6("2001:db8::2"), 53);
  const Bytes dgram = Udp(req6, 300, ipproto::kUdpLite);
  Harness h;
  EXPECT_EQ(h.Send(WithUdpLiteChecksum(dgram, 20, 17 + 308 % 256), 0.0),
            Verdict::kInvalid);
  EXPECT_EQ(h.Send(WithUdpLiteChecksum(dgram, 20, 17 + 308), 0.1),
            Verdict::kNew);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1}));
}

// §7: a zero UDP-Lite checksum is INVALID even with nf_conntrack_checksum
// off (a header check, not a verification), unlike UDP's "no checksum".
TEST(EngineUdp, UdpLiteZeroChecksumIsInvalidEvenUnchecked) {
  Bytes zero = Udp(kReq, 16, ipproto::kUdpLite);
  const size_t l4 = L4Offset(zero);
  zero[l4 + 6] = zero[l4 + 7] = 0;
  Tunables off;
  off.checksum = 0;
  Harness h(off);
  EXPECT_EQ(h.Send(zero, 0.0), Verdict::kInvalid);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1}));
}

Bytes WithUdpLength(Bytes ip, uint16_t len) {
  size_t l4 = L4Offset(ip);
  ip[l4 + 4] = static_cast<uint8_t>(len >> 8);
  ip[l4 + 5] = static_cast<uint8_t>(len);
  // Zero checksum = "no checksum" over IPv4, so only the length is wrong.
  ip[l4 + 6] = 0;
  ip[l4 + 7] = 0;
  return ip;
}

// §7: a length field larger than the datagram, or below 8, is INVALID:
// invalid +1, no entry. A zero checksum over IPv4 is accepted.
TEST(EngineUdp, BadLengthIsInvalid) {
  Harness h;
  Bytes good = Udp(kReq, 16);
  EXPECT_EQ(h.Send(WithUdpLength(good, 8 + 17), 0.0), Verdict::kInvalid);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1}));

  EXPECT_EQ(h.Send(WithUdpLength(good, 7), 0.1), Verdict::kInvalid);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 2}));

  // Control: the correct length with a zero checksum is a valid packet.
  EXPECT_EQ(h.Send(WithUdpLength(good, 8 + 16), 0.2), Verdict::kNew);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 2}));
}

Bytes WithCorruptPayload(Bytes ip) {
  ip.back() ^= 0x5a;  // the checksum no longer matches
  return ip;
}

// §1.2/§7: a wrong non-zero checksum makes the packet INVALID only when
// nf_conntrack_checksum=1.
TEST(EngineUdp, BadChecksumInvalidOnlyWithChecksumOn) {
  {
    Harness h;  // checksum = 1 (default)
    EXPECT_EQ(h.Send(WithCorruptPayload(Udp(kReq)), 0.0), Verdict::kInvalid);
    EXPECT_EQ(h.count(), 0u);
    EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 1}));
  }
  {
    Tunables t;
    t.checksum = 0;
    Harness h(t);
    EXPECT_EQ(h.Send(WithCorruptPayload(Udp(kReq)), 0.0), Verdict::kNew);
    EXPECT_TRUE(h.FlowIs(kFlow, {nullptr, 30, kNotAssured, kUnreplied}));
    EXPECT_EQ(h.count(), 1u);
    EXPECT_TRUE(StatsAre(h.stats(), {}));
  }
}

// §1.1: the timeout sysctls are read when a packet refreshes an entry.
TEST(EngineUdp, TimeoutSysctlsApply) {
  Tunables t;
  t.udp_timeout = 10;
  t.udp_timeout_stream = 45;
  Harness h(t);
  EXPECT_EQ(h.Send(Udp(kReq), 0.0), Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(kFlow, {nullptr, 10, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.Send(Udp(kRep), 1.0), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kFlow, {nullptr, 10, kNotAssured, kReplied}));
  EXPECT_EQ(h.Send(Udp(kReq), 3.0), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kFlow, {nullptr, 45, kAssured, kReplied}));
}

// Distinct source ports are distinct flows; a reply to one of them does not
// touch the other.
TEST(EngineUdp, FlowsAreKeyedByPorts) {
  Harness h;
  const Endpoints other = Ep4(kClient, 40001, kServer, 53);
  EXPECT_EQ(h.Send(Udp(kReq), 0.0), Verdict::kNew);
  EXPECT_EQ(h.Send(Udp(other), 0.0), Verdict::kNew);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.Send(Udp(other.Reversed()), 1.0), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(kFlow, {nullptr, 29, kNotAssured, kUnreplied}));
  EXPECT_TRUE(h.FlowIs(UdpTuple(other), {nullptr, 30, kNotAssured, kReplied}));
}

}  // namespace
}  // namespace ctkit
