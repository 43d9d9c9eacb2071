// Space-Saving heavy hitters (see heavy_hitters.h).
#include "report/heavy_hitters.h"

#include <algorithm>
#include <cstring>

#include "core/siphash.h"

namespace ctkit {

HeavyHitters::HeavyHitters(size_t capacity, uint64_t k0, uint64_t k1)
    : k0_(k0), k1_(k1) {
  capacity = std::max<size_t>(capacity, 1);
  keys_.resize(capacity);
  counts_.resize(capacity);
  errors_.resize(capacity);
  heap_.reserve(capacity);
  heap_pos_.resize(capacity);
  // At most half full, so probes stay short.
  size_t slots = 2;
  while (slots < 2 * capacity) slots *= 2;
  index_.assign(slots, 0);
  index_mask_ = slots - 1;
}

uint64_t HeavyHitters::Hash(const HitterKey& key) const {
  return SipHash<1, 3>(k0_, k1_, key.bytes.data(), key.bytes.size());
}

size_t HeavyHitters::Find(const HitterKey& key, uint64_t hash) const {
  for (size_t i = hash & index_mask_;; i = (i + 1) & index_mask_) {
    const uint32_t c = index_[i];
    if (c == 0 || keys_[c - 1] == key) return i;
  }
}

void HeavyHitters::IndexInsert(uint32_t counter, uint64_t hash) {
  index_[Find(keys_[counter], hash)] = counter + 1;
}

// Removes `key` and closes the gap (backward-shift deletion), so no
// tombstones build up however many keys come and go.
void HeavyHitters::IndexErase(const HitterKey& key) {
  size_t hole = Find(key, Hash(key));
  for (size_t i = (hole + 1) & index_mask_;; i = (i + 1) & index_mask_) {
    const uint32_t c = index_[i];
    if (c == 0) break;
    const size_t home = Hash(keys_[c - 1]) & index_mask_;
    // Move c into the hole unless its home lies cyclically in (hole, i].
    const bool home_after_hole =
        hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
    if (!home_after_hole) {
      index_[hole] = c;
      hole = i;
    }
  }
  index_[hole] = 0;
}

void HeavyHitters::SwapHeap(size_t a, size_t b) {
  std::swap(heap_[a], heap_[b]);
  heap_pos_[heap_[a]] = static_cast<uint32_t>(a);
  heap_pos_[heap_[b]] = static_cast<uint32_t>(b);
}

void HeavyHitters::SiftDown(size_t heap_pos) {
  size_t p = heap_pos;
  const size_t n = heap_.size();
  while (true) {
    size_t least = p;
    for (size_t c = 2 * p + 1; c <= 2 * p + 2 && c < n; ++c) {
      if (counts_[heap_[c]] < counts_[heap_[least]]) least = c;
    }
    if (least == p) return;
    SwapHeap(p, least);
    p = least;
  }
}

void HeavyHitters::SiftUp(size_t heap_pos) {
  size_t p = heap_pos;
  while (p > 0) {
    const size_t parent = (p - 1) / 2;
    if (counts_[heap_[parent]] <= counts_[heap_[p]]) return;
    SwapHeap(p, parent);
    p = parent;
  }
}

uint64_t HeavyHitters::Add(const HitterKey& key) {
  ++total_;
  const uint64_t hash = Hash(key);
  const size_t slot = Find(key, hash);
  if (index_[slot] != 0) {
    const uint32_t c = index_[slot] - 1;
    const uint64_t now = ++counts_[c];
    SiftDown(heap_pos_[c]);
    return now;
  }
  if (used_ < keys_.size()) {
    const auto c = static_cast<uint32_t>(used_++);
    keys_[c] = key;
    counts_[c] = 1;
    errors_[c] = 0;
    index_[slot] = c + 1;
    heap_pos_[c] = static_cast<uint32_t>(heap_.size());
    heap_.push_back(c);  // within the reserved capacity: no allocation
    SiftUp(heap_.size() - 1);
    return 1;
  }
  // Full: the smallest counter changes hands. Its count becomes the new
  // key's possible over-estimate.
  const uint32_t c = heap_[0];
  IndexErase(keys_[c]);
  keys_[c] = key;
  errors_[c] = counts_[c];
  const uint64_t now = ++counts_[c];
  IndexInsert(c, hash);
  SiftDown(0);
  return now;
}

uint64_t HeavyHitters::Remove(const HitterKey& key) {
  if (total_ > 0) --total_;
  const size_t slot = Find(key, Hash(key));
  if (index_[slot] == 0) return 0;  // lost its counter: see heavy_hitters.h
  const uint32_t c = index_[slot] - 1;
  const uint64_t had = counts_[c];
  if (had == 0) return 0;
  --counts_[c];
  if (errors_[c] > counts_[c]) errors_[c] = counts_[c];
  SiftUp(heap_pos_[c]);
  return had;
}

uint64_t HeavyHitters::NthLargestCount(size_t n) const {
  if (n == 0) return 0;
  // The n largest so far, smallest first, in a small fixed array: n is a
  // report's top-n, a handful.
  constexpr size_t kMaxN = 64;
  n = std::min(n, kMaxN);
  uint64_t best[kMaxN] = {};
  for (size_t c = 0; c < used_; ++c) {
    const uint64_t v = counts_[c];
    if (v <= best[0]) continue;
    size_t i = 0;
    while (i + 1 < n && best[i + 1] < v) {
      best[i] = best[i + 1];
      ++i;
    }
    best[i] = v;
  }
  return best[0];
}

void HeavyHitters::CopyCountsAtLeast(uint64_t min_count,
                                     std::vector<Hitter>* out) const {
  out->clear();
  min_count = std::max<uint64_t>(min_count, 1);
  for (size_t c = 0; c < used_; ++c) {
    if (counts_[c] >= min_count) {
      out->push_back({keys_[c], counts_[c], errors_[c]});
    }
  }
}

std::vector<Hitter> HeavyHitters::Top(size_t n) const {
  std::vector<Hitter> all;
  all.reserve(used_);
  for (size_t c = 0; c < used_; ++c) {
    if (counts_[c] != 0) all.push_back({keys_[c], counts_[c], errors_[c]});
  }
  std::sort(all.begin(), all.end(), [](const Hitter& a, const Hitter& b) {
    if (a.count != b.count) return a.count > b.count;
    return a.key < b.key;
  });
  if (all.size() > n) all.resize(n);
  return all;
}

}  // namespace ctkit
