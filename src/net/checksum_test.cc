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

// Packets a 6.18 kernel sent with transmit checksum offload on (a veth's
// default), as tcpdump on the sending host caught them (tests/field/
// endhost.pcap, record.sh): the checksum field holds the folded
// pseudo-header sum, left for the NIC to finish. The complete checksum of
// each, which the NIC would have written, was computed outside this code
// base and is given with each test.
// TCP SYN 10.7.0.1:38024 -> 10.7.0.2:8080; checksum field 0x143f.
const uint8_t kOffTcp4[] = {
    0x45, 0x00, 0x00, 0x3c, 0x0f, 0x32, 0x40, 0x00, 0x40, 0x06, 0x17, 0x7a,
    0x0a, 0x07, 0x00, 0x01, 0x0a, 0x07, 0x00, 0x02, 0x94, 0x88, 0x1f, 0x90,
    0xf7, 0xbf, 0x03, 0xf4, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0,
    0x14, 0x3f, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
    0x82, 0x11, 0x95, 0xa1, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
};
// TCP SYN [fd07::1]:49732 -> [fd07::2]:8080; checksum field 0xfa40.
const uint8_t kOffTcp6[] = {
    0x60, 0x0a, 0x37, 0x7f, 0x00, 0x28, 0x06, 0x40, 0xfd, 0x07, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0xfd, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x02, 0xc2, 0x44, 0x1f, 0x90, 0x3f, 0x4a, 0x2e, 0xe6,
    0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfd, 0x20, 0xfa, 0x40, 0x00, 0x00,
    0x02, 0x04, 0x05, 0xa0, 0x04, 0x02, 0x08, 0x0a, 0xee, 0x04, 0xdf, 0xe5,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
};
// DNS query (dig) 10.7.0.1:40499 -> 10.7.0.2:53; checksum field 0x1461.
const uint8_t kOffUdp4[] = {
    0x45, 0x00, 0x00, 0x53, 0x6c, 0x37, 0x00, 0x00, 0x40, 0x11, 0xfa, 0x52,
    0x0a, 0x07, 0x00, 0x01, 0x0a, 0x07, 0x00, 0x02, 0x9e, 0x33, 0x00, 0x35,
    0x00, 0x3f, 0x14, 0x61, 0xad, 0xca, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x01, 0x61, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70,
    0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01,
    0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00,
    0x0a, 0x00, 0x08, 0x23, 0x29, 0xbc, 0xa6, 0x52, 0xde, 0xea, 0x1c,
};
// DNS query (dig) [fd07::1]:57263 -> [fd07::2]:53; checksum field 0xfa62.
const uint8_t kOffUdp6[] = {
    0x60, 0x01, 0x87, 0x63, 0x00, 0x3f, 0x11, 0x40, 0xfd, 0x07, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0xfd, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x02, 0xdf, 0xaf, 0x00, 0x35, 0x00, 0x3f, 0xfa, 0x62,
    0x18, 0xa3, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x01, 0x63, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74,
    0x65, 0x73, 0x74, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04,
    0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x08, 0x1a,
    0xb7, 0x3e, 0xef, 0xde, 0xd5, 0x21, 0xce,
};

struct Offloaded {
  const char* name;
  Family family;
  uint8_t proto;
  const uint8_t* ip;
  uint32_t header_len;
  uint32_t l4_len;
  uint32_t checksum_at;  // offset of the checksum field in the IP packet
  uint16_t partial;      // the field as sent
  uint16_t complete;     // what the NIC would have written
};

const Offloaded kOffloaded[] = {
    {"tcp4", Family::kIPv4, 6, kOffTcp4, 20, 40, 36, 0x143f, 0x717c},
    {"tcp6", Family::kIPv6, 6, kOffTcp6, 40, 40, 56, 0xfa40, 0x32ee},
    {"udp4", Family::kIPv4, 17, kOffUdp4, 20, 63, 26, 0x1461, 0x8301},
    {"udp6", Family::kIPv6, 17, kOffUdp6, 40, 63, 46, 0xfa62, 0x7150},
};

std::vector<uint8_t> WithChecksum(const Offloaded& o, uint16_t value) {
  std::vector<uint8_t> pkt(o.ip, o.ip + o.header_len + o.l4_len);
  pkt[o.checksum_at] = static_cast<uint8_t>(value >> 8);
  pkt[o.checksum_at + 1] = static_cast<uint8_t>(value);
  return pkt;
}

TEST(ChecksumOffload, KernelPartialChecksumsAreOffload) {
  for (const Offloaded& o : kOffloaded) {
    const PacketView v = View(o.family, o.proto, o.ip, o.header_len, o.l4_len);
    EXPECT_EQ(L4ChecksumStatus(v), ChecksumStatus::kOffload) << o.name;
    EXPECT_FALSE(L4ChecksumValid(v)) << o.name;
  }
}

TEST(ChecksumOffload, CompletedByTheNicIsValid) {
  for (const Offloaded& o : kOffloaded) {
    const std::vector<uint8_t> pkt = WithChecksum(o, o.complete);
    const PacketView v =
        View(o.family, o.proto, pkt.data(), o.header_len, o.l4_len);
    EXPECT_EQ(L4ChecksumStatus(v), ChecksumStatus::kValid) << o.name;
    EXPECT_TRUE(L4ChecksumValid(v)) << o.name;
  }
}

// What the NIC writes is the complete checksum computed outside the code
// base for each recorded packet; a packet that carries none is left alone.
TEST(ChecksumOffload, CompletingWritesWhatTheNicWould) {
  for (const Offloaded& o : kOffloaded) {
    std::vector<uint8_t> pkt(o.ip, o.ip + o.header_len + o.l4_len);
    const PacketView v =
        View(o.family, o.proto, pkt.data(), o.header_len, o.l4_len);
    EXPECT_EQ(OffloadCompletedChecksum(v), o.complete) << o.name;
    ASSERT_TRUE(CompleteOffloadChecksum(v, pkt.data() + o.header_len))
        << o.name;
    EXPECT_EQ(pkt, WithChecksum(o, o.complete)) << o.name;
    EXPECT_FALSE(CompleteOffloadChecksum(v, pkt.data() + o.header_len))
        << o.name << ": already complete";
  }
}

TEST(ChecksumOffload, OnlyTheExactPartialValueIsOffload) {
  // One off either way, the complement (a "checksum" of the pseudo-header
  // alone), zero: genuinely bad.
  for (const Offloaded& o : kOffloaded) {
    for (uint16_t value :
         {static_cast<uint16_t>(o.partial + 1),
          static_cast<uint16_t>(o.partial - 1),
          static_cast<uint16_t>(~o.partial), static_cast<uint16_t>(0)}) {
      if (o.proto == 17 && o.family == Family::kIPv4 && value == 0) continue;
      const std::vector<uint8_t> pkt = WithChecksum(o, value);
      const PacketView v =
          View(o.family, o.proto, pkt.data(), o.header_len, o.l4_len);
      EXPECT_EQ(L4ChecksumStatus(v), ChecksumStatus::kBad)
          << o.name << " with 0x" << std::hex << value;
    }
  }
}

TEST(ChecksumOffload, PartialMatchesOnlyItsOwnPseudoHeader) {
  // The partial sum covers the pseudo-header: another destination (or a
  // UDP length other than the one summed) does not match it.
  for (const Offloaded& o : kOffloaded) {
    PacketView v = View(o.family, o.proto, o.ip, o.header_len, o.l4_len);
    v.dst.bytes[o.family == Family::kIPv4 ? 3 : 15] ^= 1;
    EXPECT_EQ(L4ChecksumStatus(v), ChecksumStatus::kBad) << o.name;
  }
  // UDP: the length in the pseudo-header is UDP's own length field.
  const Offloaded& u = kOffloaded[2];
  std::vector<uint8_t> pkt(u.ip, u.ip + u.header_len + u.l4_len);
  pkt.push_back(0);  // one byte of trailer after the datagram
  const PacketView v = View(u.family, u.proto, pkt.data(), u.header_len, 64);
  EXPECT_EQ(L4ChecksumStatus(v), ChecksumStatus::kOffload);
}

TEST(ChecksumOffload, PayloadIsNotCoveredByAPartialChecksum) {
  // The field says nothing about the bytes after the header: a partial
  // checksum stays one whatever the payload (the NIC has not summed it yet).
  const Offloaded& o = kOffloaded[2];
  std::vector<uint8_t> pkt(o.ip, o.ip + o.header_len + o.l4_len);
  pkt.back() ^= 0xff;
  EXPECT_EQ(L4ChecksumStatus(View(o.family, o.proto, pkt.data(), 20, o.l4_len)),
            ChecksumStatus::kOffload);
}

TEST(ChecksumOffload, IcmpAndUdpLiteNeverCarryOne) {
  // Linux computes ICMPv6 and UDP-Lite checksums in software: a field that
  // holds the folded pseudo-header sum is just wrong there.
  // ICMPv6 echo request fd07::1 -> fd07::2, id 1, seq 1, no payload: the
  // pseudo-header sum 0xfd07 + 1 + 0xfd07 + 2 + 58 + 8 = 0x1fa53 folds to
  // 0xfa54.
  uint8_t icmp6[48] = {0x60, 0, 0, 0, 0, 8, 58, 64};
  icmp6[8] = icmp6[24] = 0xfd;
  icmp6[9] = icmp6[25] = 0x07;
  icmp6[23] = 1;
  icmp6[39] = 2;
  icmp6[40] = 128;
  icmp6[42] = 0xfa;
  icmp6[43] = 0x54;
  icmp6[45] = 1;
  icmp6[47] = 1;
  EXPECT_EQ(L4ChecksumStatus(View(Family::kIPv6, 58, icmp6, 40, 8)),
            ChecksumStatus::kBad);
  // The same echo request with its complete checksum, the complement of
  // the fold of 0xfa54 + 0x8000 + 1 + 1: 0x85a8.
  icmp6[42] = 0x85;
  icmp6[43] = 0xa8;
  EXPECT_EQ(L4ChecksumStatus(View(Family::kIPv6, 58, icmp6, 40, 8)),
            ChecksumStatus::kValid);
  // UDP-Lite 192.168.1.2:1000 -> 10.0.0.1:2000, coverage 8: the folded
  // pseudo-header sum with protocol 136 and length 11 is 0xcc3e.
  uint8_t lite[] = {0x45, 0,    0,    31,   0,    0,    0,    0,
                    64,   136,  0,    0,    192,  168,  1,    2,
                    10,   0,    0,    1,    0x03, 0xe8, 0x07, 0xd0,
                    0x00, 0x08, 0xcc, 0x3e, 'x',  'y',  'z'};
  EXPECT_EQ(L4ChecksumStatus(View(Family::kIPv4, 136, lite, 20, 11)),
            ChecksumStatus::kBad);
}

TEST(ChecksumOffload, KernelResetWithSoftwareChecksumIsValid) {
  // The peer's RST for a refused connection (same capture): the kernel
  // builds resets itself and sums them in software.
  const uint8_t rst[] = {0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00,
                         0x40, 0x06, 0x26, 0xc0, 0x0a, 0x07, 0x00, 0x02,
                         0x0a, 0x07, 0x00, 0x01, 0x1f, 0x99, 0xc2, 0x8a,
                         0x00, 0x00, 0x00, 0x00, 0x14, 0x3f, 0xd1, 0xbd,
                         0x50, 0x14, 0x00, 0x00, 0xd3, 0x9f, 0x00, 0x00};
  EXPECT_EQ(L4ChecksumStatus(View(Family::kIPv4, 6, rst, 20, 20)),
            ChecksumStatus::kValid);
}

}  // namespace
}  // namespace ctkit
