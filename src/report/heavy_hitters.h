// HeavyHitters: the keys seen most often in a stream, in memory fixed by a
// capacity instead of by how many different keys the stream holds.
//
// A table of two million entries from two million sources cannot be ranked
// with a map of every source without a map of two million strings — during
// the very incident the ranking is for. This is the Space-Saving summary
// (Metwally, Agrawal and El Abbadi, 2005): `capacity` counters; a key that
// has one is counted; a new key takes the counter of the smallest count,
// inheriting that count as its possible over-estimate. So, with N keys
// counted:
// - a key's reported count is at least its true count and at most
//   `error` more (error <= N / capacity);
// - every key seen more than N / capacity times is in the summary;
// - while no more than `capacity` different keys were seen, every count is
//   exact (error 0).
//
// Remove() takes an occurrence back, for a summary of something that
// shrinks as well as grows (a table's live entries): a counted key's count
// goes down, and a counter whose count reaches 0 is the first a new key
// takes, with no over-estimate. So counts stay exact while no more than
// `capacity` different keys are counted at once. Beyond that, taking back
// an occurrence of a key that lost its counter changes nothing: the
// counter that inherited it keeps it, as an over-estimate.
//
// Keys are fixed-size byte strings (an address, a protocol and port), so
// counting allocates nothing. The index hashes them with a keyed SipHash,
// so keys chosen to collide cannot slow it down; which key is dropped on a
// tie does not depend on the hash key, so results are deterministic.
#ifndef CTKIT_REPORT_HEAVY_HITTERS_H_
#define CTKIT_REPORT_HEAVY_HITTERS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ctkit {

/// A key: up to 18 bytes (a family or protocol byte, then 16 address bytes
/// or a port), zero-padded.
struct HitterKey {
  std::array<uint8_t, 18> bytes{};
  friend bool operator==(const HitterKey& a, const HitterKey& b) {
    return a.bytes == b.bytes;
  }
  friend bool operator<(const HitterKey& a, const HitterKey& b) {
    return a.bytes < b.bytes;
  }
};

/// One ranked key.
struct Hitter {
  HitterKey key;
  uint64_t count = 0;  ///< at least the true count
  uint64_t error = 0;  ///< the true count is at least count - error
};

class HeavyHitters {
 public:
  /// `capacity` counters (at least 1); `k0`, `k1` key the index's hash.
  HeavyHitters(size_t capacity, uint64_t k0, uint64_t k1);

  /// Counts one occurrence of `key` and returns its count now.
  /// O(log capacity); allocates nothing.
  uint64_t Add(const HitterKey& key);

  /// Takes back one occurrence of `key`, counted earlier by Add(), and
  /// returns the count it had (0 if the key has no counter).
  /// O(log capacity); allocates nothing.
  uint64_t Remove(const HitterKey& key);

  /// The `n` largest counts, largest first; ties in key order. Keys
  /// whose count went back to 0 are not listed.
  std::vector<Hitter> Top(size_t n) const;

  /// The n-th largest count (1-based), or 0 if fewer than n keys count.
  /// O(capacity * n); allocates nothing.
  uint64_t NthLargestCount(size_t n) const;
  /// Replaces *out with the counters whose count is at least
  /// max(min_count, 1), in no particular order. Allocates nothing once
  /// *out has room for capacity() of them.
  void CopyCountsAtLeast(uint64_t min_count, std::vector<Hitter>* out) const;

  /// Occurrences counted so far (N).
  uint64_t total() const { return total_; }
  size_t capacity() const { return keys_.size(); }

 private:
  size_t Find(const HitterKey& key, uint64_t hash) const;
  uint64_t Hash(const HitterKey& key) const;
  void IndexInsert(uint32_t counter, uint64_t hash);
  void IndexErase(const HitterKey& key);
  void SiftDown(size_t heap_pos);
  void SiftUp(size_t heap_pos);
  void SwapHeap(size_t a, size_t b);

  uint64_t k0_, k1_;
  uint64_t total_ = 0;
  size_t used_ = 0;  ///< counters in use
  std::vector<HitterKey> keys_;
  std::vector<uint64_t> counts_, errors_;
  /// A min-heap of counters by count: heap_[0] is the one a new key takes.
  std::vector<uint32_t> heap_;
  std::vector<uint32_t> heap_pos_;  ///< counter -> its place in heap_
  /// Open addressing, linear probing: counter + 1, or 0 for an empty slot.
  std::vector<uint32_t> index_;
  size_t index_mask_ = 0;
};

}  // namespace ctkit

#endif  // CTKIT_REPORT_HEAVY_HITTERS_H_
