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
// Only four things cross shards, and the driver keeps them serial:
//   - the table-full decision (the global count against nf_conntrack_max):
//     a stretch of packets runs in parallel only if it cannot fill the
//     table even if every packet in it creates an entry;
//   - the GC, which walks all buckets and keeps a running mean in bucket
//     order: a stretch ends before the first packet whose time makes a GC
//     run due, and that packet runs serially (GC first, as always);
//   - the clock: a stretch ends before a step long enough for CrossLongGap;
//   - packets in a zone other than the default, whose lookup may try a
//     second bucket (FlowTable::HashedZoneId): a stretch ends before one.
// The count after each packet (the replay's fill curve) is rebuilt from each
// packet's own count change, summed in packet order. Events would have to
// come out in packet order and the adaptive policy reads the global count
// on every packet, so engines with either run serially.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "core/engine_impl.h"

namespace ctkit {
namespace {

// A parallel stretch is at most this long (scratch memory is sized for
// it) and at least EngineOptions::min_parallel_stretch (1024 by default):
// shorter ones run serially, as the thread hand-off would cost more than it
// saves.
constexpr size_t kMaxStretch = 32768;

// Lanes sit on separate cache lines: their counters are written on every
// packet.
// Each lane also writes its packets' results to its own arrays, in its own
// order (writing them into the batch's arrays would bounce those cache
// lines between threads on nearly every packet); the driver merges them.
struct alignas(64) PaddedLane {
  Lane lane;
  std::vector<Verdict> out;
  std::vector<int32_t> net;  // count change
};

// Waits until `cond()` holds, sleeping on `var` while it still equals what
// `cond` rejected. No spinning first: on this project's 2-vCPU VMs a spin
// (with or without PAUSE, which KVM's pause-loop exiting punishes) measured
// slower than sleeping at once, as the spinning vCPU competes with the
// working one.
template <class T, class Cond>
void AwaitChange(std::atomic<T>& var, Cond cond) {
  for (;;) {
    T v = var.load(std::memory_order_acquire);
    if (cond(v)) return;
    var.wait(v, std::memory_order_acquire);
  }
}

}  // namespace

// One stretch of the batch: its packets [a, b), and what its scratch
// buffers hold once prepared.
struct Stretch {
  size_t a = 0, b = 0;
  uint64_t last_ns = 0;  // the clock after it (as Jiffies would leave it)
  uint32_t last = 0;
  std::vector<PreparedPacket> pp;  // indexed by position in the stretch
  std::vector<uint32_t> now;       // jiffies
  std::vector<uint8_t> owner;      // lane
  size_t len() const { return b - a; }
};

struct ParallelState {
  unsigned lanes = 1;  // threads, the caller included
  std::vector<std::thread> workers;
  std::vector<PaddedLane> lane;

  // The step in hand: track `track` (if set), prepare `prepare` (if set).
  // Fusing the two halves the hand-offs per stretch.
  bool stop = false;
  const PacketView* pkts = nullptr;  // the batch
  const uint64_t* now_ns = nullptr;
  Stretch* track = nullptr;
  Stretch* prepare = nullptr;
  Stretch buf[2];
  // The length of every scratch buffer above: no stretch is longer.
  size_t stretch_capacity = 0;
  // Hand-off: workers wait for `generation` to move, the caller for
  // `pending` to reach zero.
  std::atomic<uint64_t> generation{0};
  std::atomic<unsigned> pending{0};
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
  // A stretch never holds more packets than the table has room for (see
  // PlanStretch), so a small table gets small scratch buffers: zeroing room
  // for kMaxStretch packets was most of the cost of creating a small
  // threaded engine (measured in the engine fuzzer, which creates one per
  // input).
  const uint64_t limit =
      tunables_.max != 0 ? tunables_.max : table_->capacity();
  const size_t cap =
      static_cast<size_t>(std::min<uint64_t>(kMaxStretch, limit));
  par->stretch_capacity = cap;
  for (PaddedLane& l : par->lane) {
    l.lane.parallel = true;
    l.out.resize(cap);
    l.net.resize(cap);
  }
  for (Stretch& st : par->buf) {
    st.pp.resize(cap);
    st.now.resize(cap);
    st.owner.resize(cap);
  }
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
  par_->stop = true;
  par_->generation.fetch_add(1, std::memory_order_release);
  par_->generation.notify_all();
  for (std::thread& t : par_->workers) t.join();
  par_->workers.clear();
}

void EngineImpl::StartWorker(unsigned w) {
  par_->workers.emplace_back([this, w] {
    uint64_t seen = 0;
    for (;;) {
      AwaitChange(par_->generation, [seen](uint64_t g) { return g != seen; });
      seen = par_->generation.load(std::memory_order_acquire);
      if (par_->stop) return;
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
  AwaitChange(p.pending, [](unsigned left) { return left == 0; });
}

void EngineImpl::RunLane(unsigned w) noexcept {
  ParallelState& p = *par_;
  const unsigned lanes = p.lanes;
  if (Stretch* st = p.track) {
    // This lane's packets, in order, in prefetching batches; results go to
    // the lane's own arrays in the same order.
    constexpr size_t kBatch = 32;
    uint32_t idx[kBatch];
    size_t m = 0, done = 0;
    PaddedLane& l = p.lane[w];
    const PacketView* pkts = p.pkts + st->a;
    const uint64_t* now_ns = p.now_ns + st->a;
    for (size_t i = 0; i < st->len(); ++i) {
      if (st->owner[i] != w) continue;
      idx[m++] = static_cast<uint32_t>(i);
      if (m == kBatch) {
        RunBatch(l.lane, pkts, now_ns, st->now.data(), st->pp.data(), idx, m,
                 &l.out[done], nullptr, &l.net[done]);
        done += m;
        m = 0;
      }
    }
    if (m != 0) {
      RunBatch(l.lane, pkts, now_ns, st->now.data(), st->pp.data(), idx, m,
               &l.out[done], nullptr, &l.net[done]);
    }
  }
  if (Stretch* st = p.prepare) {
    // Prepare is pure: equal slices of the next stretch.
    const PacketView* pkts = p.pkts + st->a;
    size_t lo = st->len() * w / lanes, hi = st->len() * (w + 1) / lanes;
    for (size_t i = lo; i < hi; ++i) {
      // The headers are read once, in order: ask for them a little ahead.
      if (i + 8 < hi) __builtin_prefetch(pkts[i + 8].l4);
      PreparedPacket& pp = st->pp[i];
      Prepare(pkts[i], &pp);
      bool keyed = pp.kind == PreparedPacket::Kind::kTrack ||
                   pp.kind == PreparedPacket::Kind::kIcmpError;
      // Packets that touch no entry only count: any lane will do.
      st->owner[i] = static_cast<uint8_t>(
          (keyed ? table_->Shard(table_->Bucket(pp.hash)) : i) % lanes);
    }
  }
}

namespace {

// Adds a lane's counters into the engine's and clears them. Both structs
// are nothing but 64-bit counters, summed as one array so a counter added
// later cannot be forgotten here.
template <class Counters>
void AddAndClear(Counters& to, Counters& from) {
  static_assert(sizeof(Counters) % sizeof(uint64_t) == 0);
  constexpr size_t kN = sizeof(Counters) / sizeof(uint64_t);
  uint64_t a[kN], b[kN];
  std::memcpy(a, &to, sizeof a);
  std::memcpy(b, &from, sizeof b);
  for (size_t i = 0; i < kN; ++i) a[i] += b[i];
  std::memcpy(&to, a, sizeof a);
  from = Counters{};
}

}  // namespace

bool EngineImpl::PlanStretch(const uint64_t* now_ns, size_t a, size_t n,
                             uint64_t in_use_bound, uint64_t last_ns,
                             uint32_t last, Stretch* st) const noexcept {
  // How far a stretch may go: every packet may add one entry, and none may
  // find the table full. Each lane's cache may also hold up to a refill of
  // free entries it does not use, which the others cannot have.
  const uint64_t limit =
      tunables_.max != 0 ? tunables_.max : table_->capacity();
  uint64_t hoard = uint64_t{FlowTable::kRefill} * par_->lanes;
  size_t room = limit > in_use_bound + hoard
                    ? static_cast<size_t>(limit - in_use_bound - hoard)
                    : 0;
  const size_t min_stretch = std::max<size_t>(1, opts_.min_parallel_stretch);
  size_t cap = std::min({n - a, par_->stretch_capacity, room});
  if (cap < min_stretch) return false;
  // Run the clock ahead (as Jiffies would) to find where the stretch must
  // end: a GC run due, or a step CrossLongGap must handle.
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
    // A packet in a zone may look in two buckets, perhaps of two shards.
    if (par_->pkts[b].zone.id != 0) break;
    st->now[b - a] = last;
  }
  if (b - a < min_stretch) return false;
  st->a = a;
  st->b = b;
  st->last_ns = last_ns;
  st->last = last;
  return true;
}

void EngineImpl::ProcessParallel(const PacketView* pkts, const uint64_t* now_ns,
                                 size_t n, Verdict* out,
                                 uint32_t* count_after) noexcept {
  ParallelState& p = *par_;
  p.pkts = pkts;
  p.now_ns = now_ns;
  Stretch* cur = nullptr;  // prepared, not yet tracked
  size_t a = 0;            // first packet not in a stretch or run
  while (a < n || cur != nullptr) {
    if (cur == nullptr) {
      // The first packet starts the clock and the GC.
      if (clock_started_ && PlanStretch(now_ns, a, n, table_->in_use(),
                                        last_now_ns_, last_now_, &p.buf[0])) {
        cur = &p.buf[0];
        p.track = nullptr;
        p.prepare = cur;
        RunOnAllLanes();
        a = cur->b;
        continue;
      }
      // Too short to be worth the threads (or the table nearly full): run
      // it and the packet that cut it short (a GC run, a long step)
      // serially.
      size_t e = clock_started_
                     ? std::min<size_t>(
                           n, a + std::max(1u, opts_.min_parallel_stretch))
                     : a + 1;
      ProcessSerial(pkts, now_ns, a, e, out, count_after);
      a = e;
      continue;
    }
    // Track `cur` while preparing the next stretch, planned with the count
    // `cur` could at most reach.
    Stretch* next = cur == &p.buf[0] ? &p.buf[1] : &p.buf[0];
    bool more =
        a < n && PlanStretch(now_ns, a, n, table_->in_use() + cur->len(),
                             cur->last_ns, cur->last, next);
    p.track = cur;
    p.prepare = more ? next : nullptr;
    RunOnAllLanes();
    // Settle `cur`: the clock, counters, free entries, and each packet's
    // verdict and count after it, in packet order.
    last_now_ns_ = cur->last_ns;
    last_now_ = cur->last;
    for (PaddedLane& l : p.lane) {
      AddAndClear(main_.stats, l.lane.stats);
      AddAndClear(main_.counters, l.lane.counters);
      table_->Reclaim(&l.lane.cache);
    }
    main_.counters.parallel_packets += cur->len();
    int64_t count = table_->in_use();
    size_t pos[FlowTable::kShards] = {};
    for (size_t i = 0; i < cur->len(); ++i) {
      unsigned w = cur->owner[i];
      PaddedLane& l = p.lane[w];
      out[cur->a + i] = l.out[pos[w]];
      count += l.net[pos[w]];
      ++pos[w];
      if (count_after != nullptr) {
        count_after[cur->a + i] = static_cast<uint32_t>(count);
      }
    }
    table_->AdjustInUse(count - static_cast<int64_t>(table_->in_use()));
    if (more) {
      cur = next;
      a = next->b;
    } else {
      cur = nullptr;
    }
  }
}

}  // namespace ctkit
