// The conntrack engine: a bounded flow table with the kernel's trackers,
// timeouts, early drop, GC and statistics, driven by packet timestamps.
//
// Usage:
//   ctkit::Tunables t;                       // kernel defaults
//   auto engine = ctkit::Engine::Create(t, {});   // random hash key
//   for each packet: Verdict v = (*engine)->Process(view, ts_ns);
//
// Deterministic for a given hash key: the same packets, tunables and
// EngineOptions::hash_seed give the same verdicts, table and counters, with
// any number of threads. By default the key is random (drawn at Create, as
// the kernel draws its own at boot), so two engines may order their tables
// differently, and whatever depends on which entries share a bucket (dump
// order, chain lengths, which entry an early drop evicts, drops for a
// chain too long) may differ between runs; ask for kFixedHashSeed where
// that must not happen. Not thread-safe to call into from several threads
// at once.
#ifndef CTKIT_ENGINE_H_
#define CTKIT_ENGINE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "ctkit/packet.h"
#include "ctkit/result.h"
#include "ctkit/stats.h"
#include "ctkit/tunables.h"
#include "ctkit/tuple.h"
#include "ctkit/verdict.h"

namespace ctkit {

/// A snapshot of one entry, as conntrack -L would show it.
struct FlowInfo {
  Tuple original;
  Tuple reply;
  /// Whole seconds left, floor((expiry - now) / HZ), 0 if expired.
  uint32_t timeout_s = 0;
  /// Signed jiffies left (for exact comparisons in tests).
  int32_t remaining_jiffies = 0;
  const char* state = nullptr;  ///< "ESTABLISHED", ...; null if stateless
  bool assured = false;
  bool seen_reply = false;
  bool has_acct = false;
  uint64_t packets[2] = {0, 0};  ///< by Direction, when has_acct
  uint64_t bytes[2] = {0, 0};
  bool has_timestamp = false;
  uint64_t start_ns = 0;
  uint32_t mark = 0;
  uint32_t use = 1;
  Zone zone{};  ///< the entry's conntrack zone (default: id 0)
};

/// conntrack -E event kinds.
enum class EventType : uint8_t { kNew, kUpdate, kDestroy };

struct Event {
  EventType type = EventType::kNew;
  uint64_t ts_ns = 0;  ///< time of the packet or GC run that caused it
  FlowInfo flow;
  /// The packet changed the protocol state (TCP), the kernel's PROTOINFO
  /// event bit: an UPDATE carries the state only then, so `conntrack -E`
  /// prints it only then (and always on NEW and DESTROY).
  bool state_changed = false;
  /// The entry was created while a listener existed (nf_conntrack_events),
  /// so `conntrack -E` would show this event. False only for events
  /// delivered because EngineOptions::events_for_every_entry asked for them.
  bool announced = true;
  /// The engine's clock at the event (see Engine::jiffies()): the entry
  /// expires at jiffies + flow.remaining_jiffies.
  uint32_t jiffies = 0;
  /// The entry's place in the engine's pool: unique among the entries that
  /// exist at any moment (reused after a DESTROY), below the pool's
  /// capacity (nf_conntrack_max, or EngineOptions::unlimited_capacity).
  uint32_t slot = 0;
};
using EventCallback = std::function<void(const Event&)>;

/// A key for the table's keyed hash (SipHash), as two 64-bit halves.
struct HashSeed {
  uint64_t k0 = 0;
  uint64_t k1 = 0;

  friend bool operator==(const HashSeed& a, const HashSeed& b) {
    return a.k0 == b.k0 && a.k1 == b.k1;
  }
  friend bool operator!=(const HashSeed& a, const HashSeed& b) {
    return !(a == b);
  }
};

/// A fixed, public key (SipHash's published initialisation constants) for
/// results that must be the same on every run: replays, what-if sweeps,
/// benchmarks, fuzzers and tests. Never for a dataplane that tracks
/// untrusted traffic: with a known key anyone can compute tuples that share
/// a bucket and build long chains (hash flooding).
inline constexpr HashSeed kFixedHashSeed{0x736f6d6570736575ull,
                                         0x646f72616e646f6dull};

/// Settings that are not sysctls.
struct EngineOptions {
  /// The hash key. Unset (the default): Create draws one with getrandom(2),
  /// as the kernel draws its key at boot, and fails if the kernel cannot
  /// provide one. Set it (kFixedHashSeed, or a key an earlier engine
  /// reported with Engine::hash_seed()) to make the table's layout
  /// reproducible.
  std::optional<HashSeed> hash_seed;
  /// Receives NEW/UPDATE/DESTROY for entries created while a listener
  /// exists (nf_conntrack_events = 1, or 2 with a callback set).
  /// It runs inside the packet path, between changes to the table, and
  /// must not throw: an exception leaving it ends the program
  /// (std::terminate), as the table cannot be left half-updated. Copy what
  /// you need and return; do not call back into the engine.
  EventCallback on_event;
  /// Deliver on_event's events for every entry, whatever nf_conntrack_events
  /// says (Event::announced tells which the kernel would announce): for a
  /// tool that keeps its own account of the table as it changes, such as a
  /// replay's census of the table (replay/table_census.h).
  bool events_for_every_entry = false;
  /// Capacity of the entry pool when nf_conntrack_max is 0 (no limit).
  uint32_t unlimited_capacity = 1u << 22;
  /// Ask for 2 MiB pages for the pool and buckets (madvise; best effort).
  bool huge_pages = true;
  /// NOT a Linux feature: pf-style adaptive timeouts, an opt-in policy for
  /// userspace dataplanes built on ctkit. When the count exceeds
  /// `adaptive_start` entries, every timeout set by a refresh is scaled by
  /// (adaptive_end - count) / (adaptive_end - adaptive_start), reaching 0 at
  /// adaptive_end. Off while adaptive_end is 0. REQUIRES: start < end.
  uint32_t adaptive_start = 0;
  uint32_t adaptive_end = 0;
  /// Threads ProcessBatch may use (1: the calling thread only). Results
  /// are identical for any value: flows are sharded by their symmetric hash
  /// and only stretches of packets that cannot interact across shards run
  /// in parallel (docs/design.md).
  unsigned threads = 1;
  /// The shortest stretch of packets worth handing to the threads; shorter
  /// ones run serially. A tuning knob, exposed so tests and fuzzers can
  /// drive the parallel path with few packets; results never depend on it.
  uint32_t min_parallel_stretch = 1024;
};

class Engine {
 public:
  /// Builds an engine with all memory for `t.max` entries preallocated,
  /// drawing a random hash key unless `opts.hash_seed` gives one.
  [[nodiscard]] static Result<std::unique_ptr<Engine>> Create(
      const Tunables& t, EngineOptions opts);
  virtual ~Engine() = default;

  /// Empties the engine and applies `t`: afterwards it behaves exactly as
  /// Create(t, the same options) would, but keeps its memory and threads
  /// (for fuzzers and tools that run many short stories). `t` must fit the
  /// table created: nf_conntrack_max from 1 up to the max the engine was
  /// created with, and the same nf_conntrack_buckets after rounding;
  /// otherwise nothing changes and an error says why. memory_bytes() still
  /// reports the table created.
  [[nodiscard]] virtual Result<void> Reset(const Tunables& t) = 0;

  /// Tracks one packet at time now_ns (must not go backwards by more than
  /// the engine tolerates; see docs/design.md). Never allocates or throws.
  virtual Verdict Process(const PacketView& pkt, uint64_t now_ns) noexcept = 0;

  /// Tracks n packets in order, prefetching table memory across the batch.
  /// Same results as n calls to Process(). With `count_after`, stores
  /// count() as it was right after each packet.
  virtual void ProcessBatch(const PacketView* pkts, const uint64_t* now_ns,
                            size_t n, Verdict* out,
                            uint32_t* count_after = nullptr) noexcept = 0;

  /// Runs the GC up to now_ns without a packet (e.g. at the end of a replay).
  virtual void AdvanceTo(uint64_t now_ns) noexcept = 0;

  /// nf_conntrack_count: every allocated entry, expired-but-unreaped
  /// included.
  virtual uint32_t count() const noexcept = 0;
  virtual const Stats& stats() const noexcept = 0;
  virtual const EngineCounters& counters() const noexcept = 0;
  virtual const Tunables& tunables() const noexcept = 0;

  /// Visits every live entry as `conntrack -L` at now_ns would (in table
  /// order), reaping expired entries it passes, as a kernel dump does.
  virtual void Dump(uint64_t now_ns,
                    const std::function<void(const FlowInfo&)>& fn) = 0;

  /// Visits every allocated entry, expired-but-unreaped ones included (the
  /// entries `count()` counts), without changing anything, in no particular
  /// order (the entry pool's: a sequential read, unlike the chains). FlowInfo's
  /// remaining_jiffies is <= 0 for the expired ones.
  virtual void Visit(uint64_t now_ns,
                     const std::function<void(const FlowInfo&)>& fn) const = 0;

  /// The entry whose original or reply tuple is `t` in `zone`, if live at
  /// now_ns. Does not reap anything (a read-only view for tests and tools).
  virtual std::optional<FlowInfo> Find(const Tuple& t, uint64_t now_ns,
                                       Zone zone) const = 0;
  /// The same in the default zone.
  std::optional<FlowInfo> Find(const Tuple& t, uint64_t now_ns) const {
    return Find(t, now_ns, Zone{});
  }

  /// The hash key in use, drawn or given: as EngineOptions::hash_seed it
  /// makes another engine lay its table out as this one does.
  virtual HashSeed hash_seed() const noexcept = 0;

  /// The engine's clock (jiffies, wrapping), which FlowInfo's
  /// remaining_jiffies count from: an entry seen with R jiffies left at
  /// clock J expires at J + R, so snapshots taken at different times can be
  /// compared (as signed 32-bit differences).
  virtual uint32_t jiffies() const noexcept = 0;

  /// Bytes of table memory: entry pool + buckets (+ extensions if any).
  virtual size_t memory_bytes() const noexcept = 0;

  /// Longest bucket chain (nodes) right now; walks the whole table.
  virtual uint32_t longest_chain() const noexcept = 0;

  /// Validates the table's structure (for fuzzers and tests; walks the
  /// whole table and allocates, so keep it off the hot path): count <= max,
  /// count equals the entries reachable through the buckets, each entry's
  /// original and reply nodes each linked exactly once in the bucket its
  /// tuple hashes to, kept chain lengths exact, no dying or unconfirmed
  /// entry linked, and no live entry's remaining time above the longest
  /// configured timeout. On failure returns false and says why in *why.
  virtual bool CheckInvariants(std::string* why) const = 0;
};

}  // namespace ctkit

#endif  // CTKIT_ENGINE_H_
