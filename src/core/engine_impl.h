// EngineImpl: the private side of ctkit::Engine. The per-packet recipe is in
// engine.cc, the table-full policy (early drop, the log rate limit) in
// early_drop.cc, the garbage collector in gc.cc, and snapshots/dumps in
// flow_info.cc; they share this class.
#ifndef CTKIT_CORE_ENGINE_IMPL_H_
#define CTKIT_CORE_ENGINE_IMPL_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "core/flow_table.h"
#include "ctkit/engine.h"
#include "proto/tracker.h"

namespace ctkit {

/// The virtual clock's units (see EngineImpl::Jiffies).
inline constexpr uint64_t kNsPerJiffy = 1'000'000'000ull / kHz;
/// Like the kernel's INITIAL_JIFFIES, the clock starts 5 minutes before its
/// 32-bit wrap, so wrap-around is exercised by every replay longer than that.
inline constexpr uint32_t kInitialJiffies = static_cast<uint32_t>(-300 * 250);
/// A clock step beyond this is handled by CrossLongGap (half of the 2^31
/// that signed jiffy comparisons can span).
inline constexpr uint64_t kLongGapJiffies = 1ull << 30;

/// Everything Process() needs to know about a packet before touching the
/// table; computed ahead for a whole batch so the table can be prefetched.
struct PreparedPacket {
  enum class Kind : uint8_t {
    kTrack,      ///< normal lookup of `tuple`
    kIcmpError,  ///< lookup of `tuple` (the quoted flow, inverted)
    kInvalid,    ///< INVALID before lookup (`reason`)
    kUntracked,  ///< ICMPv6 ND/MLD
  };
  Kind kind = Kind::kInvalid;
  InvalidReason reason = InvalidReason::kNone;
  bool offload_checksum = false;  ///< an offload partial checksum (counted)
  uint32_t hash = 0;
  Tuple tuple;
  Tuple reply;    ///< `tuple` inverted (the prefetch passes compare with it)
  FlowKey key{};  ///< compact forms of both, as flows store them
  FlowKey reply_key{};
  Zone zone{};  ///< the packet's zone (PacketView::zone)
  /// With a zone other than the default: the hash of the other bucket its
  /// entry may be in (FlowTable::AlternateZoneId).
  uint32_t alt_hash = 0;
};

/// What one thread accumulates while it runs the recipe. The kernel keeps
/// its statistics per CPU and sums them when asked; ctkit does the same per
/// lane. The serial lane is the engine's own; parallel lanes are folded into
/// it when their threads finish (engine_parallel.cc).
struct Lane {
  Stats stats;
  EngineCounters counters;
  /// Parallel lanes allocate from their own cache and leave the table's
  /// count alone; `net` is the count change of the packet in hand.
  bool parallel = false;
  FlowTable::FreeCache cache;
  int32_t net = 0;
};

struct ParallelState;  // engine_parallel.cc
struct Stretch;
struct ParallelStateDeleter {
  void operator()(ParallelState* p) const noexcept;
};

/// Why an entry is being removed (for counters).
enum class DeleteCause : uint8_t {
  kExpired,
  kKilled,
  kEarlyDrop,
  kGcEarlyDrop
};

class EngineImpl final : public Engine {
 public:
  EngineImpl(const Tunables& t, EngineOptions opts,
             std::unique_ptr<FlowTable> table);
  ~EngineImpl() override;
  EngineImpl(const EngineImpl&) = delete;
  EngineImpl& operator=(const EngineImpl&) = delete;

  [[nodiscard]] Result<void> Reset(const Tunables& t) override;

  Verdict Process(const PacketView& pkt, uint64_t now_ns) noexcept override;
  void ProcessBatch(const PacketView* pkts, const uint64_t* now_ns, size_t n,
                    Verdict* out,
                    uint32_t* count_after = nullptr) noexcept override;
  void AdvanceTo(uint64_t now_ns) noexcept override;
  uint32_t count() const noexcept override { return table_->in_use(); }
  const Stats& stats() const noexcept override { return main_.stats; }
  const EngineCounters& counters() const noexcept override {
    return main_.counters;
  }
  const Tunables& tunables() const noexcept override { return tunables_; }
  void Dump(uint64_t now_ns,
            const std::function<void(const FlowInfo&)>& fn) override;
  void Visit(uint64_t now_ns,
             const std::function<void(const FlowInfo&)>& fn) const override;
  std::optional<FlowInfo> Find(const Tuple& t, uint64_t now_ns,
                               Zone zone) const override;
  HashSeed hash_seed() const noexcept override { return *opts_.hash_seed; }
  uint32_t jiffies() const noexcept override { return last_now_; }
  size_t memory_bytes() const noexcept override {
    return table_->memory_bytes();
  }
  uint32_t longest_chain() const noexcept override;
  bool CheckInvariants(std::string* why) const override;

 private:
  // engine.cc: the recipe.
  void Prepare(const PacketView& pkt, PreparedPacket* out) const noexcept;
  /// Prefetches the table for pp[idx[0..m)] and runs the recipe on each in
  /// order. With `now` null (the serial lane): clock and GC per packet
  /// (Execute), results to out[idx[k]] and count_after[idx[k]]. Otherwise
  /// (a parallel lane): now[idx[k]] is each packet's jiffies, and the
  /// results go to out[k] and net[k] (count change).
  void RunBatch(Lane& lane, const PacketView* pkts, const uint64_t* now_ns,
                const uint32_t* now, const PreparedPacket* pp,
                const uint32_t* idx, size_t m, Verdict* out,
                uint32_t* count_after, int32_t* net) noexcept;
  /// Clock and GC, then Track: the serial path.
  Verdict Execute(const PacketView& pkt, const PreparedPacket& pp,
                  uint64_t now_ns) noexcept;
  /// The recipe for one packet at jiffies `now`.
  Verdict Track(Lane& lane, const PacketView& pkt, const PreparedPacket& pp,
                uint32_t now, uint64_t now_ns) noexcept;
  Verdict HandleIcmpError(Lane& lane, const PacketView& pkt,
                          const PreparedPacket& pp, uint32_t now) noexcept;
  Verdict NewFlow(Lane& lane, const PacketView& pkt, const Tuple& t,
                  uint32_t hash, uint32_t now, uint64_t now_ns) noexcept;
  Verdict ExistingFlow(Lane& lane, const PacketView& pkt,
                       const PreparedPacket& pp, uint32_t node, uint32_t now,
                       uint64_t now_ns) noexcept;
  /// Finds the node matching pp.tuple in bucket(pp.hash), reaping every
  /// expired entry the walk passes (as the kernel's lookup does). kNil if
  /// none.
  /// PreparedPacket::alt_hash of a packet in a zone. Out of line, so that
  /// Prepare, on every packet's path, keeps one inlined hash.
  [[gnu::noinline, gnu::cold]] uint32_t AlternateHash(
      const PreparedPacket& pp) const noexcept;
  uint32_t LookupInBucket(Lane& lane, const PreparedPacket& pp, uint32_t bucket,
                          uint32_t now) noexcept;
  uint32_t LookupAndReap(Lane& lane, const PreparedPacket& pp,
                         uint32_t now) noexcept;
  /// Whether node `node` is the packet's: its flow's original tuple is the
  /// packet's tuple (original-direction node) or its inverse (reply node).
  bool NodeIs(uint32_t node, const PreparedPacket& pp) const noexcept;
  /// True when the chain-length limit refuses inserting into `bucket`.
  bool ChainTooLong(uint32_t bucket) noexcept;
  /// Links both nodes of `index` into `bucket` (the flow's only bucket).
  void Insert(Lane& lane, uint32_t index, uint32_t bucket) noexcept;
  /// Unlinks, emits DESTROY, counts and frees.
  void Delete(Lane& lane, uint32_t index, DeleteCause cause,
              uint32_t now) noexcept;
  uint32_t AllocFlow(Lane& lane) noexcept;
  void FreeFlow(Lane& lane, uint32_t index) noexcept;
  /// Advances the virtual clock to now_ns (never backwards); jiffies.
  uint32_t Jiffies(uint64_t now_ns) noexcept;
  /// A forward step of more than 2^30 jiffies: reaps every entry that
  /// expired during the step and restarts the GC and log rate limit, so
  /// that signed 32-bit comparisons stay meaningful after it.
  void CrossLongGap(uint32_t prev, uint64_t step) noexcept;
  /// Jiffies of a time at or after the clock's start, without advancing.
  uint32_t JiffiesAt(uint64_t now_ns) const noexcept;
  void Emit(EventType type, uint32_t index, uint32_t now,
            bool state_changed = false) noexcept;
  void Account(uint32_t index, Direction dir, const PacketView& pkt) noexcept;

  // engine_parallel.cc
  /// Whether packets may run on several threads at all: not when events
  /// must come out in packet order, nor when timeouts depend on the global
  /// count (the adaptive policy).
  bool CanRunParallel() const noexcept;
  void StartWorkers();
  void StartWorker(unsigned w);  // w: the lane it runs
  void StopWorkers() noexcept;
  /// One thread's share of the current parallel phase.
  void RunLane(unsigned w) noexcept;
  /// Runs RunLane on every thread (the caller is lane 0) and waits.
  void RunOnAllLanes() noexcept;
  /// ProcessBatch on the worker pool: stretches of packets that cannot
  /// touch anything shared across shards run with one lane per thread, the
  /// rest serially, with the same results as a serial run.
  void ProcessParallel(const PacketView* pkts, const uint64_t* now_ns, size_t n,
                       Verdict* out, uint32_t* count_after) noexcept;
  /// Whether packets [a, ...) can start a parallel stretch, given an upper
  /// bound on the count when it starts and the clock before it; if so,
  /// fills st's bounds, per-packet jiffies and clock after it.
  bool PlanStretch(const uint64_t* now_ns, size_t a, size_t n,
                   uint64_t in_use_bound, uint64_t last_ns, uint32_t last,
                   Stretch* st) const noexcept;
  /// Runs pkts[a, b) serially, as ProcessBatch does.
  void ProcessSerial(const PacketView* pkts, const uint64_t* now_ns, size_t a,
                     size_t b, Verdict* out, uint32_t* count_after) noexcept;
  /// A tracker's timeout after the (opt-in) adaptive policy.
  uint32_t Adapt(uint32_t timeout) const noexcept;

  // early_drop.cc
  /// The kernel's allocation-time early drop: scans 8 buckets from `bucket`.
  bool EarlyDrop(uint32_t bucket, uint32_t now) noexcept;
  /// Counts a "table full" log line under the net_ratelimit rules.
  void LogTableFull(uint32_t now) noexcept;

  // gc.cc
  void RunGcUntil(uint32_t now) noexcept;
  void RunGcOnce(uint32_t at) noexcept;

  // flow_info.cc
  FlowInfo Snapshot(uint32_t index, uint32_t now) const noexcept;

  /// Applies `t` (normalized) and zeroes the counters, clock and GC: the
  /// constructor's and Reset's common part (Reset also empties the table).
  void Start(const Tunables& t);

  Tunables tunables_;   // changed only by Reset
  ProtoConfig cfg_{};   // changed only by Reset
  EngineOptions opts_;  // immutable
  std::unique_ptr<FlowTable> table_;
  bool events_for_new_ = false;  // new entries get events (set by Start)
  Lane main_;                    // the serial lane; the public counters
  std::unique_ptr<ParallelState, ParallelStateDeleter>
      par_;  // only with opts_.threads > 1

  /// Per-entry counters (the kernel's acct extension), allocated only when
  /// nf_conntrack_acct is on; indexed by flow index.
  struct Acct {
    uint64_t packets[2];
    uint64_t bytes[2];
  };
  std::vector<Acct> acct_;
  /// Start timestamps (ns), only when nf_conntrack_timestamp is on.
  std::vector<uint64_t> start_ns_;

  // Virtual clock, jiffies; never moves backwards.
  bool clock_started_ = false;
  uint32_t last_now_ = 0;
  uint64_t last_now_ns_ = 0;
  uint64_t base_ns_ = 0;  // ns of jiffy 0 (the first packet's time)

  // Chain-length limit draws (deterministic xorshift), one stream per
  // shard so that the draws do not depend on how shards share threads.
  // Each on its own cache line: shards on different threads draw at once.
  struct alignas(64) ShardRng {
    uint64_t state = 1;
  };
  ShardRng rng_state_[FlowTable::kShards];

  // GC worker state (spec §3.3).
  struct Gc {
    uint32_t next_run = 0;     // jiffies of the next run
    uint32_t next_bucket = 0;  // where a partial cycle resumes
    uint32_t cycle_start = 0;  // jiffies the current cycle began
    int64_t avg = 0;           // running mean of remaining lifetime
    uint32_t visited = 0;      // samples in the mean (starts at 100)
    bool early_drop_mode = false;
  } gc_;

  // net_ratelimit state for the table-full log line.
  struct RateLimit {
    bool started = false;
    uint32_t window_start = 0;
    uint32_t printed = 0;
  } ratelimit_;
};

// Inline, always: every chain walk asks it of each node it passes.
[[gnu::always_inline]] inline bool EngineImpl::NodeIs(
    uint32_t node, const PreparedPacket& pp) const noexcept {
  const uint32_t index = NodeFlow(node);
  const Direction dir = NodeDir(node);
  const bool tuple_is = dir == Direction::kOriginal
                            ? table_->TupleIs(index, pp.key, pp.tuple)
                            : table_->TupleIs(index, pp.reply_key, pp.reply);
  if (!tuple_is) return false;
  // The default zone's packet and entry, the common case, match at once.
  if (pp.zone.id == 0 && !table_->HasZone(index)) [[likely]] {
    return true;
  }
  // The kernel looks a packet up with its zone's original-direction id and,
  // failing that, its reply-direction id; each finds the nodes whose own
  // direction's id equals the packet's in that direction. One walk of the
  // flow's single bucket asking that of every node finds the same entries.
  return table_->ZoneMatches(index, dir, pp.zone);
}

}  // namespace ctkit

#endif  // CTKIT_CORE_ENGINE_IMPL_H_
