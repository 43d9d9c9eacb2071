// Measuring a capture's load per lifetime class (see capture_load.h).
//
// One replay with no limit and an event listener: NEW puts an entry in its
// class, an UPDATE that changes the class moves it (counted as a move out
// of the old class), DESTROY ends it in its class (expired) or cuts it
// short (killed: counted with the moves). A map from the original tuple to
// (class, time it entered the class) follows every live entry; the events
// come out in packet order because an engine with a listener runs
// serially. Entries that expire in a class are counted by when they
// entered it, in time bins that double in width as the capture goes on,
// since the capture's length is known only at its end.
//
// Whether an entry live at the end has been idle since it entered its
// class needs no per-packet record: the packet that moved it there set
// its timeout to the class's lifetime, so an idle entry has exactly
// lifetime - (end - entered) left, and one refreshed since has more.
#include "plan/capture_load.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proto/tracker.h"
#include "replay/replay.h"

namespace ctkit {
namespace {

constexpr size_t kKinds = kLifetimeKindCount;
constexpr size_t kNewColumn = kKinds;  // TimeBins column counting NEW events

struct TupleKey {
  size_t operator()(const Tuple& t) const {
    char b[38];
    std::memcpy(b, t.src.bytes, 16);
    std::memcpy(b + 16, t.dst.bytes, 16);
    std::memcpy(b + 32, &t.src_port_or_icmp_id, 2);
    std::memcpy(b + 34, &t.dst_port_or_icmp_type_code, 2);
    b[36] = static_cast<char>(t.l4_proto);
    b[37] = static_cast<char>(t.family);
    return std::hash<std::string_view>()(std::string_view(b, sizeof b));
  }
};

struct Live {
  LifetimeKind kind;
  uint64_t since_ns;  ///< when it entered `kind`
};

// Counts by class over time, in at most kBins bins of equal width.
class TimeBins {
 public:
  void Add(uint64_t offset_ns, size_t kind) {
    uint64_t i = offset_ns / width_;
    while (i >= kBins) {
      // Pairs merge into the lower half; each pair is read before any
      // merge writes over it (j <= 2j).
      for (size_t j = 0; j < kBins / 2; ++j) {
        for (size_t k = 0; k < bins_[j].size(); ++k) {
          bins_[j][k] = bins_[2 * j][k] + bins_[2 * j + 1][k];
        }
      }
      for (size_t j = kBins / 2; j < kBins; ++j) bins_[j] = {};
      width_ *= 2;
      i = offset_ns / width_;
    }
    ++bins_[i][kind];
  }
  /// Counts at offsets >= from_ns; the bin holding from_ns counts in
  /// proportion to its part after from_ns.
  double From(uint64_t from_ns, size_t kind) const {
    double n = 0;
    for (size_t j = 0; j < kBins; ++j) {
      const uint64_t start = j * width_, end = start + width_;
      if (end <= from_ns) continue;
      double part = start >= from_ns ? 1.0
                                     : static_cast<double>(end - from_ns) /
                                           static_cast<double>(width_);
      n += part * static_cast<double>(bins_[j][kind]);
    }
    return n;
  }
  double Total(size_t kind) const { return From(0, kind); }

 private:
  static constexpr size_t kBins = 1024;
  std::vector<std::array<uint64_t, kKinds + 1>> bins_ =
      std::vector<std::array<uint64_t, kKinds + 1>>(kBins);
  uint64_t width_ = 1000000;  // 1 ms
};

}  // namespace

void EstimateSteadyState(CaptureLoad* load) {
  const double window = load->duration_s / 2;
  const double n0 = static_cast<double>(load->new_entries[0]);
  const double n1 = static_cast<double>(load->new_entries[1]);
  load->steady_traffic = 2 * n0 >= n1 && 2 * n1 >= n0;
  // First the rates and each class's entries without the GC's lag; their
  // mean remaining lifetime gives the GC's interval (spec §3.3: each
  // entry's remaining time clamped to [1, 300] s, the mean clamped to
  // [1, 60] s). An idle entry is met with half its lifetime left on
  // average; an active one, refreshed by its traffic, with all of it.
  double weight = 0, remaining = 0;
  for (ClassLoad& c : load->classes) {
    const uint64_t fates = c.left + c.ended;
    const double f =
        fates ? static_cast<double>(c.left) / static_cast<double>(fates) : 0;
    const double life = static_cast<double>(c.info.seconds);
    c.shorter_than_lifetime = load->duration_s < life;
    if (c.info.connection_bound) {
      c.unresolved = static_cast<double>(c.at_end_late) * (1.0 - f);
      weight += static_cast<double>(c.at_end);
      remaining += static_cast<double>(c.at_end) * std::clamp(life, 1.0, 300.0);
      continue;
    }
    const double rested[2] = {
        c.expired_by_half[0] + static_cast<double>(c.idle_by_half[0]) * (1 - f),
        c.expired_by_half[1] +
            static_cast<double>(c.idle_by_half[1]) * (1 - f)};
    const double busier = std::max(rested[0], rested[1]);
    const double idle = static_cast<double>(c.resting_at_end);
    c.rest_rate = window > 0 ? busier / window : 0;
    const double resting = std::max(idle, c.rest_rate * life);
    const double active = static_cast<double>(c.active_at_end);
    weight += resting + active;
    remaining += resting * std::clamp(life / 2, 1.0, 300.0) +
                 active * std::clamp(life, 1.0, 300.0);
  }
  load->gc_lag_s =
      weight > 0 ? std::clamp(remaining / weight, 1.0, 60.0) : 60.0;
  // Then each class the capture is too short for, with the lag: an expired
  // entry still counts until the GC reaches it, up to one interval later,
  // so just before a GC pass the table holds rate x (lifetime + lag) of
  // each timer-bound class. A class whose lifetime the capture spans has
  // shown its level: its entries at the end (the peak, taken apart from
  // the classes, covers the GC's lag for it).
  double total = 0;
  for (ClassLoad& c : load->classes) {
    if (c.info.connection_bound || !c.shorter_than_lifetime) {
      c.steady = static_cast<double>(c.at_end);
    } else {
      const double rested =
          c.rest_rate * (static_cast<double>(c.info.seconds) + load->gc_lag_s);
      c.steady = static_cast<double>(c.active_at_end) +
                 std::max(rested, static_cast<double>(c.resting_at_end));
    }
    total += c.steady;
  }
  load->steady_total = total;
  load->cannot_answer = false;
  for (ClassLoad& c : load->classes) {
    c.cannot_answer = c.info.connection_bound && c.shorter_than_lifetime &&
                      c.unresolved >= 1 && c.unresolved >= 0.05 * total;
    load->cannot_answer |= c.cannot_answer;
  }
  // A capture with no length shows no rate at all.
  if (load->duration_s <= 0 && load->packets > 0 && total > 0) {
    load->cannot_answer = true;
  }
}

[[nodiscard]] Result<CaptureLoad> MeasureCapture(const std::string& capture,
                                                 const Tunables& t) {
  std::array<ClassLoad, kKinds> cls{};
  std::unordered_map<Tuple, Live, TupleKey> live;
  TimeBins bins;  // expiries by class-entry time; NEW events
  uint64_t first_ns = 0;
  bool started = false;
  auto kind_index = [](LifetimeKind k) { return static_cast<size_t>(k); };

  ReplayOptions ro;
  ro.tunables = t;
  ro.tunables.max = 0;
  ro.tunables.buckets = std::max<uint32_t>(t.buckets, 262144);
  ro.tunables.events = 2;  // every entry gets events: a listener exists
  ro.composition = false;
  ro.on_event = [&](const Event& e) {
    if (!started) {
      started = true;
      first_ns = e.ts_ns;
    }
    const uint64_t at = e.ts_ns >= first_ns ? e.ts_ns - first_ns : 0;
    const LifetimeKind now = LifetimeKindOf(e.flow);
    switch (e.type) {
      case EventType::kNew:
        ++cls[kind_index(now)].entered;
        live[e.flow.original] = {now, at};
        bins.Add(at, kNewColumn);
        break;
      case EventType::kUpdate: {
        auto it = live.find(e.flow.original);
        if (it == live.end()) break;
        if (it->second.kind != now) {
          ++cls[kind_index(it->second.kind)].left;
          ++cls[kind_index(now)].entered;
          it->second = {now, at};
        }
        break;
      }
      case EventType::kDestroy: {
        auto it = live.find(e.flow.original);
        if (it == live.end()) break;
        const size_t k = kind_index(it->second.kind);
        if (e.flow.remaining_jiffies > 0) {
          ++cls[k].left;  // killed (RST, a new SYN): its life was cut short
        } else {
          ++cls[k].ended;
          bins.Add(it->second.since_ns, k);
        }
        live.erase(it);
        break;
      }
    }
  };
  std::unique_ptr<Engine> engine;
  auto r = RunReplay(capture, ro, &engine);
  if (!r) return fail(r.error());
  if (r->read_error) return fail(*r->read_error);

  CaptureLoad load;
  load.capture = capture;
  load.packets = r->packets_read;
  load.peak = r->peak_count;
  load.pool_exhausted = r->counters.table_full > 0;
  const uint64_t span = r->last_ts_ns - r->first_ts_ns;
  load.duration_s = static_cast<double>(span) * 1e-9;
  // Offsets count from the first entry's event; the capture's halves from
  // its first packet.
  const uint64_t first_entry =
      started && first_ns > r->first_ts_ns ? first_ns - r->first_ts_ns : 0;
  const uint64_t mid = span / 2 > first_entry ? span / 2 - first_entry : 0;
  const uint64_t end = span > first_entry ? span - first_entry : 0;
  if (engine) {
    engine->Visit(r->last_ts_ns, [&](const FlowInfo& f) {
      auto it = live.find(f.original);
      if (it == live.end()) return;
      const size_t k = kind_index(it->second.kind);
      ClassLoad& c = cls[k];
      const bool late = it->second.since_ns >= mid;
      if (f.remaining_jiffies <= 0) {
        // Expired, not yet reaped: its life in the class is over.
        ++c.ended;
        bins.Add(it->second.since_ns, k);
        return;
      }
      ++c.at_end;
      const LifetimeInfo info = DescribeLifetime(it->second.kind, t);
      if (info.connection_bound) {
        if (late) ++c.at_end_late;
        return;
      }
      // Idle since it entered the class: the lifetime less the time since,
      // give or take two jiffies of rounding.
      const int64_t since_j = static_cast<int64_t>(
          (end - std::min(end, it->second.since_ns)) / (1000000000 / kHz));
      const int64_t idle_left =
          static_cast<int64_t>(info.seconds) * kHz - since_j;
      if (f.remaining_jiffies <= idle_left + 2) {
        ++c.resting_at_end;
        ++c.idle_by_half[late ? 1 : 0];
      } else {
        ++c.active_at_end;
      }
    });
  }
  const double new_total = bins.Total(kNewColumn);
  const double new_late = bins.From(mid, kNewColumn);
  load.new_entries[0] =
      static_cast<uint64_t>(std::llround(new_total - new_late));
  load.new_entries[1] = static_cast<uint64_t>(std::llround(new_late));
  for (size_t k = 0; k < kKinds; ++k) {
    ClassLoad& c = cls[k];
    if (c.entered == 0) continue;
    c.kind = static_cast<LifetimeKind>(k);
    c.info = DescribeLifetime(c.kind, t);
    const double late = bins.From(mid, k);
    c.expired_by_half[0] = bins.Total(k) - late;
    c.expired_by_half[1] = late;
    load.classes.push_back(c);
  }
  EstimateSteadyState(&load);
  return load;
}

}  // namespace ctkit
