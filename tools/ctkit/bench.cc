// `ctkit bench`: times the engine alone on packets held in memory.
//
// Each workload is generated (or loaded from a capture) and decoded up
// front; a warm-up prefix that creates the flows runs untimed on a fresh
// engine, then the measured part runs through ProcessBatch in batches of
// 32. This repeats for every run (>= 5) and the min/median/max are printed.
// Timing uses the monotonic clock around whole runs, never per packet.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ctkit/capture.h"
#include "ctkit/decode.h"
#include "ctkit/engine.h"
#include "gen/workloads.h"
#include "report/replay.h"
#include "tools/ctkit/command.h"
#include "tools/ctkit/mem_limits.h"
#include "tools/ctkit/settings.h"

namespace ctkit::cli {
namespace {

// Keeps the read+decode loop's result alive so it is not optimised away.
volatile uint64_t benchmark_sink = 0;

/// Packets decoded once and kept in memory.
struct Loaded {
  std::vector<uint8_t> arena;
  std::vector<size_t> offsets;
  std::vector<uint32_t> lengths;
  std::vector<uint32_t> link_types;
  std::vector<uint64_t> ts;
  std::vector<PacketView> views;
  std::vector<uint64_t> view_ts;

  /// Bytes kept per generated packet: the headers the engine reads. Like a
  /// NIC ring's hot buffers, the measured data is then mostly headers.
  size_t snap = SIZE_MAX;

  void Add(uint64_t t, uint32_t link, const uint8_t* p, size_t n) {
    n = std::min(n, snap);
    offsets.push_back(arena.size());
    lengths.push_back(static_cast<uint32_t>(n));
    link_types.push_back(link);
    ts.push_back(t);
    arena.insert(arena.end(), p, p + n);
  }
  // Views point into the arena, so they are made once it stops growing.
  void Decode() {
    views.reserve(offsets.size());
    for (size_t i = 0; i < offsets.size(); ++i) {
      PacketView v{};
      if (DecodeFrame(link_types[i], arena.data() + offsets[i], lengths[i],
                      &v) == DecodeStatus::kOk) {
        views.push_back(v);
        view_ts.push_back(ts[i]);
      }
    }
  }
};

// Built-in workloads run with nf_conntrack_checksum=0: on a host whose NIC
// has verified the checksums (the common case) the kernel's conntrack never
// computes them either, so this is the cost the kernel would pay.
Tunables BenchTunables() {
  Tunables t;
  t.checksum = 0;
  return t;
}

struct Workload {
  std::string name;
  std::string what;
  Tunables tunables = BenchTunables();
  size_t warmup = 0;  // leading packets run untimed
  Loaded packets;
};

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

// The largest --scale: it makes the 1M-flow workloads 1G flows, which
// with buckets 1:1 in powers of two is the largest table the engine takes
// (nf_conntrack_max is at most 2^31 - 1). Memory runs out well before on
// most machines (about 1 GiB of packets per unit of scale).
constexpr double kMaxScale = 1000;

// With `generate` false, every workload comes back with its name and no
// packets (for checking --only before anything is generated).
std::vector<Workload> BuiltinWorkloads(double scale, const std::string& only,
                                       bool generate = true) {
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
  return generate ? w : names;
}

struct Timing {
  double min_ns, median_ns, max_ns;
  size_t packets;
  uint64_t dropped;
  uint64_t created;  ///< new entries in the timed part (last run)
};

Timing RunWorkload(const Workload& w, int runs, unsigned threads) {
  std::vector<double> per_packet;
  size_t timed = w.packets.views.size() - w.warmup;
  std::vector<Verdict> out(w.packets.views.size());
  uint64_t dropped = 0;
  uint64_t created = 0;
  for (int run = 0; run < runs; ++run) {
    EngineOptions opts;
    opts.threads = threads;
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

// The replay target: `ctkit replay`'s own loop (read, decode, engine,
// per-packet accounting; no second pass for the composition) against a loop
// that only reads the file with libpcap and decodes each frame.
struct ReplayTiming {
  double read_decode_s, replay_s;
  uint64_t packets;
};

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

std::optional<ReplayTiming> TimeReplay(const std::string& path,
                                       const Tunables& t, unsigned threads,
                                       int runs) {
  ReplayTiming r{};
  bool ok = true;
  r.read_decode_s = SecondsOf(
      [&] {
        auto reader = CaptureReader::Open(path);
        if (!reader) return false;
        CaptureRecord rec{};
        PacketView v{};
        uint64_t n = 0, decoded = 0;
        while ((*reader)->Next(&rec)) {
          ++n;
          decoded += DecodeFrame(rec.link_type, rec.data, rec.caplen, &v) ==
                     DecodeStatus::kOk;
        }
        r.packets = n;
        benchmark_sink = decoded;
        return !(*reader)->error();
      },
      runs, &ok);
  r.replay_s = SecondsOf(
      [&] {
        ReplayOptions o;
        o.tunables = t;
        o.composition = false;
        o.engine.threads = threads;
        auto rep = RunReplay(path, o);
        return rep.has_value() && !rep->read_error;
      },
      runs, &ok);
  if (!ok) return std::nullopt;
  return r;
}

uint64_t ResidentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  int got = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return got == 2 ? resident * 4096ull : 0;
}

// Memory per entry, measured: the resident growth of filling a default-size
// table with TCP entries of one family, over max.
struct EntryBytes {
  double resident, reserved;
  uint32_t entries;
};
std::optional<EntryBytes> MeasureEntryBytes(bool ipv6) {
  Tunables t;  // max = buckets = 262144, as the kernel's default
  WorkloadSpec s{"syn-flood", t.max, 1e6, 0, 7};
  s.ipv6 = ipv6;
  Loaded l = Generate(s);
  std::vector<Verdict> out(l.views.size());
  uint64_t before = ResidentBytes();
  EngineOptions o;
  o.huge_pages = false;  // 2 MiB pages would round the growth up
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

struct BenchFlags {
  std::string capture;
  std::vector<unsigned> threads;
  std::string replay;
  int64_t warmup = 0;
  int runs = 5;
  double scale = 1.0;
  std::string only;
  bool compare_limit = false;
  SettingsFlags settings;
  // Whether the option was given (its default is a valid value).
  CLI::Option* warmup_opt = nullptr;
  CLI::Option* scale_opt = nullptr;
};

// Every flag checked before anything is generated or timed; prints the
// error and returns false on the first bad one.
bool CheckBenchFlags(const BenchFlags& f) {
  auto error = [](const std::string& m) {
    fmt::print(stderr, "ctkit: error: {}\n", m);
    return false;
  };
  if (f.runs < 1) return error("--runs must be at least 1");
  bool builtin = f.capture.empty() && (f.replay.empty() || !f.only.empty());
  if (!std::isfinite(f.scale) || f.scale <= 0 || f.scale > kMaxScale) {
    return error(fmt::format(
        "--scale {}: must be a number above 0 and at most {} (1 is the "
        "workloads' own size; {} makes the 1M-flow ones {}M flows, the "
        "largest table the engine takes)",
        f.scale, kMaxScale, kMaxScale, kMaxScale));
  }
  if (f.scale_opt->count() != 0 && !builtin) {
    return error(
        "--scale sizes the built-in workloads; it does not apply "
        "to --capture or --replay");
  }
  if (f.warmup_opt->count() != 0 && f.capture.empty()) {
    return error(
        "--warmup applies to --capture only (the built-in "
        "workloads warm up their own flows)");
  }
  if (f.warmup < 0) {
    return error(
        fmt::format("--warmup {}: must be 0 or more packets", f.warmup));
  }
  if (!f.only.empty()) {
    if (!f.capture.empty()) {
      return error(
          "--only picks among the built-in workloads; it does not "
          "apply to --capture");
    }
    std::string names;
    bool found = false;
    for (const Workload& w : BuiltinWorkloads(f.scale, "", false)) {
      found = found || w.name.find(f.only) != std::string::npos;
      names += (names.empty() ? "" : ", ") + w.name;
    }
    if (!found) {
      return error(fmt::format(
          "--only '{}' matches no workload; the workloads (at --scale {}) "
          "are: {}",
          f.only, f.scale, names));
    }
  }
  if (!f.settings.sysctls.empty() || !f.settings.sysctl_files.empty()) {
    Tunables check;
    if (!LoadSettings(f.settings, &check)) return false;
    if (f.capture.empty() && f.replay.empty()) {
      return error(
          "--sysctl and --sysctl-file apply to --capture and "
          "--replay; the built-in workloads set their own");
    }
  }
  return true;
}

int RunBench(const BenchFlags& f) {
  if (!CheckBenchFlags(f)) return kExitUsage;
  std::vector<Workload> workloads;
  if (!f.capture.empty()) {
    Workload x;
    x.name = f.capture;
    x.what = "capture file";
    x.tunables = Tunables{};
    if (!LoadSettings(f.settings, &x.tunables)) return kExitFailure;
    auto reader = CaptureReader::Open(f.capture);
    if (!reader) {
      fmt::print(stderr, "ctkit: error: {}\n", reader.error().message);
      return kExitFailure;
    }
    CaptureRecord rec{};
    while ((*reader)->Next(&rec)) {
      x.packets.Add(rec.ts_ns, rec.link_type, rec.data, rec.caplen);
    }
    if ((*reader)->error()) {
      fmt::print(stderr, "ctkit: error: {}\n", (*reader)->error()->message);
      return kExitFailure;
    }
    x.packets.Decode();
    if (static_cast<uint64_t>(f.warmup) >= x.packets.views.size()) {
      fmt::print(stderr,
                 "ctkit: error: --warmup {} leaves nothing to time: {} has "
                 "{} packets the engine can use\n",
                 f.warmup, f.capture, x.packets.views.size());
      return kExitUsage;
    }
    x.warmup = static_cast<size_t>(f.warmup);
    workloads.push_back(std::move(x));
  } else if (f.replay.empty() || !f.only.empty()) {
    // (--replay alone times just the replay.)
    fmt::print(stderr, "generating workloads...\n");
    workloads = BuiltinWorkloads(f.scale, f.only);
  }
  std::vector<unsigned> thread_counts = f.threads;
  if (thread_counts.empty()) {
    thread_counts.push_back(1);
    unsigned all = std::max(1u, std::thread::hardware_concurrency());
    if (all > 1) thread_counts.push_back(all);
  }
  MemLimits limits;
  if (f.compare_limit) {
    fmt::print(stderr, "measuring the memory-latency floors...\n");
    limits = MeasureMemLimits(
        *std::max_element(thread_counts.begin(), thread_counts.end()));
    fmt::print("memory limits: dependent_ns {:.1f}, prefetched_ns {:.1f}",
               limits.dependent_ns, limits.prefetched_ns);
    if (limits.threads > 1) {
      fmt::print(
          "; parallel capacity: {} threads of prefetched loads run {:.2f} x "
          "one",
          limits.threads, limits.parallel_capacity);
    }
    fmt::print("\n");
  }
  fmt::print("{:<30} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}", "workload",
             "packets", "min ns", "median ns", "max ns", "Mpps", "Mnew/s");
  if (f.compare_limit) fmt::print(" {:>7} {:>7}", "x pref", "x dep");
  fmt::print("  notes\n");
  for (const Workload& w : workloads) {
    double one_thread_ns = 0;
    for (unsigned threads : thread_counts) {
      Timing t = RunWorkload(w, f.runs, threads);
      std::string name = w.name;
      if (threads > 1) name += fmt::format(" x{}", threads);
      std::string note = w.what;
      if (t.dropped) note += fmt::format(" ({} dropped)", t.dropped);
      if (threads == 1) one_thread_ns = t.median_ns;
      if (threads > 1 && one_thread_ns > 0 && t.median_ns > 0) {
        double speedup = one_thread_ns / t.median_ns;
        std::string of_capacity;
        if (f.compare_limit && limits.threads == threads) {
          of_capacity = fmt::format(" ({:.0f} % of the machine's {:.2f})",
                                    100.0 * speedup / limits.parallel_capacity,
                                    limits.parallel_capacity);
        }
        note.insert(0, fmt::format("{:.2f} x one thread{}; ", speedup,
                                   of_capacity));
      }
      // New connections per second: entries created in the timed part over
      // its (median) duration.
      double seconds = t.median_ns * static_cast<double>(t.packets) * 1e-9;
      double mnew =
          seconds > 0 ? static_cast<double>(t.created) / seconds / 1e6 : 0.0;
      fmt::print("{:<30} {:>9} {:>9.1f} {:>9.1f} {:>9.1f} {:>8.2f} {:>8.2f}",
                 name, t.packets, t.min_ns, t.median_ns, t.max_ns,
                 t.median_ns > 0 ? 1e3 / t.median_ns : 0.0, mnew);
      if (f.compare_limit && limits.prefetched_ns > 0 &&
          limits.dependent_ns > 0) {
        // The median as a multiple of this run's floors (lower is better).
        fmt::print(" {:>7.2f} {:>7.2f}", t.median_ns / limits.prefetched_ns,
                   t.median_ns / limits.dependent_ns);
      }
      fmt::print("  {}\n", note);
    }
  }
  if (!f.replay.empty()) {
    Tunables t;
    if (!LoadSettings(f.settings, &t)) return kExitFailure;
    for (unsigned threads : thread_counts) {
      auto r = TimeReplay(f.replay, t, threads, f.runs);
      if (!r) {
        fmt::print(stderr, "ctkit: error: cannot replay {}\n", f.replay);
        return kExitFailure;
      }
      fmt::print(
          "replay {} (threads {}): {:.2f} Mpps; read+decode only {:.2f} Mpps; "
          "replay = {:.0f} % of read+decode\n",
          f.replay, threads,
          static_cast<double>(r->packets) / r->replay_s * 1e-6,
          static_cast<double>(r->packets) / r->read_decode_s * 1e-6,
          100.0 * r->read_decode_s / r->replay_s);
    }
  }
  if (f.capture.empty() && (f.replay.empty() || !f.only.empty())) {
    for (bool ipv6 : {false, true}) {
      if (auto b = MeasureEntryBytes(ipv6)) {
        fmt::print(
            "bytes per {} TCP entry: {:.1f} resident (a table of {} SYN_SENT "
            "entries at the default 1:1 buckets; {:.1f} reserved per entry; "
            "the kernel uses about 264)\n",
            ipv6 ? "IPv6" : "IPv4", b->resident, b->entries, b->reserved);
      }
    }
  }
  return kExitOk;
}

}  // namespace

void RegisterBench(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<BenchFlags>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Time the engine on generated workloads or a capture");
  cmd->add_option("--threads", flags->threads,
                  "engine thread counts to time each workload with (default: "
                  "1 and all cores)")
      ->check(CLI::Range(1u, 64u));
  cmd->add_option("--replay", flags->replay,
                  "also time `ctkit replay` of this capture against a loop "
                  "that only reads and decodes it")
      ->type_name("FILE");
  cmd->add_option("--capture", flags->capture,
                  "time this capture instead of the built-in workloads")
      ->type_name("FILE");
  flags->warmup_opt = cmd->add_option(
      "--warmup", flags->warmup,
      "with --capture: leading packets run untimed (fewer than the "
      "capture's)");
  cmd->add_option("--runs", flags->runs, "runs per workload (default 5)");
  flags->scale_opt = cmd->add_option(
      "--scale", flags->scale,
      fmt::format("scale the built-in workloads' sizes (default 1.0; above "
                  "0, at most {})",
                  kMaxScale));
  cmd->add_option("--only", flags->only,
                  "run only the built-in workloads whose name contains this");
  cmd->add_flag("--compare-limit", flags->compare_limit,
                "also measure this machine's dependent and prefetched "
                "memory-load latencies and print each workload as a ratio");
  AddSettingsFlags(cmd, &flags->settings);
  cmd->callback([flags, exit_code] { *exit_code = RunBench(*flags); });
}

}  // namespace ctkit::cli
