// Builder tests compare against packets written out by hand, and check L4
// checksums with the verifier (whose own tests use independent sums).
#include "gen/packet_builder.h"

#include <gtest/gtest.h>

#include <vector>

#include "ctkit/decode.h"
#include "net/checksum.h"

namespace ctkit {
namespace {

Endpoints V4(uint16_t sport, uint16_t dport) {
  return {Family::kIPv4, Ipv4(192, 168, 1, 2), Ipv4(10, 0, 0, 1), sport, dport};
}

Endpoints V6(uint16_t sport, uint16_t dport) {
  Endpoints ep;
  ep.family = Family::kIPv6;
  ep.src = *ParseAddress("2001:db8::1", nullptr);
  ep.dst = *ParseAddress("2001:db8::2", nullptr);
  ep.sport = sport;
  ep.dport = dport;
  return ep;
}

// Decodes a raw IP packet and checks its L4 checksum.
bool DecodesWithValidChecksum(const std::vector<uint8_t>& pkt, PacketView* v) {
  return DecodeFrame(linktype::kRaw, pkt.data(),
                     static_cast<uint32_t>(pkt.size()),
                     v) == DecodeStatus::kOk &&
         L4ChecksumValid(*v);
}

TEST(PacketBuilder, TcpSynMatchesHandWrittenPacket) {
  // Same packet as kTcp4 in net/checksum_test.cc: IPv4 checksum 0xaf25,
  // TCP checksum 0xb3ad.
  const std::vector<uint8_t> expected = {
      0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x00, 0x40, 0x06,
      0xaf, 0x25, 0xc0, 0xa8, 0x01, 0x02, 0x0a, 0x00, 0x00, 0x01,
      0x30, 0x39, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
      0x00, 0x00, 0x50, 0x02, 0xff, 0xff, 0xb3, 0xad, 0x00, 0x00,
  };
  std::vector<uint8_t> out = {0xee};  // appends after existing bytes
  EXPECT_EQ(BuildTcp(V4(12345, 80), 1, 0, tcpflag::kSyn, 65535, 0, {}, &out),
            40u);
  ASSERT_EQ(out.size(), 41u);
  EXPECT_EQ(out[0], 0xee);
  EXPECT_EQ(std::vector<uint8_t>(out.begin() + 1, out.end()), expected);
}

TEST(PacketBuilder, TcpOptionsInDocumentedOrderPaddedWithNops) {
  TcpOptions opts;
  opts.mss = 1460;
  opts.sack_perm = true;
  opts.wscale = 7;
  std::vector<uint8_t> out;
  EXPECT_EQ(BuildTcp(V4(1, 2), 100, 0, tcpflag::kSyn, 29200, 0, opts, &out),
            52u);
  EXPECT_EQ(out[32], 0x80);  // data offset 8 words
  const std::vector<uint8_t> expected_opts = {2, 4, 0x05, 0xb4, 4, 2,
                                              3, 3, 7,    1,    1, 1};
  EXPECT_EQ(std::vector<uint8_t>(out.begin() + 40, out.end()), expected_opts);
  PacketView v{};
  EXPECT_TRUE(DecodesWithValidChecksum(out, &v));
  EXPECT_EQ(v.l4_len, 32u);
}

TEST(PacketBuilder, TcpSackBlocksAreCappedToOptionSpace) {
  TcpOptions opts;
  opts.mss = 1460;  // 4 bytes, leaving room for 4 blocks (2 + 32)
  for (uint32_t i = 0; i < 5; ++i) opts.sack.emplace_back(i * 10, i * 10 + 5);
  std::vector<uint8_t> out;
  BuildTcp(V6(1, 2), 1, 1, tcpflag::kAck, 100, 10, opts, &out);
  // IPv6 40 + TCP 20 + options 4 + 34 + 2 NOPs + payload 10.
  ASSERT_EQ(out.size(), 110u);
  EXPECT_EQ(out[40 + 12], 0xf0);       // data offset 15 words
  EXPECT_EQ(out[64], 5);               // SACK kind
  EXPECT_EQ(out[65], 34);              // 2 + 8 * 4
  EXPECT_EQ(out[66 + 4 * 8 - 1], 35);  // right edge of the 4th block
  EXPECT_EQ(out[98], 1);
  EXPECT_EQ(out[99], 1);
  PacketView v{};
  EXPECT_TRUE(DecodesWithValidChecksum(out, &v));
  EXPECT_EQ(v.l4_len, 70u);
}

TEST(PacketBuilder, Udp6HasKnownChecksum) {
  std::vector<uint8_t> out;
  EXPECT_EQ(BuildUdp(V6(5353, 53), 3, &out), 51u);
  EXPECT_EQ(out[0], 0x60);
  EXPECT_EQ(out[5], 11);  // payload length
  EXPECT_EQ(out[6], 17);
  EXPECT_EQ(out[7], 64);  // hop limit
  EXPECT_EQ(out[44], 0);
  EXPECT_EQ(out[45], 11);  // UDP length
  EXPECT_EQ(out[46], 0x8f);
  EXPECT_EQ(out[47], 0x45);  // computed independently
}

TEST(PacketBuilder, UdpLiteCoversWholePacket) {
  std::vector<uint8_t> out;
  BuildUdp(V4(1000, 2000), 5, &out, ipproto::kUdpLite);
  EXPECT_EQ(out[9], 136);
  EXPECT_EQ(out[24], 0);
  EXPECT_EQ(out[25], 0);  // coverage 0 = everything
  PacketView v{};
  EXPECT_TRUE(DecodesWithValidChecksum(out, &v));
  out[32] = 1;  // a covered payload byte
  EXPECT_FALSE(L4ChecksumValid(v));
}

TEST(PacketBuilder, IcmpEcho) {
  std::vector<uint8_t> out;
  EXPECT_EQ(BuildIcmpEcho(Family::kIPv4, Ipv4(10, 0, 0, 1), Ipv4(10, 0, 0, 2),
                          true, 0x1234, 7, &out),
            28u);
  EXPECT_EQ(out[9], 1);
  EXPECT_EQ(out[20], 8);
  EXPECT_EQ(out[24], 0x12);
  EXPECT_EQ(out[25], 0x34);
  EXPECT_EQ(out[27], 7);
  PacketView v{};
  EXPECT_TRUE(DecodesWithValidChecksum(out, &v));

  out.clear();
  const Endpoints ep = V6(0, 0);
  BuildIcmpEcho(Family::kIPv6, ep.src, ep.dst, false, 1, 2, &out);
  EXPECT_EQ(out[6], 58);
  EXPECT_EQ(out[40], 129);
  EXPECT_TRUE(DecodesWithValidChecksum(out, &v));
  EXPECT_EQ(v.l4_proto, 58);
}

TEST(PacketBuilder, Icmp4ErrorQuotesHeaderPlusEightBytes) {
  std::vector<uint8_t> quoted;
  BuildUdp(V4(5000, 53), 100, &quoted);
  std::vector<uint8_t> out;
  EXPECT_EQ(BuildIcmpError(Family::kIPv4, Ipv4(10, 0, 0, 1),
                           Ipv4(192, 168, 1, 2), 3, 3, quoted, &out),
            20u + 8u + 28u);
  EXPECT_EQ(out[20], 3);
  EXPECT_EQ(out[21], 3);
  EXPECT_EQ(std::vector<uint8_t>(out.begin() + 28, out.end()),
            std::vector<uint8_t>(quoted.begin(), quoted.begin() + 28));
  PacketView v{};
  EXPECT_TRUE(DecodesWithValidChecksum(out, &v));
}

TEST(PacketBuilder, Icmp6ErrorFitsMinimumMtu) {
  const Endpoints ep = V6(1, 2);
  std::vector<uint8_t> quoted;
  BuildUdp(ep, 2000, &quoted);
  std::vector<uint8_t> out;
  EXPECT_EQ(BuildIcmpError(Family::kIPv6, ep.dst, ep.src, 1, 4, quoted, &out),
            1280u);
  PacketView v{};
  EXPECT_TRUE(DecodesWithValidChecksum(out, &v));
  EXPECT_EQ(v.l4_len, 1240u);

  // A short packet is quoted whole.
  quoted.clear();
  out.clear();
  BuildUdp(ep, 0, &quoted);
  EXPECT_EQ(BuildIcmpError(Family::kIPv6, ep.dst, ep.src, 1, 4, quoted, &out),
            40u + 8u + 48u);
}

TEST(PacketBuilder, GenericAndOversize) {
  std::vector<uint8_t> out;
  EXPECT_EQ(BuildGeneric(Family::kIPv4, Ipv4(1, 1, 1, 1), Ipv4(2, 2, 2, 2), 47,
                         4, &out),
            24u);
  EXPECT_EQ(out[9], 47);
  EXPECT_EQ(out[8], 64);
  EXPECT_EQ(out[3], 24);
  // Too big for IPv4: nothing is appended.
  EXPECT_EQ(BuildGeneric(Family::kIPv4, Ipv4(1, 1, 1, 1), Ipv4(2, 2, 2, 2), 47,
                         65516, &out),
            0u);
  EXPECT_EQ(BuildUdp(V4(1, 2), 70000, &out), 0u);
  EXPECT_EQ(out.size(), 24u);
}

TEST(PacketBuilder, WrapEthernetWithTwoTags) {
  std::vector<uint8_t> ip;
  BuildUdp(V6(1, 2), 0, &ip);
  std::vector<uint8_t> frame;
  EXPECT_EQ(WrapEthernet(ip, 2, &frame), 14u + 8u + 48u);
  EXPECT_EQ(frame[12], 0x88);
  EXPECT_EQ(frame[13], 0xa8);
  EXPECT_EQ(frame[16], 0x81);
  EXPECT_EQ(frame[17], 0x00);
  EXPECT_EQ(frame[20], 0x86);
  EXPECT_EQ(frame[21], 0xdd);
  PacketView v{};
  ASSERT_EQ(DecodeFrame(linktype::kEthernet, frame.data(),
                        static_cast<uint32_t>(frame.size()), &v),
            DecodeStatus::kOk);
  EXPECT_EQ(v.family, Family::kIPv6);
  EXPECT_EQ(v.l4_proto, 17);
}

TEST(PacketBuilder, ParseAddress) {
  Family f = Family::kIPv6;
  auto a = ParseAddress("10.1.2.3", &f);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(f, Family::kIPv4);
  EXPECT_EQ(*a, Ipv4(10, 1, 2, 3));
  EXPECT_EQ(*a, Ipv4(0x0a010203u));
  EXPECT_EQ(a->bytes[4], 0);

  a = ParseAddress("2001:db8::ff", &f);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(f, Family::kIPv6);
  EXPECT_EQ(a->bytes[0], 0x20);
  EXPECT_EQ(a->bytes[3], 0xb8);
  EXPECT_EQ(a->bytes[15], 0xff);

  EXPECT_FALSE(ParseAddress("1.2.3", &f).has_value());
  EXPECT_FALSE(ParseAddress("10.0.0.256", &f).has_value());
  EXPECT_FALSE(ParseAddress("", &f).has_value());
  EXPECT_FALSE(ParseAddress("2001:db8::1::2", nullptr).has_value());
}

}  // namespace
}  // namespace ctkit
