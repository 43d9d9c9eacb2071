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
#include "host/table_digest.h"
#include "report/table_composition.h"

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
  /// count / max above this (count > FillLimit(max, pct), the monitoring-
  /// plugin meaning of a threshold: alert above it).
  double warn_fill_pct = 80;
  double crit_fill_pct = 95;
  double majority_pct = 50;  ///< one state/class of the table entries
  double dominate_pct = 50;  ///< one source address of the entries
  double mem_warn_pct = 10;  ///< MemAvailable / MemTotal below this
  double mem_crit_pct = 5;
  double max_per_bucket = 8;   ///< max / buckets above this: chains too long
  double buckets_per_max = 8;  ///< buckets / max above this: max left small
  uint64_t min_entries = 100;  ///< composition findings need this many
  /// A table-full log line of this namespace this recent (seconds) is a
  /// WARNING even when the table has room now; older ones are history.
  double recent_log_s = 3600;
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

struct Diagnosis {
  Severity status = Severity::kOk;
  Thresholds thresholds;  ///< what the findings were judged with
  std::vector<Finding> findings;
  TableComposition composition;
  std::vector<TimeoutUse> timeouts;
  /// The merged changes of all non-OK findings (max/buckets: the largest;
  /// timeouts: the smallest).
  std::vector<Change> changes;
};

/// The timeout sysctl (short name) that sets an entry's current lifetime,
/// or "" when none does (SYN_SENT2: a fixed 120 s; a TCP or SCTP state
/// that is absent, NONE or unknown): the entry's timeout class
/// (proto/timeout_class.h) with the kernel's trackers.
std::string TimeoutSysctlFor(const TableEntry& e);

/// The largest count that does not exceed `pct` % of `max`:
/// floor(max * pct / 100). Fill findings fire above it, and the perfdata
/// thresholds print it, so both say the same thing.
uint64_t FillLimit(uint64_t max, double pct);

/// A duration for the report: "45 s", "12 min", "1 h", "5.2 h", "3.1 days".
std::string FormatAge(double seconds);

Diagnosis Diagnose(const HostData& d, const Thresholds& t);

}  // namespace ctkit

#endif  // CTKIT_HOST_FINDINGS_H_
