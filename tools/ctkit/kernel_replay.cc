// `ctkit kernel-replay CAPTURE`: run a capture through the real kernel's
// conntrack in a private namespace sandbox and print the result in
// `ctkit replay`'s formats (--dump, --verdicts; --json always with both), so
// the two can be diffed; the summary shows only what the kernel run knows.
// `--restore` writes back global sysctls a killed run left changed. All the
// work is in src/kernel/.
#include "kernel/kernel_replay.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/text.h"
#include "kernel/global_journal.h"
#include "kernel/kernel_replay_output.h"
#include "kernel/sandbox.h"
#include "report/format.h"
#include "report/replay_output.h"
#include "tools/ctkit/command.h"
#include "tools/ctkit/kernel_replay_cli.h"
#include "tools/ctkit/list_options.h"
#include "tools/ctkit/settings.h"

namespace ctkit::cli {
namespace {

struct KernelReplayFlags {
  std::string capture;
  std::vector<std::string> sysctls;
  std::vector<std::string> zone_map;
  bool allow_global = false;
  double speed = 1.0;
  bool dump = false;
  bool verdicts = false;
  bool json = false;
  bool no_progress = false;
  bool restore = false;
  std::string fail_after;
};

int RunRestore() {
  if (geteuid() != 0) {
    return Fail(Error::permission(
        "--restore needs root (it writes global sysctls under "
        "/proc/sys/net/netfilter)"));
  }
  GlobalJournal journal;
  GlobalJournal::Contents held;
  auto r = journal.RecoverStale(&held);
  if (!r) return Fail(r.error());
  if (!r->empty()) {
    fmt::print("{}\n", *r);
    return kExitOk;
  }
  if (held.pid != 0) {
    return Fail(Error::io(
        fmt::format("ctkit kernel-replay pid {} is running with global "
                    "sysctls changed; it restores them when it ends",
                    held.pid)));
  }
  fmt::print("nothing to restore: no run left global sysctls changed ({})\n",
             journal.path());
  return kExitOk;
}

int RunKernelReplayCommand(const KernelReplayFlags& f) {
  if (f.restore) {
    if (!f.capture.empty()) return UsageError("--restore takes no capture");
    return RunRestore();
  }
  if (!f.json &&
      !AtMostOneList({{"--dump", f.dump}, {"--verdicts", f.verdicts}})) {
    return kExitUsage;
  }
  if (f.capture.empty()) {
    return UsageError("kernel-replay needs a CAPTURE (or --restore)");
  }
  KernelReplayOptions o;
  // A bad setting is bad input (1), as in every other command; each one is
  // reported before the command exits.
  bool settings_ok = true;
  for (const std::string& s : f.sysctls) {
    auto a = SplitAssignment(s);
    if (!a || a->name.empty()) {
      PrintError(fmt::format("--sysctl '{}': expected NAME=VALUE", s));
      settings_ok = false;
      continue;
    }
    // Validate with ctkit's own table first (names, ranges).
    Tunables check;
    if (auto ok = check.Set(a->name, a->value); !ok) {
      PrintError(fmt::format("--sysctl {}: {}", s, ok.error().message));
      settings_ok = false;
      continue;
    }
    o.sysctls.emplace_back(a->name, a->value);
  }
  ZoneMap zones;
  if (!LoadZoneMap(f.zone_map, &zones)) settings_ok = false;
  if (!settings_ok) return kToolExit.error;
  auto zone_rules = zones.NftRules();
  if (!zone_rules) {
    PrintError(zone_rules.error().message);
    return kToolExit.error;
  }
  o.pre_conntrack_rules = std::move(*zone_rules);
  o.allow_global = f.allow_global;
  o.speed = f.speed;
  o.fail_after = f.fail_after;
  o.notice = [](const std::string& m) {
    fmt::print(stderr, "ctkit: warning: {}\n", m);
  };
  bool progress = !f.no_progress && isatty(STDERR_FILENO);
  if (progress) {
    o.on_progress = [](uint64_t sent, uint64_t to_send, double capture_s,
                       double total_s) {
      fmt::print(stderr,
                 "\rkernel-replay: injected {} of {} packets, {:.1f} of "
                 "{:.1f} s of the capture",
                 sent, to_send, capture_s, total_s);
      std::fflush(stderr);
    };
  }
  SignalGuard guard;
  auto res = RunKernelReplay(f.capture, o);
  if (progress) fmt::print(stderr, "\r{:78}\r", "");
  if (!res) return Fail(res.error());
  if (res->lost_logs != 0) {
    fmt::print(stderr,
               "ctkit: warning: {} nflog reads overflowed; some verdicts may "
               "read DROP wrongly (try a lower --speed)\n",
               res->lost_logs);
  }
  PrintKernelResult(*res, f.dump, f.verdicts, f.json);
  if (res->report.read_error) {
    return Fail({res->report.read_error->code,
                 fmt::format("{} (reported the {} packets before it)",
                             res->report.read_error->message,
                             res->report.packets_read)});
  }
  return kExitOk;
}

}  // namespace

void PrintKernelResult(const KernelReplayResult& res, bool dump, bool verdicts,
                       bool json) {
  if (json) {
    fmt::print("{}", DumpJson(KernelReplayToJson(res, LocalMoment())));
    return;
  }
  if (dump) {
    for (const FlowInfo& fi : res.table) {
      fmt::print("{}\n",
                 FormatConntrackLine(fi, fi.timeout_s, res.report.last_ts_ns));
    }
  }
  if (verdicts) {
    for (size_t i = 0; i < res.outcomes.size(); ++i) {
      fmt::print("{} {}\n", i + 1, OutcomeName(res.outcomes[i]));
    }
  }
  if (!dump && !verdicts) fmt::print("{}", RenderKernelReplayText(res));
}

void RegisterKernelReplay(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<KernelReplayFlags>();
  CLI::App* cmd = app.add_subcommand(
      "kernel-replay",
      "Run a capture through the real kernel's conntrack (a private network "
      "namespace router; needs root) and print what it did in ctkit replay's "
      "formats");
  cmd->add_option("capture", flags->capture, "capture file (pcap or pcapng)")
      ->type_name("FILE");
  // One value per flag: CAPTURE is optional (--restore needs none), so a
  // list option would take a capture named after it.
  cmd->add_option("--sysctl", flags->sysctls,
                  "NAME=VALUE for the router namespace (repeatable)")
      ->allow_extra_args(false);
  AddZoneMapFlag(cmd, &flags->zone_map);
  cmd->add_flag("--allow-global", flags->allow_global,
                "allow changing the global nf_conntrack_max/_buckets: they "
                "limit every namespace on the host for the whole run "
                "(restored afterwards, or by --restore after a kill)");
  cmd->add_flag("--restore", flags->restore,
                "write back global sysctls that a killed run left changed, "
                "then exit (every run also does this first)");
  cmd->add_option("--speed", flags->speed,
                  "divide inter-packet gaps by this (default 1)");
  cmd->add_flag("--dump", flags->dump,
                "print the kernel's table after the last packet");
  cmd->add_flag("--verdicts", flags->verdicts,
                "print one line per packet: INDEX VERDICT");
  cmd->add_flag("--json", flags->json,
                "everything as one JSON document, with the verdicts and the "
                "table (what ctkit diff reads)");
  cmd->add_flag("--no-progress", flags->no_progress,
                "no progress line on a terminal");
  cmd->add_option("--fail-after", flags->fail_after,
                  "testing: fail on purpose after a stage "
                  "(sandbox|routes|inject)")
      ->group("");
  cmd->callback(
      [flags, exit_code] { *exit_code = RunKernelReplayCommand(*flags); });
}

}  // namespace ctkit::cli
