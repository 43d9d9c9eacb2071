// Checksum tests use packets whose checksums were computed independently
// (by hand-written arithmetic outside this code base), so a sum that is
// consistently wrong in both builder and verifier still fails here.
#include "net/checksum.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace ctkit {
namespace {

// 192.168.1.2:12345 -> 10.0.0.1:80, TCP SYN, seq 1, window 65535.
// IPv4 header checksum 0xaf25, TCP checksum 0xb3ad.
const uint8_t kTcp4[] = {
    0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x00, 0x40, 0x06,
    0xaf, 0x25, 0xc0, 0xa8, 0x01, 0x02, 0x0a, 0x00, 0x00, 0x01,  // IPv4
    0x30, 0x39, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x50, 0x02, 0xff, 0xff, 0xb3, 0xad, 0x00, 0x00,  // TCP
};

// 2001:db8::1:5353 -> 2001:db8::2:53, UDP with payload "hi!", checksum
// 0x05dc.
const uint8_t kUdp6[] = {
    0x60, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x11, 0x40, 0x20, 0x01, 0x0d,
    0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,  // IPv6
    0x14, 0xe9, 0x00, 0x35, 0x00, 0x0b, 0x05, 0xdc, 0x68, 0x69, 0x21,
};

// A view over a packet built by hand (the decoder is tested elsewhere).
PacketView View(Family family, uint8_t proto, const uint8_t* ip,
                uint32_t header_len, uint32_t l4_len) {
  PacketView v{};
  v.family = family;
  v.l4_proto = proto;
  if (family == Family::kIPv4) {
    std::memcpy(v.src.bytes, ip + 12, 4);
    std::memcpy(v.dst.bytes, ip + 16, 4);
  } else {
    std::memcpy(v.src.bytes, ip + 8, 16);
    std::memcpy(v.dst.bytes, ip + 24, 16);
  }
  v.l4 = ip + header_len;
  v.l4_len = l4_len;
  v.l4_caplen = l4_len;
  v.ip_len = header_len + l4_len;
  return v;
}

TEST(Checksum, Rfc1071ExampleSum) {
  // RFC 1071 section 3 works this example: the folded sum is 0xddf2.
  const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  const uint32_t sum = ChecksumAdd(0, data, sizeof data);
  EXPECT_EQ(sum, 0xddf2u);
  EXPECT_EQ(ChecksumFold(sum), 0x220d);
}

TEST(Checksum, OddLengthPadsLastByteAsHighByte) {
  const uint8_t data[] = {0x12, 0x34, 0x56};
  EXPECT_EQ(ChecksumAdd(0, data, 3), 0x1234u + 0x5600u);
}

TEST(Checksum, SumsComposeAcrossCalls) {
  // Splitting at an even boundary gives the same sum as one call, for a
  // length that exercises the 16-, 4-, 2- and 1-byte tails.
  uint8_t data[39];
  for (uint32_t i = 0; i < sizeof data; ++i) {
    data[i] = static_cast<uint8_t>(i * 37 + 11);
  }
  const uint32_t whole = ChecksumAdd(0, data, sizeof data);
  const uint32_t split = ChecksumAdd(ChecksumAdd(0, data, 18), data + 18, 21);
  EXPECT_EQ(whole, split);
}

TEST(Checksum, Ipv4HeaderOfKnownPacketFoldsToZero) {
  EXPECT_EQ(ChecksumFold(ChecksumAdd(0, kTcp4, 20)), 0);
}

TEST(Checksum, KnownTcp4IsValid) {
  EXPECT_TRUE(L4ChecksumValid(View(Family::kIPv4, 6, kTcp4, 20, 20)));
}

TEST(Checksum, Tcp4WithFlippedPayloadBitIsInvalid) {
  uint8_t pkt[sizeof kTcp4];
  std::memcpy(pkt, kTcp4, sizeof pkt);
  pkt[34] ^= 0x01;  // window
  EXPECT_FALSE(L4ChecksumValid(View(Family::kIPv4, 6, pkt, 20, 20)));
}

TEST(Checksum, Tcp4WithWrongAddressIsInvalid) {
  // The pseudo-header covers the addresses.
  PacketView v = View(Family::kIPv4, 6, kTcp4, 20, 20);
  v.dst.bytes[3] = 2;
  EXPECT_FALSE(L4ChecksumValid(v));
}

TEST(Checksum, TruncatedOrFragmentedCannotBeVerifiedSoValid) {
  uint8_t pkt[sizeof kTcp4];
  std::memcpy(pkt, kTcp4, sizeof pkt);
  pkt[36] = 0;  // break the checksum
  PacketView v = View(Family::kIPv4, 6, pkt, 20, 20);
  EXPECT_FALSE(L4ChecksumValid(v));
  v.l4_caplen = 19;
  EXPECT_TRUE(L4ChecksumValid(v));
  v.l4_caplen = 20;
  v.is_fragment = true;
  v.first_fragment = true;
  EXPECT_TRUE(L4ChecksumValid(v));
}

TEST(Checksum, ShortTcpIsInvalid) {
  EXPECT_FALSE(L4ChecksumValid(View(Family::kIPv4, 6, kTcp4, 20, 12)));
}

TEST(Checksum, KnownUdp6IsValid) {
  EXPECT_TRUE(L4ChecksumValid(View(Family::kIPv6, 17, kUdp6, 40, 11)));
}

TEST(Checksum, Udp6ZeroChecksumIsInvalid) {
  uint8_t pkt[sizeof kUdp6];
  std::memcpy(pkt, kUdp6, sizeof pkt);
  pkt[46] = 0;
  pkt[47] = 0;
  EXPECT_FALSE(L4ChecksumValid(View(Family::kIPv6, 17, pkt, 40, 11)));
}

TEST(Checksum, Udp4ZeroChecksumMeansNoneAndIsValid) {
  // 10.0.0.1:1000 -> 10.0.0.2:2000, 4 payload bytes, checksum 0.
  const uint8_t pkt[] = {0x45, 0x00, 0x00, 0x20, 0,    0,    0,    0,
                         0x40, 0x11, 0,    0,    10,   0,    0,    1,
                         10,   0,    0,    2,    0x03, 0xe8, 0x07, 0xd0,
                         0x00, 0x0c, 0x00, 0x00, 1,    2,    3,    4};
  EXPECT_TRUE(L4ChecksumValid(View(Family::kIPv4, 17, pkt, 20, 12)));
}

TEST(Checksum, UdpLengthFieldOutsidePayloadIsInvalid) {
  uint8_t pkt[sizeof kUdp6];
  std::memcpy(pkt, kUdp6, sizeof pkt);
  pkt[45] = 12;  // UDP length 12 > 11 bytes of IP payload
  EXPECT_FALSE(L4ChecksumValid(View(Family::kIPv6, 17, pkt, 40, 11)));
  pkt[45] = 7;  // shorter than the UDP header
  EXPECT_FALSE(L4ChecksumValid(View(Family::kIPv6, 17, pkt, 40, 11)));
}

TEST(Checksum, UdpIgnoresBytesBeyondItsLengthField) {
  // Trailing bytes inside the IP payload but after the UDP length do not
  // belong to UDP and are not summed.
  uint8_t pkt[sizeof kUdp6 + 2];
  std::memcpy(pkt, kUdp6, sizeof kUdp6);
  pkt[5] = 13;  // IPv6 payload length
  pkt[sizeof kUdp6] = 0xab;
  pkt[sizeof kUdp6 + 1] = 0xcd;
  EXPECT_TRUE(L4ChecksumValid(View(Family::kIPv6, 17, pkt, 40, 13)));
}

TEST(Checksum, IcmpEchoHasNoPseudoHeader) {
  // Echo request id 0x1234 seq 1 payload "abcd": checksum 0x2104.
  const uint8_t icmp[] = {8,    0,   0x21, 0x04, 0x12, 0x34,
                          0x00, 0x1, 'a',  'b',  'c',  'd'};
  uint8_t pkt[20 + sizeof icmp] = {0x45, 0, 0, 32, 0, 0, 0, 0, 64, 1};
  pkt[12] = 1;  // any addresses: they are not summed
  pkt[19] = 9;
  std::memcpy(pkt + 20, icmp, sizeof icmp);
  EXPECT_TRUE(L4ChecksumValid(View(Family::kIPv4, 1, pkt, 20, 12)));
  pkt[31] = 'e';
  EXPECT_FALSE(L4ChecksumValid(View(Family::kIPv4, 1, pkt, 20, 12)));
}

TEST(Checksum, UdpLiteCoverage) {
  // 192.168.1.2:1000 -> 10.0.0.1:2000, coverage 8 (header only), payload
  // "xyz" not covered; checksum 0x2801.
  uint8_t pkt[] = {0x45, 0,    0,    31,   0,    0,    0,   0,   64, 136,  0,
                   0,    192,  168,  1,    2,    10,   0,   0,   1,  0x03, 0xe8,
                   0x07, 0xd0, 0x00, 0x08, 0x28, 0x01, 'x', 'y', 'z'};
  const PacketView v = View(Family::kIPv4, 136, pkt, 20, 11);
  EXPECT_TRUE(L4ChecksumValid(v));
  pkt[30] = 'Z';  // not covered: still valid
  EXPECT_TRUE(L4ChecksumValid(v));
  pkt[25] = 0;  // coverage 0 = whole packet: now the sum is wrong
  EXPECT_FALSE(L4ChecksumValid(v));
  pkt[25] = 7;  // coverage below the header
  EXPECT_FALSE(L4ChecksumValid(v));
  pkt[25] = 12;  // coverage past the end
  EXPECT_FALSE(L4ChecksumValid(v));
  pkt[25] = 8;
  pkt[26] = 0;
  pkt[27] = 0;  // UDP-Lite never omits its checksum
  EXPECT_FALSE(L4ChecksumValid(v));
}

TEST(Checksum, OtherProtocolsAreValid) {
  const uint8_t junk[24] = {0x45};
  EXPECT_TRUE(L4ChecksumValid(View(Family::kIPv4, 47, junk, 20, 4)));
}

}  // namespace
}  // namespace ctkit
