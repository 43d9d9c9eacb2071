// TableSummary: what a live conntrack table holds, read as a stream of
// entries into aggregates whose size does not depend on the table's.
//
// The exporter's scan and doctor read tables of millions of entries on a
// host that is in trouble; a copy of the table (or a map of every source)
// would cost the host a gigabyte when it can least afford it. So each entry
// is folded in as it arrives and forgotten:
// - exact counts by protocol and state, ASSURED and UNREPLIED;
// - the sources, destinations and destination ports holding the most
//   entries, from Space-Saving summaries (heavy_hitters.h): over-estimates
//   by at most total / capacity, exact while fewer than `capacity`
//   different keys were seen, and the rest as `other`;
// - for each timeout class (proto/timeout_class.h), a histogram of the
//   entries' remaining lifetimes: how soon the table would drain if no
//   packet came, which is what a shorter timeout would change.
// Memory: a few hundred kilobytes, fixed when the builder is made.
#ifndef CTKIT_REPORT_TABLE_SUMMARY_H_
#define CTKIT_REPORT_TABLE_SUMMARY_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ctkit/engine.h"
#include "proto/timeout_class.h"
#include "report/heavy_hitters.h"

namespace ctkit {

/// The remaining-lifetime histogram's upper bounds in seconds (the last
/// bucket, +Inf, is implicit): the kernel's default timeouts fall on them
/// (30 s UDP, 120 s TIME_WAIT and SYN_SENT, 300 s unacknowledged and
/// ESTABLISHED-capped, 432000 s ESTABLISHED), so a bucket edge says "set
/// under this default".
inline constexpr std::array<double, 12> kLifetimeBounds = {
    1, 10, 30, 60, 120, 180, 300, 600, 3600, 21600, 86400, 432000};

/// One entry as the summary needs it.
struct SummaryEntry {
  uint8_t l4_proto = 0;
  /// The tracker's state as conntrack -L prints it; empty when none.
  std::string_view state;
  bool assured = false;
  bool seen_reply = false;  ///< not [UNREPLIED]
  Family family = Family::kIPv4;
  Address src{}, dst{};  ///< original direction
  bool has_dport = false;
  uint16_t dport = 0;
  uint32_t timeout_s = 0;  ///< remaining seconds
};

/// Whether the protocol's tuple has a destination port (TCP, UDP,
/// UDP-Lite, SCTP, DCCP; ICMP's second field is a type and code).
bool ProtocolHasPorts(uint8_t l4_proto);

/// The rankings' keys: an address of a family, a protocol's port.
HitterKey AddressKey(Family f, const Address& a);
HitterKey PortKey(uint8_t l4_proto, uint16_t port);

/// A FlowInfo (a ctnetlink dump entry) as a SummaryEntry; `state` points
/// into the FlowInfo's static state name.
SummaryEntry SummaryEntryOf(const FlowInfo& f);

/// A count by protocol and state.
struct StateCount {
  std::string protocol;  ///< "tcp", "udp", ... or the number
  std::string state;     ///< "" for protocols without states; "other"
  uint64_t entries = 0;
};

/// A count by protocol.
struct ProtocolCount {
  std::string protocol;  ///< "tcp", "udp", ... or the number
  uint64_t entries = 0;
  uint64_t unreplied = 0;
};

/// A ranked source, destination or port.
struct RankedKey {
  std::string protocol;  ///< ports only: "tcp", "udp", ...
  std::string key;       ///< "10.0.0.1", "2001:db8::1", "443"
  uint64_t entries = 0;  ///< at least the true count
  uint64_t error = 0;    ///< the true count is at least entries - error
};

/// The remaining lifetimes of one timeout sysctl's entries.
struct LifetimeHistogram {
  /// The sysctl without the net.netfilter. prefix, or "none" for the
  /// entries no sysctl governs (SYN_SENT2's fixed 120 s, unknown states).
  std::string sysctl;
  /// Entries with at most kLifetimeBounds[i] seconds left (cumulative,
  /// as Prometheus histograms are); the +Inf bucket is `count`.
  std::array<uint64_t, kLifetimeBounds.size()> at_most{};
  uint64_t count = 0;
  double sum_s = 0;
};

struct TableSummary {
  uint64_t total = 0;
  uint64_t assured = 0;
  uint64_t unreplied = 0;
  /// Largest first, ties in (protocol, state) order.
  std::vector<StateCount> by_state;
  /// Largest first, ties in protocol order.
  std::vector<ProtocolCount> by_protocol;
  /// The top-n, largest first, ties in the order of the key as text
  /// ("10.0.0.10" before "10.0.0.9"; ports by "protocol/port"), which is
  /// the order of the reports; `*_other` the rest.
  std::vector<RankedKey> top_sources, top_destinations, top_dports;
  uint64_t other_sources = 0, other_destinations = 0, other_dports = 0;
  /// Entries with a destination port (the dport ranking's total).
  uint64_t with_dport = 0;
  /// Timeout sysctls in timeout-class order, only those with entries.
  std::vector<LifetimeHistogram> lifetimes;
};

/// Ranking counters kept outside a builder (a replay's census keeps its
/// own, taken at the table's peak): what Finish ranks instead of the
/// builder's, over the given totals.
struct RankingCounters {
  std::vector<Hitter> sources, destinations, dports;
  uint64_t total = 0;  ///< entries the source and destination counts are of
  uint64_t with_dport = 0;  ///< entries the port counts are of
};

class TableSummaryBuilder {
 public:
  /// `capacity` counters per ranking (its memory and its accuracy:
  /// over-estimates of at most total / capacity); `k0`, `k1` key their
  /// hashes.
  TableSummaryBuilder(size_t capacity, uint64_t k0, uint64_t k1);

  /// Folds one entry in. Allocates nothing.
  void Add(const SummaryEntry& e);

  /// Counts `n` entries like `e` by protocol, state and flag only: not in
  /// the rankings, not in the lifetime histograms (a census that keeps
  /// those itself, with FinishWith).
  void AddToCounts(const SummaryEntry& e, uint64_t n);

  /// The summary so far with the `top_n` largest of each ranking.
  TableSummary Finish(size_t top_n) const;
  /// The same, ranking `rankings` instead of the builder's own counters.
  TableSummary FinishWith(size_t top_n, const RankingCounters& rankings) const;

  uint64_t total() const { return total_; }

 private:
  /// Distinct (protocol, state) pairs counted exactly; more fold into one
  /// "other" per protocol. The trackers know about 25 states in all.
  static constexpr size_t kMaxStates = 64;
  struct StateSlot {
    uint8_t l4_proto = 0;
    uint8_t len = 0;
    std::array<char, 24> name{};  ///< longer names are "other"
    uint64_t entries = 0;
  };
  void CountState(uint8_t l4_proto, std::string_view state, uint64_t n);

  uint64_t total_ = 0, assured_ = 0, unreplied_ = 0, with_dport_ = 0;
  std::array<StateSlot, kMaxStates> states_{};
  size_t states_used_ = 0;
  std::array<uint64_t, 256> other_state_{};  ///< by protocol
  std::array<uint64_t, 256> protocol_entries_{}, protocol_unreplied_{};
  HeavyHitters sources_, destinations_, dports_;
  struct ClassHistogram {
    std::array<uint64_t, kLifetimeBounds.size() + 1> buckets{};
    uint64_t count = 0;
    double sum_s = 0;
  };
  std::array<ClassHistogram, kTimeoutClassCount> lifetimes_{};
};

}  // namespace ctkit

#endif  // CTKIT_REPORT_TABLE_SUMMARY_H_
