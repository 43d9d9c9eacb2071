// The replay's census of the table (see table_census.h).
#include "replay/table_census.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <string>

#include "proto/tracker.h"
#include "report/lifetime.h"

namespace ctkit {
namespace {

// The hash key only places counters in the rankings' index; results do not
// depend on it (heavy_hitters.h), so a fixed one keeps runs identical.
constexpr uint64_t kK0 = 0x63656e7375735f30ull, kK1 = 0x63656e7375735f31ull;

bool SameState(const char* a, const char* b) {
  if (a == b) return true;
  return a != nullptr && b != nullptr && std::strcmp(a, b) == 0;
}

}  // namespace

TableCensus::TableCensus(uint32_t pool_capacity, size_t top_n)
    // calloc: the pages are the kernel's zero pages until an entry's slot
    // is first written, so the byte per slot costs only what is used.
    : class_of_slot_(static_cast<uint8_t*>(std::calloc(pool_capacity, 1)),
                     &std::free),
      pool_capacity_(pool_capacity),
      top_n_(top_n),
      sources_(kK0),
      destinations_(kK0 ^ 1),
      dports_(kK0 ^ 2) {
  if (!class_of_slot_) throw std::bad_alloc();
}

TableCensus::Ranking::Ranking(uint64_t k0)
    : counters(CompositionBuilder::kRankingCounters, k0, kK1) {
  copy.reserve(CompositionBuilder::kRankingCounters);
}

uint8_t TableCensus::ClassOf(const FlowInfo& f) {
  const Class c{f.original.l4_proto, f.assured, f.seen_reply, f.state};
  for (size_t i = 0; i < classes_used_; ++i) {
    const Class& k = classes_[i];
    if (k.l4_proto == c.l4_proto && k.assured == c.assured &&
        k.seen_reply == c.seen_reply && SameState(k.state, c.state)) {
      return static_cast<uint8_t>(i);
    }
  }
  if (classes_used_ == kMaxClasses) return kMaxClasses - 1;
  classes_[classes_used_] = c;
  kind_of_class_[classes_used_] = LifetimeKindOf(f);
  return static_cast<uint8_t>(classes_used_++);
}

void TableCensus::LiveByKind(
    std::array<uint32_t, kLifetimeKindCount>* out) const {
  out->fill(0);
  for (size_t i = 0; i < classes_used_; ++i) {
    (*out)[static_cast<size_t>(kind_of_class_[i])] +=
        static_cast<uint32_t>(live_[i]);
  }
}

void TableCensus::Ranking::Add(const HitterKey& key) {
  if (counters.Add(key) >= threshold) changed = true;
}

void TableCensus::Ranking::Remove(const HitterKey& key) {
  const uint64_t had = counters.Remove(key);
  if (had != 0 && had >= threshold) changed = true;
}

void TableCensus::Ranking::CopyIfChanged(size_t top_n) {
  if (!changed) return;
  // Only the counters that can be in a top-n list: those at least as
  // large as the n-th largest (ties included, as ties are ranked by key).
  threshold = counters.NthLargestCount(top_n);
  counters.CopyCountsAtLeast(threshold, &copy);
  // Fewer than n keys: any key may join the list.
  if (copy.size() < top_n) threshold = 0;
  changed = false;
}

void TableCensus::Rank(const FlowInfo& f, bool add) {
  const Tuple& t = f.original;
  const bool has_dport = ProtocolHasPorts(t.l4_proto);
  const HitterKey src = AddressKey(t.family, t.src);
  const HitterKey dst = AddressKey(t.family, t.dst);
  if (add) {
    sources_.Add(src);
    destinations_.Add(dst);
    if (has_dport) {
      dports_.Add(PortKey(t.l4_proto, t.dst_port_or_icmp_type_code));
      ++with_dport_;
    }
  } else {
    sources_.Remove(src);
    destinations_.Remove(dst);
    if (has_dport) {
      dports_.Remove(PortKey(t.l4_proto, t.dst_port_or_icmp_type_code));
      --with_dport_;
    }
  }
}

void TableCensus::CopyRankings() {
  // A ranking whose top keys nothing touched since its last copy would
  // copy the same counters again (the common case while a table grows:
  // one new entry of a key far from the top).
  sources_.CopyIfChanged(top_n_);
  destinations_.CopyIfChanged(top_n_);
  dports_.CopyIfChanged(top_n_);
  ranked_at_ = total_;
  ranked_with_dport_ = with_dport_;
}

void TableCensus::OnEvent(const Event& e) {
  if (e.slot >= pool_capacity_) return;  // not this engine's
  uint8_t& slot_class = class_of_slot_.get()[e.slot];
  switch (e.type) {
    case EventType::kNew: {
      slot_class = ClassOf(e.flow);
      ++live_[slot_class];
      ++total_;
      Rank(e.flow, true);
      if (total_ > peak_) {
        peak_ = total_;
        // Classes only ever get added, so the unused tail is 0 in both.
        std::copy_n(live_.begin(), classes_used_, at_peak_.begin());
        peak_jiffies_ = e.jiffies;
        expired_at_peak_gone_ = 0;
        if (total_ <= CompositionBuilder::kRankingCounters ||
            total_ >= ranked_at_ + ranked_at_ / 128 + 1) {
          CopyRankings();
        }
      }
      break;
    }
    case EventType::kUpdate: {
      const uint8_t now = ClassOf(e.flow);
      if (now != slot_class) {
        --live_[slot_class];
        ++live_[now];
        slot_class = now;
      }
      break;
    }
    case EventType::kDestroy: {
      --live_[slot_class];
      --total_;
      Rank(e.flow, false);
      const auto expiry_after_peak = static_cast<int32_t>(
          e.jiffies + static_cast<uint32_t>(e.flow.remaining_jiffies) -
          peak_jiffies_);
      if (peak_ != 0 && expiry_after_peak <= 0) ++expired_at_peak_gone_;
      break;
    }
  }
}

void TableCensus::SeeAtEnd(const FlowInfo& f, uint32_t jiffies_now) {
  const auto expiry_after_peak = static_cast<int32_t>(
      jiffies_now + static_cast<uint32_t>(f.remaining_jiffies) - peak_jiffies_);
  if (peak_ != 0 && expiry_after_peak <= 0) ++expired_at_peak_left_;
}

TableComposition TableCensus::AtPeak() const {
  CompositionBuilder b;
  std::map<std::string, uint64_t> by_class;
  std::map<std::string, LifetimeKind> kind;
  for (size_t i = 0; i < classes_used_; ++i) {
    if (at_peak_[i] == 0) continue;
    const Class& c = classes_[i];
    FlowInfo f;
    f.original.l4_proto = c.l4_proto;
    f.state = c.state;
    f.assured = c.assured;
    f.seen_reply = c.seen_reply;
    SummaryEntry e;
    e.l4_proto = c.l4_proto;
    if (c.state != nullptr) e.state = c.state;
    e.assured = c.assured;
    e.seen_reply = c.seen_reply;
    e.has_dport = ProtocolHasPorts(c.l4_proto);
    b.AddToCounts(e, at_peak_[i]);
    // The class as the report names it: the protocol and state, refined
    // by ASSURED and whether a reply was seen.
    std::string k = ProtoName(c.l4_proto);
    if (c.state != nullptr) k += std::string(" ") + c.state;
    if (c.assured) {
      k += " ASSURED";
    } else {
      k += c.seen_reply ? " replied" : " UNREPLIED";
    }
    by_class[k] += at_peak_[i];
    kind.emplace(k, LifetimeKindOf(f));
  }
  RankingCounters ranked;
  ranked.sources = sources_.copy;
  ranked.destinations = destinations_.copy;
  ranked.dports = dports_.copy;
  ranked.total = ranked_at_;
  ranked.with_dport = ranked_with_dport_;
  TableComposition out = b.FinishWith(top_n_, ranked);
  out.ranked_at = ranked_at_;
  out.expired_unreaped = expired_at_peak_gone_ + expired_at_peak_left_;
  out.by_class = RankTallies(by_class, by_class.size());
  for (const Tally& t : out.by_class)
    out.by_class_kind.push_back(kind.at(t.key));
  return out;
}

}  // namespace ctkit
