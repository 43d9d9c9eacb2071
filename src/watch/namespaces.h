// The network namespaces of a host, for `ctkit exporter --all-netns`: the
// ones named under /run/netns and those of running processes
// (/proc/PID/ns/net), one entry per namespace (by its nsfs inode, the N of
// the kernel's "table full in netns N"), each with a path to open it by.
// A namespace's label is its name when it has one, else its inode; the
// lowest PID in it and that process's name say what it belongs to.
//
// Reading another namespace needs CAP_SYS_ADMIN (setns) and, for
// /proc/PID/ns/net of other users' processes, the right to ptrace-read
// them; what cannot be opened is skipped, not fatal.
#ifndef CTKIT_WATCH_NAMESPACES_H_
#define CTKIT_WATCH_NAMESPACES_H_

#include <cstdint>
#include <string>
#include <vector>

namespace ctkit::watch {

struct NetnsRef {
  uint64_t inode = 0;
  std::string name;  ///< under /run/netns, or "" when unnamed
  int pid = 0;       ///< the lowest PID in it, or 0 when none runs there
  std::string comm;  ///< that process's name (/proc/PID/comm)
  std::string path;  ///< what to open: /run/netns/NAME or /proc/PID/ns/net
  bool own = false;  ///< the namespace the caller runs in

  /// The netns label: the name, else the inode.
  std::string Label() const {
    return name.empty() ? std::to_string(inode) : name;
  }
};

/// The name under `run_netns` of the namespace with inode `inode`, or ""
/// when it has none.
std::string NetnsName(uint64_t inode,
                      const std::string& run_netns = "/run/netns");

/// Every network namespace found under `run_netns` and `proc` (the real
/// /run/netns and /proc by default), in inode order.
std::vector<NetnsRef> ListNetworkNamespaces(
    const std::string& proc = "/proc",
    const std::string& run_netns = "/run/netns");

}  // namespace ctkit::watch

#endif  // CTKIT_WATCH_NAMESPACES_H_
