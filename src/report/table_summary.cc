// Streaming table summary (see table_summary.h).
#include "report/table_summary.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>

#include "proto/tracker.h"
#include "report/format.h"

namespace ctkit {
namespace {

std::string ProtocolLabel(uint8_t l4_proto) {
  const std::string name = ProtoName(l4_proto);
  return name == "unknown" ? std::to_string(l4_proto) : name;
}

RankedKey AddressRanked(const Hitter& h) {
  Address a{};
  std::memcpy(a.bytes, h.key.bytes.data() + 1, 16);
  return {"", AddressToString(a, static_cast<Family>(h.key.bytes[0])), h.count,
          h.error};
}

RankedKey PortRanked(const Hitter& h) {
  const unsigned port = (unsigned{h.key.bytes[1]} << 8) | h.key.bytes[2];
  return {ProtocolLabel(h.key.bytes[0]), std::to_string(port), h.count,
          h.error};
}

// The top `n` and the count of everything else (never negative: the
// counts are over-estimates, so their sum may exceed the true share).
// Every counter is ranked, not just the first n by count, so that ties
// fall in the order of the key as text, as the reports have always put
// them.
template <typename ToRanked>
uint64_t Rank(const std::vector<Hitter>& counters, uint64_t total, size_t n,
              ToRanked to_ranked, std::vector<RankedKey>* out) {
  std::vector<RankedKey> all;
  for (const Hitter& h : counters) {
    if (h.count != 0) all.push_back(to_ranked(h));
  }
  auto text = [](const RankedKey& k) {
    return k.protocol.empty() ? k.key : k.protocol + "/" + k.key;
  };
  std::sort(all.begin(), all.end(),
            [&text](const RankedKey& a, const RankedKey& b) {
              if (a.entries != b.entries) return a.entries > b.entries;
              return text(a) < text(b);
            });
  if (all.size() > n) all.resize(n);
  uint64_t shown = 0;
  for (RankedKey& k : all) {
    shown += k.entries;
    out->push_back(std::move(k));
  }
  return total > shown ? total - shown : 0;
}

}  // namespace

HitterKey AddressKey(Family f, const Address& a) {
  HitterKey k;
  k.bytes[0] = static_cast<uint8_t>(f);
  std::memcpy(k.bytes.data() + 1, a.bytes, 16);
  return k;
}

HitterKey PortKey(uint8_t l4_proto, uint16_t port) {
  HitterKey k;
  k.bytes[0] = l4_proto;
  k.bytes[1] = static_cast<uint8_t>(port >> 8);
  k.bytes[2] = static_cast<uint8_t>(port & 0xff);
  return k;
}

bool ProtocolHasPorts(uint8_t l4_proto) {
  switch (l4_proto) {
    case ipproto::kTcp:
    case ipproto::kUdp:
    case ipproto::kUdpLite:
    case 132:  // SCTP
    case 33:   // DCCP
      return true;
    default:
      return false;
  }
}

SummaryEntry SummaryEntryOf(const FlowInfo& f) {
  SummaryEntry e;
  e.l4_proto = f.original.l4_proto;
  if (f.state != nullptr) e.state = f.state;
  e.assured = f.assured;
  e.seen_reply = f.seen_reply;
  e.family = f.original.family;
  e.src = f.original.src;
  e.dst = f.original.dst;
  e.has_dport = ProtocolHasPorts(e.l4_proto);
  e.dport = e.has_dport ? f.original.dst_port_or_icmp_type_code : 0;
  e.timeout_s = f.timeout_s;
  return e;
}

TableSummaryBuilder::TableSummaryBuilder(size_t capacity, uint64_t k0,
                                         uint64_t k1)
    : sources_(capacity, k0, k1),
      destinations_(capacity, k0 ^ 1, k1),
      dports_(capacity, k0 ^ 2, k1) {}

void TableSummaryBuilder::CountState(uint8_t l4_proto, std::string_view state,
                                     uint64_t n) {
  for (size_t i = 0; i < states_used_; ++i) {
    StateSlot& s = states_[i];
    // string_view's ==, not memcmp: an empty state may have no data
    // pointer at all, which memcmp must not be given.
    if (s.l4_proto == l4_proto &&
        std::string_view(s.name.data(), s.len) == state) {
      s.entries += n;
      return;
    }
  }
  // A name too long for any tracker's state, or more pairs than the
  // trackers have: not from a kernel we know; counted, but as "other".
  if (state.size() > states_[0].name.size() || states_used_ == kMaxStates) {
    other_state_[l4_proto] += n;
    return;
  }
  StateSlot& s = states_[states_used_++];
  s.l4_proto = l4_proto;
  s.len = static_cast<uint8_t>(state.size());
  state.copy(s.name.data(), state.size());
  s.entries = n;
}

void TableSummaryBuilder::AddToCounts(const SummaryEntry& e, uint64_t n) {
  total_ += n;
  if (e.assured) assured_ += n;
  if (!e.seen_reply) {
    unreplied_ += n;
    protocol_unreplied_[e.l4_proto] += n;
  }
  protocol_entries_[e.l4_proto] += n;
  if (e.has_dport) with_dport_ += n;
  CountState(e.l4_proto, e.state, n);
}

void TableSummaryBuilder::Add(const SummaryEntry& e) {
  ++total_;
  if (e.assured) ++assured_;
  if (!e.seen_reply) {
    ++unreplied_;
    ++protocol_unreplied_[e.l4_proto];
  }
  ++protocol_entries_[e.l4_proto];
  CountState(e.l4_proto, e.state, 1);
  sources_.Add(AddressKey(e.family, e.src));
  destinations_.Add(AddressKey(e.family, e.dst));
  if (e.has_dport) {
    ++with_dport_;
    dports_.Add(PortKey(e.l4_proto, e.dport));
  }
  const TimeoutClass c =
      TimeoutClassOf(EntryFacts{e.l4_proto, e.state, e.assured, e.seen_reply});
  ClassHistogram& h = lifetimes_[static_cast<size_t>(c)];
  const auto* bound =
      std::lower_bound(kLifetimeBounds.begin(), kLifetimeBounds.end(),
                       static_cast<double>(e.timeout_s));
  ++h.buckets[static_cast<size_t>(bound - kLifetimeBounds.begin())];
  ++h.count;
  h.sum_s += e.timeout_s;
}

TableSummary TableSummaryBuilder::Finish(size_t top_n) const {
  RankingCounters own;
  own.sources = sources_.Top(sources_.capacity());
  own.destinations = destinations_.Top(destinations_.capacity());
  own.dports = dports_.Top(dports_.capacity());
  own.total = total_;
  own.with_dport = with_dport_;
  return FinishWith(top_n, own);
}

TableSummary TableSummaryBuilder::FinishWith(
    size_t top_n, const RankingCounters& rankings) const {
  TableSummary s;
  s.total = total_;
  s.assured = assured_;
  s.unreplied = unreplied_;
  s.with_dport = with_dport_;
  for (size_t i = 0; i < states_used_; ++i) {
    const StateSlot& slot = states_[i];
    s.by_state.push_back({ProtocolLabel(slot.l4_proto),
                          std::string(slot.name.data(), slot.len),
                          slot.entries});
  }
  for (size_t p = 0; p < other_state_.size(); ++p) {
    if (other_state_[p] != 0) {
      s.by_state.push_back(
          {ProtocolLabel(static_cast<uint8_t>(p)), "other", other_state_[p]});
    }
  }
  std::sort(s.by_state.begin(), s.by_state.end(),
            [](const StateCount& a, const StateCount& b) {
              if (a.entries != b.entries) return a.entries > b.entries;
              return std::tie(a.protocol, a.state) <
                     std::tie(b.protocol, b.state);
            });
  for (size_t p = 0; p < protocol_entries_.size(); ++p) {
    if (protocol_entries_[p] != 0) {
      s.by_protocol.push_back({ProtocolLabel(static_cast<uint8_t>(p)),
                               protocol_entries_[p], protocol_unreplied_[p]});
    }
  }
  std::sort(s.by_protocol.begin(), s.by_protocol.end(),
            [](const ProtocolCount& a, const ProtocolCount& b) {
              if (a.entries != b.entries) return a.entries > b.entries;
              return a.protocol < b.protocol;
            });
  s.other_sources = Rank(rankings.sources, rankings.total, top_n, AddressRanked,
                         &s.top_sources);
  s.other_destinations = Rank(rankings.destinations, rankings.total, top_n,
                              AddressRanked, &s.top_destinations);
  s.other_dports = Rank(rankings.dports, rankings.with_dport, top_n, PortRanked,
                        &s.top_dports);

  // Classes that share a sysctl (UDP with and without a reply) share a
  // histogram: the sysctl is what an operator can change.
  std::map<std::string, size_t> by_sysctl;
  for (int c = 0; c < kTimeoutClassCount; ++c) {
    const ClassHistogram& h = lifetimes_[static_cast<size_t>(c)];
    if (h.count == 0) continue;
    std::string sysctl = TimeoutClassSysctl(static_cast<TimeoutClass>(c));
    if (sysctl.empty()) sysctl = "none";
    auto [it, added] = by_sysctl.emplace(sysctl, s.lifetimes.size());
    if (added) s.lifetimes.push_back(LifetimeHistogram{sysctl, {}, 0, 0});
    LifetimeHistogram& out = s.lifetimes[it->second];
    uint64_t running = 0;
    for (size_t b = 0; b < kLifetimeBounds.size(); ++b) {
      running += h.buckets[b];
      out.at_most[b] += running;
    }
    out.count += h.count;
    out.sum_s += h.sum_s;
  }
  return s;
}

}  // namespace ctkit
