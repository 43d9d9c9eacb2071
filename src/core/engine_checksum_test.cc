// Checksums through the whole engine (spec §1.2 nf_conntrack_checksum, §6.4
// step 1, §7, §8, §5.3): a wrong checksum is INVALID with a reason of its
// own per protocol; a transmit-offload partial checksum (what a capture on
// the sending host shows, net/checksum.h) is tracked as the kernel tracks
// its own packets, and counted.
#include <gtest/gtest.h>

#include "proto/tracker.h"
#include "testing/engine_test_util.h"

namespace ctkit {
namespace {

using namespace enginetest;

const Endpoints kTcp4 = Ep4(Ipv4(10, 7, 0, 1), 38024, Ipv4(10, 7, 0, 2), 8080);
const Endpoints kUdp4 = Ep4(Ipv4(10, 7, 0, 1), 40499, Ipv4(10, 7, 0, 2), 53);
const Endpoints kTcp6 = Ep6(V6("fd07::1"), 49732, V6("fd07::2"), 8080);
const Endpoints kUdp6 = Ep6(V6("fd07::1"), 57263, V6("fd07::2"), 53);

uint64_t Reason(const Harness& h, InvalidReason r) {
  return h.counters().invalid_by_reason[static_cast<int>(r)];
}

size_t ChecksumAt(const Bytes& ip) {
  const size_t l4 = L4Offset(ip);
  const uint8_t proto = (ip[0] >> 4) == 6 ? ip[6] : ip[9];
  return l4 + (proto == ipproto::kTcp ? 16 : proto == ipproto::kUdp ? 6 : 2);
}

Bytes Corrupt(Bytes ip) {
  ip[ChecksumAt(ip)] ^= 0x10;
  return ip;
}

// What a sender with transmit checksum offload leaves in the field: the
// one's complement sum of the pseudo-header (addresses, protocol, L4
// length; UDP: its length field), folded, not complemented. Summed here
// word by word, independently of net/checksum.
Bytes Partial(Bytes ip) {
  const bool v6 = (ip[0] >> 4) == 6;
  const size_t l4 = L4Offset(ip);
  const uint8_t proto = v6 ? ip[6] : ip[9];
  uint32_t sum = 0;
  const size_t addr = v6 ? 8 : 12;
  const size_t addr_len = v6 ? 32 : 8;
  for (size_t i = addr; i < addr + addr_len; i += 2) {
    sum += static_cast<uint32_t>(ip[i] << 8 | ip[i + 1]);
  }
  uint32_t length = static_cast<uint32_t>(ip.size() - l4);
  if (proto == ipproto::kUdp) {
    length = static_cast<uint32_t>(ip[l4 + 4] << 8 | ip[l4 + 5]);
  }
  sum += proto + length;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[ChecksumAt(ip)] = static_cast<uint8_t>(sum >> 8);
  ip[ChecksumAt(ip) + 1] = static_cast<uint8_t>(sum);
  return ip;
}

TEST(EngineChecksum, ReasonsAreNamed) {
  EXPECT_STREQ(InvalidReasonName(InvalidReason::kTcpChecksum), "tcp-checksum");
  EXPECT_STREQ(InvalidReasonName(InvalidReason::kUdpChecksum), "udp-checksum");
  EXPECT_STREQ(InvalidReasonName(InvalidReason::kIcmpChecksum),
               "icmp-checksum");
  EXPECT_TRUE(IsChecksumReason(InvalidReason::kTcpChecksum));
  EXPECT_TRUE(IsChecksumReason(InvalidReason::kUdpChecksum));
  EXPECT_TRUE(IsChecksumReason(InvalidReason::kIcmpChecksum));
  EXPECT_FALSE(IsChecksumReason(InvalidReason::kTcpHeader));
  EXPECT_FALSE(IsChecksumReason(InvalidReason::kUdpHeader));
  EXPECT_FALSE(IsChecksumReason(InvalidReason::kIcmpHeader));
}

// §6.4 step 1 / §7: a wrong TCP or UDP checksum is INVALID (`invalid` +1)
// with the protocol's checksum reason, not its header reason.
TEST(EngineChecksum, WrongTcpAndUdpChecksumsHaveTheirOwnReasons) {
  Harness h;
  EXPECT_EQ(h.Send(Corrupt(Tcp(kTcp4, 1, 0, tcpflag::kSyn)), 0),
            Verdict::kInvalid);
  EXPECT_EQ(h.Send(Corrupt(Tcp(kTcp6, 1, 0, tcpflag::kSyn)), 0),
            Verdict::kInvalid);
  EXPECT_EQ(h.Send(Corrupt(Udp(kUdp4)), 0), Verdict::kInvalid);
  EXPECT_EQ(h.Send(Corrupt(Udp(kUdp6)), 0), Verdict::kInvalid);
  EXPECT_EQ(Reason(h, InvalidReason::kTcpChecksum), 2u);
  EXPECT_EQ(Reason(h, InvalidReason::kUdpChecksum), 2u);
  EXPECT_EQ(Reason(h, InvalidReason::kTcpHeader), 0u);
  EXPECT_EQ(Reason(h, InvalidReason::kUdpHeader), 0u);
  EXPECT_TRUE(StatsAre(h.stats(), {.invalid = 4}));
  EXPECT_EQ(h.counters().offload_checksums, 0u);
  EXPECT_EQ(h.count(), 0u);
}

// §8 / §5.3: a wrong ICMP or ICMPv6 checksum fails on the ICMP error path,
// which counts `error`, not `invalid`.
TEST(EngineChecksum, WrongIcmpChecksumIsIcmpChecksumOnTheErrorPath) {
  Harness h;
  EXPECT_EQ(
      h.Send(Corrupt(Echo(Family::kIPv4, kTcp4.src, kTcp4.dst, true, 7)), 0),
      Verdict::kInvalid);
  EXPECT_EQ(
      h.Send(Corrupt(Echo(Family::kIPv6, kTcp6.src, kTcp6.dst, true, 7)), 0),
      Verdict::kInvalid);
  EXPECT_EQ(Reason(h, InvalidReason::kIcmpChecksum), 2u);
  EXPECT_EQ(Reason(h, InvalidReason::kIcmpHeader), 0u);
  EXPECT_TRUE(StatsAre(h.stats(), {.error = 2}));
}

// A header fault with a correct checksum keeps the header reason.
TEST(EngineChecksum, BadFlagsWithGoodChecksumStayTcpHeader) {
  Harness h;
  EXPECT_EQ(h.Send(Tcp(kTcp4, 1, 0, tcpflag::kSyn | tcpflag::kFin), 0),
            Verdict::kInvalid);
  EXPECT_EQ(Reason(h, InvalidReason::kTcpHeader), 1u);
  EXPECT_EQ(Reason(h, InvalidReason::kTcpChecksum), 0u);
}

// A handshake and a DNS exchange, over IPv4 and IPv6, every packet carrying
// an offload partial checksum: tracked as with complete ones (the end host's
// kernel tracked them so: tests/field), and each counted.
TEST(EngineChecksum, OffloadPartialChecksumsAreTrackedAndCounted) {
  Harness h;
  int sent = 0;
  for (const auto& [tcp, udp] : {std::pair{kTcp4, kUdp4}, {kTcp6, kUdp6}}) {
    EXPECT_EQ(h.Send(Partial(Tcp(tcp, 100, 0, tcpflag::kSyn)), 0),
              Verdict::kNew);
    EXPECT_EQ(h.Send(Partial(Tcp(tcp.Reversed(), 500, 101,
                                 tcpflag::kSyn | tcpflag::kAck)),
                     0.001),
              Verdict::kEstablished);
    EXPECT_EQ(h.Send(Partial(Tcp(tcp, 101, 501, tcpflag::kAck)), 0.002),
              Verdict::kEstablished);
    EXPECT_TRUE(
        h.FlowIs(TcpTuple(tcp), {"ESTABLISHED", 432000, kAssured, kReplied}));
    EXPECT_EQ(h.Send(Partial(Udp(udp, 40)), 0.003), Verdict::kNew);
    EXPECT_EQ(h.Send(Partial(Udp(udp.Reversed(), 60)), 0.004),
              Verdict::kEstablished);
    EXPECT_TRUE(h.FlowIs(UdpTuple(udp), {nullptr, 30, kNotAssured, kReplied}));
    sent += 5;
  }
  EXPECT_EQ(h.counters().offload_checksums, static_cast<uint64_t>(sent));
  EXPECT_TRUE(StatsAre(h.stats(), {}));
  EXPECT_EQ(h.count(), 4u);
}

// Complete checksums are not counted as offload ones; with checksums not
// verified nothing is looked at, so nothing is counted.
TEST(EngineChecksum, OffloadCountOnlyForPartialChecksumsBeingVerified) {
  {
    Harness h;
    EXPECT_EQ(h.Send(Tcp(kTcp4, 1, 0, tcpflag::kSyn), 0), Verdict::kNew);
    EXPECT_EQ(h.Send(Udp(kUdp6), 0), Verdict::kNew);
    EXPECT_EQ(h.counters().offload_checksums, 0u);
  }
  {
    Tunables t;
    t.checksum = 0;
    Harness h(t);
    EXPECT_EQ(h.Send(Partial(Tcp(kTcp4, 1, 0, tcpflag::kSyn)), 0),
              Verdict::kNew);
    EXPECT_EQ(h.Send(Corrupt(Udp(kUdp6)), 0), Verdict::kNew);
    EXPECT_EQ(h.counters().offload_checksums, 0u);
    EXPECT_TRUE(StatsAre(h.stats(), {}));
  }
}

// Lanes' counts are summed: the same with worker threads as with one.
TEST(EngineChecksum, OffloadCountIsTheSameWithThreads) {
  std::vector<Bytes> pkts;
  for (uint16_t i = 0; i < 4000; ++i) {
    Endpoints ep = kUdp4;
    ep.sport = static_cast<uint16_t>(10000 + i);
    pkts.push_back(Partial(Udp(ep)));
    if (i % 2) pkts.push_back(Udp(ep.Reversed()));  // complete: not counted
  }
  std::vector<PacketView> views(pkts.size());
  std::vector<uint64_t> ts(pkts.size());
  for (size_t i = 0; i < pkts.size(); ++i) {
    ASSERT_EQ(DecodeIp(pkts[i].data(), static_cast<uint32_t>(pkts[i].size()),
                       &views[i]),
              DecodeStatus::kOk);
    ts[i] = AtNs(0.0001 * static_cast<double>(i));
  }
  for (unsigned threads : {1u, 2u}) {
    EngineOptions o = TestOptions();
    o.threads = threads;
    o.min_parallel_stretch = 2;
    auto e = Engine::Create(Tunables{}, o);
    ASSERT_TRUE(e.has_value());
    std::vector<Verdict> v(views.size());
    (*e)->ProcessBatch(views.data(), ts.data(), views.size(), v.data());
    EXPECT_EQ((*e)->counters().offload_checksums, 4000u) << threads;
    if (threads > 1) {
      EXPECT_GT((*e)->counters().parallel_packets, 0u);
    }
  }
}

}  // namespace
}  // namespace ctkit
