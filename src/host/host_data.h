// HostData: everything `ctkit doctor` read from a host, parsed. Collect()
// fills it from a HostView; the parsers are exposed for tests.
#ifndef CTKIT_HOST_HOST_DATA_H_
#define CTKIT_HOST_HOST_DATA_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ctkit/result.h"
#include "ctkit/stats.h"
#include "host/host_view.h"
#include "host/table_digest.h"
#include "report/table_summary.h"

namespace ctkit {

/// Where the conntrack sysctls live (the runbook's /proc/sys/netfilter/
/// does not exist).
inline constexpr char kSysctlDir[] = "/proc/sys/net/netfilter/";
inline constexpr char kHashsizeParam[] =
    "/sys/module/nf_conntrack/parameters/hashsize";

/// One table entry as `conntrack -L` or /proc/net/nf_conntrack shows it.
struct TableEntry {
  std::string proto;  ///< "tcp", "udp", "icmp", ...
  int proto_num = 0;
  uint32_t timeout_s = 0;         ///< remaining seconds
  std::string state;              ///< TCP/SCTP state, empty otherwise
  std::string src, dst;           ///< original direction
  uint16_t sport = 0, dport = 0;  ///< 0 when the protocol has none
  bool assured = false;
  bool unreplied = false;
};

/// The table-full lines of one network namespace.
struct NetnsTableFull {
  uint64_t lines = 0;
  double last_s = -1;  ///< seconds since boot of the last one (-1: unknown)
};

/// What the kernel log says about conntrack and memory.
struct KernelLogSummary {
  /// "nf_conntrack: nf_conntrack: table full[ in netns N], dropping packet"
  /// lines. Rate-limited (10 per 5 s, shared): not a drop count.
  uint64_t table_full_lines = 0;
  /// Of those, lines naming a netns (the non-init-netns variant).
  uint64_t table_full_netns_lines = 0;
  /// Seconds since boot of the last table-full line (-1: none / unknown).
  double last_table_full_s = -1;
  /// The same lines by namespace. Key 0: the initial namespace (its line
  /// has no "in netns"); otherwise the N of "in netns N", which is the
  /// namespace's inode number (measured on 6.18: the inode of
  /// /proc/PID/ns/net and of /run/netns/NAME).
  std::map<uint64_t, NetnsTableFull> table_full_by_netns;
  /// Seconds since boot of the oldest timestamped record: the log covers
  /// only the time after it (-1: no timestamps).
  double first_record_s = -1;
  /// "net_ratelimit: N callbacks suppressed" summed (all net messages).
  uint64_t ratelimit_suppressed = 0;
  /// OOM-killer lines ("invoked oom-killer", "Out of memory: Killed").
  uint64_t oom_lines = 0;
  /// Up to 5 matching lines each, last ones, for the report.
  std::vector<std::string> table_full_samples;
  std::vector<std::string> oom_samples;
};

/// The nf_conntrack slab cache (/proc/slabinfo).
struct SlabInfo {
  uint64_t active_objs = 0;
  uint64_t num_objs = 0;
  uint64_t objsize = 0;
};

struct HostData {
  std::string source;  ///< HostView::Describe()
  /// /proc/sys/kernel/hostname and osrelease (`uname -n`, `-r`) of the
  /// host the files are from; unset when not readable (not "missing": only
  /// the JSON's stamp uses them).
  std::optional<std::string> hostname, kernel_release;
  /// Every nf_conntrack_* sysctl read, by short name ("nf_conntrack_max"),
  /// value trimmed.
  std::map<std::string, std::string> sysctls;
  std::optional<uint64_t> count, max, buckets, hashsize_param;
  /// True when /proc/sys/net/nf_conntrack_max exists (the init netns only),
  /// i.e. the global sysctls are writable from here.
  bool init_netns = false;
  /// nf_conntrack is built into the kernel (no modprobe.d effect).
  std::optional<bool> builtin;

  std::optional<Stats> stats;
  std::string stats_source;  ///< "ctnetlink" or "/proc/net/stat/nf_conntrack"
  uint32_t stats_cpus = 0;

  /// The table, digested as it was read (none of it is kept).
  std::optional<TableDigest> table;
  std::string table_source;
  uint64_t table_unparsed = 0;  ///< lines the parser did not understand

  std::optional<KernelLogSummary> kmsg;
  std::optional<double> uptime_s;
  /// The diagnosed namespace's inode (/proc/self/ns/net), the N of its
  /// "table full in netns N" lines; namespace names by inode (/run/netns).
  std::optional<uint64_t> netns_inode;
  std::map<uint64_t, std::string> netns_names;

  std::optional<uint64_t> mem_total_kb, mem_available_kb;
  std::optional<SlabInfo> slab;
  /// Processes seen by name (only the ones doctor cares about).
  bool kube_proxy_running = false;

  /// What could not be read, one line each.
  std::vector<std::string> missing;
  /// Of those, what the OS refused (EACCES/EPERM: not root, no
  /// CAP_NET_ADMIN), as "what: error".
  std::vector<std::string> denied;

  /// A sysctl as a number (nullopt when absent or not numeric).
  std::optional<uint64_t> Sysctl(const std::string& short_name) const;
  /// The same, or the kernel's default when the host did not say (0 for a
  /// name ctkit does not know).
  uint64_t SysctlOrDefault(const std::string& short_name) const;
};

/// Reads everything from `view`. Never fails: what is missing is listed in
/// HostData::missing and the findings that need it report UNKNOWN.
HostData Collect(HostView& view);
/// Only what costs O(1) to read, whatever the table's size: the
/// nf_conntrack_* sysctls (count, max, buckets among them) and the
/// statistics (ctnetlink, else /proc/net/stat/nf_conntrack). Collect starts
/// with it; the exporter reads it on every scrape.
HostData CollectCounters(HostView& view);

/// /proc/net/stat/nf_conntrack (header + one 17-column hex line per CPU),
/// summed over CPUs; `entries` is per netns, repeated on each line.
[[nodiscard]] Result<Stats> ParseProcStat(std::string_view text,
                                          uint64_t* entries, uint32_t* cpus);
/// `conntrack -S` lines (one per CPU or one summed), summed.
[[nodiscard]] Result<Stats> ParseConntrackS(std::string_view text,
                                            uint32_t* cpus);
/// One `conntrack -L` or /proc/net/nf_conntrack line.
std::optional<TableEntry> ParseTableLine(std::string_view line);
/// The entry as the table summaries take it (report/table_summary.h);
/// `state` views t.state. nullopt when an address does not parse.
std::optional<SummaryEntry> SummaryEntryOf(const TableEntry& t);
/// /dev/kmsg records ("prio,seq,usec,flags;text") or dmesg lines.
KernelLogSummary SummarizeKernelLog(std::string_view text);
/// A /proc/meminfo field in kB.
std::optional<uint64_t> MeminfoField(std::string_view text,
                                     std::string_view field);
std::optional<SlabInfo> ParseSlabinfo(std::string_view text);

}  // namespace ctkit

#endif  // CTKIT_HOST_HOST_DATA_H_
