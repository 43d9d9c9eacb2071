// CRC32c against published check values (RFC 3720 appendix B.4 and the
// common "123456789" check), and an SCTP INIT that the 6.18 kernel accepted
// under nf_conntrack_checksum=1 (kernel-replay, kernel-model §9.2).
#include "net/crc32c.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace ctkit {
namespace {

TEST(Crc32c, MatchesPublishedCheckValues) {
  const char* digits = "123456789";
  EXPECT_EQ(Crc32c(0, reinterpret_cast<const uint8_t*>(digits), 9),
            0xe3069283u);
  std::vector<uint8_t> zeros(32, 0), ones(32, 0xff), up(32);
  for (size_t i = 0; i < up.size(); ++i) up[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(Crc32c(0, zeros.data(), zeros.size()), 0x8a9136aau);
  EXPECT_EQ(Crc32c(0, ones.data(), ones.size()), 0x62a8ab43u);
  EXPECT_EQ(Crc32c(0, up.data(), up.size()), 0x46dd794eu);
}

TEST(Crc32c, RunsOnAcrossSpans) {
  const uint8_t* digits = reinterpret_cast<const uint8_t*>("123456789");
  EXPECT_EQ(Crc32c(Crc32c(0, digits, 4), digits + 4, 5), 0xe3069283u);
}

// SCTP 5000 -> 5001, vtag 0, one INIT chunk (init tag 0xabc); the checksum
// bytes 99 8d a0 58 are the CRC 0x58a08d99 least significant byte first.
const uint8_t kInit[] = {
    0x13, 0x88, 0x13, 0x89, 0x00, 0x00, 0x00, 0x00, 0x99, 0x8d, 0xa0,
    0x58, 0x01, 0x00, 0x00, 0x14, 0x00, 0x00, 0x0a, 0xbc, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x0a, 0x00, 0x0a, 0x00, 0x00, 0x0a, 0xe9,
};

PacketView SctpView(const uint8_t* l4, uint32_t len) {
  PacketView v{};
  v.family = Family::kIPv4;
  v.l4_proto = 132;
  v.l4 = l4;
  v.l4_caplen = len;
  v.l4_len = len;
  return v;
}

TEST(Crc32c, SctpPacketTheKernelAcceptedIsValid) {
  EXPECT_TRUE(SctpChecksumValid(SctpView(kInit, sizeof kInit)));
}

TEST(Crc32c, SctpChecksumInNetworkOrderOrFlippedIsNot) {
  uint8_t p[sizeof kInit];
  std::memcpy(p, kInit, sizeof p);
  std::swap(p[8], p[11]);
  std::swap(p[9], p[10]);
  EXPECT_FALSE(SctpChecksumValid(SctpView(p, sizeof p)));
  std::memcpy(p, kInit, sizeof p);
  p[20] ^= 1;  // a payload bit
  EXPECT_FALSE(SctpChecksumValid(SctpView(p, sizeof p)));
  std::memcpy(p, kInit, sizeof p);
  std::memset(p + 8, 0, 4);  // no checksum at all
  EXPECT_FALSE(SctpChecksumValid(SctpView(p, sizeof p)));
}

TEST(Crc32c, SctpChecksumOfACutCaptureOrAFragmentIsNotJudged) {
  uint8_t p[sizeof kInit];
  std::memcpy(p, kInit, sizeof p);
  p[20] ^= 1;
  PacketView cut = SctpView(p, sizeof p);
  cut.l4_caplen = 16;
  EXPECT_TRUE(SctpChecksumValid(cut));
  PacketView frag = SctpView(p, sizeof p);
  frag.is_fragment = true;
  EXPECT_TRUE(SctpChecksumValid(frag));
  EXPECT_FALSE(SctpChecksumValid(SctpView(p, 11)));  // no room for the field
}

}  // namespace
}  // namespace ctkit
