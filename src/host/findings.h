// The doctor's findings: one per cause the common runbook names (max too
// low, tcp_loose, tcp_max_retrans, hash size, UDP timeout, memory pressure)
// and one per pattern the data shows beyond it. Each is a pure function of
// HostData, so every finding is tested on fixture trees.
#ifndef CTKIT_HOST_FINDINGS_H_
#define CTKIT_HOST_FINDINGS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "host/host_data.h"

namespace ctkit {

/// Monitoring-plugin severities; the numbers are the exit codes.
enum class Severity : int {
  kOk = 0,
  kWarning = 1,
  kCritical = 2,
  kUnknown = 3
};
const char* SeverityName(Severity s);

/// When findings fire. Percentages are 0..100.
struct Thresholds {
  double warn_fill_pct = 80;  ///< count / max
  double crit_fill_pct = 95;
  double majority_pct = 50;  ///< one state/class of the table entries
  double dominate_pct = 50;  ///< one source address of the entries
  double mem_warn_pct = 10;  ///< MemAvailable / MemTotal below this
  double mem_crit_pct = 5;
  double max_per_bucket = 8;   ///< max / buckets above this: chains too long
  double buckets_per_max = 8;  ///< buckets / max above this: max left small
  uint64_t min_entries = 100;  ///< composition findings need this many
  double recent_log_s = 3600;  ///< a table-full log line this recent
};

/// One setting --apply would change. `name` is the sysctl's short name
/// ("nf_conntrack_max"), or "hashsize" for the module parameter.
struct Change {
  std::string name;
  uint64_t value = 0;
  bool global = false;  ///< one value for the whole kernel (init netns only)
  std::string reason;   ///< the finding id that asked for it
};

struct Evidence {
  std::string name;
  double value = 0;
  std::string unit;  ///< "", "%", "s", "bytes", "kB"
};

struct Finding {
  std::string id;
  Severity severity = Severity::kOk;
  std::string title;
  std::vector<Evidence> evidence;
  std::string detail;  ///< what the numbers mean
  std::string fix;     ///< exact commands/paths for this kernel
  /// Where the usual advice is wrong for this cause, said plainly.
  std::vector<std::string> corrections;
  std::vector<Change> changes;
};

/// What the table holds, by class.
struct TableComposition {
  uint64_t entries = 0;
  std::vector<std::pair<std::string, uint64_t>> by_proto;    ///< desc
  std::vector<std::pair<std::string, uint64_t>> tcp_states;  ///< desc
  uint64_t assured = 0, unreplied = 0, unreplied_udp = 0, udp = 0;
  std::vector<std::pair<std::string, uint64_t>> top_sources;  ///< top 5
  std::vector<std::pair<std::string, uint64_t>> top_destinations;
  std::vector<std::pair<std::string, uint64_t>> top_dports;  ///< "tcp/443"
};

/// One timeout sysctl: how many entries it governs now and how many a
/// shorter value would free at once (entries idle at least that long).
struct TimeoutUse {
  std::string sysctl;  ///< short name
  uint64_t value_s = 0;
  uint64_t entries = 0;
  /// (shorter value, entries it would free now)
  std::vector<std::pair<uint64_t, uint64_t>> shorter;
  /// Entries whose remaining time exceeds the current value (set under an
  /// older, longer value) or that are capped (ESTABLISHED at <= 300 s):
  /// their idle time is unknown, so they are not counted as freed.
  uint64_t unknown_idle = 0;
};

struct Diagnosis {
  Severity status = Severity::kOk;
  std::vector<Finding> findings;
  TableComposition composition;
  std::vector<TimeoutUse> timeouts;
  /// The merged changes of all non-OK findings (max/buckets: the largest;
  /// timeouts: the smallest).
  std::vector<Change> changes;
};

/// The timeout sysctl (short name) that sets an entry's current lifetime.
std::string TimeoutSysctlFor(const TableEntry& e);

/// The kernel-memory estimate for `max` full entries and `buckets` heads:
/// 256 bytes per entry (the nf_conntrack slab object) + 8 per bucket.
uint64_t KernelMemoryBytes(uint64_t entries, uint64_t buckets);

Diagnosis Diagnose(const HostData& d, const Thresholds& t);

}  // namespace ctkit

#endif  // CTKIT_HOST_FINDINGS_H_
