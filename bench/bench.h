// The workloads, loader and probes behind `ctkit bench`: built-in
// workloads generated (or a capture loaded) and decoded into memory up
// front, the engine timed on them, `ctkit replay`'s loop against a
// read-and-decode loop, the memory per entry, and (mem_limits.h) this
// machine's memory-latency floors. The CLI (tools/ctkit/bench.cc) parses
// the flags, calls these and prints.
#ifndef CTKIT_BENCH_BENCH_H_
#define CTKIT_BENCH_BENCH_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ctkit/decode.h"
#include "ctkit/tunables.h"

namespace ctkit::bench {

/// Packets decoded once and kept in memory.
struct Loaded {
  std::vector<uint8_t> arena;
  std::vector<size_t> offsets;
  std::vector<uint32_t> lengths;
  std::vector<uint32_t> link_types;
  std::vector<uint64_t> ts;
  std::vector<PacketView> views;
  std::vector<uint64_t> view_ts;

  /// Bytes kept per generated packet: the headers the engine reads. Like a
  /// NIC ring's hot buffers, the measured data is then mostly headers.
  size_t snap = SIZE_MAX;

  void Add(uint64_t t, uint32_t link, const uint8_t* p, size_t n) {
    n = std::min(n, snap);
    offsets.push_back(arena.size());
    lengths.push_back(static_cast<uint32_t>(n));
    link_types.push_back(link);
    ts.push_back(t);
    arena.insert(arena.end(), p, p + n);
  }
  // Views point into the arena, so they are made once it stops growing.
  void Decode() {
    views.reserve(offsets.size());
    for (size_t i = 0; i < offsets.size(); ++i) {
      PacketView v{};
      if (DecodeFrame(link_types[i], arena.data() + offsets[i], lengths[i],
                      &v) == DecodeStatus::kOk) {
        views.push_back(v);
        view_ts.push_back(ts[i]);
      }
    }
  }
};

/// Built-in workloads run with nf_conntrack_checksum=0: on a host whose NIC
/// has verified the checksums (the common case) the kernel's conntrack never
/// computes them either, so this is the cost the kernel would pay.
inline Tunables BenchTunables() {
  Tunables t;
  t.checksum = 0;
  return t;
}

/// A workload: its packets, the settings it runs with, and how many of its
/// leading packets run untimed.
struct Workload {
  std::string name;
  std::string what;
  Tunables tunables = BenchTunables();
  size_t warmup = 0;  // leading packets run untimed
  Loaded packets;
};

/// The largest --scale: it makes the 1M-flow workloads 1G flows, which
/// with buckets 1:1 in powers of two is the largest table the engine takes
/// (nf_conntrack_max is at most 2^31 - 1). Memory runs out well before on
/// most machines (about 1 GiB of packets per unit of scale).
constexpr double kMaxScale = 1000;

/// The built-in workloads at `scale`, those whose name contains `only` (all
/// when empty). With `generate` false, every workload comes back with its
/// name and no packets (for checking --only before anything is generated).
std::vector<Workload> BuiltinWorkloads(double scale, const std::string& only,
                                       bool generate = true);

/// Nanoseconds per packet over the runs, and what the last run did.
struct Timing {
  double min_ns, median_ns, max_ns;
  size_t packets;
  uint64_t dropped;
  uint64_t created;  ///< new entries in the timed part (last run)
};

/// Times `w` on a fresh engine with `threads` threads, `runs` times.
Timing RunWorkload(const Workload& w, int runs, unsigned threads);

/// The replay target: `ctkit replay` as a user runs it (read, decode,
/// engine, per-packet accounting, the report with the peak's composition)
/// against the lean loop of read_loop.h, which only reads the file with
/// libpcap and pulls out each packet's 5-tuple.
struct ReplayTiming {
  double read_s, replay_s;
  uint64_t packets;
  /// `replay --dump`'s part: the table after the replay written as
  /// `conntrack -L` lines to /dev/null.
  double dump_s;
  uint64_t dump_lines;
  /// `whatif` of the capture with four variants (the baseline and
  /// nf_conntrack_udp_timeout 10, 20 and 60 s), all cores.
  double whatif4_s;
};

/// The median of `runs` timings of each loop over `path`; nullopt when
/// either fails.
std::optional<ReplayTiming> TimeReplay(const std::string& path,
                                       const Tunables& t, unsigned threads,
                                       int runs);

/// Memory per entry, measured: the resident growth of filling a default-size
/// table with TCP entries of one family, over max.
struct EntryBytes {
  double resident, reserved;
  uint32_t entries;
};
std::optional<EntryBytes> MeasureEntryBytes(bool ipv6);

}  // namespace ctkit::bench

#endif  // CTKIT_BENCH_BENCH_H_
