// Table composition from entry records (see table_composition.h).
#include "report/table_composition.h"

#include <algorithm>

namespace ctkit {

std::vector<Tally> RankTallies(const std::map<std::string, uint64_t>& m,
                               size_t n) {
  std::vector<Tally> v;
  v.reserve(m.size());
  for (const auto& [k, c] : m) v.push_back({k, c});
  // The map is in key order, so a stable sort keeps ties in key order.
  std::stable_sort(v.begin(), v.end(), [](const Tally& a, const Tally& b) {
    return a.entries > b.entries;
  });
  if (v.size() > n) v.resize(n);
  return v;
}

CompositionBuilder::CompositionBuilder()
    // The hash key only places counters in the index; results do not
    // depend on it (heavy_hitters.h), so a fixed one keeps runs identical.
    : summary_(kRankingCounters, 0x6b657965645f6b30ull, 0x6b657965645f6b31ull) {
}

namespace {

TableComposition CompositionOf(const TableSummary& s) {
  TableComposition c;
  c.total = s.total;
  c.assured = s.assured;
  c.unreplied = s.unreplied;
  std::map<std::string, uint64_t> protocols, tcp_states;
  for (const ProtocolCount& p : s.by_protocol) {
    protocols[p.protocol] = p.entries;
    if (p.protocol == "udp" || p.protocol == "udplite") {
      c.udp += p.entries;
      c.unreplied_udp += p.unreplied;
    }
  }
  for (const StateCount& st : s.by_state) {
    // A TCP entry without a state shows as "?".
    if (st.protocol == "tcp")
      tcp_states[st.state.empty() ? "?" : st.state] += st.entries;
  }
  c.by_protocol = RankTallies(protocols, protocols.size());
  c.by_tcp_state = RankTallies(tcp_states, tcp_states.size());
  auto tallies = [](const std::vector<RankedKey>& v) {
    std::vector<Tally> out;
    out.reserve(v.size());
    for (const RankedKey& k : v) {
      out.push_back(
          {k.protocol.empty() ? k.key : k.protocol + "/" + k.key, k.entries});
    }
    return out;
  };
  c.top_sources = tallies(s.top_sources);
  c.top_destinations = tallies(s.top_destinations);
  c.top_dports = tallies(s.top_dports);
  c.ranked_at = s.total;
  return c;
}

}  // namespace

TableComposition CompositionBuilder::Finish(size_t top_n) const {
  return CompositionOf(summary_.Finish(top_n));
}

TableComposition CompositionBuilder::FinishWith(
    size_t top_n, const RankingCounters& rankings) const {
  return CompositionOf(summary_.FinishWith(top_n, rankings));
}

}  // namespace ctkit
