// `ctkit replay CAPTURE`: run a capture through the engine and report what
// the kernel's table would have done with it. Parses flags, calls
// RunReplay, prints; all the work is in the library.
//
// The capture is a file (plain or gzip), standard input ("-") or, with -i,
// live traffic. Standard input and live captures end cleanly on SIGINT or
// SIGTERM: the handler only sets a flag the reader polls (at least every
// 0.1 s), the report covers what was read, and the exit status is 0, as
// tcpdump's is. The handler resets itself, so a second Ctrl-C kills.
#include "replay/replay.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "replay/table_dump.h"
#include "report/format.h"
#include "report/replay_html.h"
#include "report/replay_output.h"
#include "tools/ctkit/command.h"
#include "tools/ctkit/html_report.h"
#include "tools/ctkit/list_options.h"
#include "tools/ctkit/settings.h"

namespace ctkit::cli {
namespace {

struct ReplayFlags {
  std::string capture;
  bool live = false;  // -i: `capture` names an interface
  std::string duration;
  uint64_t count = 0;
  SettingsFlags settings;
  std::vector<std::string> zone_map;
  bool dump = false;
  bool verdicts = false;
  bool events = false;
  bool events_timestamp = false;
  bool json = false;
  bool no_progress = false;
  std::string timeline;
  std::string html;
  bool compare_kernel = false;
  bool allow_global = false;
  double speed = 1.0;
  uint32_t tolerance = 2;
  unsigned threads = 0;
};

// Set by SIGINT/SIGTERM while a stdin or live replay reads.
std::atomic<bool> g_stop{false};
volatile std::sig_atomic_t g_stop_signal = 0;
static_assert(std::atomic<bool>::is_always_lock_free);

void OnStopSignal(int sig) {
  g_stop_signal = sig;
  g_stop.store(true, std::memory_order_relaxed);
}

// Catches SIGINT and SIGTERM (once each) while it lives.
class StopSignals {
 public:
  StopSignals() {
    struct sigaction sa {};
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    // No SA_RESTART: a signal interrupts waits.
    sa.sa_flags = static_cast<int>(SA_RESETHAND);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// The progress line on a terminal: a percentage and the time left when
// the input's size is known (the time so far scaled by what is left: the
// rate is steady enough over a big capture), else packets and time; at
// most 10 updates a second, and always the last.
class ProgressLine {
 public:
  explicit ProgressLine(std::string reading) : reading_(std::move(reading)) {}

  void Update(const ReplayProgress& p) {
    const auto now = std::chrono::steady_clock::now();
    if (!p.done && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const double secs = std::chrono::duration<double>(now - start_).count();
    std::string line;
    if (p.fraction >= 0) {
      line = fmt::format("replay: {} {:5.1f} % ({} packets, {:.1f} s", reading_,
                         p.fraction * 100.0, p.packets, secs);
      // A second's worth of reading first, so the estimate has a rate.
      if (!p.done && p.fraction > 0 && p.fraction < 1 && secs >= 1) {
        line += fmt::format(", about {:.0f} s left",
                            secs * (1 - p.fraction) / p.fraction);
      }
      line += ")";
    } else {
      line = fmt::format("replay: {} {} packets, {:.1f} s", reading_, p.packets,
                         secs);
    }
    Print(line);
  }
  void Clear() { Print(""); }

 private:
  void Print(const std::string& line) {
    // Pad over what the previous update left on the line.
    const size_t pad = width_ > line.size() ? width_ - line.size() : 0;
    fmt::print(stderr, "\r{}{:{}}", line, "", pad);
    if (line.empty()) {
      fmt::print(stderr, "\r");
    }
    width_ = line.size();
    std::fflush(stderr);
  }

  const std::string reading_;
  const std::chrono::steady_clock::time_point start_ =
      std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
  size_t width_ = 0;
};

int RunReplayCommand(const ReplayFlags& f) {
  if (!f.json && !f.compare_kernel &&
      !AtMostOneList({{"--dump", f.dump},
                      {"--verdicts", f.verdicts},
                      {"--events", f.events},
                      {"--timeline", !f.timeline.empty()}})) {
    return kExitUsage;
  }
  // With --compare-kernel, 1 means "differ": errors are a comparison's.
  const ExitCodes& exits = f.compare_kernel ? kCompareExit : kToolExit;
  const bool live = f.live;
  Tunables t;
  if (!LoadSettings(f.settings, &t)) return exits.error;
  if (!live && (!f.duration.empty() || f.count != 0)) {
    return UsageError(
        "--duration and --count apply to a live capture (-i INTERFACE)");
  }
  if (f.compare_kernel && (live || f.capture == "-")) {
    return UsageError(
        "--compare-kernel needs a capture file (the kernel replays it too); "
        "save the traffic first");
  }
  LiveCaptureOptions live_opts;
  live_opts.interface = f.capture;
  live_opts.count = f.count;
  live_opts.stop = &g_stop;
  if (!f.duration.empty()) {
    auto d = ParseDuration(f.duration);
    if (!d) {
      return UsageError(fmt::format("bad --duration '{}': {}", f.duration,
                                    d.error().message));
    }
    live_opts.duration_ns = *d;
  }

  // --compare-kernel collects what a diff needs and prints only the diff.
  bool to_json = f.json || f.compare_kernel;
  bool want_verdicts = f.verdicts || f.compare_kernel;
  bool want_dump = f.dump || f.compare_kernel;
  std::vector<std::string> verdict_lines;
  Json event_json = f.events ? Json::array() : Json();
  ReplayOptions opts;
  opts.tunables = t;
  if (!LoadZoneMap(f.zone_map, &opts.zone_map)) return exits.error;
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
      return UsageError(fmt::format("bad --timeline interval '{}': {}",
                                    f.timeline, interval.error().message));
    }
    opts.timeline_interval_ns = *interval;
  }
  opts.fine_curve = !f.html.empty();
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
  ProgressLine line(live ? "capturing on " + f.capture + ":" : "reading");
  if (progress) {
    opts.on_progress = [&line](const ReplayProgress& p) { line.Update(p); };
  }
  std::unique_ptr<Engine> engine;
  Result<ReplayReport> report = fail(Error::io(""));
  if (live || f.capture == "-") {
    // Read once, until the end, the count, the duration or a signal.
    StopSignals signals;
    if (live) {
      // Said once capturing, as tcpdump says "listening on".
      auto open_live = [&live_opts] {
        auto r = CaptureReader::OpenLive(live_opts);
        if (r) {
          fmt::print(stderr,
                     "replay: capturing on {}; Ctrl-C ends it with the "
                     "report\n",
                     live_opts.interface);
        }
        return r;
      };
      report = RunReplay(open_live, "interface " + f.capture, opts, &engine);
    } else {
      report = RunReplay([] { return CaptureReader::Open("-", &g_stop); }, "-",
                         opts, &engine);
    }
  } else {
    report = RunReplay(f.capture, opts, &engine);
  }
  if (progress) line.Clear();
  if (!report) return Fail(report.error(), exits);
  // The dump is taken as `conntrack -L` right after the last packet.
  Json dump_json;
  if (want_dump && to_json) {
    dump_json = Json::array();
    engine->Dump(report->last_ts_ns, [&](const FlowInfo& info) {
      dump_json.push_back(
          FlowToJson(info, DumpTimeoutSeconds(info), report->last_ts_ns));
    });
  }
  if (to_json) {
    // A list that was asked for is present even when empty (no packets, no
    // events), so readers need not special-case a missing key.
    Json doc = ReplayToJson(*report, engine->tunables(),
                            want_verdicts ? &verdict_lines : nullptr,
                            event_json, dump_json);
    if (f.compare_kernel) {
      return CompareWithKernel(doc, f.capture, t, opts.zone_map, f.allow_global,
                               f.speed, f.tolerance, f.json);
    }
    fmt::print("{}", DumpJson(doc));
  } else {
    bool lists = f.dump || f.verdicts || f.events || !f.timeline.empty();
    if (!f.timeline.empty()) fmt::print("{}", RenderTimelineCsv(*report));
    if (want_dump) WriteTableDump(*engine, report->last_ts_ns, stdout);
    // With a list option stdout carries only the list (so it can be diffed);
    // without one, the summary.
    if (!lists) fmt::print("{}", RenderReplayText(*report, engine->tunables()));
  }
  if (!f.html.empty() &&
      !WriteHtmlReport(f.html, RenderReplayHtml(*report, engine->tunables()))) {
    return exits.error;
  }
  if (report->capture_dropped.value_or(0) != 0) {
    fmt::print(stderr,
               "ctkit: warning: the kernel dropped {} packets the capture did "
               "not keep up with; the report misses them\n",
               *report->capture_dropped);
  }
  if (report->read_error) {
    return Fail(
        {report->read_error->code,
         fmt::format("{} (reported the {} packets before it)",
                     report->read_error->message, report->packets_read)},
        exits);
  }
  if (g_stop_signal != 0) {
    fmt::print(stderr, "replay: ended by {} after {} packets\n",
               g_stop_signal == SIGINT ? "SIGINT" : "SIGTERM",
               report->packets_read);
  }
  return kExitOk;
}

}  // namespace

void RegisterReplay(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ReplayFlags>();
  CLI::App* cmd = app.add_subcommand(
      "replay",
      "Run a capture (pcap/pcapng, plain or gzip; - for standard input; or "
      "live traffic with -i) through the engine and report when and why the "
      "table fills");
  DocumentExitStatus(
      cmd,
      {{kExitOk,
        "the capture was replayed and reported (a standard-input or live "
        "replay ended by SIGINT or SIGTERM too); with --compare-kernel: "
        "ctkit and the kernel agree"},
       {kExitFailure,
        "a setting or the capture was bad (what was read before a bad "
        "packet record is still reported); with --compare-kernel: ctkit and "
        "the kernel differ"},
       {kExitUsage, "the command line was wrong", true},
       {kExitError,
        "with --compare-kernel: a setting or the capture was bad, the kernel "
        "run failed (e.g. not root) or the two could not be compared"}});
  // -i is a flag that makes CAPTURE an interface name, so that the
  // positional stays required: CLI11 then keeps the last argument for it
  // after a list option (`--sysctl a=1 b=2 capture.pcap`).
  cmd->add_option("capture", flags->capture,
                  "capture file (pcap/pcapng, plain or gzip), - for standard "
                  "input, or with -i an interface")
      ->required()
      ->type_name("FILE");
  cmd->add_flag("-i,--interface", flags->live,
                "run the engine on the live traffic of the interface named "
                "by CAPTURE (libpcap; nothing changes in the kernel); ends at "
                "--duration, --count or Ctrl-C");
  cmd->add_option("--duration", flags->duration,
                  "with -i: capture for this long (e.g. 30s, 5m)");
  cmd->add_option("--count", flags->count,
                  "with -i: stop after this many packets")
      ->check(CLI::PositiveNumber);
  AddSettingsFlags(cmd, &flags->settings);
  AddZoneMapFlag(cmd, &flags->zone_map);
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
  cmd->add_option("--html", flags->html, kHtmlHelp)->type_name("FILE");
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
