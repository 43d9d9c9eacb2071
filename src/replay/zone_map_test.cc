// ZoneMap: the --zone-map rules, their errors, and which zone a packet gets.
#include "replay/zone_map.h"

#include <gtest/gtest.h>

#include "ctkit/decode.h"
#include "gen/packet_builder.h"
#include "testing/engine_test_util.h"

namespace ctkit {
namespace {

using enginetest::Ep4;

// The capture record of `frame`, captured on interface `id` named `name`.
CaptureRecord Record(uint32_t link_type, const std::vector<uint8_t>& frame,
                     uint32_t id = 0, std::string_view name = {}) {
  CaptureRecord rec{};
  rec.data = frame.data();
  rec.caplen = rec.wirelen = static_cast<uint32_t>(frame.size());
  rec.link_type = link_type;
  rec.interface_id = id;
  rec.interface_name = name;
  return rec;
}

PacketView View(const std::vector<uint8_t>& ip) {
  PacketView v{};
  EXPECT_EQ(DecodeIp(ip.data(), static_cast<uint32_t>(ip.size()), &v),
            DecodeStatus::kOk);
  return v;
}

TEST(ZoneMap, FirstMatchingRuleWinsEitherAddress) {
  ZoneMap m;
  ASSERT_TRUE(m.Add("net:10.2.0.3=7"));
  ASSERT_TRUE(m.Add("net:10.2.0.0/16=8/original"));
  ASSERT_TRUE(m.Add("net:2001:db8::/32=9/reply"));
  const auto to3 =
      enginetest::Udp(Ep4(Ipv4(10, 1, 0, 2), 1000, Ipv4(10, 2, 0, 3), 53));
  const auto from3 =
      enginetest::Udp(Ep4(Ipv4(10, 2, 0, 3), 53, Ipv4(10, 1, 0, 2), 1000));
  const auto to4 =
      enginetest::Udp(Ep4(Ipv4(10, 1, 0, 2), 1000, Ipv4(10, 2, 0, 4), 53));
  const auto other =
      enginetest::Udp(Ep4(Ipv4(10, 1, 0, 2), 1000, Ipv4(10, 3, 0, 4), 53));
  auto zone = [&](const std::vector<uint8_t>& ip) {
    return m.zones()[m.SlotFor(Record(linktype::kRaw, ip), View(ip))];
  };
  EXPECT_EQ(zone(to3), (Zone{7, 0}));
  EXPECT_EQ(zone(from3), (Zone{7, 0}));  // the destination matches too
  EXPECT_EQ(zone(to4), (Zone{8, Zone::kOriginalOnly}));
  EXPECT_EQ(zone(other), Zone{});
  // The default zone first, then each distinct zone once.
  ASSERT_EQ(m.zones().size(), 4u);
  EXPECT_EQ(m.zones()[0], Zone{});
}

TEST(ZoneMap, VlanRulesReadTheOuterTag) {
  ZoneMap m;
  ASSERT_TRUE(m.Add("vlan:100=3"));
  std::vector<uint8_t> ip =
      enginetest::Udp(Ep4(Ipv4(10, 1, 0, 2), 1000, Ipv4(10, 2, 0, 3), 53));
  std::vector<uint8_t> tagged, untagged;
  WrapEthernet(ip, 1, &tagged);  // the builder's first tag is VLAN 100
  WrapEthernet(ip, 0, &untagged);
  EXPECT_EQ(OuterVlanId(1, tagged.data(), static_cast<uint32_t>(tagged.size())),
            100);
  EXPECT_EQ(m.SlotFor(Record(linktype::kEthernet, tagged), View(ip)), 1u);
  EXPECT_EQ(m.SlotFor(Record(linktype::kEthernet, untagged), View(ip)), 0u);
  // The kernel's router sees no tags: kernel-replay cannot take the rule.
  EXPECT_FALSE(m.NftRules());
}

// A capture of a router's two sides (dumpcap -i eth0 -i eth1) records
// each packet's interface: rules name it by number or by name, in order
// with the other kinds.
TEST(ZoneMap, InterfaceRulesByNumberOrName) {
  ZoneMap m;
  ASSERT_TRUE(m.Add("if:eth1=5"));
  ASSERT_TRUE(m.Add("net:10.9.0.0/16=6"));
  ASSERT_TRUE(m.Add("if:2=7/reply"));
  const std::vector<uint8_t> ip =
      enginetest::Udp(Ep4(Ipv4(10, 1, 0, 2), 1000, Ipv4(10, 9, 0, 3), 53));
  const std::vector<uint8_t> other =
      enginetest::Udp(Ep4(Ipv4(10, 1, 0, 2), 1000, Ipv4(10, 8, 0, 3), 53));
  auto zone = [&](const std::vector<uint8_t>& pkt, uint32_t id,
                  std::string_view name) {
    return m
        .zones()[m.SlotFor(Record(linktype::kRaw, pkt, id, name), View(pkt))];
  };
  EXPECT_EQ(zone(ip, 1, "eth1"), (Zone{5, 0}));  // the name, whatever number
  EXPECT_EQ(zone(ip, 2, "eth0"), (Zone{6, 0}));  // net: comes before if:2
  EXPECT_EQ(zone(other, 2, "eth0"), (Zone{7, Zone::kReplyOnly}));
  EXPECT_EQ(zone(other, 2, ""), (Zone{7, Zone::kReplyOnly}));
  EXPECT_EQ(zone(other, 0, "eth0"), Zone{});
  EXPECT_EQ(zone(other, kUnknownInterface, ""), Zone{});
  EXPECT_EQ(zone(other, 1, "eth10"), Zone{});  // names match whole
  // kernel-replay's router has interfaces of its own, not the capture's.
  auto rules = m.NftRules();
  ASSERT_FALSE(rules);
  EXPECT_NE(rules.error().message.find("if:eth1=5"), std::string::npos);
}

TEST(ZoneMap, NftRulesSayTheSame) {
  ZoneMap m;
  ASSERT_TRUE(m.Add("net:10.2.0.0/24=7/original"));
  ASSERT_TRUE(m.Add("net:2001:db8:2::3=9"));
  auto rules = m.NftRules();
  ASSERT_TRUE(rules);
  ASSERT_EQ(rules->size(), 4u);
  EXPECT_EQ((*rules)[0], "ip saddr 10.2.0.0/24 ct original zone set 7 accept");
  EXPECT_EQ((*rules)[1], "ip daddr 10.2.0.0/24 ct original zone set 7 accept");
  EXPECT_EQ((*rules)[3], "ip6 daddr 2001:db8:2::3/128 ct zone set 9 accept");
}

TEST(ZoneMap, BadRulesSayWhatIsWrong) {
  struct Case {
    const char* rule;
    const char* says;
  } cases[] = {
      {"10.0.0.0/8=1", "expected net:PREFIX=ZONE"},
      {"net:10.0.0.0/8", "expected net:PREFIX=ZONE"},
      {"ip:eth0=1", "'ip' is not a rule kind (net, vlan or if)"},
      {"if:=1", "no interface number or name"},
      {"if:4294967295=1", "interface number '4294967295'"},
      {"net:10.0.0.0/8=70000", "zone '70000' is not a number from 0 to 65535"},
      {"net:10.0.0.0/33=1", "prefix length '33'"},
      {"net:10.0.0.1/8=1", "has host bits set"},
      {"net:example.com=1", "not an IPv4 or IPv6 address"},
      {"vlan:5000=1", "VLAN id '5000'"},
      {"net:10.0.0.0/8=1/both", "neither original nor reply"},
  };
  for (const Case& c : cases) {
    ZoneMap m;
    auto r = m.Add(c.rule);
    ASSERT_FALSE(r) << c.rule;
    EXPECT_NE(r.error().message.find(c.says), std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find(c.rule), std::string::npos)
        << r.error().message;
    EXPECT_TRUE(m.empty());
  }
}

}  // namespace
}  // namespace ctkit
