// The composition replay and doctor both report: what is counted and how
// it is ranked (largest first, ties in key order, at most top_n), in fixed
// memory.
#include "report/table_composition.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace ctkit {
namespace {

// One entry as conntrack -L shows it: protocol number, state, flags,
// original source and destination, destination port (-1: none).
SummaryEntry Rec(uint8_t proto, std::string_view state, bool assured,
                 bool unreplied, const char* src, const char* dst, int dport) {
  SummaryEntry e;
  e.l4_proto = proto;
  e.state = state;
  e.assured = assured;
  e.seen_reply = !unreplied;
  EXPECT_EQ(inet_pton(AF_INET, src, e.src.bytes), 1) << src;
  EXPECT_EQ(inet_pton(AF_INET, dst, e.dst.bytes), 1) << dst;
  e.has_dport = dport >= 0;
  e.dport = static_cast<uint16_t>(dport >= 0 ? dport : 0);
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
  b.Add(Rec(6, "ESTABLISHED", true, false, "10.0.0.1", "10.0.0.9", 443));
  b.Add(Rec(6, "TIME_WAIT", true, false, "10.0.0.2", "10.0.0.9", 443));
  b.Add(Rec(6, "", false, true, "10.0.0.2", "10.0.0.8", 80));
  b.Add(Rec(17, "", false, true, "10.0.0.3", "10.0.0.53", 53));
  b.Add(Rec(136, "", true, false, "10.0.0.3", "10.0.0.53", 53));
  b.Add(Rec(1, "", false, true, "10.0.0.4", "10.0.0.9", -1));
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
  // Key order is the address as text: 10.0.0.10 before 10.0.0.9.
  for (const char* src : {"10.0.0.9", "10.0.0.10", "10.0.0.2", "10.0.0.4",
                          "10.0.0.4", "10.0.0.5", "10.0.0.5", "10.0.0.5"}) {
    b.Add(Rec(17, "", false, true, src, "192.0.2.1", 53));
  }
  TableComposition c = b.Finish(3);
  EXPECT_EQ(
      Keys(c.top_sources),
      (std::vector<std::string>{"10.0.0.5=3", "10.0.0.4=2", "10.0.0.10=1"}));
  // Protocols and states are never cut.
  EXPECT_EQ(Keys(c.by_protocol), (std::vector<std::string>{"udp=8"}));
}

TEST(CompositionBuilder, RanksInFixedMemoryPastItsCounters) {
  // More sources than counters: one holding a tenth of the table is still
  // first, with a count at least its own and at most total / counters
  // more.
  CompositionBuilder b;
  const uint32_t n = 3 * CompositionBuilder::kRankingCounters;
  for (uint32_t i = 0; i < n; ++i) {
    const std::string light =
        "10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256);
    b.Add(Rec(17, "", false, true, light.c_str(), "192.0.2.1", 53));
    if (i % 9 == 0)
      b.Add(Rec(17, "", false, true, "10.9.9.9", "192.0.2.1", 53));
  }
  const TableComposition c = b.Finish(1);
  const uint64_t heavy = (n + 8) / 9;
  ASSERT_EQ(c.top_sources.size(), 1u);
  EXPECT_EQ(c.top_sources[0].key, "10.9.9.9");
  EXPECT_GE(c.top_sources[0].entries, heavy);
  EXPECT_LE(c.top_sources[0].entries,
            heavy + c.total / CompositionBuilder::kRankingCounters);
  EXPECT_EQ(c.total, n + heavy);
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
