// TableDigest: what doctor needs from a conntrack table, folded in entry
// by entry as the table is read, so that diagnosing a table of two million
// entries during the incident costs the host no more memory than one of
// two hundred.
//
// Two things are kept: the composition (report/table_composition.h: exact
// counts by protocol, state and flag, bounded rankings of sources,
// destinations and ports), and for each timeout sysctl that governs
// entries, how many it governs and what a shorter value would change for
// them (TimeoutUse). The shorter values tried are fixed by the sysctl's
// current value before the first entry arrives (half and a quarter of it;
// 1 day and 1 h for ESTABLISHED), so each entry only bumps counters.
#ifndef CTKIT_HOST_TABLE_DIGEST_H_
#define CTKIT_HOST_TABLE_DIGEST_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "proto/timeout_class.h"
#include "report/table_composition.h"
#include "report/table_summary.h"

namespace ctkit {

/// One shorter value of a timeout sysctl and what is true of it now. The
/// kernel reads a timeout sysctl when a packet re-arms an entry (expiry =
/// that packet's time + the value); an entry keeps the expiry it has until
/// its next packet, so a shorter value frees nothing at once.
struct ShorterTimeout {
  uint64_t value_s = 0;
  /// Entries with more than value_s seconds left. They keep their expiry
  /// until their next packet, which arms value_s instead of the current
  /// value; with no further packet they expire when they would anyway.
  uint64_t more_left = 0;
  /// Entries idle at least value_s (current value - remaining; only where
  /// that is known): had value_s been in force since their last packet they
  /// would have expired already. They still stay until their own expiry
  /// (at most current - value_s seconds) unless a packet re-arms them.
  uint64_t idle_at_least = 0;
};

/// One timeout sysctl: how many entries it governs now and what a shorter
/// value would change for them.
struct TimeoutUse {
  std::string sysctl;  ///< short name
  uint64_t value_s = 0;
  uint64_t entries = 0;
  /// The longest time left of these entries: by then every one of them has
  /// expired or been re-armed (under whatever value is in force then).
  uint64_t max_left_s = 0;
  std::vector<ShorterTimeout> shorter;
  /// Entries whose remaining time exceeds the current value (set under an
  /// older, longer value) or that are capped (ESTABLISHED at <= 300 s):
  /// their idle time is unknown, so idle_at_least leaves them out.
  uint64_t unknown_idle = 0;
};

struct TableDigest {
  /// Every TCP state, the 16 largest protocols, the 5 largest sources,
  /// destinations and ports.
  TableComposition composition;
  /// The sysctls governing entries, most entries first (ties by name).
  std::vector<TimeoutUse> timeouts;
};

class TableDigestBuilder {
 public:
  /// `value_of(name)`: a timeout sysctl's value in seconds as the host has
  /// it (its default when the host did not say).
  template <typename ValueOf>
  explicit TableDigestBuilder(ValueOf value_of) {
    for (int c = 0; c < kTimeoutClassCount; ++c) {
      const char* name = TimeoutClassSysctl(static_cast<TimeoutClass>(c));
      if (*name != '\0') Prepare(c, name, value_of(std::string(name)));
    }
    cap_s_ = std::max(value_of("nf_conntrack_tcp_timeout_max_retrans"),
                      value_of("nf_conntrack_tcp_timeout_unacknowledged"));
  }

  /// Folds one entry in. Allocates nothing.
  void Add(const SummaryEntry& e);
  TableDigest Finish() const;

 private:
  static constexpr size_t kMaxShorter = 2;
  struct ClassUse {
    const char* sysctl = nullptr;  ///< null: no sysctl governs the class
    uint64_t value_s = 0;
    uint64_t entries = 0, max_left_s = 0, unknown_idle = 0;
    size_t shorter_count = 0;
    std::array<ShorterTimeout, kMaxShorter> shorter{};
  };
  void Prepare(int klass, const char* sysctl, uint64_t value_s);

  CompositionBuilder composition_;
  std::array<ClassUse, kTimeoutClassCount> classes_{};
  uint64_t cap_s_ = 0;
};

}  // namespace ctkit

#endif  // CTKIT_HOST_TABLE_DIGEST_H_
