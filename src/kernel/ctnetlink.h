// A ctnetlink client (NETLINK_NETFILTER, spoken through libmnl): reads the
// kernel's conntrack table and statistics in the calling thread's network
// namespace. Shared by `ctkit kernel-replay` and `ctkit doctor`.
#ifndef CTKIT_KERNEL_CTNETLINK_H_
#define CTKIT_KERNEL_CTNETLINK_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "ctkit/engine.h"
#include "ctkit/result.h"
#include "ctkit/stats.h"

namespace ctkit {

/// The global counters (IPCTNL_MSG_CT_GET_STATS): this netns's count and
/// nf_conntrack_max.
struct KernelGlobalStats {
  uint32_t entries = 0;
  uint32_t max_entries = 0;
};

/// Parses one IPCTNL_MSG_CT_NEW message (a dump entry or an event) into a
/// FlowInfo: tuples, TCP state, timeout (seconds, as the kernel sent it),
/// status (ASSURED, SEEN_REPLY), mark, use, counters when present.
/// Bounds-checked: any malformed attribute fails with a message naming it.
[[nodiscard]] Result<FlowInfo> ParseCtMessage(const uint8_t* msg, size_t len);

/// Parses one IPCTNL_MSG_CT_GET_STATS_CPU message into Stats (one CPU's).
[[nodiscard]] Result<Stats> ParseCpuStatsMessage(const uint8_t* msg,
                                                 size_t len);

class CtnetlinkClient {
 public:
  virtual ~CtnetlinkClient() = default;

  /// Opens a NETLINK_NETFILTER socket in the current network namespace.
  /// Fails (with a message saying so) without CAP_NET_ADMIN or conntrack.
  [[nodiscard]] static Result<std::unique_ptr<CtnetlinkClient>> Open();

  /// Dumps every entry of both families (like `conntrack -L`).
  [[nodiscard]] virtual Result<void> DumpTable(
      const std::function<void(const FlowInfo&)>& fn) = 0;

  /// Dumps entries while `fn` returns true: true when every entry was
  /// passed, false when `fn` stopped it (a time-boxed scan). After a stopped
  /// dump the rest of it is still queued on the socket, so this client
  /// refuses further requests: open a new one.
  [[nodiscard]] virtual Result<bool> DumpTableWhile(
      const std::function<bool(const FlowInfo&)>& fn) = 0;

  /// The per-CPU statistics summed (like `conntrack -S`, summed).
  [[nodiscard]] virtual Result<Stats> GetStats() = 0;

  /// Count and max (like `conntrack -C` plus max).
  [[nodiscard]] virtual Result<KernelGlobalStats> GetGlobalStats() = 0;

  /// Deletes every entry (like `conntrack -F`).
  [[nodiscard]] virtual Result<void> Flush() = 0;
};

}  // namespace ctkit

#endif  // CTKIT_KERNEL_CTNETLINK_H_
