// `ctkit replay CAPTURE`: run a capture through the engine and report what
// the kernel's table would have done with it. Parses flags, calls
// RunReplay, prints; all the work is in the library.
#include "report/replay.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "report/format.h"
#include "report/replay_output.h"
#include "tools/ctkit/command.h"
#include "tools/ctkit/list_options.h"
#include "tools/ctkit/settings.h"

namespace ctkit::cli {
namespace {

struct ReplayFlags {
  std::string capture;
  SettingsFlags settings;
  bool dump = false;
  bool verdicts = false;
  bool events = false;
  bool events_timestamp = false;
  bool json = false;
  bool no_progress = false;
  std::string timeline;
  bool compare_kernel = false;
  bool allow_global = false;
  double speed = 1.0;
  uint32_t tolerance = 2;
  unsigned threads = 0;
};

int RunReplayCommand(const ReplayFlags& f) {
  if (!f.json && !f.compare_kernel &&
      !AtMostOneList({{"--dump", f.dump},
                      {"--verdicts", f.verdicts},
                      {"--events", f.events},
                      {"--timeline", !f.timeline.empty()}})) {
    return kExitUsage;
  }
  Tunables t;
  if (!LoadSettings(f.settings, &t)) return kExitFailure;

  // --compare-kernel collects what a diff needs and prints only the diff.
  bool to_json = f.json || f.compare_kernel;
  bool want_verdicts = f.verdicts || f.compare_kernel;
  bool want_dump = f.dump || f.compare_kernel;
  std::vector<std::string> verdict_lines;
  Json event_json = f.events ? Json::array() : Json();
  ReplayOptions opts;
  opts.tunables = t;
  // A document with the verdicts is one `ctkit diff` may compare: it
  // carries the capture's digest (which costs about as much as reading the
  // file again, so only then).
  opts.digest = to_json && want_verdicts;
  opts.engine.threads = f.threads != 0
                            ? f.threads
                            : std::max(1u, std::thread::hardware_concurrency());
  if (!f.timeline.empty()) {
    auto interval = ParseDuration(f.timeline);
    if (!interval) {
      fmt::print(stderr, "ctkit: error: bad --timeline interval '{}': {}\n",
                 f.timeline, interval.error().message);
      return kExitUsage;
    }
    opts.timeline_interval_ns = *interval;
  }
  if (want_verdicts) {
    opts.on_packet = [&](uint64_t index, const PacketOutcome& o) {
      if (to_json) {
        verdict_lines.push_back(OutcomeName(o));
      } else {
        fmt::print("{} {}\n", index, OutcomeName(o));
      }
    };
  }
  if (f.events) {
    // A listener exists from the start, so every entry gets events
    // (nf_conntrack_events=2 semantics).
    EventLineOptions line_opts;
    line_opts.timestamp = f.events_timestamp;
    opts.on_event = [&, line_opts](const Event& e) {
      if (to_json) {
        event_json.push_back(EventToJson(e));
      } else {
        fmt::print("{}\n", FormatEventLine(e, line_opts));
      }
    };
  }
  bool progress = !f.no_progress && isatty(STDERR_FILENO);
  if (progress) {
    opts.on_progress = [](double fraction, uint64_t packets) {
      fmt::print(stderr, "\rreplay: {:5.1f} % ({} packets)", fraction * 100.0,
                 packets);
      std::fflush(stderr);
    };
  }
  std::unique_ptr<Engine> engine;
  auto report = RunReplay(f.capture, opts, &engine);
  if (progress) fmt::print(stderr, "\r{:60}\r", "");
  if (!report) {
    fmt::print(stderr, "ctkit: error: {}\n", report.error().message);
    return kExitFailure;
  }
  // The dump is taken as `conntrack -L` right after the last packet.
  Json dump_json;
  std::vector<std::string> dump_lines;
  if (want_dump) {
    dump_json = Json::array();
    engine->Dump(report->last_ts_ns, [&](const FlowInfo& info) {
      uint32_t timeout = DumpTimeoutSeconds(info);
      if (to_json) {
        dump_json.push_back(FlowToJson(info, timeout, report->last_ts_ns));
      } else {
        dump_lines.push_back(
            FormatConntrackLine(info, timeout, report->last_ts_ns));
      }
    });
  }
  if (to_json) {
    // A list that was asked for is present even when empty (no packets, no
    // events), so readers need not special-case a missing key.
    Json doc = ReplayToJson(*report, engine->tunables(),
                            want_verdicts ? &verdict_lines : nullptr,
                            event_json, dump_json);
    if (f.compare_kernel) {
      return CompareWithKernel(doc, f.capture, f.settings.sysctls,
                               f.allow_global, f.speed, f.tolerance, f.json);
    }
    fmt::print("{}", DumpJson(doc));
  } else {
    bool lists = f.dump || f.verdicts || f.events || !f.timeline.empty();
    if (!f.timeline.empty()) fmt::print("{}", RenderTimelineCsv(*report));
    for (const std::string& l : dump_lines) fmt::print("{}\n", l);
    // With a list option stdout carries only the list (so it can be diffed);
    // without one, the summary.
    if (!lists) fmt::print("{}", RenderReplayText(*report, engine->tunables()));
  }
  if (report->read_error) {
    fmt::print(stderr, "ctkit: error: {} (reported the {} packets before it)\n",
               report->read_error->message, report->packets_read);
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

void RegisterReplay(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ReplayFlags>();
  CLI::App* cmd = app.add_subcommand(
      "replay",
      "Run a capture (pcap/pcapng) through the engine and report when and why "
      "the table fills");
  DocumentExitStatus(
      cmd,
      {{kExitOk,
        "the capture was replayed and reported; with --compare-kernel: ctkit "
        "and the kernel agree"},
       {kExitFailure,
        "a setting or the capture was bad (what was read before a bad "
        "packet record is still reported); with --compare-kernel: ctkit and "
        "the kernel differ"},
       {kExitUsage,
        "the command line was wrong; with --compare-kernel: the kernel run "
        "could not be made"}});
  cmd->add_option("capture", flags->capture, "capture file")
      ->required()
      ->type_name("FILE");
  AddSettingsFlags(cmd, &flags->settings);
  cmd->add_flag("--dump", flags->dump,
                "print the table after the last packet as conntrack -L does");
  cmd->add_flag("--verdicts", flags->verdicts,
                "print one line per packet: INDEX VERDICT");
  CLI::Option* events =
      cmd->add_flag("--events", flags->events,
                    "print NEW/UPDATE/DESTROY events as conntrack -E does");
  cmd->add_flag("--events-timestamp", flags->events_timestamp,
                "with --events: start each line with the packet's capture "
                "time as conntrack -E -o timestamp does: [SECONDS.MICROS]")
      ->needs(events);
  cmd->add_option("--timeline", flags->timeline,
                  "print CSV time,count,new,destroyed,early_drop,drop per "
                  "INTERVAL (e.g. 1s, 100ms)");
  cmd->add_flag("--json", flags->json, "everything as one JSON document");
  cmd->add_option("--threads", flags->threads,
                  "threads for the engine (default: all cores); the results "
                  "are the same for any number")
      ->check(CLI::Range(1u, 64u));
  cmd->add_flag("--compare-kernel", flags->compare_kernel,
                "also run the capture through the real kernel (root; see "
                "kernel-replay) and print the differences (with --json: "
                "as ctkit diff --json); exit 1 if any");
  cmd->add_flag("--allow-global", flags->allow_global,
                "with --compare-kernel: allow changing the global "
                "nf_conntrack_max/_buckets for the run");
  cmd->add_option("--speed", flags->speed,
                  "with --compare-kernel: divide inter-packet gaps by this");
  cmd->add_option("--timeout-tolerance", flags->tolerance,
                  "with --compare-kernel: seconds timeouts may differ by");
  cmd->add_flag("--no-progress", flags->no_progress,
                "no progress line on a terminal");
  cmd->callback([flags, exit_code] { *exit_code = RunReplayCommand(*flags); });
}

}  // namespace ctkit::cli
