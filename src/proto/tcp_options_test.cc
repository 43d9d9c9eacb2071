// Tests for the TCP option readers: well-formed options are found, and
// malformed or truncated option areas end the walk without reading past it.
#include "proto/tcp_options.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace ctkit {
namespace {

TcpSynOptions Parse(const std::vector<uint8_t>& v) {
  return ParseTcpSynOptions(v.data(), static_cast<uint32_t>(v.size()));
}

uint32_t Sack(const std::vector<uint8_t>& v, uint32_t ack) {
  return TcpHighestSack(v.data(), static_cast<uint32_t>(v.size()), ack);
}

TEST(TcpSynOptions, TypicalLinuxSyn) {
  // MSS 1460, SACK-permitted, timestamps, NOP, window scale 7.
  const TcpSynOptions o = Parse(
      {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7});
  EXPECT_TRUE(o.window_scale);
  EXPECT_EQ(o.scale, 7);
  EXPECT_TRUE(o.sack_perm);
}

TEST(TcpSynOptions, NoOptions) {
  const TcpSynOptions o = ParseTcpSynOptions(nullptr, 0);
  EXPECT_FALSE(o.window_scale);
  EXPECT_FALSE(o.sack_perm);
  EXPECT_EQ(o.scale, 0);
}

TEST(TcpSynOptions, ScaleIsCappedAt14) {
  const TcpSynOptions o = Parse({3, 3, 200, 0});
  EXPECT_TRUE(o.window_scale);
  EXPECT_EQ(o.scale, 14);
}

TEST(TcpSynOptions, WrongLengthIsSkippedNotFatal) {
  // Window scale with length 4 is skipped; SACK-permitted after it counts.
  const TcpSynOptions o = Parse({3, 4, 7, 0, 4, 2, 1, 1});
  EXPECT_FALSE(o.window_scale);
  EXPECT_TRUE(o.sack_perm);
}

TEST(TcpSynOptions, EndOfListStops) {
  const TcpSynOptions o = Parse({4, 2, 0, 0, 3, 3, 7, 1});
  EXPECT_TRUE(o.sack_perm);
  EXPECT_FALSE(o.window_scale);
}

TEST(TcpSynOptions, MalformedLengthStopsButKeepsEarlierOptions) {
  EXPECT_TRUE(Parse({4, 2, 8, 1, 3, 3, 7, 0}).sack_perm);  // length 1
  EXPECT_FALSE(Parse({4, 2, 8, 1, 3, 3, 7, 0}).window_scale);
  // Length running past the area.
  const TcpSynOptions o = Parse({3, 3, 5, 8, 40, 0, 0, 0});
  EXPECT_TRUE(o.window_scale);
  EXPECT_EQ(o.scale, 5);
  // A kind byte with no room for its length.
  EXPECT_FALSE(Parse({1, 1, 1, 3}).window_scale);
}

TEST(TcpHighestSack, NoSackGivesTheAck) {
  EXPECT_EQ(Sack({1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0}, 5000), 5000u);
  EXPECT_EQ(TcpHighestSack(nullptr, 0, 77), 77u);
}

TEST(TcpHighestSack, HighestRightEdgeWins) {
  // Two blocks: [6000, 7000) and [8000, 9000).
  EXPECT_EQ(Sack({1,    1,    5, 18, 0,    0,    0x17, 0x70, 0,    0,
                  0x1b, 0x58, 0, 0,  0x1f, 0x40, 0,    0,    0x23, 0x28},
                 5000),
            9000u);
}

TEST(TcpHighestSack, EdgesBelowTheAckDoNotLowerIt) {
  // D-SACK of old data [100, 200).
  EXPECT_EQ(Sack({1, 1, 5, 10, 0, 0, 0, 100, 0, 0, 0, 200}, 5000), 5000u);
}

TEST(TcpHighestSack, ComparesModulo2To32) {
  // The ack is just below the wrap; the SACK edge just after it.
  EXPECT_EQ(Sack({1, 1, 5, 10, 0, 0, 0, 0, 0, 0, 0, 0x10}, 0xfffffff0u), 0x10u);
}

TEST(TcpHighestSack, MalformedSackIsIgnored) {
  // Length 9 is not 2 + 8n: skipped.
  EXPECT_EQ(Sack({5, 9, 0, 0, 0, 1, 0, 0, 0x27, 0x10, 0, 0}, 5000), 5000u);
  // Length running past the area: the walk stops.
  EXPECT_EQ(Sack({5, 18, 0, 0, 0, 1, 0, 0, 0x27, 0x10}, 5000), 5000u);
}

}  // namespace
}  // namespace ctkit
