// This machine's memory-latency floors, measured in the same run as the
// engine benchmarks so figures can be stated as ratios (absolute times
// drift on shared machines).
#ifndef CTKIT_BENCH_MEM_LIMITS_H_
#define CTKIT_BENCH_MEM_LIMITS_H_

#include <cstddef>

namespace ctkit::bench {

struct MemLimits {
  /// One cache miss after another (a pointer chase over a buffer much
  /// larger than the caches): the floor for lookups that cannot overlap.
  double dependent_ns = 0;
  /// Independent random line loads issued 32 ahead with prefetch: the floor
  /// per touched line when lookups are batched and prefetched.
  double prefetched_ns = 0;
  /// The prefetched loop on `threads` threads at once, as a multiple of one
  /// thread's rate: how much parallelism the machine gives right now (on
  /// shared VMs it varies from run to run), the ceiling for any engine
  /// speedup measured in the same run.
  unsigned threads = 1;
  double parallel_capacity = 1;
};

/// Measures both over `mib` MiB (2 MiB pages requested), median of 5 runs,
/// and the parallel capacity on `threads` threads (median of 3).
MemLimits MeasureMemLimits(unsigned threads = 1, size_t mib = 1024);

}  // namespace ctkit::bench

#endif  // CTKIT_BENCH_MEM_LIMITS_H_
