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

void CompositionBuilder::Add(const EntryRecord& e) {
  ++counts_.total;
  ++proto_[e.proto];
  if (e.proto == "tcp") ++state_[e.state.empty() ? "?" : e.state];
  if (e.assured) ++counts_.assured;
  if (e.unreplied) ++counts_.unreplied;
  if (e.proto == "udp" || e.proto == "udplite") {
    ++counts_.udp;
    if (e.unreplied) ++counts_.unreplied_udp;
  }
  ++src_[e.src];
  ++dst_[e.dst];
  if (e.dport) ++dport_[e.proto + "/" + std::to_string(*e.dport)];
}

TableComposition CompositionBuilder::Finish(size_t top_n) const {
  TableComposition c = counts_;
  c.by_protocol = RankTallies(proto_, proto_.size());
  c.by_tcp_state = RankTallies(state_, state_.size());
  c.top_sources = RankTallies(src_, top_n);
  c.top_destinations = RankTallies(dst_, top_n);
  c.top_dports = RankTallies(dport_, top_n);
  return c;
}

}  // namespace ctkit
