// `ctkit bench`: times the engine alone on packets held in memory. The
// workloads, the loader and the probes are the bench library
// (bench/bench.h); this file reads the flags, calls it and prints.
#include "bench/bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/mem_limits.h"
#include "ctkit/capture.h"
#include "tools/ctkit/command.h"
#include "tools/ctkit/settings.h"

namespace ctkit::cli {
namespace {

using bench::BuiltinWorkloads;
using bench::kMaxScale;
using bench::MeasureEntryBytes;
using bench::MeasureMemLimits;
using bench::MemLimits;
using bench::RunWorkload;
using bench::TimeReplay;
using bench::Timing;
using bench::Workload;

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
// error and returns its exit code on the first bad one (a bad setting is
// bad input, 1, as in every command; the rest are usage errors, 2), else
// kExitOk.
int CheckBenchFlags(const BenchFlags& f) {
  auto error = [](const std::string& m) { return UsageError(m); };
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
    if (!LoadSettings(f.settings, &check)) return kToolExit.error;
    if (f.capture.empty() && f.replay.empty()) {
      return error(
          "--sysctl and --sysctl-file apply to --capture and "
          "--replay; the built-in workloads set their own");
    }
  }
  return kExitOk;
}

int RunBench(const BenchFlags& f) {
  if (int bad = CheckBenchFlags(f); bad != kExitOk) return bad;
  std::vector<Workload> workloads;
  if (!f.capture.empty()) {
    Workload x;
    x.name = f.capture;
    x.what = "capture file";
    x.tunables = Tunables{};
    if (!LoadSettings(f.settings, &x.tunables)) return kExitFailure;
    auto reader = CaptureReader::Open(f.capture);
    if (!reader) return Fail(reader.error());
    CaptureRecord rec{};
    while ((*reader)->Next(&rec)) {
      x.packets.Add(rec.ts_ns, rec.link_type, rec.data, rec.caplen);
    }
    if ((*reader)->error()) return Fail(*(*reader)->error());
    x.packets.Decode();
    if (static_cast<uint64_t>(f.warmup) >= x.packets.views.size()) {
      return UsageError(
          fmt::format("--warmup {} leaves nothing to time: {} has {} packets "
                      "the engine can use",
                      f.warmup, f.capture, x.packets.views.size()));
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
        note.insert(
            0, fmt::format("{:.2f} x one thread{}; ", speedup, of_capacity));
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
      if (!r) return Fail(Error::io("cannot replay " + f.replay));
      fmt::print(
          "replay {} (threads {}): {:.2f} Mpps; read+5-tuple loop {:.2f} "
          "Mpps; replay = {:.2f} of the read loop's speed\n",
          f.replay, threads,
          static_cast<double>(r->packets) / r->replay_s * 1e-6,
          static_cast<double>(r->packets) / r->read_s * 1e-6,
          r->read_s / r->replay_s);
      fmt::print(
          "  --dump of its {} entries: {:.3f} s, {:.2f} M lines/s; whatif with "
          "4 "
          "variants: {:.2f} s = {:.2f} x the replay\n",
          r->dump_lines, r->dump_s,
          static_cast<double>(r->dump_lines) / r->dump_s * 1e-6, r->whatif4_s,
          r->whatif4_s / r->replay_s);
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
                  "that only reads it with libpcap and pulls out 5-tuples")
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
