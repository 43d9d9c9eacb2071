// ProcessBatch on several threads, with the results of one.
//
// Flows are sharded, not packets: a flow's two directions hash alike
// (FlowTable::Hash), so a flow lives in one bucket, and buckets are grouped
// into FlowTable::kShards runs of consecutive buckets. Every chain walk,
// lazy reap, insert and chain-length draw of a packet stays inside its
// flow's shard, and shard s runs on thread s % threads, in packet order. Two
// shards never touch the same memory, so running them side by side gives
// what running them one after the other would.
//
// Only three things cross shards, and the driver keeps them serial:
//   - the table-full decision (the global count against nf_conntrack_max):
//     a stretch of packets runs in parallel only if it cannot fill the
//     table even if every packet in it creates an entry;
//   - the GC, which walks all buckets and keeps a running mean in bucket
//     order: a stretch ends before the first packet whose time makes a GC
//     run due, and that packet runs serially (GC first, as always);
//   - the clock: a stretch ends before a step long enough for CrossLongGap.
// The count after each packet (the replay's fill curve) is rebuilt from each
// packet's own count change, summed in packet order. Events would have to
// come out in packet order and the adaptive policy reads the global count
// on every packet, so engines with either run serially.
#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "core/engine_impl.h"

namespace ctkit {
namespace {

// A parallel stretch is at most this long (scratch memory is sized for
// it) and at least kMinStretch: shorter ones run serially, as the two
// thread hand-offs per stretch would cost more than they save.
constexpr size_t kMaxStretch = 16384;
constexpr size_t kMinStretch = 1024;

// Lanes sit on separate cache lines: their counters are written on every
// packet.
struct alignas(64) PaddedLane {
  Lane lane;
};

}  // namespace

struct ParallelState {
  unsigned lanes = 1;  // threads, the caller included
  std::vector<std::thread> workers;
  std::vector<PaddedLane> lane;

  // The phase in hand and its stretch [a, a+len) of the current batch.
  enum class Phase { kPrepare, kTrack, kStop } phase = Phase::kPrepare;
  const PacketView* pkts = nullptr;
  const uint64_t* now_ns = nullptr;
  Verdict* out = nullptr;
  size_t len = 0;
  // Hand-off: workers wait for `generation` to move, the caller for
  // `pending` to reach zero.
  std::atomic<uint64_t> generation{0};
  std::atomic<unsigned> pending{0};

  // Per-stretch scratch, indexed by position in the stretch.
  std::vector<PreparedPacket> pp;
  std::vector<uint32_t> now;  // jiffies
  std::vector<int32_t> net;   // count change
  std::vector<uint8_t> owner;
};

void ParallelStateDeleter::operator()(ParallelState* p) const noexcept {
  delete p;
}

EngineImpl::~EngineImpl() {
  if (par_ != nullptr) StopWorkers();
}

bool EngineImpl::CanRunParallel() const noexcept {
  return !opts_.on_event && opts_.adaptive_end == 0;
}

void EngineImpl::StartWorkers() {
  unsigned lanes = std::min(opts_.threads, FlowTable::kShards);
  std::unique_ptr<ParallelState, ParallelStateDeleter> par(new ParallelState);
  par->lanes = lanes;
  par->lane.resize(lanes);
  for (PaddedLane& l : par->lane) l.lane.parallel = true;
  par->pp.resize(kMaxStretch);
  par->now.resize(kMaxStretch);
  par->net.resize(kMaxStretch);
  par->owner.resize(kMaxStretch);
  par_ = std::move(par);
  try {
    for (unsigned w = 1; w < lanes; ++w) StartWorker(w);
  } catch (...) {
    // The engine is not constructed, so ~EngineImpl will not stop the
    // threads already running: stop them here.
    StopWorkers();
    throw;
  }
}

void EngineImpl::StopWorkers() noexcept {
  par_->phase = ParallelState::Phase::kStop;
  par_->generation.fetch_add(1, std::memory_order_release);
  par_->generation.notify_all();
  for (std::thread& t : par_->workers) t.join();
  par_->workers.clear();
}

void EngineImpl::StartWorker(unsigned w) {
  par_->workers.emplace_back([this, w] {
    uint64_t seen = 0;
    for (;;) {
      par_->generation.wait(seen, std::memory_order_acquire);
      seen = par_->generation.load(std::memory_order_acquire);
      if (par_->phase == ParallelState::Phase::kStop) return;
      RunLane(w);
      if (par_->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        par_->pending.notify_one();
      }
    }
  });
}

void EngineImpl::RunOnAllLanes() noexcept {
  ParallelState& p = *par_;
  p.pending.store(p.lanes - 1, std::memory_order_relaxed);
  p.generation.fetch_add(1, std::memory_order_release);
  p.generation.notify_all();
  RunLane(0);
  for (unsigned left;
       (left = p.pending.load(std::memory_order_acquire)) != 0;) {
    p.pending.wait(left, std::memory_order_acquire);
  }
}

void EngineImpl::RunLane(unsigned w) noexcept {
  ParallelState& p = *par_;
  const unsigned lanes = p.lanes;
  if (p.phase == ParallelState::Phase::kPrepare) {
    // Prepare is pure: split the stretch into equal slices.
    size_t lo = p.len * w / lanes, hi = p.len * (w + 1) / lanes;
    for (size_t i = lo; i < hi; ++i) {
      PreparedPacket& pp = p.pp[i];
      Prepare(p.pkts[i], &pp);
      bool keyed = pp.kind == PreparedPacket::Kind::kTrack ||
                   pp.kind == PreparedPacket::Kind::kIcmpError;
      // Packets that touch no entry only count: any lane will do.
      p.owner[i] = static_cast<uint8_t>(
          (keyed ? table_->Shard(table_->Bucket(pp.hash)) : i) % lanes);
    }
    return;
  }
  // Track: this lane's packets, in order, in prefetching batches.
  constexpr size_t kBatch = 32;
  uint32_t idx[kBatch];
  size_t m = 0;
  Lane& lane = p.lane[w].lane;
  for (size_t i = 0; i < p.len; ++i) {
    if (p.owner[i] != w) continue;
    idx[m++] = static_cast<uint32_t>(i);
    if (m == kBatch) {
      RunBatch(lane, p.pkts, p.now_ns, p.now.data(), p.pp.data(), idx, m, p.out,
               nullptr, p.net.data());
      m = 0;
    }
  }
  if (m != 0) {
    RunBatch(lane, p.pkts, p.now_ns, p.now.data(), p.pp.data(), idx, m, p.out,
             nullptr, p.net.data());
  }
}

namespace {

void Add(Stats& to, Stats& from) {
  to.found += from.found;
  to.invalid += from.invalid;
  to.insert += from.insert;
  to.insert_failed += from.insert_failed;
  to.drop += from.drop;
  to.early_drop += from.early_drop;
  to.error += from.error;
  to.search_restart += from.search_restart;
  to.clash_resolve += from.clash_resolve;
  to.chaintoolong += from.chaintoolong;
  from = Stats{};
}

void Add(EngineCounters& to, EngineCounters& from) {
  to.packets += from.packets;
  to.created += from.created;
  to.destroyed += from.destroyed;
  to.expired += from.expired;
  to.killed += from.killed;
  to.gc_early_drops += from.gc_early_drops;
  to.gc_runs += from.gc_runs;
  to.table_full += from.table_full;
  to.log_lines += from.log_lines;
  to.log_suppressed += from.log_suppressed;
  for (size_t i = 0; i < std::size(to.invalid_by_reason); ++i) {
    to.invalid_by_reason[i] += from.invalid_by_reason[i];
  }
  for (size_t i = 0; i < std::size(to.verdicts); ++i) {
    to.verdicts[i] += from.verdicts[i];
  }
  from = EngineCounters{};
}

}  // namespace

void EngineImpl::ProcessParallel(const PacketView* pkts, const uint64_t* now_ns,
                                 size_t n, Verdict* out,
                                 uint32_t* count_after) noexcept {
  ParallelState& p = *par_;
  const uint64_t limit =
      tunables_.max != 0 ? tunables_.max : table_->capacity();
  size_t a = 0;
  while (a < n) {
    if (!clock_started_) {  // the first packet starts the clock and the GC
      ProcessSerial(pkts, now_ns, a, a + 1, out, count_after);
      ++a;
      continue;
    }
    // How far a stretch may go: every packet may add one entry, and none
    // may find the table full. Each lane's cache may also hold up to a
    // refill of free entries it does not use, which the others cannot have.
    uint64_t in_use = table_->in_use();
    uint64_t hoard = uint64_t{FlowTable::kRefill} * p.lanes;
    size_t room = limit > in_use + hoard
                      ? static_cast<size_t>(limit - in_use - hoard)
                      : 0;
    size_t cap = std::min({n - a, kMaxStretch, room});
    // Run the clock ahead on a copy (as Jiffies would) to find where the
    // stretch must end: a GC run due, or a step CrossLongGap must handle.
    uint64_t last_ns = last_now_ns_;
    uint32_t last = last_now_;
    size_t b = a;
    for (; b < a + cap; ++b) {
      uint64_t ts = now_ns[b];
      if (ts > last_ns) {
        uint64_t ticks = (ts - base_ns_) / kNsPerJiffy;
        uint64_t step = ticks - (last_ns - base_ns_) / kNsPerJiffy;
        if (step > kLongGapJiffies) break;
        last_ns = ts;
        last = kInitialJiffies + static_cast<uint32_t>(ticks);
      }
      if (JiffiesLeft(gc_.next_run, last) <= 0) break;
      p.now[b - a] = last;
    }
    if (b - a < kMinStretch) {
      // Too short to be worth the threads: run it and the packet that cut
      // it short (a GC run, a long step, a nearly full table) serially.
      size_t e = std::min(n, std::max(b + 1, a + kMinStretch));
      ProcessSerial(pkts, now_ns, a, e, out, count_after);
      a = e;
      continue;
    }
    // The clock after the stretch is what Jiffies would have left.
    uint64_t max_ns = now_ns_;
    for (size_t i = a; i < b; ++i) max_ns = std::max(max_ns, now_ns[i]);
    p.pkts = pkts + a;
    p.now_ns = now_ns + a;
    p.out = out + a;
    p.len = b - a;
    p.phase = ParallelState::Phase::kPrepare;
    RunOnAllLanes();
    p.phase = ParallelState::Phase::kTrack;
    RunOnAllLanes();
    last_now_ns_ = last_ns;
    last_now_ = last;
    now_ns_ = max_ns;
    // Settle the lanes: counters, free entries, and the count after each
    // packet, in packet order.
    for (PaddedLane& l : p.lane) {
      Add(main_.stats, l.lane.stats);
      Add(main_.counters, l.lane.counters);
      table_->Reclaim(&l.lane.cache);
    }
    main_.counters.parallel_packets += p.len;
    int64_t count = table_->in_use();
    for (size_t i = 0; i < p.len; ++i) {
      count += p.net[i];
      if (count_after != nullptr) {
        count_after[a + i] = static_cast<uint32_t>(count);
      }
    }
    table_->AdjustInUse(count - static_cast<int64_t>(table_->in_use()));
    a = b;
  }
}

}  // namespace ctkit
