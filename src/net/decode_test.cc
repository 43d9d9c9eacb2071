// Decoder tests: hand-written frames for every link type, IPv4 edge cases
// (snaplen cut, padding, options, fragments, bad headers) and IPv6 extension
// header walks, each with an exact expected status and field values.
#include "ctkit/decode.h"

#include <gtest/gtest.h>

#include <cstring>
#include <initializer_list>
#include <vector>

#include "gen/packet_builder.h"

namespace ctkit {
namespace {

// 192.168.1.2:12345 -> 10.0.0.1:80, TCP SYN (see checksum_test.cc).
const std::vector<uint8_t> kTcp4 = {
    0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x00, 0x40, 0x06,
    0xaf, 0x25, 0xc0, 0xa8, 0x01, 0x02, 0x0a, 0x00, 0x00, 0x01,
    0x30, 0x39, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x50, 0x02, 0xff, 0xff, 0xb3, 0xad, 0x00, 0x00,
};

DecodeStatus Decode(uint32_t link, const std::vector<uint8_t>& frame,
                    PacketView* v) {
  return DecodeFrame(link, frame.data(), static_cast<uint32_t>(frame.size()),
                     v);
}

std::vector<uint8_t> Concat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// An IPv6 packet 2001:db8::1 -> 2001:db8::2 whose header says next header
// `next`, followed by `rest` (extension headers + L4), payload length =
// rest.size() unless given.
std::vector<uint8_t> Ipv6(uint8_t next, const std::vector<uint8_t>& rest,
                          int payload_len = -1) {
  const uint32_t plen = payload_len < 0 ? static_cast<uint32_t>(rest.size())
                                        : static_cast<uint32_t>(payload_len);
  std::vector<uint8_t> p = {0x60,
                            0,
                            0,
                            0,
                            static_cast<uint8_t>(plen >> 8),
                            static_cast<uint8_t>(plen),
                            next,
                            33};
  const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                           0,    0,    0,    0,    0, 0, 0, 1};
  p.insert(p.end(), src, src + 16);
  p.insert(p.end(), src, src + 15);
  p.push_back(2);
  p.insert(p.end(), rest.begin(), rest.end());
  return p;
}

// 8 bytes of a UDP header 1 -> 2, length 8, checksum left 0.
const std::vector<uint8_t> kUdpHeader = {0, 1, 0, 2, 0, 8, 0, 0};

// A generic 8-byte extension header (hop-by-hop, routing, dest options).
std::vector<uint8_t> Ext8(uint8_t next) { return {next, 0, 1, 4, 0, 0, 0, 0}; }

std::vector<uint8_t> FragmentHeader(uint8_t next, uint16_t offset_units,
                                    bool more) {
  const uint16_t v =
      static_cast<uint16_t>((offset_units << 3) | (more ? 1 : 0));
  return {
      next, 0,   static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v), 0, 0,
      0xab, 0xcd};
}

TEST(Decode, RawIpv4TcpFields) {
  PacketView v{};
  ASSERT_EQ(Decode(linktype::kRaw, kTcp4, &v), DecodeStatus::kOk);
  EXPECT_EQ(v.family, Family::kIPv4);
  EXPECT_EQ(v.l4_proto, 6);
  EXPECT_EQ(v.hop_limit, 64);
  EXPECT_FALSE(v.is_fragment);
  EXPECT_FALSE(v.first_fragment);
  EXPECT_EQ(v.src, Ipv4(192, 168, 1, 2));
  EXPECT_EQ(v.dst, Ipv4(10, 0, 0, 1));
  EXPECT_EQ(v.ip_len, 40u);
  EXPECT_EQ(v.l4, kTcp4.data() + 20);
  EXPECT_EQ(v.l4_len, 20u);
  EXPECT_EQ(v.l4_caplen, 20u);
}

TEST(Decode, Ipv4OptionsAreSkipped) {
  // IHL 6: one 4-byte option (NOP x3, EOL) before the TCP header.
  std::vector<uint8_t> p = kTcp4;
  p[0] = 0x46;
  p[3] = 44;
  p.insert(p.begin() + 20, {1, 1, 1, 0});
  PacketView v{};
  ASSERT_EQ(Decode(linktype::kIpv4, p, &v), DecodeStatus::kOk);
  EXPECT_EQ(v.l4, p.data() + 24);
  EXPECT_EQ(v.l4[0], 0x30);
  EXPECT_EQ(v.l4_len, 20u);
}

TEST(Decode, SnaplenCutKeepsClaimedLength) {
  const std::vector<uint8_t> cut(kTcp4.begin(), kTcp4.begin() + 30);
  PacketView v{};
  ASSERT_EQ(Decode(linktype::kRaw, cut, &v), DecodeStatus::kOk);
  EXPECT_EQ(v.ip_len, 40u);
  EXPECT_EQ(v.l4_len, 20u);
  EXPECT_EQ(v.l4_caplen, 10u);
}

TEST(Decode, EthernetPaddingIsIgnored) {
  std::vector<uint8_t> frame;
  WrapEthernet(kTcp4, 0, &frame);
  frame.resize(60, 0);  // minimum Ethernet frame without FCS
  PacketView v{};
  ASSERT_EQ(Decode(linktype::kEthernet, frame, &v), DecodeStatus::kOk);
  EXPECT_EQ(v.l4, frame.data() + 34);
  EXPECT_EQ(v.l4_len, 20u);
  EXPECT_EQ(v.l4_caplen, 20u);
}

TEST(Decode, EthernetVlanStacks) {
  const std::vector<uint8_t> macs(12, 0x02);
  for (const auto& tags : std::vector<std::vector<uint8_t>>{
           {},
           {0x81, 0x00, 0x00, 0x64},
           {0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x64},
           {0x91, 0x00, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x64},
           {0x88, 0xa8, 0, 1, 0x91, 0x00, 0, 2, 0x81, 0x00, 0, 3}}) {
    const auto frame = Concat({macs, tags, {0x08, 0x00}, kTcp4});
    PacketView v{};
    ASSERT_EQ(Decode(linktype::kEthernet, frame, &v), DecodeStatus::kOk)
        << tags.size();
    EXPECT_EQ(v.l4, frame.data() + 14 + tags.size() + 20);
    EXPECT_EQ(v.src, Ipv4(192, 168, 1, 2));
  }
}

TEST(Decode, EthernetTruncationAndNonIp) {
  PacketView v{};
  const std::vector<uint8_t> macs(12, 0x02);
  EXPECT_EQ(Decode(linktype::kEthernet, std::vector<uint8_t>(13, 0), &v),
            DecodeStatus::kTruncatedLink);
  // A VLAN tag with no room for the inner type.
  EXPECT_EQ(
      Decode(linktype::kEthernet, Concat({macs, {0x81, 0, 0, 1, 0x08}}), &v),
      DecodeStatus::kTruncatedLink);
  // ARP.
  EXPECT_EQ(
      Decode(linktype::kEthernet, Concat({macs, {0x08, 0x06}, kTcp4}), &v),
      DecodeStatus::kNotIp);
  // IPv4 ethertype with nothing after it.
  EXPECT_EQ(Decode(linktype::kEthernet, Concat({macs, {0x08, 0x00}}), &v),
            DecodeStatus::kTruncatedIp);
  // IPv6 ethertype over an IPv4 packet.
  EXPECT_EQ(
      Decode(linktype::kEthernet, Concat({macs, {0x86, 0xdd}, kTcp4}), &v),
      DecodeStatus::kBadIpHeader);
}

TEST(Decode, LinuxCookedV1AndV2) {
  // SLL: packet type, ARPHRD, addr len, 8 address bytes, protocol.
  const std::vector<uint8_t> sll = {0, 0, 0, 1, 0, 6, 1,    2,
                                    3, 4, 5, 6, 0, 0, 0x08, 0x00};
  PacketView v{};
  auto frame = Concat({sll, kTcp4});
  ASSERT_EQ(Decode(linktype::kLinuxSll, frame, &v), DecodeStatus::kOk);
  EXPECT_EQ(v.l4, frame.data() + 36);
  EXPECT_EQ(Decode(linktype::kLinuxSll, std::vector<uint8_t>(15, 0), &v),
            DecodeStatus::kTruncatedLink);

  // SLL2: protocol, reserved, ifindex, ARPHRD, type, addr len, 8 address.
  std::vector<uint8_t> sll2 = {0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1,
                               0,    6,    1, 2, 3, 4, 5, 6, 0, 0};
  frame = Concat({sll2, kTcp4});
  ASSERT_EQ(Decode(linktype::kLinuxSll2, frame, &v), DecodeStatus::kOk);
  EXPECT_EQ(v.l4, frame.data() + 40);
  sll2[0] = 0x08;
  sll2[1] = 0x06;  // ARP
  EXPECT_EQ(Decode(linktype::kLinuxSll2, Concat({sll2, kTcp4}), &v),
            DecodeStatus::kNotIp);
  EXPECT_EQ(Decode(linktype::kLinuxSll2, std::vector<uint8_t>(19, 0), &v),
            DecodeStatus::kTruncatedLink);
}

TEST(Decode, BsdNullAndLoop) {
  PacketView v{};
  // Null, little-endian host, AF_INET.
  ASSERT_EQ(Decode(linktype::kNull, Concat({{2, 0, 0, 0}, kTcp4}), &v),
            DecodeStatus::kOk);
  EXPECT_EQ(v.family, Family::kIPv4);
  // Null, big-endian host, AF_INET.
  EXPECT_EQ(Decode(linktype::kNull, Concat({{0, 0, 0, 2}, kTcp4}), &v),
            DecodeStatus::kOk);
  const auto udp6 = Ipv6(17, kUdpHeader);
  for (const uint8_t af : std::vector<uint8_t>{24, 28, 30}) {
    ASSERT_EQ(Decode(linktype::kNull, Concat({{af, 0, 0, 0}, udp6}), &v),
              DecodeStatus::kOk)
        << int{af};
    EXPECT_EQ(v.family, Family::kIPv6);
  }
  EXPECT_EQ(Decode(linktype::kNull, Concat({{7, 0, 0, 0}, kTcp4}), &v),
            DecodeStatus::kNotIp);
  EXPECT_EQ(Decode(linktype::kNull, std::vector<uint8_t>{2, 0, 0}, &v),
            DecodeStatus::kTruncatedLink);
  // Loop: always big-endian.
  ASSERT_EQ(Decode(linktype::kLoop, Concat({{0, 0, 0, 24}, udp6}), &v),
            DecodeStatus::kOk);
  EXPECT_EQ(v.family, Family::kIPv6);
  EXPECT_EQ(Decode(linktype::kLoop, Concat({{2, 0, 0, 0}, kTcp4}), &v),
            DecodeStatus::kNotIp);
}

TEST(Decode, RawAndTypedIpLinks) {
  PacketView v{};
  const auto udp6 = Ipv6(17, kUdpHeader);
  EXPECT_EQ(Decode(linktype::kRaw, udp6, &v), DecodeStatus::kOk);
  EXPECT_EQ(Decode(linktype::kIpv6, udp6, &v), DecodeStatus::kOk);
  EXPECT_EQ(Decode(linktype::kIpv4, udp6, &v), DecodeStatus::kBadIpHeader);
  EXPECT_EQ(Decode(linktype::kIpv6, kTcp4, &v), DecodeStatus::kBadIpHeader);
  std::vector<uint8_t> v5 = kTcp4;
  v5[0] = 0x55;
  EXPECT_EQ(Decode(linktype::kRaw, v5, &v), DecodeStatus::kNotIp);
  EXPECT_EQ(Decode(linktype::kRaw, {}, &v), DecodeStatus::kTruncatedIp);
  EXPECT_EQ(Decode(147, kTcp4, &v), DecodeStatus::kUnsupportedLinkType);
}

TEST(Decode, BadIpv4Headers) {
  PacketView v{};
  std::vector<uint8_t> p = kTcp4;
  p[0] = 0x44;  // IHL 4
  EXPECT_EQ(Decode(linktype::kRaw, p, &v), DecodeStatus::kBadIpHeader);
  p = kTcp4;
  p[3] = 19;  // total length shorter than the header
  EXPECT_EQ(Decode(linktype::kRaw, p, &v), DecodeStatus::kBadIpHeader);
  p = kTcp4;
  p[0] = 0x4f;  // IHL 15 = 60 bytes, only 40 captured
  EXPECT_EQ(Decode(linktype::kRaw, p, &v), DecodeStatus::kTruncatedIp);
  p.resize(19);
  EXPECT_EQ(Decode(linktype::kRaw, p, &v), DecodeStatus::kTruncatedIp);
}

TEST(Decode, Ipv4Fragments) {
  PacketView v{};
  std::vector<uint8_t> p = kTcp4;
  p[6] = 0x20;  // MF, offset 0
  ASSERT_EQ(Decode(linktype::kRaw, p, &v), DecodeStatus::kOk);
  EXPECT_TRUE(v.is_fragment);
  EXPECT_TRUE(v.first_fragment);
  EXPECT_EQ(v.l4_proto, 6);

  p[6] = 0x00;
  p[7] = 0xb9;  // offset 185 * 8, last fragment
  ASSERT_EQ(Decode(linktype::kRaw, p, &v), DecodeStatus::kNonFirstFragment);
  EXPECT_TRUE(v.is_fragment);
  EXPECT_FALSE(v.first_fragment);
  EXPECT_EQ(v.src, Ipv4(192, 168, 1, 2));  // still filled in

  p[6] = 0x40;
  p[7] = 0x00;  // DF only: not a fragment
  ASSERT_EQ(Decode(linktype::kRaw, p, &v), DecodeStatus::kOk);
  EXPECT_FALSE(v.is_fragment);
  EXPECT_FALSE(v.first_fragment);
}

TEST(Decode, Ipv6PlainUdp) {
  const auto p = Ipv6(17, Concat({kUdpHeader, {9, 9}}));
  PacketView v{};
  ASSERT_EQ(Decode(linktype::kRaw, p, &v), DecodeStatus::kOk);
  EXPECT_EQ(v.family, Family::kIPv6);
  EXPECT_EQ(v.l4_proto, 17);
  EXPECT_EQ(v.hop_limit, 33);
  EXPECT_EQ(v.src.bytes[0], 0x20);
  EXPECT_EQ(v.src.bytes[15], 1);
  EXPECT_EQ(v.dst.bytes[15], 2);
  EXPECT_EQ(v.ip_len, 50u);
  EXPECT_EQ(v.l4, p.data() + 40);
  EXPECT_EQ(v.l4_len, 10u);
  EXPECT_EQ(v.l4_caplen, 10u);
}

TEST(Decode, Ipv6ExtensionChain) {
  // Hop-by-hop, routing (16 bytes), destination options, then UDP.
  std::vector<uint8_t> routing = {60, 1, 0, 0, 0, 0, 0, 0};
  routing.resize(16, 0);
  const auto p = Ipv6(0, Concat({Ext8(43), routing, Ext8(17), kUdpHeader}));
  PacketView v{};
  ASSERT_EQ(Decode(linktype::kRaw, p, &v), DecodeStatus::kOk);
  EXPECT_EQ(v.l4_proto, 17);
  EXPECT_EQ(v.l4, p.data() + 40 + 32);
  EXPECT_EQ(v.l4_len, 8u);
}

TEST(Decode, Ipv6AuthenticationHeaderLength) {
  // AH payload length 4 => (4 + 2) * 4 = 24 bytes.
  std::vector<uint8_t> ah = {6, 4};
  ah.resize(24, 0);
  const auto p = Ipv6(51, Concat({ah, std::vector<uint8_t>(20, 0)}));
  PacketView v{};
  ASSERT_EQ(Decode(linktype::kRaw, p, &v), DecodeStatus::kOk);
  EXPECT_EQ(v.l4_proto, 6);
  EXPECT_EQ(v.l4, p.data() + 64);
  EXPECT_EQ(v.l4_len, 20u);
}

TEST(Decode, Ipv6Fragments) {
  PacketView v{};
  // First fragment: offset 0, M set.
  auto p = Ipv6(44, Concat({FragmentHeader(17, 0, true), kUdpHeader}));
  ASSERT_EQ(Decode(linktype::kRaw, p, &v), DecodeStatus::kOk);
  EXPECT_TRUE(v.is_fragment);
  EXPECT_TRUE(v.first_fragment);
  EXPECT_EQ(v.l4_proto, 17);
  EXPECT_EQ(v.l4, p.data() + 48);

  // Later fragment.
  p = Ipv6(0, Concat({Ext8(44), FragmentHeader(17, 100, false), {1, 2, 3}}));
  ASSERT_EQ(Decode(linktype::kRaw, p, &v), DecodeStatus::kNonFirstFragment);
  EXPECT_TRUE(v.is_fragment);
  EXPECT_FALSE(v.first_fragment);
  EXPECT_EQ(v.l4_proto, 17);

  // Atomic fragment (offset 0, M clear): a whole packet.
  p = Ipv6(44, Concat({FragmentHeader(17, 0, false), kUdpHeader}));
  ASSERT_EQ(Decode(linktype::kRaw, p, &v), DecodeStatus::kOk);
  EXPECT_FALSE(v.is_fragment);
  EXPECT_FALSE(v.first_fragment);
}

TEST(Decode, Ipv6NoNextHeaderAndEsp) {
  PacketView v{};
  auto p = Ipv6(60, Concat({Ext8(59), {0xde, 0xad}}));
  ASSERT_EQ(Decode(linktype::kRaw, p, &v), DecodeStatus::kOk);
  EXPECT_EQ(v.l4_proto, 59);
  EXPECT_EQ(v.l4_len, 0u);
  EXPECT_EQ(v.l4_caplen, 0u);

  p = Ipv6(50, std::vector<uint8_t>(16, 0x55));
  ASSERT_EQ(Decode(linktype::kRaw, p, &v), DecodeStatus::kOk);
  EXPECT_EQ(v.l4_proto, 50);
  EXPECT_EQ(v.l4_len, 16u);
}

TEST(Decode, Ipv6BadChains) {
  PacketView v{};
  // 17 destination-options headers: over the limit of 16.
  std::vector<uint8_t> chain;
  for (int i = 0; i < 17; ++i) {
    const auto e = Ext8(i == 16 ? 17 : 60);
    chain.insert(chain.end(), e.begin(), e.end());
  }
  EXPECT_EQ(Decode(linktype::kRaw, Ipv6(60, Concat({chain, kUdpHeader})), &v),
            DecodeStatus::kBadIpv6ExtHeader);
  // 16 are fine.
  chain.erase(chain.begin(), chain.begin() + 8);
  EXPECT_EQ(Decode(linktype::kRaw, Ipv6(60, Concat({chain, kUdpHeader})), &v),
            DecodeStatus::kOk);
  EXPECT_EQ(v.l4_proto, 17);

  // A routing header claiming 16 bytes inside an 8-byte payload.
  std::vector<uint8_t> routing = {17, 1, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(Decode(linktype::kRaw, Ipv6(43, routing), &v),
            DecodeStatus::kBadIpv6ExtHeader);
  // The same header within the claimed payload but past the capture.
  EXPECT_EQ(Decode(linktype::kRaw, Ipv6(43, routing, 24), &v),
            DecodeStatus::kTruncatedIp);
  // Payload length 0 (jumbogram).
  EXPECT_EQ(Decode(linktype::kRaw, Ipv6(17, kUdpHeader, 0), &v),
            DecodeStatus::kBadIpHeader);
  // Fewer than 40 bytes.
  auto p = Ipv6(17, kUdpHeader);
  p.resize(39);
  EXPECT_EQ(Decode(linktype::kRaw, p, &v), DecodeStatus::kTruncatedIp);
}

TEST(Decode, Ipv6SnaplenCutAndPadding) {
  PacketView v{};
  auto p = Ipv6(17, Concat({kUdpHeader, std::vector<uint8_t>(100, 0)}));
  p.resize(60);
  ASSERT_EQ(Decode(linktype::kRaw, p, &v), DecodeStatus::kOk);
  EXPECT_EQ(v.l4_len, 108u);
  EXPECT_EQ(v.l4_caplen, 20u);

  p = Ipv6(17, kUdpHeader);
  p.resize(p.size() + 6, 0);  // trailing link padding
  ASSERT_EQ(Decode(linktype::kRaw, p, &v), DecodeStatus::kOk);
  EXPECT_EQ(v.l4_len, 8u);
  EXPECT_EQ(v.l4_caplen, 8u);
}

TEST(Decode, EmbeddedQuoteLongerThanItsBytes) {
  // An ICMP error quotes 20 + 8 bytes of a 1000-byte UDP packet.
  std::vector<uint8_t> q = {0x45, 0, 0x03, 0xe8, 0, 0, 0,  0, 64, 17,
                            0,    0, 10,   0,    0, 1, 10, 0, 0,  2};
  q.insert(q.end(), kUdpHeader.begin(), kUdpHeader.end());
  PacketView v{};
  ASSERT_EQ(DecodeIp(q.data(), static_cast<uint32_t>(q.size()), &v, true),
            DecodeStatus::kOk);
  EXPECT_EQ(v.l4_proto, 17);
  EXPECT_EQ(v.ip_len, 1000u);
  EXPECT_EQ(v.l4_len, 980u);
  EXPECT_EQ(v.l4_caplen, 8u);
  EXPECT_EQ(v.dst, Ipv4(10, 0, 0, 2));
  // Only the IP header is required.
  EXPECT_EQ(DecodeIp(q.data(), 20, &v, true), DecodeStatus::kOk);
  EXPECT_EQ(v.l4_caplen, 0u);
  EXPECT_EQ(DecodeIp(q.data(), 19, &v, true), DecodeStatus::kTruncatedIp);
  q[0] = 0x75;
  EXPECT_EQ(DecodeIp(q.data(), 28, &v, true), DecodeStatus::kBadIpHeader);
}

TEST(Decode, StatusNames) {
  EXPECT_STREQ(DecodeStatusName(DecodeStatus::kOk), "ok");
  EXPECT_STREQ(DecodeStatusName(DecodeStatus::kUnsupportedLinkType),
               "unsupported-link-type");
  EXPECT_STREQ(DecodeStatusName(DecodeStatus::kTruncatedLink),
               "truncated-link");
  EXPECT_STREQ(DecodeStatusName(DecodeStatus::kNotIp), "non-ip");
  EXPECT_STREQ(DecodeStatusName(DecodeStatus::kTruncatedIp), "truncated-ip");
  EXPECT_STREQ(DecodeStatusName(DecodeStatus::kBadIpHeader), "bad-ip-header");
  EXPECT_STREQ(DecodeStatusName(DecodeStatus::kBadIpv6ExtHeader),
               "bad-ipv6-ext-header");
  EXPECT_STREQ(DecodeStatusName(DecodeStatus::kNonFirstFragment),
               "non-first-fragment");
}

TEST(Decode, BuiltPacketsRoundTrip) {
  Endpoints ep{Family::kIPv6, *ParseAddress("fe80::1", nullptr),
               *ParseAddress("fe80::2", nullptr), 40000, 443};
  std::vector<uint8_t> ip;
  BuildTcp(ep, 7, 9, tcpflag::kAck | tcpflag::kPsh, 512, 100, {}, &ip);
  std::vector<uint8_t> frame;
  WrapEthernet(ip, 1, &frame);
  PacketView v{};
  ASSERT_EQ(Decode(linktype::kEthernet, frame, &v), DecodeStatus::kOk);
  EXPECT_EQ(v.src, ep.src);
  EXPECT_EQ(v.dst, ep.dst);
  EXPECT_EQ(v.l4_proto, 6);
  EXPECT_EQ(v.hop_limit, 64);
  EXPECT_EQ(v.ip_len, 160u);
  EXPECT_EQ(v.l4_len, 120u);
  EXPECT_EQ(v.l4[0], 40000 >> 8);
  EXPECT_EQ(v.l4[3], 443 & 0xff);
}

}  // namespace
}  // namespace ctkit
