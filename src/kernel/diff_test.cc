// DiffReplays on hand-written result documents (no capture, no kernel).
#include "kernel/diff.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "gen/pcap_writer.h"

namespace ctkit {
namespace {

nlohmann::json Generic(int protonum, bool unreplied) {
  return {{"family", "ipv4"},
          {"protocol", "unknown"},
          {"protonum", protonum},
          {"original", {{"src", "10.1.0.2"}, {"dst", "10.2.0.2"}}},
          {"reply", {{"src", "10.2.0.2"}, {"dst", "10.1.0.2"}}},
          {"timeout", 599},
          {"assured", false},
          {"unreplied", unreplied},
          {"mark", 0}};
}

// Two protocols without a tracker between the same two hosts are two
// entries (both named "unknown"); listed in a different order by each side
// they still pair up by protocol number.
TEST(Diff, GenericEntriesArePairedByProtocolNumber) {
  nlohmann::json a = {{"entries", {Generic(89, true), Generic(253, false)}}};
  nlohmann::json b = {{"entries", {Generic(253, false), Generic(89, true)}}};
  auto d = DiffReplays(a, b, {});
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->agree()) << d->disagreements.front();
  EXPECT_EQ(d->total.entries, 2u);
  EXPECT_EQ(d->total.flags_agree, 2u);
}

TEST(Diff, GenericEntryNamesItsProtocolNumber) {
  nlohmann::json a = {{"entries", {Generic(89, true)}}};
  nlohmann::json b = {{"entries", {Generic(89, false)}}};
  auto d = DiffReplays(a, b, {});
  ASSERT_TRUE(d);
  ASSERT_EQ(d->disagreements.size(), 1u);
  EXPECT_NE(d->disagreements[0].find("unknown 89 10.1.0.2 -> 10.2.0.2"),
            std::string::npos)
      << d->disagreements[0];
  EXPECT_NE(d->disagreements[0].find("flags UNREPLIED vs -"),
            std::string::npos);
}

TEST(Diff, TimeoutsWithinTheToleranceAgree) {
  nlohmann::json x = Generic(253, false);
  nlohmann::json y = x;
  y["timeout"] = 597;
  nlohmann::json a = {{"entries", {x}}}, b = {{"entries", {y}}};
  DiffOptions o;
  o.timeout_tolerance_s = 2;
  auto d = DiffReplays(a, b, o);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->agree());
  o.timeout_tolerance_s = 1;
  d = DiffReplays(a, b, o);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->agree());
}

// The per-protocol split comes from the capture the documents name, but
// only while that file still holds the packets they were made from.
TEST(Diff, ACaptureThatChangedSinceIsNotUsedForTheSplit) {
  std::string path =
      ::testing::TempDir() + "/diff_test_" + std::to_string(getpid()) + ".pcap";
  {
    auto w = PcapWriter::Create(path);
    ASSERT_TRUE(w) << w.error().message;
    // One IPv4/UDP packet, 10.0.0.1:1 -> 10.0.0.2:2.
    std::vector<uint8_t> p = {0x45, 0, 0,  28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0,
                              0,    1, 10, 0,  0, 2, 0, 1, 0,  2,  0, 8, 0,  0};
    ASSERT_TRUE((*w)->Write(1'000'000'000, p));
    ASSERT_TRUE((*w)->Close());
  }
  nlohmann::json a = {{"capture", path}, {"verdicts", {"NEW"}}};
  auto same = DiffReplays(a, a, {});
  ASSERT_TRUE(same);
  EXPECT_EQ(same->by_proto.count("udp"), 1u);
  a["capture_digest"] = {{"packets", 1}, {"records_sha256", "0123"}};
  auto changed = DiffReplays(a, a, {});
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->by_proto.count("udp"), 0u);
  EXPECT_EQ(changed->by_proto.count("all"), 1u);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ctkit
