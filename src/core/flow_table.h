// FlowTable: the storage of the conntrack table. A preallocated pool of
// Flows addressed by 32-bit indices, and an array of bucket heads whose
// chains link flow nodes (both directions of every flow). It hashes, links
// and unlinks; the policies (lookup with lazy reaping, early drop, GC) live
// in the engine, which knows about events and counters.
#ifndef CTKIT_CORE_FLOW_TABLE_H_
#define CTKIT_CORE_FLOW_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "core/flow.h"
#include "core/thread_annotations.h"
#include "ctkit/result.h"

namespace ctkit {

class FlowTable {
 public:
  /// Reserves `capacity` flows and `buckets` chain heads. Memory is mapped
  /// lazily (pages are touched on first use) and, with huge_pages, advised
  /// to use 2 MiB pages.
  [[nodiscard]] static Result<std::unique_ptr<FlowTable>> Create(
      uint32_t capacity, uint32_t buckets, uint64_t k0, uint64_t k1,
      bool huge_pages);
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  /// Keyed 32-bit hash of a flow: a tuple and its inverse hash alike (the
  /// key is the smaller of the two), so both directions of a flow share one
  /// bucket. That keeps every chain inside one shard (see Shard()), which
  /// is what lets shards run on separate threads. The zone id given is
  /// mixed in, as the kernel mixes it in (see HashedZoneId).
  uint32_t Hash(const Tuple& t, uint16_t zone_id = 0) const noexcept;
  /// The same, when the caller already has the inverse.
  uint32_t Hash(const Tuple& t, const Tuple& inverse,
                uint16_t zone_id = 0) const noexcept;
  /// The zone id a flow's hash mixes in: the id of a zone that applies to
  /// both directions, else 0. The kernel hashes each direction's node with
  /// that direction's id and looks a packet up with its zone's
  /// original-direction id, then its reply-direction id. ctkit keeps a
  /// flow's two nodes in one bucket, so it hashes one id per flow and looks
  /// a packet in a zone up in two buckets: HashedZoneId's first, then
  /// AlternateZoneId's. Every entry the kernel's lookups find is in one of
  /// them: an entry in a two-way zone Z matches only packets whose id is Z
  /// in some direction (the first bucket for a two-way packet, the second
  /// for a one-way one); an entry hashed with 0 is in the first bucket of a
  /// one-way or default packet and the second of a two-way one.
  static uint16_t HashedZoneId(const Zone& z) noexcept {
    return z.dir_mask == 0 ? z.id : 0;
  }
  static uint16_t AlternateZoneId(const Zone& z) noexcept {
    return z.dir_mask == 0 ? 0 : z.id;
  }
  /// The hash of flow `index` (its original tuple and its zone).
  uint32_t FlowHash(uint32_t index) const noexcept {
    return Hash(OrigTuple(index), HashedZoneId(ZoneOf(index)));
  }
  /// Bucket of a hash: multiply-shift, as the kernel does (no modulo).
  uint32_t Bucket(uint32_t hash) const noexcept {
    return static_cast<uint32_t>((static_cast<uint64_t>(hash) * buckets_) >>
                                 32);
  }
  uint32_t buckets() const noexcept { return buckets_; }
  /// The shard a bucket belongs to: shards are kShards equal runs of
  /// consecutive buckets. Their number is fixed (not the thread count), so
  /// anything drawn per shard is the same however many threads run them.
  static constexpr uint32_t kShards = 64;
  uint32_t Shard(uint32_t bucket) const noexcept {
    return static_cast<uint32_t>(static_cast<uint64_t>(bucket) * kShards /
                                 buckets_);
  }
  uint32_t capacity() const noexcept { return capacity_; }
  /// Flows allocated and not yet freed.
  uint32_t in_use() const noexcept { return in_use_; }
  /// Flows ever handed out: every allocated flow's index is below it, so a
  /// walk of the pool in index order (sequential, unlike the chains) need
  /// go no further. Only while no lane thread runs.
  uint32_t pool_high_water() const noexcept {
    AssumeSerial();
    return high_water_;
  }

  uint32_t Head(uint32_t bucket) const noexcept { return heads_[bucket]; }
  /// The first bucket at or after `bucket` whose chain is not empty, or
  /// buckets() if there is none. The whole-table walks (GC, dump, visit)
  /// step with it: most buckets of a lightly used table are empty, and a
  /// loop that only looks for the next head is the cheap way past them
  /// (and, out of line, easy to leave uninstrumented in the fuzz build:
  /// fuzz/ignorelist.txt).
  uint32_t UsedBucketFrom(uint32_t bucket) const noexcept;
  Flow& At(uint32_t index) noexcept { return flows_[index]; }
  const Flow& At(uint32_t index) const noexcept { return flows_[index]; }
  /// The IPv6 side pool entry of flow `index` (meaningful for IPv6 flows).
  V6Addresses& V6(uint32_t index) noexcept { return v6_[index]; }

  /// Stores `t` as flow `index`'s original tuple.
  void SetTuple(uint32_t index, const Tuple& t) noexcept {
    flows_[index].key = FlowKey::Of(t);
    if (t.family == Family::kIPv6) v6_[index] = {t.src, t.dst};
  }
  /// Puts flow `index` (just allocated) in `zone`. The default zone is
  /// stored as no zone at all: only entries of other zones touch the side
  /// pool, as only they carry the kernel's zone extension.
  void SetZone(uint32_t index, const Zone& zone) noexcept {
    if (zone.IsDefault()) return;
    flows_[index].status |= flowstatus::kHasZone;
    zones_[index] = zone;
  }
  /// Whether flow `index` is in a zone other than the default.
  bool HasZone(uint32_t index) const noexcept {
    return (flows_[index].status & flowstatus::kHasZone) != 0;
  }
  /// Flow `index`'s zone.
  Zone ZoneOf(uint32_t index) const noexcept {
    return (flows_[index].status & flowstatus::kHasZone) ? zones_[index]
                                                         : Zone{};
  }
  /// Whether flow `index`'s node of direction `dir` is in `zone` as a
  /// lookup from that direction sees it: the two ids in that direction
  /// agree (kernel-model §4.6).
  bool ZoneMatches(uint32_t index, Direction dir,
                   const Zone& zone) const noexcept {
    if (!(flows_[index].status & flowstatus::kHasZone)) {
      return zone.IdIn(static_cast<int>(dir)) == 0;
    }
    const int d = static_cast<int>(dir);
    return zones_[index].IdIn(d) == zone.IdIn(d);
  }

  /// Flow `index`'s original tuple, in full.
  Tuple OrigTuple(uint32_t index) const noexcept {
    const FlowKey& k = flows_[index].key;
    Tuple t;
    if (k.family == Family::kIPv6) {
      t.src = v6_[index].src;
      t.dst = v6_[index].dst;
    } else {
      t.src = Address{};
      t.dst = Address{};
      std::memcpy(t.src.bytes, k.src4, 4);
      std::memcpy(t.dst.bytes, k.dst4, 4);
    }
    t.src_port_or_icmp_id = k.src_port_or_icmp_id;
    t.dst_port_or_icmp_type_code = k.dst_port_or_icmp_type_code;
    t.l4_proto = k.l4_proto;
    t.family = k.family;
    return t;
  }
  /// Whether flow `index`'s original tuple is `t`, whose key is `k`.
  bool TupleIs(uint32_t index, const FlowKey& k,
               const Tuple& t) const noexcept {
    if (std::memcmp(&flows_[index].key, &k, sizeof(FlowKey)) != 0) {
      return false;
    }
    return k.family != Family::kIPv6 ||
           (v6_[index].src == t.src && v6_[index].dst == t.dst);
  }
  /// The next node after `node` in its chain.
  uint32_t Next(uint32_t node) const noexcept {
    return flows_[NodeFlow(node)].next[node & 1];
  }
  /// Where a chain walk goes on after deleting `node`'s flow: the next node
  /// that belongs to another flow. Both of a flow's nodes share its chain
  /// and leave it together, so only the flow's own other node can follow
  /// `node` and vanish; every other node stays linked. Walks that reap as
  /// they go (lookup, early drop, GC, dump) continue from here instead of
  /// from the head, as the kernel's walks do: a restart would visit the
  /// live nodes before the deleted one again (a dump would list them twice,
  /// the GC would count them twice in its mean).
  uint32_t NextPastFlow(uint32_t node) const noexcept {
    uint32_t next = Next(node);
    if (next != kNil && NodeFlow(next) == NodeFlow(node)) next = Next(next);
    return next;
  }

  /// Takes a free flow (zeroed), or returns kNil when the pool is empty.
  uint32_t Alloc() noexcept;
  /// Returns a flow (already unlinked) to the pool.
  void Free(uint32_t index) noexcept;

  /// A thread's private stock of free flows, so that threads running
  /// different shards allocate without contending; the count of flows in
  /// use is settled by the caller (AdjustInUse) when the threads are done.
  struct FreeCache {
    uint32_t head = kNil;
    uint32_t tail = kNil;
  };
  /// Flows a cache takes from the shared pool at once.
  static constexpr uint32_t kRefill = 32;
  /// Takes a free flow (zeroed) from `cache`, refilling it from the shared
  /// pool under a lock when empty (at most kRefill at once); kNil when the pool
  /// is empty. Safe to call from several threads, each with its own cache.
  uint32_t AllocFrom(FreeCache* cache) noexcept;
  /// Returns a flow to `cache`.
  void FreeTo(FreeCache* cache, uint32_t index) noexcept;
  /// Gives everything in `cache` back to the shared pool (single-threaded).
  void Reclaim(FreeCache* cache) noexcept;
  /// Unlinks and frees every flow: the table is as Create left it.
  void Clear() noexcept;
  void AdjustInUse(int64_t delta) noexcept {
    in_use_ = static_cast<uint32_t>(static_cast<int64_t>(in_use_) + delta);
  }

  /// Nodes in `bucket`'s chain (kept as chains change, so the insert-time
  /// chain-length limit needs no walk).
  uint32_t ChainLength(uint32_t bucket) const noexcept;
  /// For the invariant check: the first bucket whose kept length is not
  /// the number of nodes in its chain, or buckets() if every one is exact.
  /// Counts at most one node past the kept length, so a chain that loops
  /// cannot hang it.
  uint32_t FirstBucketWithWrongLength() const noexcept;

  /// Links node `node` at the head of `bucket`.
  void LinkHead(uint32_t bucket, uint32_t node) noexcept;
  /// Unlinks `node` from `bucket`'s chain (walks the chain).
  void Unlink(uint32_t bucket, uint32_t node) noexcept;

  /// Issues prefetches for a bucket head / a flow.
  void PrefetchBucket(uint32_t bucket) const noexcept {
    __builtin_prefetch(&heads_[bucket]);
  }
  void PrefetchFlow(uint32_t index) const noexcept {
    // A lookup reads the first 28 bytes (links, expiry, status, key); with
    // an 88-byte stride they straddle two cache lines for 3 flows in 8.
    const char* p = reinterpret_cast<const char*>(&flows_[index]);
    __builtin_prefetch(p);
    __builtin_prefetch(p + kLookupBytes - 1);
  }
  void PrefetchV6(uint32_t index) const noexcept {
    __builtin_prefetch(&v6_[index]);
  }
  /// Bytes of a Flow a lookup reads.
  static constexpr size_t kLookupBytes = offsetof(Flow, proto);

  /// What the table reserves: the pool, bucket heads and chain lengths,
  /// and the IPv6 side pool (whose pages are touched only by IPv6 flows).
  size_t memory_bytes() const noexcept {
    return flows_bytes_ + heads_bytes_ + lengths_bytes_ + v6_bytes_;
  }
  /// Bytes per entry at 1:1 buckets, by family (for reports).
  static constexpr size_t kIpv4EntryBytes =
      sizeof(Flow) + sizeof(uint32_t) + sizeof(uint16_t);
  static constexpr size_t kIpv6EntryBytes =
      kIpv4EntryBytes + sizeof(V6Addresses);
  // The performance issue's budget, with the kernel's full TCP state kept.
  static_assert(kIpv4EntryBytes <= 96);
  static_assert(kIpv6EntryBytes <= 128);

 private:
  FlowTable() = default;
  /// A free flow from the shared pool (free list first, then never-used
  /// ones), not yet counted or zeroed; kNil when there is none.
  uint32_t TakeFromPool() noexcept CTKIT_REQUIRES(refill_);

  Flow* flows_ = nullptr;      // capacity_ flows, mmap'd; owned
  V6Addresses* v6_ = nullptr;  // capacity_ entries, mmap'd; owned
  Zone* zones_ = nullptr;      // capacity_ entries, mmap'd; owned
  uint32_t* heads_ = nullptr;  // buckets_ heads, mmap'd; owned
  // Chain lengths, saturating at 0xffff (then recounted on unlink).
  uint16_t* lengths_ = nullptr;
  size_t flows_bytes_ = 0;  // mapping sizes, for munmap
  size_t heads_bytes_ = 0;
  size_t lengths_bytes_ = 0;
  size_t v6_bytes_ = 0;
  size_t zones_bytes_ = 0;
  uint32_t capacity_ = 0;     // immutable
  uint32_t buckets_ = 0;      // immutable
  uint64_t k0_ = 0, k1_ = 0;  // hash key; immutable
  // The shared pool. Threads refilling their caches (AllocFrom) take
  // refill_; everything else runs while no lane thread does (see
  // AssumeSerial).
  Mutex refill_;
  uint32_t free_head_ CTKIT_GUARDED_BY(refill_) = kNil;  // through next[0]
  // Flows ever handed out (the pool grows up).
  uint32_t high_water_ CTKIT_GUARDED_BY(refill_) = 0;
  uint32_t in_use_ = 0;
  /// The single-threaded paths (Alloc, Free, Reclaim, Clear) touch the
  /// pool without the lock: the engine calls them only when no lane thread
  /// runs (engine_parallel.cc).
  void AssumeSerial() const CTKIT_ASSERT_CAPABILITY(refill_) {
    refill_.AssumeHeldSerially();
  }
};

}  // namespace ctkit

#endif  // CTKIT_CORE_FLOW_TABLE_H_
