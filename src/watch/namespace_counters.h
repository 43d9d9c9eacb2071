// The O(1) reading of each namespace's conntrack: the nf_conntrack_*
// sysctls (count, limit, buckets) and the kernel's statistics, as
// host/host_data.h CollectCounters reads them, for the exporter's scrapes
// and `ctkit top`'s refreshes. Costs the same whatever the table holds.
#ifndef CTKIT_WATCH_NAMESPACE_COUNTERS_H_
#define CTKIT_WATCH_NAMESPACE_COUNTERS_H_

#include <memory>
#include <string>
#include <vector>

#include "host/host_data.h"
#include "host/host_view.h"
#include "watch/namespaces.h"
#include "watch/periodic_scan.h"

namespace ctkit::watch {

/// One namespace's counters.
struct NamespaceCounters {
  std::string label;  ///< its netns label
  HostData data;
  const NetnsRef* ref = nullptr;  ///< with all_netns: where it was found
};

/// The view of this process's own namespace, or of the tree `root` (a
/// fixture, an extracted `doctor --collect` archive) when given.
std::unique_ptr<HostView> OwnNamespaceView(const std::string& root);

/// This namespace's (or `root`'s) counters; with `all_netns`, those of
/// every namespace in `refs` that can be opened, each opened for the
/// reading only (a namespace gone by the next reading is not kept alive).
std::vector<NamespaceCounters> ReadNamespaceCounters(
    const std::string& root, bool all_netns, const std::vector<NetnsRef>& refs);

/// What a table scan round covers, for the same choice: this namespace
/// (or `root`'s tree), or every namespace of the host.
std::vector<ScanTarget> ScanTargetsFor(const std::string& root, bool all_netns);

}  // namespace ctkit::watch

#endif  // CTKIT_WATCH_NAMESPACE_COUNTERS_H_
