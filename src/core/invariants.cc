// Engine::CheckInvariants: a full structural check of the table, for the
// fuzzers and the flood tests. It walks every bucket and allocates a mark
// per entry, so it is never called on the packet path.
#include <string>
#include <vector>

#include "core/engine_impl.h"

namespace ctkit {
namespace {

bool Fail(std::string* why, std::string msg) {
  if (why != nullptr) *why = std::move(msg);
  return false;
}

}  // namespace

bool EngineImpl::CheckInvariants(std::string* why) const {
  const uint32_t capacity = table_->capacity();
  const uint32_t in_use = table_->in_use();
  if (tunables_.max != 0 && in_use > tunables_.max) {
    return Fail(why, "count " + std::to_string(in_use) + " > max " +
                         std::to_string(tunables_.max));
  }
  if (in_use > capacity) {
    return Fail(why, "count " + std::to_string(in_use) + " > capacity " +
                         std::to_string(capacity));
  }
  // The longest lifetime any tracker can give an entry.
  const uint32_t bound = cfg_.LongestTimeout();

  // seen[index] bit d: node of direction d met in a chain.
  std::vector<uint8_t> seen(capacity, 0);
  const uint64_t node_limit = 2ull * in_use;
  uint64_t nodes = 0;
  // The entries, bucket by bucket (the empty ones skipped: their kept
  // lengths are checked below, with the rest).
  for (uint32_t b = table_->UsedBucketFrom(0); b < table_->buckets();
       b = table_->UsedBucketFrom(b + 1)) {
    for (uint32_t n = table_->Head(b); n != kNil; n = table_->Next(n)) {
      if (++nodes > node_limit) {
        return Fail(why, "more linked nodes than 2 x count " +
                             std::to_string(in_use) + " (a loop?) in bucket " +
                             std::to_string(b));
      }
      uint32_t index = NodeFlow(n);
      if (index >= capacity) {
        return Fail(why, "node " + std::to_string(n) + " in bucket " +
                             std::to_string(b) + " is outside the pool");
      }
      const Flow& f = table_->At(index);
      uint8_t bit = static_cast<uint8_t>(1u << (n & 1));
      if (seen[index] & bit) {
        return Fail(why, "node " + std::to_string(n) + " linked twice");
      }
      seen[index] = static_cast<uint8_t>(seen[index] | bit);
      if (!(f.status & flowstatus::kConfirmed) ||
          (f.status & flowstatus::kDying)) {
        return Fail(why, "entry " + std::to_string(index) +
                             " is linked but unconfirmed or dying");
      }
      uint32_t want_bucket;
      const Tuple orig = table_->OrigTuple(index);
      if (NodeDir(n) == Direction::kOriginal) {
        want_bucket = table_->Bucket(table_->FlowHash(index));
      } else {
        Tuple reply;
        if (!InvertTuple(orig, &reply)) {
          return Fail(why, "entry " + std::to_string(index) +
                               " has a tuple that cannot be inverted");
        }
        want_bucket = table_->Bucket(table_->Hash(
            reply, FlowTable::HashedZoneId(table_->ZoneOf(index))));
      }
      if (want_bucket != b) {
        return Fail(why, "node " + std::to_string(n) + " is in bucket " +
                             std::to_string(b) + ", its tuple hashes to " +
                             std::to_string(want_bucket));
      }
      int32_t left = JiffiesLeft(f.expiry, last_now_);
      if (left > 0 && static_cast<uint32_t>(left) > bound) {
        return Fail(why, "entry " + std::to_string(index) + " has " +
                             std::to_string(left) +
                             " jiffies left, more than the longest timeout " +
                             std::to_string(bound));
      }
    }
  }
  // No chain loops (the walk above would have found more nodes than the
  // count allows), so the table can count each bucket's nodes.
  if (uint32_t b = table_->FirstBucketWithWrongLength();
      b < table_->buckets()) {
    uint32_t held = 0;
    for (uint32_t n = table_->Head(b); n != kNil; n = table_->Next(n)) ++held;
    return Fail(why, "bucket " + std::to_string(b) + " keeps length " +
                         std::to_string(table_->ChainLength(b)) +
                         " but holds " + std::to_string(held) + " nodes");
  }
  uint32_t linked = 0;
  for (uint32_t i = 0; i < capacity; ++i) {
    if (seen[i] == 3) {
      ++linked;
    } else if (seen[i] != 0) {
      return Fail(why, "entry " + std::to_string(i) +
                           " is linked in one direction only");
    }
  }
  if (linked != in_use) {
    return Fail(why, "count " + std::to_string(in_use) + " but " +
                         std::to_string(linked) +
                         " entries reachable through the buckets");
  }
  return true;
}

}  // namespace ctkit
