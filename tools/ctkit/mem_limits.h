// This machine's memory-latency floors, measured in the same run as the
// engine benchmarks so figures can be stated as ratios (absolute times
// drift on shared machines).
#ifndef CTKIT_TOOLS_MEM_LIMITS_H_
#define CTKIT_TOOLS_MEM_LIMITS_H_

#include <cstddef>

namespace ctkit::cli {

struct MemLimits {
  /// One cache miss after another (a pointer chase over a buffer much
  /// larger than the caches): the floor for lookups that cannot overlap.
  double dependent_ns = 0;
  /// Independent random line loads issued 32 ahead with prefetch: the floor
  /// per touched line when lookups are batched and prefetched.
  double prefetched_ns = 0;
};

/// Measures both over `mib` MiB (2 MiB pages requested), median of 5 runs.
MemLimits MeasureMemLimits(size_t mib = 1024);

}  // namespace ctkit::cli

#endif  // CTKIT_TOOLS_MEM_LIMITS_H_
