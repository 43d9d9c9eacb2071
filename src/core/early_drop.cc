// What happens when the table is full (spec §2).
//
// A new entry that would push the count past nf_conntrack_max first tries
// the kernel's early drop: starting at the bucket the new entry would hash
// to, up to 8 consecutive buckets are scanned. Expired entries met on the
// way are reaped (not counted as early drops); every entry that is neither
// ASSURED nor dying in the first bucket that has any is deleted, and the
// scan stops there. If none of the 8 buckets yields a victim the packet is
// dropped and a rate-limited "table full" line is logged. A table full of
// ASSURED entries therefore drops every new flow until something expires.
#include "core/engine_impl.h"

namespace ctkit {
namespace {

constexpr uint32_t kEvictionRange = 8;
// net_ratelimit defaults: 10 messages per 5 s window.
constexpr uint32_t kLogBurst = 10;
constexpr uint32_t kLogInterval = 5 * kHz;

}  // namespace

bool EngineImpl::EarlyDrop(uint32_t bucket, uint32_t now) noexcept {
  uint32_t buckets = table_->buckets();
  for (uint32_t i = 0; i < kEvictionRange; ++i) {
    uint32_t b = (bucket + i) % buckets;
    uint32_t drops = 0;
    uint32_t node = table_->Head(b);
    while (node != kNil) {
      uint32_t index = NodeFlow(node);
      const Flow& f = table_->At(index);
      if (JiffiesLeft(f.expiry, now) <= 0) {
        uint32_t next = table_->NextPastFlow(node);
        Delete(main_, index, DeleteCause::kExpired, now);
        node = next;
        continue;
      }
      if (f.status & (flowstatus::kAssured | flowstatus::kDying)) {
        node = table_->Next(node);
        continue;
      }
      uint32_t next = table_->NextPastFlow(node);
      Delete(main_, index, DeleteCause::kEarlyDrop, now);
      ++drops;
      node = next;
    }
    if (drops > 0) {
      main_.stats.early_drop += drops;
      return true;
    }
  }
  return false;
}

void EngineImpl::LogTableFull(uint32_t now) noexcept {
  // ___ratelimit: a window opens at the first message; within it, `burst`
  // messages pass and the rest are counted as suppressed.
  if (!ratelimit_.started ||
      static_cast<int32_t>(now - ratelimit_.window_start) >=
          static_cast<int32_t>(kLogInterval)) {
    ratelimit_.started = true;
    ratelimit_.window_start = now;
    ratelimit_.printed = 0;
  }
  if (ratelimit_.printed < kLogBurst) {
    ++ratelimit_.printed;
    ++main_.counters.log_lines;
  } else {
    ++main_.counters.log_suppressed;
  }
}

}  // namespace ctkit
