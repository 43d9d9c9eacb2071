// Memory-latency floors for `ctkit bench --compare-limit`.
//
// The dependent figure chases a single random cycle through every cache
// line of the buffer (built with Sattolo's shuffle, so no line repeats
// before the cycle closes): each load's address comes from the previous
// load, so nothing overlaps. The prefetched figure walks an independent
// pseudo-random sequence of lines, prefetching each 32 loads before it is
// read, which is what a batched table lookup can achieve per touched line.
#include "bench/mem_limits.h"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace ctkit::bench {
namespace {

struct alignas(64) CacheLine {
  uint64_t next;
  uint64_t pad[7];
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

uint64_t XorShift(uint64_t* s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

}  // namespace

MemLimits MeasureMemLimits(unsigned threads, size_t mib) {
  MemLimits out;
  size_t bytes = mib << 20;
  size_t n = bytes / sizeof(CacheLine);
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return out;
  (void)madvise(mem, bytes, MADV_HUGEPAGE);
  auto* lines = static_cast<CacheLine*>(mem);

  std::vector<uint32_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
  uint64_t seed = 0x243f6a8885a308d3ull;
  for (size_t i = n - 1; i > 0; --i) {  // Sattolo: one cycle through all
    size_t j = XorShift(&seed) % i;
    std::swap(order[i], order[j]);
  }
  for (size_t i = 0; i < n; ++i) lines[order[i]].next = order[(i + 1) % n];

  constexpr size_t kChase = 10'000'000;
  constexpr size_t kLoads = 20'000'000;
  constexpr size_t kAhead = 32;
  std::vector<double> dep, pre;
  uint64_t sink = 0;
  // Independent random loads, each prefetched kAhead loads before use.
  auto prefetched_loop = [&](uint64_t s) {
    uint64_t ring[kAhead];
    uint64_t got = 0;
    for (uint64_t& r : ring) {
      r = XorShift(&s) % n;
      __builtin_prefetch(&lines[r]);
    }
    for (size_t i = 0; i < kLoads; ++i) {
      uint64_t idx = ring[i % kAhead];
      got += lines[idx].next;
      uint64_t next = XorShift(&s) % n;
      ring[i % kAhead] = next;
      __builtin_prefetch(&lines[next]);
    }
    return got;
  };
  for (int run = 0; run < 5; ++run) {
    auto t0 = std::chrono::steady_clock::now();
    uint64_t at = order[0];
    for (size_t i = 0; i < kChase; ++i) {
      at = lines[at].next;
      asm volatile("" : "+r"(at));  // keep every step of the chase
    }
    auto t1 = std::chrono::steady_clock::now();
    dep.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() /
                  static_cast<double>(kChase));
    sink += at;

    auto t2 = std::chrono::steady_clock::now();
    sink += prefetched_loop(uint64_t{0x9e3779b97f4a7c15} +
                            static_cast<uint64_t>(run));
    auto t3 = std::chrono::steady_clock::now();
    pre.push_back(std::chrono::duration<double, std::nano>(t3 - t2).count() /
                  static_cast<double>(kLoads));
  }
  // The same loop on every thread at once: the aggregate rate over one
  // thread's.
  std::vector<double> together;
  for (int run = 0; threads > 1 && run < 3; ++run) {
    std::vector<uint64_t> sinks(threads);
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        sinks[t] = prefetched_loop(uint64_t{0x5851f42d4c957f2d} * (t + 1) +
                                   static_cast<uint64_t>(run));
      });
    }
    for (std::thread& t : pool) t.join();
    auto t1 = std::chrono::steady_clock::now();
    for (uint64_t v : sinks) sink += v;
    together.push_back(
        std::chrono::duration<double, std::nano>(t1 - t0).count() /
        static_cast<double>(kLoads * threads));
  }
  munmap(mem, bytes);
  // The loads' results must be observable, or the loops are optimised away.
  asm volatile("" : : "r"(sink) : "memory");
  out.dependent_ns = Median(dep);
  out.prefetched_ns = Median(pre);
  out.threads = threads;
  if (!together.empty())
    out.parallel_capacity = out.prefetched_ns / Median(together);
  return out;
}

}  // namespace ctkit::bench
