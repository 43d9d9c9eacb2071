// `ctkit replay` and checksums: wrong ones are INVALID by a reason of their
// own in the text and the JSON; offload partial checksums (what tcpdump on
// the sending host shows) are counted in the report; and when many packets
// are INVALID for a wrong checksum, the report suggests replaying with
// nf_conntrack_checksum=0 (at least 10 packets and 5 % of those decoded).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/cli/cli_test_util.h"

namespace ctkit::clitest {
namespace {

constexpr char kHint[] = "replay with --sysctl nf_conntrack_checksum=0";

// UDP over IPv4 from the builder (no IP options): the checksum is at 26.
constexpr size_t kUdpChecksumAt = 20 + 6;

void CorruptChecksum(Pkt* p) { p->bytes[kUdpChecksumAt] ^= 0x10; }

// The transmit-offload partial checksum: the folded one's complement sum of
// the pseudo-header (addresses, protocol 17, UDP length), not complemented.
void PartialChecksum(Pkt* p) {
  const std::vector<uint8_t>& b = p->bytes;
  uint32_t sum = 17u + static_cast<uint32_t>(b[24] << 8 | b[25]);
  for (size_t i = 12; i < 20; i += 2) {
    sum += static_cast<uint32_t>(b[i] << 8 | b[i + 1]);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  p->bytes[kUdpChecksumAt] = static_cast<uint8_t>(sum >> 8);
  p->bytes[kUdpChecksumAt + 1] = static_cast<uint8_t>(sum);
}

class ChecksumCli : public ::testing::Test {
 protected:
  // `flows` DNS-style exchanges (query, reply), 2 * flows packets; the
  // first `bad` packets get a wrong checksum, the next `partial` an offload
  // partial one.
  std::string Capture(int flows, int bad, int partial) {
    std::vector<Pkt> pkts;
    for (int i = 0; i < flows; ++i) {
      const Endpoints ep = V4(1, 2, static_cast<uint16_t>(20000 + i), 53);
      const uint64_t t = kT0 + static_cast<uint64_t>(i) * kMs;
      pkts.push_back(Udp(t, ep, 40));
      pkts.push_back(Udp(t + kMs / 2, ep.Reversed(), 80));
    }
    for (int i = 0; i < bad + partial; ++i) {
      if (i < bad) {
        CorruptChecksum(&pkts[static_cast<size_t>(i)]);
      } else {
        PartialChecksum(&pkts[static_cast<size_t>(i)]);
      }
    }
    const std::string path =
        dir_.File("c" + std::to_string(++captures_) + ".pcap");
    WritePcap(path, pkts);
    return path;
  }
  RunResult Run(const std::vector<std::string>& args) {
    return RunCtkit(dir_, args);
  }
  TempDir dir_;
  int captures_ = 0;
};

TEST_F(ChecksumCli, WrongChecksumsAreUdpChecksumInTextAndJson) {
  const std::string pcap = Capture(100, 4, 0);
  RunResult r = Run({"replay", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_TRUE(Contains(r.out, "invalid:   4 packets = conntrack -S invalid 4 (udp-checksum 4) + error 0")) << r.out;
  r = Run({"replay", "--json", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["packets"]["invalid"], nlohmann::json({{"udp-checksum", 4}}));
}

TEST_F(ChecksumCli, ManyWrongChecksumsPrintTheHint) {
  // 20 of 200 packets (10 %), and the boundary: 10 of 200 (5 %).
  for (int bad : {20, 10}) {
    RunResult r = Run({"replay", Capture(100, bad, 0)});
    ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
    EXPECT_TRUE(Contains(r.out, kHint)) << bad << "\n" << r.out;
    EXPECT_TRUE(Contains(r.out, "hint:      " + std::to_string(bad) +
                                    " packets (" + std::to_string(bad / 2) +
                                    " % of decoded) are INVALID for a wrong "
                                    "checksum"))
        << r.out;
  }
}

TEST_F(ChecksumCli, FewWrongChecksumsPrintNoHint) {
  // Fewer than 10 packets (9 of 200), or under 5 % (12 of 400).
  for (auto [flows, bad] : {std::pair{100, 9}, {200, 12}}) {
    RunResult r = Run({"replay", Capture(flows, bad, 0)});
    ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
    EXPECT_TRUE(Contains(r.out, "udp-checksum " + std::to_string(bad)))
        << r.out;
    EXPECT_FALSE(Contains(r.out, "hint:")) << r.out;
  }
}

TEST_F(ChecksumCli, FollowingTheHintTracksThem) {
  const std::string pcap = Capture(100, 20, 0);
  RunResult r = Run({"replay", "--sysctl", "nf_conntrack_checksum=0", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_FALSE(Contains(r.out, "invalid:")) << r.out;
  EXPECT_FALSE(Contains(r.out, "hint:")) << r.out;
}

TEST_F(ChecksumCli, OffloadChecksumsAreCountedNotInvalid) {
  const std::string pcap = Capture(100, 0, 30);
  RunResult r = Run({"replay", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_TRUE(Contains(r.out, "INVALID 0 ")) << r.out;
  EXPECT_TRUE(
      Contains(r.out, "checksums: 30 packets carried offload checksums"))
      << r.out;
  EXPECT_FALSE(Contains(r.out, "hint:")) << r.out;
  r = Run({"replay", "--json", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["packets"]["offload_checksums"], 30);
  EXPECT_EQ(j["packets"]["invalid"], nlohmann::json::object());
  // The table is what complete checksums give: one replied entry per flow.
  r = Run({"replay", "--dump", pcap});
  EXPECT_EQ(Lines(r.out).size(), 100u);
}

TEST_F(ChecksumCli, NoOffloadLineWithoutOffloadChecksums) {
  RunResult r = Run({"replay", Capture(10, 0, 0)});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_FALSE(Contains(r.out, "checksums:")) << r.out;
  r = Run({"replay", "--json", Capture(10, 0, 0)});
  EXPECT_EQ(nlohmann::json::parse(r.out)["packets"]["offload_checksums"], 0);
}

}  // namespace
}  // namespace ctkit::clitest
