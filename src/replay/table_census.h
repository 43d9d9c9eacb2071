// TableCensus: a replay's running account of what the table holds, kept
// from the engine's events, so that the report can say what the table held
// at its peak without walking the table there or replaying the capture a
// second time up to the peak (both cost as much as the replay itself on a
// big table).
//
// - Every entry's class (protocol, state, ASSURED, whether a reply was
//   seen) is counted exactly: NEW adds it to its class, an UPDATE moves it
//   when the class changed (the census remembers each entry's class in one
//   byte per pool slot), DESTROY takes it away. The census's total is then
//   the engine's count after every packet, and when it first reaches a new
//   high the classes' counts are copied: a few dozen numbers.
// - Sources, destinations and destination ports are counted in
//   Space-Saving summaries that also take entries back (heavy_hitters.h):
//   exact while at most kRankingCounters different keys hold entries at
//   once, over-estimates beyond. Copying them at every new high would cost
//   more than the replay while the table grows, so they are copied when
//   the total first passes the last copy's by 1/128 of it (at every new
//   high up to kRankingCounters entries): the top lists describe the table
//   when it held at least 128/129 of its peak, and
//   TableComposition::ranked_at says at what count.
// - Entries already expired but not yet reaped at the peak (they count in
//   nf_conntrack_count): an entry expires at the clock of an event plus its
//   remaining jiffies, and only a reap removes it, so those destroyed after
//   the peak are counted from their DESTROY events and those still there at
//   the end by SeeAtEnd.
// Memory: one byte per pool slot and a few hundred kilobytes of counters.
#ifndef CTKIT_REPLAY_TABLE_CENSUS_H_
#define CTKIT_REPLAY_TABLE_CENSUS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "ctkit/engine.h"
#include "report/heavy_hitters.h"
#include "report/table_composition.h"
#include "report/table_summary.h"

namespace ctkit {

class TableCensus {
 public:
  /// For an engine whose pool holds `pool_capacity` entries, and reports
  /// that list the `top_n` largest sources, destinations and ports.
  TableCensus(uint32_t pool_capacity, size_t top_n);

  /// Takes one engine event (EngineOptions::events_for_every_entry, so
  /// that every entry's NEW, UPDATE and DESTROY arrive).
  void OnEvent(const Event& e);

  /// Entries now (the engine's count between packets).
  uint64_t total() const { return total_; }
  /// Entries now by lifetime class (LifetimeKind order).
  void LiveByKind(std::array<uint32_t, kLifetimeKindCount>* out) const;
  /// The most entries there ever were.
  uint64_t peak() const { return peak_; }

  /// Called for every entry still in the table at the end, with the
  /// engine's clock then (Engine::jiffies()): counts those that had
  /// already expired at the peak.
  void SeeAtEnd(const FlowInfo& f, uint32_t jiffies_now);

  /// What the table held the first time it held peak() entries (empty if
  /// it never held any), with the top_n largest of each ranking.
  TableComposition AtPeak() const;

 private:
  // A class: what decides an entry's timeout and the report's breakdown.
  struct Class {
    uint8_t l4_proto = 0;
    bool assured = false;
    bool seen_reply = false;
    const char* state = nullptr;  // the tracker's static name, or null
  };
  // ctkit's trackers have a few dozen (protocol, state, flags) classes;
  // kMaxClasses is room to spare (a further class would share the last).
  static constexpr size_t kMaxClasses = 255;

  uint8_t ClassOf(const FlowInfo& f);
  void Rank(const FlowInfo& f, bool add);
  void CopyRankings();

  std::unique_ptr<uint8_t, decltype(&std::free)> class_of_slot_;
  uint32_t pool_capacity_;
  size_t top_n_;
  std::array<Class, kMaxClasses> classes_{};
  std::array<LifetimeKind, kMaxClasses> kind_of_class_{};
  size_t classes_used_ = 0;
  std::array<uint64_t, kMaxClasses> live_{};  // entries by class, now
  std::array<uint64_t, kMaxClasses> at_peak_{};
  uint64_t total_ = 0, peak_ = 0;
  uint32_t peak_jiffies_ = 0;
  uint64_t expired_at_peak_gone_ = 0;  // reaped after the peak
  uint64_t expired_at_peak_left_ = 0;  // still there at the end

  // A ranking's live counters and their copy nearest the peak. A copy is
  // taken only when a key at or above the copied n-th largest count moved
  // (`changed`): any other change leaves the top-n lists as they were.
  struct Ranking {
    explicit Ranking(uint64_t k0);
    void Add(const HitterKey& key);
    void Remove(const HitterKey& key);
    void CopyIfChanged(size_t top_n);
    HeavyHitters counters;
    std::vector<Hitter> copy;
    uint64_t threshold = 0;  // the n-th largest count when copied
    bool changed = true;
  };
  Ranking sources_, destinations_, dports_;
  uint64_t with_dport_ = 0;
  uint64_t ranked_at_ = 0;  // the total when the rankings were taken
  uint64_t ranked_with_dport_ = 0;
};

}  // namespace ctkit

#endif  // CTKIT_REPLAY_TABLE_CENSUS_H_
