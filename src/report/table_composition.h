// What a conntrack table holds, by class: the composition replay reports
// at the peak and doctor reports for a live host. Both fold the same entry
// facts (the fields a `conntrack -L` line shows: report/table_summary.h)
// into it, so the same table is counted and ranked the same way whoever
// read it: largest first, ties in key order, in memory that does not grow
// with the table.
#ifndef CTKIT_REPORT_TABLE_COMPOSITION_H_
#define CTKIT_REPORT_TABLE_COMPOSITION_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "report/lifetime.h"
#include "report/table_summary.h"

namespace ctkit {

/// A labelled number, for the composition tables.
struct Tally {
  std::string key;
  uint64_t entries = 0;
};

/// What the table held at one moment.
struct TableComposition {
  uint64_t total = 0;
  std::vector<Tally> by_protocol;
  /// TCP entries by state ("?" for a TCP entry without one).
  std::vector<Tally> by_tcp_state;
  /// Entries by what governs their lifetime: "tcp TIME_WAIT ASSURED",
  /// "udp UNREPLIED", "udp ASSURED", "icmp", ... (largest first; replay).
  std::vector<Tally> by_class;
  /// The lifetime class (lifetime.h) of each by_class entry, in its order.
  std::vector<LifetimeKind> by_class_kind;
  uint64_t assured = 0;
  uint64_t unreplied = 0;
  uint64_t udp = 0;            ///< UDP and UDP-Lite entries
  uint64_t unreplied_udp = 0;  ///< of those, without a reply
  uint64_t expired_unreaped = 0;
  std::vector<Tally> top_sources;
  std::vector<Tally> top_destinations;
  std::vector<Tally> top_dports;  ///< "tcp/443"
  /// The entries the top lists were counted over: `total`, except for a
  /// replay's peak above 4096 entries, whose lists are taken when the
  /// table first held at least 128/129 of it (replay/table_census.h).
  uint64_t ranked_at = 0;
};

/// Folds entries into a TableComposition in fixed memory (a TableSummary,
/// table_summary.h): exact counts by protocol, state and flag; sources,
/// destinations and ports exact while at most `kRankingCounters` different
/// ones were seen, and over-estimated by at most total / kRankingCounters
/// beyond.
class CompositionBuilder {
 public:
  static constexpr size_t kRankingCounters = 4096;
  CompositionBuilder();
  void Add(const SummaryEntry& e) { summary_.Add(e); }
  /// Counts `n` entries like `e` by protocol, state and flag, leaving the
  /// rankings to FinishWith's counters (a census keeps those itself).
  void AddToCounts(const SummaryEntry& e, uint64_t n) {
    summary_.AddToCounts(e, n);
  }
  /// The composition so far: protocols and TCP states all ranked, the
  /// `top_n` largest sources, destinations and destination ports.
  TableComposition Finish(size_t top_n) const;
  /// The same, with the rankings of `rankings` instead of the builder's.
  TableComposition FinishWith(size_t top_n,
                              const RankingCounters& rankings) const;

 private:
  TableSummaryBuilder summary_;
};

/// `m` largest first, ties in key order, at most `n` of them.
std::vector<Tally> RankTallies(const std::map<std::string, uint64_t>& m,
                               size_t n);

}  // namespace ctkit

#endif  // CTKIT_REPORT_TABLE_COMPOSITION_H_
