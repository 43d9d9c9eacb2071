// Replays whose zones come from the capture's interfaces (--zone-map if:).
//
// The story: a router is captured on both sides at once (dumpcap -i lan
// -i wan, one pcapng), so every forwarded packet is in the file twice, once
// per interface, with the same addresses. A host that gives each side its
// own zone (`iifname "lan" ct zone set 1`, `iifname "wan" ct zone set 2`)
// has two tables' worth of entries; the replay, told the same by interface
// name or number, must have them too. Expected values: equal tuples in two
// zones are two entries, each created by its zone's first packet (NEW);
// a packet in the other direction of an entry of its own zone is
// ESTABLISHED (docs/kernel-model.md §4.6, §7).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "ctkit/decode.h"
#include "gen/packet_builder.h"
#include "gen/pcapng_builder.h"
#include "replay/replay.h"

namespace ctkit {
namespace {

constexpr uint64_t kStartNs = 1700000000ull * 1000000000ull;
constexpr uint32_t kFlows = 50;

// Query i of 10.0.0.(1+i):(2000+i) -> 192.0.2.53:53 and its reply, each
// seen on lan (interface 0) and then on wan (interface 1), 1 us apart.
std::string WriteRouterCapture() {
  PcapngBuilder b;
  b.Section();
  b.Interface(linktype::kEthernet, "lan");
  b.Interface(linktype::kEthernet, "wan");
  uint64_t t = kStartNs;
  for (uint32_t i = 0; i < kFlows; ++i) {
    Endpoints q{Family::kIPv4, Ipv4(10, 0, 0, static_cast<uint8_t>(1 + i)),
                Ipv4(192, 0, 2, 53), static_cast<uint16_t>(2000 + i), 53};
    for (const Endpoints& ep : {q, q.Reversed()}) {
      std::vector<uint8_t> ip, frame;
      BuildUdp(ep, 20, &ip);
      WrapEthernet(ip, 0, &frame);
      b.Packet(0, t += 1000, frame);
      b.Packet(1, t += 1000, frame);
    }
  }
  std::string path = ::testing::TempDir() + "/replay_zones_" +
                     std::to_string(getpid()) + ".pcapng";
  EXPECT_TRUE(b.WriteTo(path));
  return path;
}

struct Outcome {
  ReplayReport report;
  std::vector<Verdict> verdicts;
};

Outcome Replay(const std::string& path, const std::vector<std::string>& rules) {
  ReplayOptions o;
  for (const std::string& rule : rules) EXPECT_TRUE(o.zone_map.Add(rule));
  Outcome out;
  o.on_packet = [&](uint64_t, const PacketOutcome& p) {
    out.verdicts.push_back(p.verdict);
  };
  auto r = RunReplay(path, o);
  EXPECT_TRUE(r.has_value()) << r.error().message;
  if (r) out.report = std::move(*r);
  return out;
}

TEST(ReplayZones, EachSideOfARouterCaptureIsItsOwnTable) {
  const std::string path = WriteRouterCapture();
  for (const auto& rules : {std::vector<std::string>{"if:lan=1", "if:wan=2"},
                            std::vector<std::string>{"if:0=1", "if:1=2"}}) {
    SCOPED_TRACE(rules[0]);
    const Outcome o = Replay(path, rules);
    EXPECT_EQ(o.report.packets_read, 4 * kFlows);
    EXPECT_EQ(o.report.final_count, 2 * kFlows);  // one entry per side
    ASSERT_EQ(o.report.zones.size(), 3u);         // the default zone, 1, 2
    EXPECT_EQ(o.report.zones[0].packets, 0u);
    EXPECT_EQ(o.report.zones[1].zone, (Zone{1, 0}));
    EXPECT_EQ(o.report.zones[1].packets, 2 * kFlows);
    EXPECT_EQ(o.report.zones[1].entries_at_end, kFlows);
    EXPECT_EQ(o.report.zones[2].packets, 2 * kFlows);
    EXPECT_EQ(o.report.zones[2].entries_at_end, kFlows);
    // Per flow: the query on lan and on wan are each their zone's first
    // packet; both copies of the reply find their own zone's entry.
    ASSERT_EQ(o.verdicts.size(), 4 * kFlows);
    for (uint32_t k = 0; k < o.verdicts.size(); ++k) {
      ASSERT_EQ(o.verdicts[k],
                k % 4 < 2 ? Verdict::kNew : Verdict::kEstablished)
          << "packet " << k;
    }
  }
  // Without zones the copies share one table: one entry per flow, and the
  // wan copy of the query is the same flow's second packet.
  const Outcome plain = Replay(path, {});
  EXPECT_EQ(plain.report.final_count, kFlows);
  EXPECT_TRUE(plain.report.zones.empty());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ctkit
