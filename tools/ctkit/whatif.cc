// `ctkit whatif CAPTURE --vary NAME=V1,V2,...`: replay a capture under
// every combination of the given sysctl values (baseline first, in parallel)
// and compare drops, peak and kernel memory. Parses flags, calls the
// library (src/plan/whatif.h), prints. The capture is read once for all
// variants, so standard input ("-") works as a file does.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "plan/whatif_html.h"
#include "plan/whatif_output.h"
#include "tools/ctkit/command.h"
#include "tools/ctkit/html_report.h"
#include "tools/ctkit/settings.h"

namespace ctkit::cli {
namespace {

struct WhatifFlags {
  std::string capture;
  SettingsFlags settings;
  std::vector<std::string> vary;
  std::vector<std::string> adaptive;
  unsigned threads = 0;
  double min_saving_percent = 10;
  std::vector<std::string> floors;
  bool json = false;
  std::string html;
  bool no_progress = false;
};

int RunWhatifCommand(const WhatifFlags& f) {
  Tunables base;
  if (!LoadSettings(f.settings, &base)) return kExitFailure;
  if (f.vary.empty() && f.adaptive.empty()) {
    return UsageError(
        "nothing to compare: give --vary NAME=V1,V2,... (or --adaptive "
        "START%,END%)");
  }
  std::vector<VaryAxis> axes;
  for (const std::string& v : f.vary) {
    auto axis = ParseVary(v, base);
    if (!axis) return Fail(axis.error());
    for (const VaryAxis& a : axes) {
      if (a.name == axis->name) {
        return UsageError(fmt::format(
            "--vary {} given twice; list all its values in one --vary",
            a.name));
      }
    }
    axes.push_back(std::move(*axis));
  }
  std::vector<AdaptivePolicy> policies;
  for (const std::string& a : f.adaptive) {
    auto p = ParseAdaptive(a);
    if (!p) return Fail(p.error());
    policies.push_back(*p);
  }
  auto variants = ExpandVariants(base, axes, policies);
  if (!variants) return Fail(variants.error());

  WhatifOptions opts;
  opts.threads = f.threads;
  if (!(f.min_saving_percent >= 0 && f.min_saving_percent <= 100)) {
    return UsageError(
        fmt::format("--min-saving {}: expected a percentage from 0 to 100",
                    f.min_saving_percent));
  }
  opts.min_saving = f.min_saving_percent / 100.0;
  for (const std::string& text : f.floors) {
    auto floor = ParseTimeoutFloor(text);
    if (!floor) return UsageError(floor.error().message);
    SetTimeoutFloor(&opts.floors, std::move(*floor));
  }
  bool progress = !f.no_progress && isatty(STDERR_FILENO);
  if (progress) {
    const size_t n = variants->size();
    opts.on_progress = [n](const ReplayProgress& p) {
      if (p.fraction >= 0) {
        fmt::print(stderr, "\rwhatif: {} variants, reading {:5.1f} %", n,
                   p.fraction * 100.0);
      } else {
        fmt::print(stderr, "\rwhatif: {} variants, {} packets", n, p.packets);
      }
      std::fflush(stderr);
    };
  }
  opts.fine_curve = !f.html.empty();
  auto result = RunWhatif(f.capture, axes, *variants, opts);
  if (progress) fmt::print(stderr, "\r{:60}\r", "");
  if (!result) return Fail(result.error());
  if (f.json) {
    fmt::print("{}", DumpJson(WhatifToJson(*result)));
  } else {
    fmt::print("{}", RenderWhatifText(*result));
  }
  if (!f.html.empty() && !WriteHtmlReport(f.html, RenderWhatifHtml(*result))) {
    return kExitFailure;
  }
  if (result->read_error) {
    return Fail({result->read_error->code,
                 fmt::format("{} (compared the {} packets before it)",
                             result->read_error->message, result->packets)});
  }
  return kExitOk;
}

}  // namespace

void RegisterWhatif(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<WhatifFlags>();
  CLI::App* cmd = app.add_subcommand(
      "whatif",
      "Replay a capture under several settings (all combinations of --vary, "
      "baseline first) and compare drops, peak and kernel memory");
  cmd->add_option("capture", flags->capture,
                  "capture file (pcap/pcapng, plain or gzip), or - for "
                  "standard input")
      ->required()
      ->type_name("FILE");
  cmd->add_option("--vary", flags->vary,
                  "a sysctl and the values to try, e.g. "
                  "nf_conntrack_max=8192,16384,32768 (repeatable: the "
                  "variants are all combinations)");
  AddSettingsFlags(cmd, &flags->settings);
  cmd->add_option("--adaptive", flags->adaptive,
                  "also try ctkit's pf-style adaptive timeouts (NOT a Linux "
                  "feature) on the baseline: START%,END% of max, e.g. "
                  "60%,120%");
  cmd->add_option("--threads", flags->threads,
                  "replays in parallel (default: one per core); results do "
                  "not depend on it");
  cmd->add_option("--min-saving", flags->min_saving_percent,
                  "when the baseline has no drops, mark a variant only if it "
                  "saves at least this percentage of the baseline's kernel "
                  "memory at the peak (default 10)");
  cmd->add_option("--timeout-floor", flags->floors,
                  "NAME=SECONDS: never mark a variant with this timeout "
                  "below SECONDS (repeatable; replaces the default floor of "
                  "that timeout)");
  cmd->add_flag("--json", flags->json, "the comparison as one JSON document");
  cmd->add_option("--html", flags->html, kHtmlHelp)->type_name("FILE");
  cmd->add_flag("--no-progress", flags->no_progress,
                "no progress line on a terminal");
  cmd->callback([flags, exit_code] { *exit_code = RunWhatifCommand(*flags); });
}

}  // namespace ctkit::cli
