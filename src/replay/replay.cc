// RunReplay: capture -> decoder -> engine, measuring the table as it goes.
//
// The fill level is integrated between packets (the count after packet i
// holds until packet i+1), which is how long the kernel's table would have
// sat at that level. What the table held at its peak comes from a census
// kept from the engine's events as they happen (table_census.h): one pass,
// for a file and for standard input alike, and no walk of the table at the
// peak.
#include "replay/replay.h"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <map>
#include <thread>
#include <unordered_map>

#include "core/thread_annotations.h"
#include "ctkit/capture.h"
#include "ctkit/defrag.h"
#include "proto/tracker.h"
#include "replay/table_census.h"
#include "report/capture_digest.h"
#include "report/format.h"
#include "report/lifetime.h"

namespace ctkit {
namespace {

// A batch of records read from the capture: their bytes (libpcap reuses
// its buffer, so each is copied into the arena) and decoded views. Only
// read while it is tracked, so several engines can track one batch.
struct Batch {
  struct Slot {
    uint64_t ts;
    PacketOutcome out;
    size_t engine_pos;   // position among the decoded packets
    uint32_t zone_slot;  // in ZoneMap::zones()
  };
  // Not zeroed: a record's bytes are copied in before anything reads them,
  // and zeroing 16 MiB per batch buffer cost a replay of a few hundred MB
  // a tenth of its time (page faults and the memset) for bytes a batch of
  // short packets never uses.
  std::unique_ptr<uint8_t[]> arena;
  size_t arena_size;
  std::vector<Slot> slots;
  std::vector<PacketView> views;
  std::vector<uint64_t> times;
  size_t filled = 0, decoded = 0;
  double fraction_read = 0;  // of the input after this batch; < 0: unknown
  bool last = false;         // nothing follows
  bool idle = false;         // ended early: a live capture had nothing more

  explicit Batch(size_t n)
      : arena(new uint8_t[kArenaBytes]),
        arena_size(kArenaBytes),
        slots(n),
        views(n),
        times(n) {}
  // The arena holds a batch's bytes; a batch ends early when it is full, so
  // memory stays bounded whatever the records' sizes (each is at most
  // libpcap's 256 KiB snaplen limit).
  static constexpr size_t kArenaBytes = 16u << 20;
};

// Reads up to a batch of records into `b`.
// A record that does not fit stays in `pending` for the next batch. A live
// capture with nothing to read ends the batch early (possibly empty), so
// packets never wait for a batch to fill and a quiet interface does not
// hold up the end.
//
// Fragments go through the reassembler here, in capture order, as the
// kernel defragments before conntrack (kernel-model §14): a fragment it
// keeps is reported as SKIP fragment-held, and the one that completes a
// datagram carries the datagram to the engine, with the datagram's full
// length, in the arena where that fragment's bytes were (a fragment that
// finds no room there for the longest datagram starts the next batch).
class BatchReader {
 public:
  explicit BatchReader(std::unique_ptr<CaptureReader> r, CaptureDigest* digest,
                       Reassembler* defrag, const ZoneMap* zones)
      : r_(std::move(r)), digest_(digest), defrag_(defrag), zones_(zones) {}

  void Fill(Batch* b) {
    b->filled = b->decoded = 0;
    size_t used = 0;
    b->last = false;
    b->idle = false;
    while (b->filled < b->slots.size()) {
      bool idle = false;
      if (!have_rec_ && !r_->NextOrIdle(&rec_, &idle)) {
        if (idle) {
          b->idle = true;
        } else {
          b->last = true;
        }
        break;
      }
      if (!have_rec_ && digest_ != nullptr) digest_->Add(rec_);
      have_rec_ = false;
      // A batch's first record always finds room for itself and for a
      // datagram it might complete; later ones are checked below.
      const size_t room =
          size_t{rec_.caplen} + (b->filled == 0 ? kMaxDatagramBytes : 0);
      if (room > b->arena_size - used) {
        if (b->filled != 0) {
          have_rec_ = true;  // goes first in the next batch
          break;
        }
        // Only past libpcap's own limit.
        b->arena.reset(new uint8_t[room]);
        b->arena_size = room;
      }
      uint8_t* bytes = b->arena.get() + used;
      std::memcpy(bytes, rec_.data, rec_.caplen);
      used += rec_.caplen;
      Batch::Slot& s = b->slots[b->filled++];
      s.ts = rec_.ts_ns;
      s.out = PacketOutcome{};
      s.zone_slot = 0;
      PacketView& view = b->views[b->decoded];
      DecodeStatus st = DecodeFrame(rec_.link_type, bytes, rec_.caplen, &view);
      // The zone is the one the record's own frame, interface and
      // addresses give: a datagram completed below has this fragment's
      // addresses, and the frame (VLAN tags) is gone once its bytes are
      // replaced.
      if (!zones_->empty() &&
          (st == DecodeStatus::kOk || st == DecodeStatus::kNonFirstFragment)) {
        s.zone_slot = zones_->SlotFor(rec_, view);
      }
      if (defrag_ != nullptr &&
          (st == DecodeStatus::kNonFirstFragment ||
           (st == DecodeStatus::kOk && view.is_fragment))) {
        // A completed datagram takes this fragment's place in the arena.
        if (b->arena_size - (used - rec_.caplen) < kMaxDatagramBytes) {
          --b->filled;
          used -= rec_.caplen;
          have_rec_ = true;  // goes first in the next batch
          break;
        }
        const auto avail = static_cast<uint32_t>(bytes + rec_.caplen - view.ip);
        const DefragResult dr = defrag_->Add(view.ip, avail, rec_.ts_ns);
        if (dr.outcome == DefragOutcome::kComplete) {
          used -= rec_.caplen;
          std::memcpy(bytes, dr.datagram, dr.datagram_len);
          used += dr.datagram_len;
          st = DecodeIp(bytes, dr.datagram_len, &view);
        } else if (dr.outcome != DefragOutcome::kNotFragment) {
          st = DecodeStatus::kFragmentHeld;
        }
      }
      if (st != DecodeStatus::kOk) {
        s.out.skipped = true;
        s.out.reason = st;
      } else {
        if (!zones_->empty()) view.zone = zones_->zones()[s.zone_slot];
        b->times[b->decoded] = rec_.ts_ns;
        s.engine_pos = b->decoded++;
      }
    }
    b->fraction_read = r_->fraction_read();
  }
  std::optional<Error> error() const { return r_->error(); }
  std::optional<uint64_t> dropped() const { return r_->dropped(); }

 private:
  std::unique_ptr<CaptureReader> r_;
  CaptureDigest* digest_;  // of every record read, if set
  Reassembler* defrag_;    // fragments go through it, if set
  const ZoneMap* zones_;
  CaptureRecord rec_{};
  bool have_rec_ = false;
};

// How a pass over the input ended.
struct PumpEnd {
  std::optional<Error> error;       // the reader's, if it stopped on one
  std::optional<uint64_t> dropped;  // a live capture's kernel drops
  double fraction = -1;             // of the input read; < 0: unknown
  DefragCounters defrag;            // what reassembly did
};

// Reads the input in batches of up to `batch` records and hands each to
// `run(batch)`, which tracks its packets and returns how many it has
// accounted for in all (the progress line's count). `digest`, if given,
// fingerprints every record read. With `read_ahead`, a second thread reads
// and decodes the next batch while this one runs (the results are the
// same: only the reading moves). `progress_to` gets the progress.
template <class RunBatch>
PumpEnd Pump(std::unique_ptr<CaptureReader> input, size_t batch,
             bool read_ahead, const ReplayOptions& progress_to,
             CaptureDigest* digest, Reassembler* defrag, RunBatch&& run) {
  BatchReader reader(std::move(input), digest, defrag, &progress_to.zone_map);
  if (batch == 0) batch = 1;
  double fraction = -1;
  uint64_t reported = 0;
  auto progress = [&](uint64_t packets) {
    if (!progress_to.on_progress) return;
    progress_to.on_progress(ReplayProgress{packets, fraction, false});
  };
  // Runs one filled batch; false when the pump is done.
  auto consume = [&](Batch& b) {
    const uint64_t index = run(b);
    fraction = b.fraction_read;
    if ((index >> 16) != (reported >> 16)) progress(index);
    // A live capture's quiet moments tick the progress line too.
    if (b.idle) progress(index);
    reported = index;
    return !b.last;
  };
  auto end = [&] {
    return PumpEnd{reader.error(), reader.dropped(), fraction,
                   defrag != nullptr ? defrag->counters() : DefragCounters{}};
  };

  if (!read_ahead) {
    Batch b(batch);
    do {
      reader.Fill(&b);
    } while (consume(b));
    return end();
  }

  // Two batches take turns: the reader fills one while the engine runs the
  // other. Batch i belongs to the reader while !ready[i] and to the engine
  // while ready[i]; only the flags are shared.
  Batch bufs[2] = {Batch(batch), Batch(batch)};
  struct Handoff {
    Mutex mu;
    std::condition_variable_any cv;
    bool ready[2] CTKIT_GUARDED_BY(mu) = {false, false};  // filled, waiting
    bool quit CTKIT_GUARDED_BY(mu) = false;  // the engine wants no more
  } h;
  std::thread filler([&] {
    for (int i = 0;; i ^= 1) {
      {
        MutexLock lock(&h.mu);
        while (h.ready[i] && !h.quit) h.cv.wait(h.mu);
        if (h.quit) return;
      }
      reader.Fill(&bufs[i]);
      const bool done = bufs[i].last;
      {
        MutexLock lock(&h.mu);
        h.ready[i] = true;
      }
      h.cv.notify_all();
      if (done) return;
    }
  });
  for (int i = 0;; i ^= 1) {
    {
      MutexLock lock(&h.mu);
      while (!h.ready[i]) h.cv.wait(h.mu);
    }
    bool more = consume(bufs[i]);
    {
      MutexLock lock(&h.mu);
      h.ready[i] = false;
      if (!more) h.quit = true;
    }
    h.cv.notify_all();
    if (!more) break;
  }
  filler.join();
  return end();
}

// How a replay with `opts.engine.threads` threads uses them: one reads and
// decodes the capture ahead of the engine, which gets the rest. Batches of
// 32 fill the engine's prefetch pipeline; read-ahead hand-offs and engine
// threads want thousands.
struct PumpPlan {
  size_t batch;
  bool read_ahead;
  unsigned engine_threads;
};
// RunReplays' batches: large, so that a hand-off among its threads is rare.
constexpr size_t kSharedBatch = 16384;
// With ReplayOptions::fine_curve: batches small enough that the curve,
// sampled after each batch, has a point at least every kFineBatch packets.
constexpr size_t kFineBatch = 2048;

PumpPlan PlanFor(const ReplayOptions& opts) {
  unsigned threads = std::max(1u, opts.engine.threads);
  if (opts.timeline_interval_ns) return {1, false, threads};
  if (threads == 1) return {32, false, 1};
  return {opts.fine_curve ? kFineBatch : 16384, true, threads - 1};
}

// Samples spread over a capture of unknown length in bounded memory: a
// sample is kept when it comes at least `interval_` ns after the previous
// one; when kMax are kept, the interval doubles and every other sample
// goes. Samples stay about 2/kMax of the capture apart at most.
template <typename T>
class SpreadSamples {
 public:
  static constexpr size_t kMax = 512;
  /// Whether a sample at `ts` would be kept (to skip making one).
  bool Wants(uint64_t ts) const { return samples_.empty() || ts >= next_; }
  void Keep(uint64_t ts, const T& v) {
    samples_.push_back({ts, v});
    next_ = ts + interval_;
    if (samples_.size() >= kMax) {
      size_t k = 0;
      for (size_t i = 0; i < samples_.size(); i += 2)
        samples_[k++] = samples_[i];
      samples_.resize(k);
      interval_ *= 2;
    }
  }
  const std::vector<std::pair<uint64_t, T>>& samples() const {
    return samples_;
  }

 private:
  std::vector<std::pair<uint64_t, T>> samples_;
  uint64_t next_ = 0;
  uint64_t interval_ = 1000000;  // 1 ms
};
static_assert(SpreadSamples<int>::kMax == ReplayReport::kMaxCurvePoints);

// The table's count after every packet, spread (SpreadSamples).
class CountSampler {
 public:
  void Add(uint64_t ts, uint32_t count) {
    if (samples_.Wants(ts)) samples_.Keep(ts, count);
  }
  /// The count after the last sampled packet at or before `ts`.
  uint32_t CountAt(uint64_t ts) const {
    uint32_t c = 0;
    for (const auto& [t, n] : samples_.samples()) {
      if (t > ts) break;
      c = n;
    }
    return c;
  }

 private:
  SpreadSamples<uint32_t> samples_;
};

// Warnings for the lifetime classes the capture is too short to show in
// steady state: a class that held at least 10 % of the live entries at the
// end, whose lifetime is longer than the capture, while the table grew by
// at least 10 % over the capture's second half. (A table that stopped
// growing has reached its level for this traffic, whatever the timeouts.)
std::vector<ShortCaptureWarning> ShortCaptureWarnings(const ReplayReport& r,
                                                      const Tunables& t) {
  std::vector<ShortCaptureWarning> out;
  uint64_t live = 0;
  for (uint64_t n : r.at_end_by_class) live += n;
  const uint64_t mid = r.count_at_middle, end = r.final_count;
  const bool growing = end > mid && end * 10 >= mid * 11;
  if (live == 0 || !growing) return out;
  const double seconds =
      static_cast<double>(r.last_ts_ns - r.first_ts_ns) * 1e-9;
  for (int k = 0; k < kLifetimeKindCount; ++k) {
    uint64_t n = r.at_end_by_class[k];
    if (n * 10 < live) continue;
    const LifetimeKind c = static_cast<LifetimeKind>(k);
    const LifetimeInfo info = DescribeLifetime(c, t);
    if (static_cast<double>(info.seconds) <= seconds) continue;
    ShortCaptureWarning w;
    w.klass = c;
    w.entries = n;
    w.share = static_cast<double>(n) / static_cast<double>(live);
    if (info.connection_bound) {
      w.message = fmt::format(
          "{} held {:.0f} % of the entries when the capture ended and the "
          "table was still growing ({} at the middle, {} at the end): these "
          "entries stay until their connections close (up to {}), and the "
          "capture's {:.1f} s does not show when that is; a longer run of "
          "this traffic may hold more",
          info.name, 100.0 * w.share, mid, end, LifetimeSetting(info), seconds);
    } else {
      w.message = fmt::format(
          "the capture ({:.1f} s) is shorter than the lifetime of {} ({}), "
          "which held {:.0f} % of the entries at its end while the table "
          "was still growing ({} at the middle, {} at the end): none of "
          "them had to expire yet, so the same traffic run longer holds "
          "more (ctkit plan --capture extrapolates it)",
          seconds, info.name, LifetimeSetting(info), 100.0 * w.share, mid, end);
    }
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace

uint32_t DumpTimeoutSeconds(const FlowInfo& f) {
  if (f.remaining_jiffies <= 1) return 0;
  return static_cast<uint32_t>(f.remaining_jiffies - 1) / kHz;
}

[[nodiscard]] Result<ReplayReport> RunReplay(
    const std::string& path, const ReplayOptions& opts,
    std::unique_ptr<Engine>* engine_out) {
  return RunReplay([&path] { return CaptureReader::Open(path); }, path, opts,
                   engine_out);
}

namespace {

// One replay's engine and its account of the packets: everything the report
// says, kept packet by packet as batches are tracked (RunBatch), then
// completed from the engine when the input ends (End).
class ReplayRun {
 public:
  [[nodiscard]] static Result<std::unique_ptr<ReplayRun>> Create(
      const std::string& name, const ReplayOptions& opts,
      unsigned engine_threads, size_t batch) {
    auto run = std::unique_ptr<ReplayRun>(new ReplayRun(opts, batch));
    EngineOptions eopts = opts.engine;
    eopts.threads = engine_threads;
    if (opts.on_event) eopts.on_event = opts.on_event;
    // The census sees every entry's events; the caller's listener only
    // those the kernel would announce. Both are held by the listener, as
    // the engine may outlive the run (engine_out: a dump reaps, which is
    // events too).
    if (opts.composition) {
      const uint32_t pool =
          opts.tunables.max != 0 ? opts.tunables.max : eopts.unlimited_capacity;
      run->census_ = std::make_shared<TableCensus>(pool, opts.top_n);
      eopts.events_for_every_entry = true;
      eopts.on_event = [census = run->census_,
                        user = opts.on_event](const Event& e) {
        census->OnEvent(e);
        if (user && e.announced) user(e);
      };
    }
    auto created = Engine::Create(opts.tunables, eopts);
    if (!created) return fail(created.error());
    run->engine_ = std::move(*created);
    ReplayReport& r = run->r_;
    r.capture = name;
    r.max = run->engine_->tunables().max;
    r.buckets = run->engine_->tunables().buckets;
    r.table_memory_bytes = run->engine_->memory_bytes();
    if (!opts.zone_map.empty()) {
      for (const Zone& z : opts.zone_map.zones()) r.zones.push_back({z});
    }
    run->capacity_ = r.max != 0 ? r.max : eopts.unlimited_capacity;
    run->threshold90_ = 0.9 * r.max;
    return run;
  }

  // Tracks batch `b` and accounts for its packets, in order; returns the
  // packets accounted for so far.
  uint64_t RunBatch(const Batch& b) {
    engine_->ProcessBatch(b.views.data(), b.times.data(), b.decoded,
                          verdicts_.data(), counts_.data());
    for (size_t i = 0; i < b.filled; ++i) {
      const Batch::Slot& s = b.slots[i];
      PacketOutcome out = s.out;
      if (!out.skipped) {
        out.verdict = verdicts_[s.engine_pos];
        count_ = counts_[s.engine_pos];
        if (!r_.zones.empty()) CountInZone(s.zone_slot, out.verdict);
      }
      Packet(s.ts, out, count_);
    }
    if (b.filled > 0) SampleCurve(r_.last_ts_ns);
    return r_.packets_read;
  }

  // Completes the report once the input ended as `pumped` says.
  void End(const PumpEnd& pumped) {
    r_.read_error = pumped.error;
    r_.capture_dropped = pumped.dropped;
    r_.defrag = pumped.defrag;
    const DefragOptions d = DefragOptions::FromTunables(opts_.tunables);
    r_.defrag_budget_bytes = d.ipv4.high_thresh + d.ipv6.high_thresh;
    if (opts_.on_progress) {
      const bool known = pumped.fraction >= 0;
      opts_.on_progress(ReplayProgress{
          r_.packets_read,
          known ? (r_.read_error ? pumped.fraction : 1.0) : -1.0, true});
    }
    if (opts_.timeline_interval_ns && r_.packets_read > 0) {
      CloseIntervals(r_.last_ts_ns);
      // The last, partial interval.
      TimelineRow now = CountersNow(r_.last_ts_ns);
      r_.timeline.push_back(
          {r_.last_ts_ns, engine_->count(), now.created - tl_start_.created,
           now.destroyed - tl_start_.destroyed,
           now.early_drop - tl_start_.early_drop, now.drop - tl_start_.drop});
    }
    r_.stats = engine_->stats();
    r_.counters = engine_->counters();
    r_.final_count = engine_->count();
    if (r_.packets_read > 0) {
      r_.count_at_middle = sampler_.CountAt(
          r_.first_ts_ns + (r_.last_ts_ns - r_.first_ts_ns) / 2);
      // The one walk of the table, at the end (in pool order: a sequential
      // read): the classes that outlive the capture, and the census's
      // entries that were already expired at the peak and are still here.
      const uint32_t jiffies_now = engine_->jiffies();
      engine_->Visit(r_.last_ts_ns, [&](const FlowInfo& f) {
        if (f.remaining_jiffies > 0) {
          ++r_.at_end_by_class[static_cast<int>(LifetimeKindOf(f))];
          if (!r_.zones.empty()) {
            const uint32_t slot = opts_.zone_map.SlotOf(f.zone);
            if (slot < r_.zones.size()) ++r_.zones[slot].entries_at_end;
          }
        }
        if (census_) census_->SeeAtEnd(f, jiffies_now);
      });
      r_.warnings = ShortCaptureWarnings(r_, engine_->tunables());
    }
    const Tunables& t = engine_->tunables();
    bool extensions = t.acct || t.timestamp || t.events == 1;
    r_.kernel_memory_bytes =
        KernelTableBytes(r_.peak_count, r_.buckets, extensions);
    if (census_ && r_.peak_index > 0) r_.at_peak = census_->AtPeak();
    r_.curve.clear();
    for (const auto& [when, point] : curve_.samples()) {
      (void)when;
      r_.curve.push_back(point);
    }
    // The last point: the table after the last packet, if not sampled.
    if (r_.packets_read > 0 &&
        (r_.curve.empty() || r_.curve.back().t_ns != r_.last_ts_ns)) {
      r_.curve.push_back(CurveNow(r_.last_ts_ns));
    }
  }

  Engine& engine() { return *engine_; }
  std::unique_ptr<Engine> TakeEngine() { return std::move(engine_); }

  void CountInZone(uint32_t slot, Verdict v) {
    ZoneCounts& z = r_.zones[slot];
    ++z.packets;
    if (v == Verdict::kDrop) ++z.dropped;
    if (v == Verdict::kInvalid) ++z.invalid;
  }
  ReplayReport& report() { return r_; }

 private:
  ReplayRun(const ReplayOptions& opts, size_t batch)
      : opts_(opts), verdicts_(batch), counts_(batch) {}

  // Accounts for one packet, at `ts`, which left `c` entries.
  void Packet(uint64_t ts, const PacketOutcome& out, uint32_t c) {
    ReplayReport& r = r_;
    const uint64_t index = ++r.packets_read;
    if (index == 1) {
      r.first_ts_ns = ts;
      prev_ts_ = ts;
      if (opts_.timeline_interval_ns) tl_end_ = ts + opts_.timeline_interval_ns;
    }
    if (ts > r.last_ts_ns) r.last_ts_ns = ts;
    if (opts_.timeline_interval_ns) CloseIntervals(ts);
    // Time since the previous packet was spent at the previous count.
    if (ts > prev_ts_ && r.max != 0) {
      double dt = static_cast<double>(ts - prev_ts_) * 1e-9;
      if (prev_count_ >= threshold90_) r.seconds_at_90 += dt;
      if (prev_count_ >= r.max) r.seconds_at_100 += dt;
    }
    if (ts > prev_ts_) prev_ts_ = ts;
    if (out.skipped) {
      ++r.skipped_by_reason[static_cast<int>(out.reason)];
    } else {
      ++r.decoded;
      if (out.verdict == Verdict::kDrop) {
        // The engine drops for two reasons. Table full: the new entry
        // found count == capacity and early drop freed nothing, so the
        // count stays at capacity. Chain too long: the entry was
        // allocated (there was room) and freed again, so the count is
        // below capacity.
        bool full = c >= capacity_;
        auto& first_index =
            full ? r.first_drop_index : r.first_chain_drop_index;
        auto& first_ts = full ? r.first_drop_ts_ns : r.first_chain_drop_ts_ns;
        if (!first_index) {
          first_index = index;
          first_ts = ts;
        }
      }
    }
    sampler_.Add(ts, c);
    if (c > r.peak_count) {
      r.peak_count = c;
      r.peak_ts_ns = ts;
      r.peak_index = index;
    }
    prev_count_ = c;
    if (opts_.timeline_interval_ns) tl_before_ = CountersNow(ts);
    if (opts_.on_packet) opts_.on_packet(index, out);
  }

  // A point of the curve after the batch that ended at `ts`.
  void SampleCurve(uint64_t ts) {
    if (curve_.Wants(ts)) curve_.Keep(ts, CurveNow(ts));
  }

  CurvePoint CurveNow(uint64_t ts) const {
    CurvePoint p;
    p.t_ns = ts;
    p.count = engine_->count();
    p.created = engine_->counters().created;
    p.destroyed = engine_->counters().destroyed;
    p.early_drop = engine_->stats().early_drop;
    p.drop = engine_->stats().drop;
    if (census_) census_->LiveByKind(&p.by_class);
    return p;
  }

  TimelineRow CountersNow(uint64_t t) const {
    return TimelineRow{t,
                       engine_->count(),
                       engine_->counters().created,
                       engine_->counters().destroyed,
                       engine_->stats().early_drop,
                       engine_->stats().drop};
  }

  // Closes the intervals that end at or before `ts`. Called after the
  // packet at `ts` was processed, so it uses tl_before_: that packet
  // belongs to the interval it starts, not to the ones it closes.
  void CloseIntervals(uint64_t ts) {
    const uint64_t step = opts_.timeline_interval_ns;
    while (ts >= tl_end_) {
      TimelineRow now = tl_before_;
      r_.timeline.push_back(
          {tl_end_, prev_count_, now.created - tl_start_.created,
           now.destroyed - tl_start_.destroyed,
           now.early_drop - tl_start_.early_drop, now.drop - tl_start_.drop});
      tl_start_ = now;
      tl_end_ += step;
      // A long silence (a capture whose clock jumps ahead) would print one
      // identical row per interval; past kMaxIdleRows the idle rows are
      // collapsed into the next row, so memory stays bounded.
      constexpr uint64_t kMaxIdleRows = 10000;
      if (ts >= tl_end_ && (ts - tl_end_) / step > kMaxIdleRows) {
        tl_end_ += (ts - tl_end_) / step * step;
      }
    }
  }

  const ReplayOptions& opts_;
  std::unique_ptr<Engine> engine_;
  std::shared_ptr<TableCensus> census_;
  ReplayReport r_;
  std::vector<Verdict> verdicts_;  // of the batch being tracked
  std::vector<uint32_t> counts_;
  uint32_t count_ = 0;  // after the last tracked packet
  uint32_t capacity_ = 0;
  double threshold90_ = 0;
  uint64_t prev_ts_ = 0;
  uint32_t prev_count_ = 0;
  CountSampler sampler_;
  SpreadSamples<CurvePoint> curve_;
  // Timeline state: the interval being filled, the counters at its start,
  // and the counters after the previous packet (the state at any instant
  // before the current one: the engine changes only inside Process).
  uint64_t tl_end_ = 0;
  TimelineRow tl_start_{};
  TimelineRow tl_before_{};
};

}  // namespace

[[nodiscard]] Result<ReplayReport> RunReplay(
    const CaptureOpener& open, const std::string& name,
    const ReplayOptions& opts, std::unique_ptr<Engine>* engine_out) {
  const PumpPlan plan = PlanFor(opts);
  auto run = ReplayRun::Create(name, opts, plan.engine_threads, plan.batch);
  if (!run) return fail(run.error());
  auto defrag = Reassembler::Create(DefragOptions::FromTunables(opts.tunables));
  if (!defrag) return fail(defrag.error());
  auto input = open();
  if (!input) return fail(input.error());
  CaptureDigest digest;
  const PumpEnd pumped =
      Pump(std::move(*input), plan.batch, plan.read_ahead, opts,
           opts.digest ? &digest : nullptr, defrag->get(),
           [&run](const Batch& b) { return (*run)->RunBatch(b); });
  if (opts.digest) (*run)->report().capture_sha256 = digest.Hex();
  (*run)->End(pumped);
  ReplayReport r = std::move((*run)->report());
  if (engine_out != nullptr) *engine_out = (*run)->TakeEngine();
  return r;
}

[[nodiscard]] Result<std::vector<ReplayReport>> RunReplays(
    const CaptureOpener& open, const std::string& name,
    const std::vector<ReplayOptions>& sets, unsigned threads) {
  std::vector<std::unique_ptr<ReplayRun>> runs;
  const bool fine =
      std::any_of(sets.begin(), sets.end(),
                  [](const ReplayOptions& o) { return o.fine_curve; });
  const size_t batch = fine ? kFineBatch : kSharedBatch;
  for (const ReplayOptions& o : sets) {
    if (o.timeline_interval_ns != 0) {
      return fail(Error::invalid_argument(
          "a replay with a timeline tracks one packet at a time and cannot "
          "share its batches"));
    }
    auto run = ReplayRun::Create(name, o, 1, batch);
    if (!run) return fail(run.error());
    runs.push_back(std::move(*run));
  }
  std::vector<ReplayReport> out;
  if (runs.empty()) return out;
  // One reassembly feeds every set, so it follows the first set's
  // nf_conntrack_frag6_* settings (the sets compare table settings).
  auto defrag =
      Reassembler::Create(DefragOptions::FromTunables(sets.front().tunables));
  if (!defrag) return fail(defrag.error());
  auto input = open();
  if (!input) return fail(input.error());
  threads =
      std::clamp<unsigned>(threads, 1, static_cast<unsigned>(runs.size()));
  // Each batch goes to every run before the next is read: worker w tracks
  // runs w, w + threads, ... (the calling thread is worker 0). Workers are
  // started per batch: tens of microseconds against the milliseconds a
  // batch of 16384 packets takes each engine.
  const PumpEnd pumped =
      Pump(std::move(*input), batch, true, sets.front(), nullptr, defrag->get(),
           [&](const Batch& b) {
             auto work = [&](size_t w) {
               for (size_t i = w; i < runs.size(); i += threads)
                 runs[i]->RunBatch(b);
             };
             std::vector<std::thread> helpers;
             for (unsigned w = 1; w < threads; ++w)
               helpers.emplace_back(work, w);
             work(0);
             for (std::thread& t : helpers) t.join();
             return runs.front()->report().packets_read;
           });
  for (auto& run : runs) {
    run->End(pumped);
    out.push_back(std::move(run->report()));
  }
  return out;
}

}  // namespace ctkit
