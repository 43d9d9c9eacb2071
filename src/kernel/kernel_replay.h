// RunKernelReplay: send a capture's packets through the real kernel's
// conntrack inside a Sandbox and read back what it did, in the same shapes
// RunReplay produces (verdict per packet, table, counters), so `ctkit
// kernel-replay` prints `ctkit replay`'s lists and a document `ctkit diff`
// compares with replay's (kernel_replay_output.h).
#ifndef CTKIT_KERNEL_KERNEL_REPLAY_H_
#define CTKIT_KERNEL_KERNEL_REPLAY_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ctkit/engine.h"
#include "ctkit/result.h"
#include "ctkit/tunables.h"
#include "report/replay_report.h"

namespace ctkit {

struct KernelReplayOptions {
  /// (name, value) sysctls for the router namespace.
  std::vector<std::pair<std::string, std::string>> sysctls;
  /// nft rules run before conntrack in the router (zones: --zone-map).
  std::vector<std::string> pre_conntrack_rules;
  bool allow_global = false;
  /// Inter-packet gaps are divided by this (> 0).
  double speed = 1.0;
  /// For tests of the clean-up paths: fail on purpose after this stage
  /// ("sandbox", "routes", "inject"); empty: never.
  std::string fail_after;
  /// One-line notices for the operator (see SandboxOptions::notice).
  std::function<void(const std::string&)> notice;
  /// Called during the injection, at most every 200 ms of wall time and
  /// once at its end: packets sent so far, packets to send, capture seconds
  /// covered so far, capture seconds in all.
  std::function<void(uint64_t sent, uint64_t to_send, double capture_s,
                     double capture_total_s)>
      on_progress;
};

/// What a kernel run knows. Of `report`, only these are filled: capture,
/// packets_read, decoded, skipped_by_reason, first/last_ts_ns, stats (the
/// router namespace's counters), counters.verdicts and counters.packets,
/// max, buckets, final_count, first_drop_index/ts_ns (the first packet
/// conntrack dropped) and read_error. The rest (peak, fill time, created
/// and destroyed entries, invalid reasons, memory) is engine-only: the
/// kernel does not report it.
struct KernelReplayResult {
  ReplayReport report;  ///< stats, counts, skipped packets, verdict totals
  Tunables tunables;    ///< as read back from the router namespace
  std::vector<PacketOutcome> outcomes;  ///< one per capture record
  std::vector<FlowInfo> table;          ///< the dump after the last packet
  uint64_t lost_logs = 0;  ///< nflog messages the kernel could not deliver
  uint64_t sent = 0;       ///< packets injected
  double speed = 1.0;      ///< as asked
  /// CaptureDigest of the records read (report/capture_digest.h).
  std::string capture_sha256;
};

/// Runs the capture at `path` through the kernel. Needs root and conntrack.
[[nodiscard]] Result<KernelReplayResult> RunKernelReplay(
    const std::string& path, const KernelReplayOptions& opts);

/// Bytes before the IP header for a frame of this link type (Ethernet with
/// VLAN tags, Linux cooked v1/v2, raw, BSD/OpenBSD loopback), if known.
bool IpOffset(uint32_t link_type, const uint8_t* data, uint32_t caplen,
              uint32_t* off);

}  // namespace ctkit

#endif  // CTKIT_KERNEL_KERNEL_REPLAY_H_
