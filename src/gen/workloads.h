// Synthetic traffic workloads: seeded, time-ordered streams of raw IP
// packets shaped like real traffic (SYN floods, DNS storms, full TCP
// sessions, lossy TCP, established UDP, a demo mix). `ctkit gen` writes them
// to pcap files; tests and benchmarks keep them in memory.
#ifndef CTKIT_GEN_WORKLOADS_H_
#define CTKIT_GEN_WORKLOADS_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "ctkit/result.h"

namespace ctkit {

/// Receives each generated packet, in non-decreasing timestamp order.
/// `ip_packet` is a complete IPv4/IPv6 packet (LINKTYPE_RAW) that is valid
/// only during the call: the generator reuses its buffer.
using PacketSink =
    std::function<void(uint64_t ts_ns, std::span<const uint8_t> ip_packet)>;

/// Default first timestamp: 2023-11-14T22:13:20Z, in ns since the epoch.
inline constexpr uint64_t kDefaultWorkloadStartNs =
    1'700'000'000ull * 1'000'000'000ull;

/// What to generate. The same spec always yields the same byte stream.
struct WorkloadSpec {
  /// One of WorkloadKinds() (e.g. "tcp-sessions").
  std::string kind;
  /// Number of flows (connections, queries, spoofed SYNs, ...). For "mixed"
  /// the total over all flow types. REQUIRES: >= 1.
  uint64_t flows = 1000;
  /// New flows per second; arrivals are a Poisson process with this mean
  /// rate. REQUIRES: finite and > 0.
  double rate = 10000.0;
  /// Total packets; only for "udp-roundrobin" (0 means 10 x flows, and it
  /// must be >= 2 x flows). Other kinds reject a non-zero value.
  uint64_t packets = 0;
  /// PRNG seed: changes addresses, ports, ISNs, sizes and timing.
  uint64_t seed = 1;
  /// Timestamp of the first flow's arrival, ns since the Unix epoch.
  uint64_t start_ns = kDefaultWorkloadStartNs;
  /// Generate IPv6 instead of IPv4 (documentation prefix 2001:db8::/32).
  bool ipv6 = false;
};

/// What a generator produced.
struct WorkloadStats {
  uint64_t packets = 0;
  uint64_t bytes = 0;  ///< sum of IP packet lengths
  uint64_t flows = 0;
  uint64_t first_ts_ns = 0;  ///< 0 when no packet was produced
  uint64_t last_ts_ns = 0;
};

/// A workload kind with a one-line description for help texts.
struct WorkloadKindInfo {
  std::string_view name;
  std::string_view summary;
};

/// All kinds GenerateWorkload accepts, in a stable order:
///  - syn-flood: `flows` SYNs (no answer) from distinct spoofed
///    10.0.0.0/8 (2001:db8:dead::/64) address:port pairs to 192.0.2.10:80
///    (2001:db8::10).
///  - dns-storm: `flows` query/answer pairs, client -> 192.0.2.53:53
///    (2001:db8::53), the answer 50 us-1 ms later; exactly 2 packets each.
///  - tcp-sessions: `flows` sessions of exactly 10 packets to
///    198.51.100.1-8 (2001:db8:100::1-8) port 443 (80 on .1): SYN, SYN/ACK
///    (both MSS, SACK-permitted, wscale 7), ACK, request, response, ACK,
///    client FIN/ACK, ACK, server FIN/ACK, ACK.
///  - tcp-lossy: tcp-sessions plus retransmissions: a request or response
///    sent 2-4 times (RTO >= 200 ms, doubling), or a response resent after a
///    lost ACK, answered by a duplicate ACK.
///  - udp-roundrobin: `flows` UDP request/reply pairs to 198.51.100.200:5001
///    (2001:db8:100::c8), then packet i goes to flow i mod flows, forward in
///    even rounds and reverse in odd ones, one round per second.
///  - mixed: 4/5 of `flows` arrive at `rate`: 65% web sessions (5% refused
///    with RST/ACK, 5% lossy), 30% DNS (3% answered by ICMP port
///    unreachable), 5% pings of 1-3 echo pairs to 203.0.113.1-32; 1/5 is a
///    syn-flood burst at 20 x rate centred on the middle of the arrivals.
/// Client tuples are unique within a run (10.1.0.0/16 or 2001:db8:c::/64,
/// ports 32768-65535), so a tracker sees exactly one entry per flow.
std::span<const WorkloadKindInfo> WorkloadKinds();

/// Checks a spec without generating anything. Errors (invalid_argument):
/// unknown kind (the message lists the valid kinds), flows == 0, a rate
/// that is not a positive finite number, `packets` misused.
[[nodiscard]] Result<void> ValidateWorkload(const WorkloadSpec& spec);

/// Generates the workload, calling `sink` once per packet in timestamp
/// order. Returns the counts, or the ValidateWorkload error (then the sink
/// was never called). Memory is bounded by the number of flows active at
/// one time (plus, for udp-roundrobin, nothing per flow); no allocation
/// happens per packet.
[[nodiscard]] Result<WorkloadStats> GenerateWorkload(const WorkloadSpec& spec,
                                                     const PacketSink& sink);

/// Parses a start time given as "SECONDS[.FRACTION]" since the Unix epoch
/// (at most 9 fraction digits) into ns, e.g. "1700000000.25". Errors
/// (invalid_argument): empty, non-digits, too many digits, overflow.
[[nodiscard]] Result<uint64_t> ParseStartTime(std::string_view text);

}  // namespace ctkit

#endif  // CTKIT_GEN_WORKLOADS_H_
