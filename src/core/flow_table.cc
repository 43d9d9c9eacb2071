// FlowTable storage. The pool and the bucket array are anonymous mappings:
// untouched pages cost nothing, so a table sized for the kernel's default
// 262144 entries is cheap until it fills, and memory can never exceed what
// the configured maximum implies. Free flows are kept on a LIFO list so a
// freed entry's cache lines are reused first.
#include "core/flow_table.h"

#include <sys/mman.h>

#include <cstring>
#include <string>

#include "core/siphash.h"
#include "proto/tracker.h"

namespace ctkit {
namespace {

constexpr size_t kHugePage = 2u << 20;

uint32_t HashKey(uint64_t k0, uint64_t k1, const Tuple& t) noexcept;

void* MapZeroed(size_t bytes, bool huge_pages) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  if (huge_pages && bytes >= kHugePage) {
    // Best effort: transparent huge pages cut TLB misses on random lookups.
    (void)madvise(p, bytes, MADV_HUGEPAGE);
  }
  return p;
}

}  // namespace

Result<std::unique_ptr<FlowTable>> FlowTable::Create(uint32_t capacity,
                                                     uint32_t buckets,
                                                     uint64_t k0, uint64_t k1,
                                                     bool huge_pages) {
  if (capacity == 0 || capacity > (kNil >> 1) - 1) {
    return fail(Error::invalid_argument(
        "table capacity " + std::to_string(capacity) + " is out of range"));
  }
  if (buckets == 0) {
    return fail(Error::invalid_argument("nf_conntrack_buckets must be > 0"));
  }
  std::unique_ptr<FlowTable> t(new FlowTable());
  t->flows_bytes_ = static_cast<size_t>(capacity) * sizeof(Flow);
  t->heads_bytes_ = static_cast<size_t>(buckets) * sizeof(uint32_t);
  t->flows_ = static_cast<Flow*>(MapZeroed(t->flows_bytes_, huge_pages));
  t->heads_ = static_cast<uint32_t*>(MapZeroed(t->heads_bytes_, huge_pages));
  t->lengths_bytes_ = static_cast<size_t>(buckets) * sizeof(uint16_t);
  t->lengths_ =
      static_cast<uint16_t*>(MapZeroed(t->lengths_bytes_, huge_pages));
  // Reserved, not resident: only pages holding IPv6 flows are touched.
  t->v6_bytes_ = static_cast<size_t>(capacity) * sizeof(V6Addresses);
  t->v6_ = static_cast<V6Addresses*>(MapZeroed(t->v6_bytes_, false));
  // The same for zones: only pages holding entries of a zone other than
  // the default are touched.
  t->zones_bytes_ = static_cast<size_t>(capacity) * sizeof(Zone);
  t->zones_ = static_cast<Zone*>(MapZeroed(t->zones_bytes_, false));
  if (t->flows_ == nullptr || t->heads_ == nullptr || t->lengths_ == nullptr ||
      t->v6_ == nullptr || t->zones_ == nullptr) {
    return fail(Error::io("cannot map " + std::to_string(t->memory_bytes()) +
                          " bytes for the conntrack table"));
  }
  // kNil is all ones, so empty buckets are 0xff bytes.
  std::memset(t->heads_, 0xff, t->heads_bytes_);
  t->capacity_ = capacity;
  t->buckets_ = buckets;
  t->k0_ = k0;
  t->k1_ = k1;
  return t;
}

FlowTable::~FlowTable() {
  if (flows_ != nullptr) munmap(flows_, flows_bytes_);
  if (heads_ != nullptr) munmap(heads_, heads_bytes_);
  if (lengths_ != nullptr) munmap(lengths_, lengths_bytes_);
  if (v6_ != nullptr) munmap(v6_, v6_bytes_);
  if (zones_ != nullptr) munmap(zones_, zones_bytes_);
}

uint32_t FlowTable::Hash(const Tuple& t, uint16_t zone_id) const noexcept {
  Tuple inverse;
  // A tuple with no inverse is never a flow's: any bucket will do.
  if (!InvertTuple(t, &inverse)) return HashKey(k0_, k1_, t);
  return Hash(t, inverse, zone_id);
}

uint32_t FlowTable::Hash(const Tuple& t, const Tuple& inverse,
                         uint16_t zone_id) const noexcept {
  // Any fixed total order on tuples will do to pick the key, as long as it
  // is cheap: first the leading 8 address bytes (all of an IPv4 address;
  // the inverse's source is t's destination), then, for the rare tie
  // (equal leading bytes: same host, or one IPv6 /64), all the bytes.
  uint64_t a, b;
  std::memcpy(&a, t.src.bytes, 8);
  std::memcpy(&b, inverse.src.bytes, 8);
  bool inverse_first =
      a != b ? b < a : std::memcmp(&inverse, &t, sizeof(Tuple)) < 0;
  // The zone keys the hash: the default zone's flows hash as they always
  // did, and equal tuples of other zones spread over other buckets. Only
  // a zone pays for the mixing (the default zone is the hot path).
  const Tuple& key = inverse_first ? inverse : t;
  if (zone_id == 0) [[likely]] {
    return HashKey(k0_, k1_, key);
  }
  return HashKey(k0_, k1_ ^ (uint64_t{zone_id} * 0x9e3779b97f4a7c15ull), key);
}

namespace {

uint32_t HashKey(uint64_t k0, uint64_t k1, const Tuple& t) noexcept {
  SipHasher<1, 3> h(k0, k1);
  if (t.family == Family::kIPv4) {
    // The 14 bytes that matter (addresses, ports, protocol, family) go in
    // as two words instead of the whole 38-byte tuple.
    uint32_t src, dst;
    std::memcpy(&src, t.src.bytes, 4);
    std::memcpy(&dst, t.dst.bytes, 4);
    h.Absorb(static_cast<uint64_t>(src) | static_cast<uint64_t>(dst) << 32);
    h.Absorb(static_cast<uint64_t>(t.src_port_or_icmp_id) |
             static_cast<uint64_t>(t.dst_port_or_icmp_type_code) << 16 |
             static_cast<uint64_t>(t.l4_proto) << 32 |
             static_cast<uint64_t>(t.family) << 40 | uint64_t{14} << 56);
  } else {
    uint64_t w[5] = {};
    std::memcpy(w, &t, sizeof(Tuple));
    for (int i = 0; i < 4; ++i) h.Absorb(w[i]);
    h.Absorb(w[4] | uint64_t{sizeof(Tuple)} << 56);
  }
  uint64_t v = h.Finish();
  return static_cast<uint32_t>(v ^ (v >> 32));
}

}  // namespace

uint32_t FlowTable::TakeFromPool() noexcept {
  if (free_head_ != kNil) {
    uint32_t index = free_head_;
    free_head_ = flows_[index].next[0];
    return index;
  }
  return high_water_ < capacity_ ? high_water_++ : kNil;
}

uint32_t FlowTable::Alloc() noexcept {
  AssumeSerial();
  uint32_t index = TakeFromPool();
  if (index == kNil) return kNil;
  ++in_use_;
  std::memset(static_cast<void*>(&flows_[index]), 0, sizeof(Flow));
  return index;
}

void FlowTable::Free(uint32_t index) noexcept {
  AssumeSerial();
  flows_[index].status = 0;
  flows_[index].next[0] = free_head_;
  free_head_ = index;
  --in_use_;
}

uint32_t FlowTable::AllocFrom(FreeCache* cache) noexcept {
  if (cache->head == kNil) {
    // Refill several flows at once, so the lock is rare.
    MutexLock lock(&refill_);
    for (uint32_t i = 0; i < kRefill; ++i) {
      uint32_t index = TakeFromPool();
      if (index == kNil) break;
      flows_[index].next[0] = cache->head;
      if (cache->head == kNil) cache->tail = index;
      cache->head = index;
    }
    if (cache->head == kNil) return kNil;
  }
  uint32_t index = cache->head;
  cache->head = flows_[index].next[0];
  if (cache->head == kNil) cache->tail = kNil;
  std::memset(static_cast<void*>(&flows_[index]), 0, sizeof(Flow));
  return index;
}

void FlowTable::FreeTo(FreeCache* cache, uint32_t index) noexcept {
  flows_[index].status = 0;
  flows_[index].next[0] = cache->head;
  if (cache->head == kNil) cache->tail = index;
  cache->head = index;
}

void FlowTable::Reclaim(FreeCache* cache) noexcept {
  if (cache->head == kNil) return;
  AssumeSerial();
  flows_[cache->tail].next[0] = free_head_;
  free_head_ = cache->head;
  cache->head = cache->tail = kNil;
}

void FlowTable::Clear() noexcept {
  AssumeSerial();
  std::memset(heads_, 0xff, heads_bytes_);
  std::memset(lengths_, 0, lengths_bytes_);
  free_head_ = kNil;
  high_water_ = 0;
  in_use_ = 0;
}

uint32_t FlowTable::UsedBucketFrom(uint32_t bucket) const noexcept {
  while (bucket < buckets_ && heads_[bucket] == kNil) ++bucket;
  return bucket;
}

uint32_t FlowTable::FirstBucketWithWrongLength() const noexcept {
  for (uint32_t b = 0; b < buckets_; ++b) {
    if (lengths_[b] == 0xffff) continue;  // saturated: not kept
    uint32_t n = 0;
    for (uint32_t node = heads_[b]; node != kNil && n <= lengths_[b];
         node = Next(node)) {
      ++n;
    }
    if (n != lengths_[b]) return b;
  }
  return buckets_;
}

uint32_t FlowTable::ChainLength(uint32_t bucket) const noexcept {
  if (lengths_[bucket] != 0xffff) return lengths_[bucket];
  uint32_t n = 0;
  for (uint32_t node = heads_[bucket]; node != kNil; node = Next(node)) ++n;
  return n;
}

void FlowTable::LinkHead(uint32_t bucket, uint32_t node) noexcept {
  flows_[NodeFlow(node)].next[node & 1] = heads_[bucket];
  heads_[bucket] = node;
  if (lengths_[bucket] != 0xffff) ++lengths_[bucket];
}

void FlowTable::Unlink(uint32_t bucket, uint32_t node) noexcept {
  uint32_t* link = &heads_[bucket];
  while (*link != kNil) {
    if (*link == node) {
      *link = Next(node);
      if (lengths_[bucket] != 0xffff) {
        --lengths_[bucket];
      } else {
        uint32_t n = ChainLength(bucket);
        if (n < 0xffff) lengths_[bucket] = static_cast<uint16_t>(n);
      }
      return;
    }
    link = &flows_[NodeFlow(*link)].next[*link & 1];
  }
}

}  // namespace ctkit
