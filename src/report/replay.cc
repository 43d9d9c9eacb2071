// RunReplay: capture -> decoder -> engine, measuring the table as it goes.
//
// The fill level is integrated between packets (the count after packet i
// holds until packet i+1), which is how long the kernel's table would have
// sat at that level. The composition at the peak is taken by a second pass
// that stops right after the packet that first reached the peak: keeping a
// snapshot at every new peak during the first pass would cost a table walk
// per new entry while the table grows. The engine is deterministic, so the
// second pass reaches exactly the same table.
#include "report/replay.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_map>

#include "ctkit/capture.h"
#include "proto/tracker.h"
#include "report/format.h"

namespace ctkit {
namespace {

std::vector<Tally> TopN(const std::unordered_map<std::string, uint64_t>& m,
                        size_t n) {
  std::vector<Tally> v;
  v.reserve(m.size());
  for (const auto& [k, c] : m) v.push_back({k, c});
  std::sort(v.begin(), v.end(), [](const Tally& a, const Tally& b) {
    return a.entries != b.entries ? a.entries > b.entries : a.key < b.key;
  });
  if (v.size() > n) v.resize(n);
  return v;
}

// The class of an entry that decides its timeout and whether early drop
// may evict it.
std::string LifetimeClass(const FlowInfo& f) {
  std::string k = ProtoName(f.original.l4_proto);
  if (f.state != nullptr) k += std::string(" ") + f.state;
  if (f.assured) {
    k += " ASSURED";
  } else {
    k += f.seen_reply ? " replied" : " UNREPLIED";
  }
  return k;
}

PeakComposition Compose(const Engine& engine, uint64_t now_ns, size_t top_n) {
  PeakComposition c;
  std::map<std::string, uint64_t> proto, state, klass;
  std::unordered_map<std::string, uint64_t> src, dst, dport;
  engine.Visit(now_ns, [&](const FlowInfo& f) {
    ++c.total;
    ++proto[ProtoName(f.original.l4_proto)];
    if (f.state != nullptr) ++state[f.state];
    ++klass[LifetimeClass(f)];
    if (f.assured) ++c.assured;
    if (!f.seen_reply) ++c.unreplied;
    if (f.remaining_jiffies <= 0) ++c.expired_unreaped;
    ++src[AddressToString(f.original.src, f.original.family)];
    ++dst[AddressToString(f.original.dst, f.original.family)];
    uint8_t p = f.original.l4_proto;
    if (p == ipproto::kTcp || p == ipproto::kUdp || p == ipproto::kUdpLite) {
      ++dport[std::string(ProtoName(p)) + "/" +
              std::to_string(f.original.dst_port_or_icmp_type_code)];
    }
  });
  for (const auto& [k, v] : proto) c.by_protocol.push_back({k, v});
  for (const auto& [k, v] : state) c.by_tcp_state.push_back({k, v});
  auto by_count = [](const Tally& a, const Tally& b) {
    return a.entries > b.entries;
  };
  std::stable_sort(c.by_protocol.begin(), c.by_protocol.end(), by_count);
  std::stable_sort(c.by_tcp_state.begin(), c.by_tcp_state.end(), by_count);
  for (const auto& [k, v] : klass) c.by_class.push_back({k, v});
  std::stable_sort(c.by_class.begin(), c.by_class.end(), by_count);
  c.top_sources = TopN(src, top_n);
  c.top_destinations = TopN(dst, top_n);
  c.top_dports = TopN(dport, top_n);
  return c;
}

// Runs packets [1, stop_after] (all when 0) through `engine`, calling
// `per_packet(index, ts, outcome, count_after)` after each, in order.
// Packets go to the engine in batches of up to `batch` (libpcap reuses its
// buffer, so each is copied into an arena first); a batch of 1 keeps the
// engine's counters exact between callbacks, which the timeline needs. An
// engine with threads wants long batches: it hands stretches of thousands
// of packets to its threads.
template <class PerPacket>
Result<std::optional<Error>> Pump(const std::string& path, Engine* engine,
                                  uint64_t stop_after, size_t batch,
                                  const ReplayOptions& opts,
                                  PerPacket&& per_packet) {
  auto reader = CaptureReader::Open(path);
  if (!reader) return fail(reader.error());
  // The arena holds a batch's bytes; a batch ends early when it is full, so
  // memory stays bounded whatever the records' sizes (each is at most
  // libpcap's 256 KiB snaplen limit).
  constexpr size_t kArenaBytes = 16u << 20;
  if (batch == 0) batch = 1;
  struct Slot {
    uint64_t ts;
    PacketOutcome out;
    size_t engine_pos;  // position among the decoded packets
  };
  std::vector<uint8_t> arena(kArenaBytes);
  std::vector<Slot> slots(batch);
  std::vector<PacketView> views(batch);
  std::vector<uint64_t> times(batch);
  std::vector<Verdict> verdicts(batch);
  std::vector<uint32_t> counts(batch);
  uint32_t count = engine->count();
  uint64_t index = 0;
  CaptureRecord rec;
  bool have_rec = false;  // a record read but not yet placed
  bool more = true;
  while (more) {
    size_t filled = 0, decoded = 0, used = 0;
    while (filled < batch && (stop_after == 0 || index + filled < stop_after)) {
      if (!have_rec && !(*reader)->Next(&rec)) {
        more = false;
        break;
      }
      have_rec = false;
      if (rec.caplen > arena.size() - used) {
        if (filled != 0) {
          have_rec = true;  // goes first in the next batch
          break;
        }
        arena.resize(rec.caplen);  // only past libpcap's own limit
      }
      uint8_t* bytes = arena.data() + used;
      std::memcpy(bytes, rec.data, rec.caplen);
      used += rec.caplen;
      Slot& s = slots[filled++];
      s.ts = rec.ts_ns;
      s.out = PacketOutcome{};
      DecodeStatus st =
          DecodeFrame(rec.link_type, bytes, rec.caplen, &views[decoded]);
      if (st != DecodeStatus::kOk) {
        s.out.skipped = true;
        s.out.reason = st;
      } else {
        times[decoded] = rec.ts_ns;
        s.engine_pos = decoded++;
      }
    }
    engine->ProcessBatch(views.data(), times.data(), decoded, verdicts.data(),
                         counts.data());
    for (size_t i = 0; i < filled; ++i) {
      Slot& s = slots[i];
      if (!s.out.skipped) {
        s.out.verdict = verdicts[s.engine_pos];
        count = counts[s.engine_pos];
      }
      ++index;
      per_packet(index, s.ts, s.out, count);
      if (opts.on_progress && (index & 0xffff) == 0) {
        uint64_t size = (*reader)->file_size();
        opts.on_progress(size ? static_cast<double>((*reader)->offset()) /
                                    static_cast<double>(size)
                              : 0.0,
                         index);
      }
    }
    if (stop_after != 0 && index >= stop_after) break;
  }
  return (*reader)->error();
}

// Packets per batch: 32 fill the engine's prefetch pipeline; with threads
// it takes stretches of thousands.
size_t BatchFor(const ReplayOptions& opts) {
  if (opts.timeline_interval_ns) return 1;
  return opts.engine.threads > 1 ? 16384 : 32;
}

}  // namespace

uint32_t DumpTimeoutSeconds(const FlowInfo& f) {
  if (f.remaining_jiffies <= 1) return 0;
  return static_cast<uint32_t>(f.remaining_jiffies - 1) / kHz;
}

Result<ReplayReport> RunReplay(const std::string& path,
                               const ReplayOptions& opts,
                               std::unique_ptr<Engine>* engine_out) {
  EngineOptions eopts = opts.engine;
  if (opts.on_event) eopts.on_event = opts.on_event;
  auto created = Engine::Create(opts.tunables, eopts);
  if (!created) return fail(created.error());
  std::unique_ptr<Engine> engine = std::move(*created);

  ReplayReport r;
  r.capture = path;
  r.max = engine->tunables().max;
  r.buckets = engine->tunables().buckets;
  r.table_memory_bytes = engine->memory_bytes();

  uint64_t prev_ts = 0;
  uint32_t prev_count = 0;
  const double threshold90 = 0.9 * r.max;
  // Timeline state: the interval being filled, the counters at its start,
  // and the counters after the previous packet (the state at any instant
  // before the current one: the engine changes only inside Process).
  uint64_t tl_end = 0;
  TimelineRow tl_start{};
  TimelineRow tl_before{};
  auto counters_now = [&](uint64_t t) {
    return TimelineRow{t,
                       engine->count(),
                       engine->counters().created,
                       engine->counters().destroyed,
                       engine->stats().early_drop,
                       engine->stats().drop};
  };
  // Closes the intervals that end at or before `ts`. Called after the
  // packet at `ts` was processed, so it uses tl_before: that packet belongs
  // to the interval it starts, not to the ones it closes.
  auto close_intervals = [&](uint64_t ts) {
    while (ts >= tl_end) {
      TimelineRow now = tl_before;
      r.timeline.push_back({tl_end, prev_count, now.created - tl_start.created,
                            now.destroyed - tl_start.destroyed,
                            now.early_drop - tl_start.early_drop,
                            now.drop - tl_start.drop});
      tl_start = now;
      tl_end += opts.timeline_interval_ns;
      // A long silence (a capture whose clock jumps ahead) would print one
      // identical row per interval; past kMaxIdleRows the idle rows are
      // collapsed into the next row, so memory stays bounded.
      constexpr uint64_t kMaxIdleRows = 10000;
      if (ts >= tl_end &&
          (ts - tl_end) / opts.timeline_interval_ns > kMaxIdleRows) {
        tl_end += (ts - tl_end) / opts.timeline_interval_ns *
                  opts.timeline_interval_ns;
      }
    }
  };

  // The timeline samples the engine's counters between packets, so it needs
  // them exact after every packet: no batching then.
  size_t batch = BatchFor(opts);
  auto pumped = Pump(
      path, engine.get(), 0, batch, opts,
      [&](uint64_t index, uint64_t ts, const PacketOutcome& out, uint32_t c) {
        ++r.packets_read;
        if (r.packets_read == 1) {
          r.first_ts_ns = ts;
          prev_ts = ts;
          if (opts.timeline_interval_ns) {
            tl_end = ts + opts.timeline_interval_ns;
          }
        }
        if (ts > r.last_ts_ns) r.last_ts_ns = ts;
        if (opts.timeline_interval_ns) close_intervals(ts);
        // Time since the previous packet was spent at the previous count.
        if (ts > prev_ts && r.max != 0) {
          double dt = static_cast<double>(ts - prev_ts) * 1e-9;
          if (prev_count >= threshold90) r.seconds_at_90 += dt;
          if (prev_count >= r.max) r.seconds_at_100 += dt;
        }
        if (ts > prev_ts) prev_ts = ts;
        if (out.skipped) {
          ++r.skipped_by_reason[static_cast<int>(out.reason)];
        } else {
          ++r.decoded;
          if (out.verdict == Verdict::kDrop && !r.first_drop_index) {
            r.first_drop_index = index;
            r.first_drop_ts_ns = ts;
          }
        }
        if (c > r.peak_count) {
          r.peak_count = c;
          r.peak_ts_ns = ts;
          r.peak_index = index;
        }
        prev_count = c;
        if (opts.timeline_interval_ns) tl_before = counters_now(ts);
        if (opts.on_packet) opts.on_packet(index, out);
      });
  if (!pumped) return fail(pumped.error());
  r.read_error = *pumped;
  if (opts.timeline_interval_ns && r.packets_read > 0) {
    close_intervals(r.last_ts_ns);
    // The last, partial interval.
    TimelineRow now = counters_now(r.last_ts_ns);
    r.timeline.push_back(
        {r.last_ts_ns, engine->count(), now.created - tl_start.created,
         now.destroyed - tl_start.destroyed,
         now.early_drop - tl_start.early_drop, now.drop - tl_start.drop});
  }
  r.stats = engine->stats();
  r.counters = engine->counters();
  r.final_count = engine->count();
  const Tunables& t = engine->tunables();
  bool extensions = t.acct || t.timestamp || t.events == 1;
  r.kernel_memory_bytes =
      r.peak_count *
          (kKernelEntryBytes + (extensions ? kKernelExtensionBytes : 0)) +
      static_cast<uint64_t>(r.buckets) * kKernelBucketBytes;

  if (opts.composition && r.peak_index > 0) {
    EngineOptions quiet = opts.engine;
    quiet.on_event = nullptr;
    auto second = Engine::Create(opts.tunables, quiet);
    if (!second) return fail(second.error());
    auto again =
        Pump(path, second->get(), r.peak_index, BatchFor(opts), opts,
             [](uint64_t, uint64_t, const PacketOutcome&, uint32_t) {});
    if (!again) return fail(again.error());
    r.at_peak = Compose(**second, r.peak_ts_ns, opts.top_n);
  }
  if (engine_out != nullptr) *engine_out = std::move(engine);
  return r;
}

}  // namespace ctkit
