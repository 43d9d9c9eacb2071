// `ctkit bench`'s library: see bench.h.
//
// Each workload is generated (or loaded from a capture) and decoded up
// front; a warm-up prefix that creates the flows runs untimed on a fresh
// engine, then the measured part runs through ProcessBatch in batches of
// 32. This repeats for every run (>= 5) and the min/median/max are printed.
// Timing uses the monotonic clock around whole runs, never per packet.
#include "bench/bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <span>

#include "bench/read_loop.h"
#include "ctkit/capture.h"
#include "ctkit/engine.h"
#include "gen/workloads.h"
#include "plan/whatif.h"
#include "replay/replay.h"
#include "replay/table_dump.h"

namespace ctkit::bench {
namespace {

// Keeps the read+decode loop's result alive so it is not optimised away.
volatile uint64_t benchmark_sink = 0;

// Generated packets are re-timed to arrive at 10 Mpps, in their order: the
// engine's cost per packet then includes the GC's share as it would be at
// line rate, instead of a full table scan per second of a slow workload.
Loaded Generate(const WorkloadSpec& spec) {
  Loaded l;
  l.snap = 128;
  uint64_t i = 0;
  auto r = GenerateWorkload(spec, [&](uint64_t, std::span<const uint8_t> p) {
    l.Add(spec.start_ns + 100 * i++, 101, p.data(), p.size());
  });
  if (!r) fmt::print(stderr, "ctkit: error: {}\n", r.error().message);
  l.Decode();
  return l;
}

// Room for every flow of the workload (at least the kernel's default), with
// the kernel's default 1:1 ratio of buckets to max.
void SizeFor(uint64_t flows, Tunables* t) {
  uint32_t max = 262144;
  while (max < flows) max *= 2;
  t->max = max;
  t->buckets = max;
}

double SecondsOf(const std::function<bool()>& fn, int runs, bool* ok) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (!fn()) *ok = false;
    t.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

uint64_t ResidentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  int got = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return got == 2 ? resident * 4096ull : 0;
}

}  // namespace

// With `generate` false, every workload comes back with its name and no
// packets (for checking --only before anything is generated).
std::vector<Workload> BuiltinWorkloads(double scale, const std::string& only,
                                       bool generate) {
  auto wanted = [&](const std::string& name) {
    return generate && (only.empty() || name.find(only) != std::string::npos);
  };
  std::vector<Workload> names;
  auto keep_name = [&](const Workload& x) {
    if (!generate) names.push_back(Workload{x.name, x.what, {}, 0, {}});
  };
  auto n = [scale](uint64_t v) {
    return std::max<uint64_t>(
        1, static_cast<uint64_t>(static_cast<double>(v) * scale));
  };
  std::vector<Workload> w;
  for (uint64_t flows : {n(1000), n(100000), n(1000000)}) {
    Workload x;
    x.name = fmt::format("udp-established-{}", flows);
    x.what = "UDP flows already set up; packets round-robin, both directions";
    WorkloadSpec s{"udp-roundrobin", flows, 1e6,
                   std::max<uint64_t>(4 * flows, 2000000), 7};
    SizeFor(flows, &x.tunables);
    keep_name(x);
    if (!wanted(x.name)) continue;
    x.packets = Generate(s);
    x.warmup = 2 * flows;
    w.push_back(std::move(x));
  }
  {
    Workload x;
    x.name = fmt::format("udp-new-{}", n(1000000));
    x.what = "1M new UDP flows: a query creates each, its answer follows";
    WorkloadSpec s{"dns-storm", n(1000000), 1e6, 0, 7};
    SizeFor(n(1000000), &x.tunables);
    keep_name(x);
    if (wanted(x.name)) {
      x.packets = Generate(s);
      w.push_back(std::move(x));
    }
  }
  {
    Workload x;
    x.name = fmt::format("tcp-sessions-{}x10", n(100000));
    x.what = "full TCP sessions: handshake, data both ways, FIN teardown";
    WorkloadSpec s{"tcp-sessions", n(100000), 1e5, 0, 7};
    keep_name(x);
    if (wanted(x.name)) {
      x.packets = Generate(s);
      w.push_back(std::move(x));
    }
  }
  {
    Workload x;
    uint32_t max = static_cast<uint32_t>(n(65536));
    x.name = fmt::format("full-table-early-drop-{}", max);
    x.what = "new SYNs into a full table of unreplied SYNs (early drop)";
    x.tunables.max = max;
    x.tunables.buckets = max;
    WorkloadSpec s{"syn-flood", max + n(1000000), 1e6, 0, 7};
    keep_name(x);
    if (wanted(x.name)) {
      x.packets = Generate(s);
      x.warmup = max;
      w.push_back(std::move(x));
    }
  }
  // Not `generate ? w : names`: that copies w, whose views would point into
  // the arenas of the workloads destroyed on return.
  if (!generate) return names;
  return w;
}

Timing RunWorkload(const Workload& w, int runs, unsigned threads) {
  std::vector<double> per_packet;
  size_t timed = w.packets.views.size() - w.warmup;
  std::vector<Verdict> out(w.packets.views.size());
  uint64_t dropped = 0;
  uint64_t created = 0;
  for (int run = 0; run < runs; ++run) {
    EngineOptions opts;
    opts.threads = threads;
    opts.hash_seed = kFixedHashSeed;  // the same chains on every run
    auto engine = Engine::Create(w.tunables, opts);
    if (!engine) {
      fmt::print(stderr, "ctkit: error: {}\n", engine.error().message);
      return {};
    }
    const PacketView* v = w.packets.views.data();
    const uint64_t* ts = w.packets.view_ts.data();
    (*engine)->ProcessBatch(v, ts, w.warmup, out.data());
    uint64_t created_before = (*engine)->counters().created;
    auto start = std::chrono::steady_clock::now();
    (*engine)->ProcessBatch(v + w.warmup, ts + w.warmup, timed,
                            out.data() + w.warmup);
    auto end = std::chrono::steady_clock::now();
    per_packet.push_back(
        std::chrono::duration<double, std::nano>(end - start).count() /
        static_cast<double>(timed));
    dropped = (*engine)->stats().drop;
    created = (*engine)->counters().created - created_before;
  }
  std::sort(per_packet.begin(), per_packet.end());
  return {per_packet.front(),
          per_packet[per_packet.size() / 2],
          per_packet.back(),
          timed,
          dropped,
          created};
}

std::optional<ReplayTiming> TimeReplay(const std::string& path,
                                       const Tunables& t, unsigned threads,
                                       int runs) {
  ReplayTiming r{};
  bool ok = true;
  r.read_s = SecondsOf(
      [&] {
        auto read = ReadFiveTuples(path);
        if (!read) return false;
        r.packets = read->packets;
        benchmark_sink = read->sink;
        return true;
      },
      runs, &ok);
  std::vector<double> dump_only;
  r.replay_s = SecondsOf(
      [&] {
        ReplayOptions o;
        o.tunables = t;
        o.engine.threads = threads;
        auto rep = RunReplay(path, o);
        return rep.has_value() && !rep->read_error;
      },
      runs, &ok);
  r.dump_s = SecondsOf(
      [&] {
        ReplayOptions o;
        o.tunables = t;
        o.composition = false;
        o.engine.threads = threads;
        std::unique_ptr<Engine> engine;
        auto rep = RunReplay(path, o, &engine);
        if (!rep || !engine) return false;
        std::unique_ptr<std::FILE, int (*)(std::FILE*)> null(
            std::fopen("/dev/null", "w"), std::fclose);
        if (!null) return false;
        // Only the dump is timed: the replay before it is the same as above.
        const auto start = std::chrono::steady_clock::now();
        r.dump_lines = WriteTableDump(*engine, rep->last_ts_ns, null.get());
        dump_only.push_back(std::chrono::duration<double>(
                                std::chrono::steady_clock::now() - start)
                                .count());
        return true;
      },
      runs, &ok);
  std::sort(dump_only.begin(), dump_only.end());
  if (!dump_only.empty()) r.dump_s = dump_only[dump_only.size() / 2];
  r.whatif4_s = SecondsOf(
      [&] {
        auto axis = ParseVary("nf_conntrack_udp_timeout=10,20,60", t);
        if (!axis) return false;
        auto variants = ExpandVariants(t, {*axis}, {});
        if (!variants || variants->size() != 4) return false;
        auto res = RunWhatif(path, {*axis}, *variants, WhatifOptions{});
        return res.has_value() && !res->read_error;
      },
      runs, &ok);
  if (!ok) return std::nullopt;
  return r;
}

std::optional<EntryBytes> MeasureEntryBytes(bool ipv6) {
  Tunables t;  // max = buckets = 262144, as the kernel's default
  WorkloadSpec s{"syn-flood", t.max, 1e6, 0, 7};
  s.ipv6 = ipv6;
  Loaded l = Generate(s);
  std::vector<Verdict> out(l.views.size());
  uint64_t before = ResidentBytes();
  EngineOptions o;
  o.huge_pages = false;  // 2 MiB pages would round the growth up
  o.hash_seed = kFixedHashSeed;
  auto engine = Engine::Create(t, o);
  if (!engine) return std::nullopt;
  (*engine)->ProcessBatch(l.views.data(), l.view_ts.data(), l.views.size(),
                          out.data());
  uint64_t after = ResidentBytes();
  uint32_t n = (*engine)->count();
  if (n == 0 || after < before) return std::nullopt;
  return EntryBytes{static_cast<double>(after - before) / n,
                    static_cast<double>((*engine)->memory_bytes()) / t.max, n};
}

}  // namespace ctkit::bench
