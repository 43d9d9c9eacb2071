// The composition replay and doctor both report: what is counted and how
// it is ranked (largest first, ties in key order, at most top_n).
#include "report/table_composition.h"

#include <gtest/gtest.h>

namespace ctkit {
namespace {

EntryRecord Rec(std::string proto, std::string state, bool assured,
                bool unreplied, std::string src, std::string dst,
                std::optional<uint16_t> dport) {
  EntryRecord e;
  e.proto = std::move(proto);
  e.state = std::move(state);
  e.assured = assured;
  e.unreplied = unreplied;
  e.src = std::move(src);
  e.dst = std::move(dst);
  e.dport = dport;
  return e;
}

std::vector<std::string> Keys(const std::vector<Tally>& v) {
  std::vector<std::string> k;
  k.reserve(v.size());
  for (const Tally& t : v) k.push_back(t.key + "=" + std::to_string(t.entries));
  return k;
}

TEST(CompositionBuilder, CountsEachClassOfTheTable) {
  CompositionBuilder b;
  b.Add(Rec("tcp", "ESTABLISHED", true, false, "10.0.0.1", "10.0.0.9", 443));
  b.Add(Rec("tcp", "TIME_WAIT", true, false, "10.0.0.2", "10.0.0.9", 443));
  b.Add(Rec("tcp", "", false, true, "10.0.0.2", "10.0.0.8", 80));
  b.Add(Rec("udp", "", false, true, "10.0.0.3", "10.0.0.53", 53));
  b.Add(Rec("udplite", "", true, false, "10.0.0.3", "10.0.0.53", 53));
  b.Add(Rec("icmp", "", false, true, "10.0.0.4", "10.0.0.9", std::nullopt));
  TableComposition c = b.Finish(5);
  EXPECT_EQ(c.total, 6u);
  EXPECT_EQ(c.assured, 3u);
  EXPECT_EQ(c.unreplied, 3u);
  EXPECT_EQ(c.udp, 2u);  // UDP-Lite counts as UDP
  EXPECT_EQ(c.unreplied_udp, 1u);
  EXPECT_EQ(Keys(c.by_protocol), (std::vector<std::string>{
                                     "tcp=3", "icmp=1", "udp=1", "udplite=1"}));
  // A TCP entry without a state shows as "?"; other protocols have none.
  EXPECT_EQ(Keys(c.by_tcp_state),
            (std::vector<std::string>{"?=1", "ESTABLISHED=1", "TIME_WAIT=1"}));
  // Ports only where the entry has one (not the ICMP entry).
  EXPECT_EQ(Keys(c.top_dports),
            (std::vector<std::string>{"tcp/443=2", "tcp/80=1", "udp/53=1",
                                      "udplite/53=1"}));
  EXPECT_EQ(
      Keys(c.top_destinations),
      (std::vector<std::string>{"10.0.0.9=3", "10.0.0.53=2", "10.0.0.8=1"}));
}

TEST(CompositionBuilder, TopNKeepsTheLargestTiesInKeyOrder) {
  CompositionBuilder b;
  for (const char* src : {"c", "a", "b", "d", "d", "e", "e", "e"}) {
    b.Add(Rec("udp", "", false, true, src, "x", 53));
  }
  TableComposition c = b.Finish(3);
  EXPECT_EQ(Keys(c.top_sources),
            (std::vector<std::string>{"e=3", "d=2", "a=1"}));
  // Protocols and states are never cut.
  EXPECT_EQ(Keys(c.by_protocol), (std::vector<std::string>{"udp=8"}));
}

TEST(RankTallies, LargestFirstThenKeyOrderThenCut) {
  std::map<std::string, uint64_t> m = {{"b", 2}, {"a", 2}, {"z", 9}, {"c", 1}};
  EXPECT_EQ(Keys(RankTallies(m, 10)),
            (std::vector<std::string>{"z=9", "a=2", "b=2", "c=1"}));
  EXPECT_EQ(Keys(RankTallies(m, 2)), (std::vector<std::string>{"z=9", "a=2"}));
  EXPECT_TRUE(RankTallies({}, 5).empty());
}

}  // namespace
}  // namespace ctkit
