// The streaming summary of a table: exact counts by state and flag, the
// rankings with their `other`, and each timeout sysctl's histogram of
// remaining lifetimes, for a small table whose every entry is stated here
// as conntrack -L would show it.
#include "report/table_summary.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace ctkit {
namespace {

Address V4(const char* s) {
  Address a{};
  EXPECT_EQ(inet_pton(AF_INET, s, a.bytes), 1) << s;
  return a;
}

SummaryEntry Entry(uint8_t proto, std::string_view state, bool assured,
                   bool seen_reply, const char* src, const char* dst, int dport,
                   uint32_t timeout_s) {
  SummaryEntry e;
  e.l4_proto = proto;
  e.state = state;
  e.assured = assured;
  e.seen_reply = seen_reply;
  e.src = V4(src);
  e.dst = V4(dst);
  e.has_dport = dport >= 0;
  e.dport = dport >= 0 ? static_cast<uint16_t>(dport) : 0;
  e.timeout_s = timeout_s;
  return e;
}

// tcp  6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.9 dport=443 [ASSURED]
// tcp  6 431000 ESTABLISHED src=10.0.0.1 dst=10.0.0.9 dport=443 [ASSURED]
// tcp  6 100 TIME_WAIT src=10.0.0.2 dst=10.0.0.9 dport=443 [ASSURED]
// tcp  6 60 SYN_SENT src=10.0.0.1 dst=10.0.0.8 dport=80 [UNREPLIED]
// udp 17 29 src=10.0.0.3 dst=10.0.0.53 dport=53 [UNREPLIED]
// udp 17 25 src=10.0.0.3 dst=10.0.0.53 dport=53           (replied)
// udp 17 170 src=10.0.0.3 dst=10.0.0.54 dport=53 [ASSURED]
// icmp 1 29 src=10.0.0.4 dst=10.0.0.9 [UNREPLIED]
TableSummary SmallTable(size_t top_n) {
  TableSummaryBuilder b(64, 1, 2);
  b.Add(
      Entry(6, "ESTABLISHED", true, true, "10.0.0.1", "10.0.0.9", 443, 431999));
  b.Add(
      Entry(6, "ESTABLISHED", true, true, "10.0.0.1", "10.0.0.9", 443, 431000));
  b.Add(Entry(6, "TIME_WAIT", true, true, "10.0.0.2", "10.0.0.9", 443, 100));
  b.Add(Entry(6, "SYN_SENT", false, false, "10.0.0.1", "10.0.0.8", 80, 60));
  b.Add(Entry(17, "", false, false, "10.0.0.3", "10.0.0.53", 53, 29));
  b.Add(Entry(17, "", false, true, "10.0.0.3", "10.0.0.53", 53, 25));
  b.Add(Entry(17, "", true, true, "10.0.0.3", "10.0.0.54", 53, 170));
  b.Add(Entry(1, "", false, false, "10.0.0.4", "10.0.0.9", -1, 29));
  return b.Finish(top_n);
}

TEST(TableSummary, CountsStatesAndFlagsExactly) {
  const TableSummary s = SmallTable(10);
  EXPECT_EQ(s.total, 8u);
  EXPECT_EQ(s.assured, 4u);
  EXPECT_EQ(s.unreplied, 3u);
  std::vector<std::string> states;
  for (const StateCount& c : s.by_state) {
    states.push_back(c.protocol + "/" + c.state + "=" +
                     std::to_string(c.entries));
  }
  // Largest first, ties in (protocol, state) order.
  EXPECT_EQ(states,
            (std::vector<std::string>{"udp/=3", "tcp/ESTABLISHED=2", "icmp/=1",
                                      "tcp/SYN_SENT=1", "tcp/TIME_WAIT=1"}));
}

TEST(TableSummary, RanksSourcesDestinationsAndPortsWithTheRestAsOther) {
  const TableSummary s = SmallTable(2);
  ASSERT_EQ(s.top_sources.size(), 2u);
  EXPECT_EQ(s.top_sources[0].key, "10.0.0.1");  // 3 entries
  EXPECT_EQ(s.top_sources[0].entries, 3u);
  EXPECT_EQ(s.top_sources[1].key, "10.0.0.3");  // 3 entries, later in order
  EXPECT_EQ(s.top_sources[1].entries, 3u);
  EXPECT_EQ(s.other_sources, 2u);  // 10.0.0.2 and 10.0.0.4
  EXPECT_EQ(s.top_destinations[0].key, "10.0.0.9");
  EXPECT_EQ(s.top_destinations[0].entries, 4u);
  EXPECT_EQ(s.other_destinations, 8u - 4 - 2);
  // ICMP has no port: 7 entries have one.
  EXPECT_EQ(s.with_dport, 7u);
  ASSERT_EQ(s.top_dports.size(), 2u);
  EXPECT_EQ(s.top_dports[0].protocol, "tcp");
  EXPECT_EQ(s.top_dports[0].key, "443");
  EXPECT_EQ(s.top_dports[0].entries, 3u);
  EXPECT_EQ(s.top_dports[1].protocol, "udp");
  EXPECT_EQ(s.top_dports[1].key, "53");
  EXPECT_EQ(s.other_dports, 1u);  // tcp/80
  for (const RankedKey& k : s.top_sources) EXPECT_EQ(k.error, 0u);
}

TEST(TableSummary, HistogramsRemainingLifetimeByTimeoutSysctl) {
  const TableSummary s = SmallTable(10);
  std::map<std::string, LifetimeHistogram> by;
  for (const LifetimeHistogram& h : s.lifetimes) by[h.sysctl] = h;
  // UDP with and without a reply share nf_conntrack_udp_timeout.
  ASSERT_TRUE(by.count("nf_conntrack_udp_timeout"));
  const LifetimeHistogram& udp = by["nf_conntrack_udp_timeout"];
  EXPECT_EQ(udp.count, 2u);
  EXPECT_EQ(udp.sum_s, 29 + 25);
  // Bounds 1, 10, 30, ...: both have at most 30 s left, none at most 10.
  EXPECT_EQ(udp.at_most[1], 0u);
  EXPECT_EQ(udp.at_most[2], 2u);
  EXPECT_EQ(udp.at_most.back(), 2u);
  const LifetimeHistogram& est = by["nf_conntrack_tcp_timeout_established"];
  EXPECT_EQ(est.count, 2u);
  // 431000 <= 432000 and 431999 <= 432000; neither <= 86400.
  EXPECT_EQ(est.at_most[10], 0u);
  EXPECT_EQ(est.at_most[11], 2u);
  EXPECT_EQ(by["nf_conntrack_tcp_timeout_time_wait"].at_most[4], 1u);  // 120
  EXPECT_EQ(by["nf_conntrack_tcp_timeout_syn_sent"].at_most[3], 1u);   // 60
  EXPECT_EQ(by["nf_conntrack_udp_timeout_stream"].count, 1u);
  EXPECT_EQ(by["nf_conntrack_icmp_timeout"].count, 1u);
  EXPECT_EQ(s.lifetimes.size(), 6u);
}

TEST(TableSummary, AStateNoTrackerHasCountsAsOther) {
  TableSummaryBuilder b(4, 1, 2);
  b.Add(Entry(6, "A_STATE_NAME_LONGER_THAN_ANY_TRACKER", false, false,
              "10.0.0.1", "10.0.0.2", 1, 1));
  const TableSummary s = b.Finish(1);
  ASSERT_EQ(s.by_state.size(), 1u);
  EXPECT_EQ(s.by_state[0].state, "other");
  EXPECT_EQ(s.lifetimes[0].sysctl, "none");  // an unknown TCP state
}

}  // namespace
}  // namespace ctkit
