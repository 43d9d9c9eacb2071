// The garbage collector (spec §3.3), run on the virtual clock.
//
// The kernel's GC worker walks the buckets in order, reaping expired
// entries, and keeps a running mean of the remaining lifetime of every node
// it visits (clamped to [1 s, 300 s], seeded as if 100 nodes had 60 s
// left). When a cycle completes, the next one starts after that mean
// (clamped to [1 s, 60 s]) minus the cycle's duration. A run that reaps more
// than 64000/HZ entries stops and resumes one jiffy later (at once if the
// cycle has lasted 60 s). After a failed early drop it also kills
// non-ASSURED entries (and ASSURED ones in TCP closing states) while the
// count is at least max95 = max / 100 * 95 (integer arithmetic; no such
// kills at all when that is 0, i.e. max < 100).
//
// Deliberate differences (docs/design.md): the kernel also stops a run after
// 10 ms of wall-clock time; a replay has no wall clock, so a run continues
// until the reap budget or the end of the table. And after a gap of more
// than two minutes between packets the worker is not replayed run by run:
// a fresh cycle starts one minute before the new packet, which reaps the
// same entries at a fraction of the cost.
#include "core/engine_impl.h"

namespace ctkit {
namespace {

constexpr int64_t kIntervalMin = int64_t{1} * kHz;
constexpr int64_t kIntervalMax = int64_t{60} * kHz;
constexpr int64_t kLifetimeClamp = int64_t{300} * kHz;
constexpr int64_t kInitialMean = int64_t{60} * kHz;
constexpr uint32_t kInitialCount = 100;
constexpr uint32_t kMaxReapsPerRun = 64000 / kHz;

int64_t Clamp(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

}  // namespace

void EngineImpl::RunGcUntil(uint32_t now) noexcept {
  if (JiffiesLeft(gc_.next_run, now) < -2 * kIntervalMax) {
    gc_.next_run = now - static_cast<uint32_t>(kIntervalMax);
    gc_.next_bucket = 0;
  }
  while (JiffiesLeft(gc_.next_run, now) <= 0) RunGcOnce(gc_.next_run);
}

void EngineImpl::RunGcOnce(uint32_t at) noexcept {
  ++main_.counters.gc_runs;
  if (gc_.next_bucket == 0) {
    gc_.cycle_start = at;
    gc_.avg = kInitialMean;
    gc_.visited = kInitialCount;
  }
  int64_t mean = gc_.avg;
  uint32_t visited = gc_.visited;
  uint32_t reaped = 0;
  // max95 in the kernel's integer arithmetic: below a max of 100 it is 0,
  // and the kernel then skips the early-drop mode altogether (measured on
  // 6.18; docs/kernel-differences.md). max = 0 (no limit) lands here too.
  uint32_t max95 = tunables_.max / 100 * 95;
  bool early_drop = gc_.early_drop_mode && max95 != 0;
  uint32_t buckets = table_->buckets();

  for (uint32_t b = table_->UsedBucketFrom(gc_.next_bucket); b < buckets;
       b = table_->UsedBucketFrom(b + 1)) {
    uint32_t node = table_->Head(b);
    while (node != kNil) {
      if (reaped > kMaxReapsPerRun) {
        gc_.next_bucket = b;
        gc_.avg = mean;
        gc_.visited = visited;
        uint32_t delay =
            JiffiesLeft(at, gc_.cycle_start) < kIntervalMax ? 1 : 0;
        if (delay != 0) gc_.early_drop_mode = false;
        gc_.next_run = at + delay;
        return;
      }
      uint32_t index = NodeFlow(node);
      const Flow& f = table_->At(index);
      int32_t left = JiffiesLeft(f.expiry, at);
      if (left <= 0) {
        uint32_t next = table_->NextPastFlow(node);
        Delete(main_, index, DeleteCause::kExpired, at);
        ++reaped;
        node = next;
        continue;
      }
      int64_t expires = Clamp(left, kIntervalMin, kLifetimeClamp);
      mean += (expires - mean) / static_cast<int64_t>(++visited);
      if (early_drop && table_->in_use() >= max95 &&
          (!(f.status & flowstatus::kAssured) ||
           CanEarlyDropAssured(f.key.l4_proto, f.proto))) {
        uint32_t next = table_->NextPastFlow(node);
        Delete(main_, index, DeleteCause::kGcEarlyDrop, at);
        ++reaped;
        node = next;
        continue;
      }
      node = table_->Next(node);
    }
  }
  gc_.next_bucket = 0;
  int64_t next = Clamp(mean, kIntervalMin, kIntervalMax);
  // Spec §3.3: the next delay is the mean minus the time the cycle took
  // (0 for a cycle done within one jiffy), and 1 jiffy if that is <= 0.
  int64_t took = JiffiesLeft(at, gc_.cycle_start);
  if (took < 0) took = 0;
  next = next > took ? next - took : 1;
  gc_.early_drop_mode = false;
  gc_.next_run = at + static_cast<uint32_t>(next);
}

}  // namespace ctkit
