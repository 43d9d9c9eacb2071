// What `ctkit exporter` says about one network namespace's conntrack, as
// Prometheus metric families: the count against the limit, the kernel's
// statistics as counters, where they came from, and every nf_conntrack_*
// sysctl. Built from the host layer's CollectCounters (O(1) reads per
// scrape, whatever the table's size), so the exporter and doctor read a
// host the same way.
//
// Names follow Prometheus's conventions: a conntrack_ prefix, base units,
// counters ending in _total, an _info metric for metadata. Every series
// carries netns="..." (the namespace's name under /run/netns, else its
// inode): the limit is global, the count per namespace.
#ifndef CTKIT_WATCH_CONNTRACK_METRICS_H_
#define CTKIT_WATCH_CONNTRACK_METRICS_H_

#include <string>
#include <vector>

#include "host/host_data.h"
#include "watch/exposition.h"

namespace ctkit::watch {

/// The families for one namespace read into `d` (CollectCounters), under
/// the label netns=`netns`. What `d` lacks is left out, not zero: a
/// counter that was not read must not look like one that is 0.
std::vector<MetricFamily> ConntrackFamilies(const HostData& d,
                                            const std::string& netns);

/// node_exporter's conntrack collector's names for the same numbers
/// (node_nf_conntrack_entries, _entries_limit, and the statistics as
/// node_nf_conntrack_stat_* gauges, as it types them), without labels as it
/// has none, so that rules written for node-mixin keep working (--compat
/// node). Its stat_* set: found, invalid, ignore, insert, insert_failed,
/// drop, early_drop, search_restart; ignore is not a statistic on kernels
/// since 5.x and is always 0.
std::vector<MetricFamily> NodeExporterFamilies(const HostData& d);

/// The netns label of the namespace `view` reads: its name under
/// /run/netns when it has one, else its inode, else "unknown".
std::string NetnsLabel(HostView& view);

}  // namespace ctkit::watch

#endif  // CTKIT_WATCH_CONNTRACK_METRICS_H_
