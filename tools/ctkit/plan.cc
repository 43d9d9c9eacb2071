// `ctkit plan --memory SIZE`: recommend nf_conntrack_max, buckets and
// timeouts for a memory budget and an expected load (a rate and mix, or a
// capture to replay), and compare with the kernel's and kube-proxy's sizing.
// Parses flags, reads this host's RAM and CPU count as defaults, calls the
// library (src/plan/sizing.h), prints.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "plan/sizing_html.h"
#include "plan/sizing_output.h"
#include "plan/units.h"
#include "tools/ctkit/command.h"
#include "tools/ctkit/html_report.h"
#include "tools/ctkit/settings.h"

namespace ctkit::cli {
namespace {

struct PlanFlags {
  std::string memory;
  uint64_t cpus = 0;
  std::string ram;
  double rate = 0;
  const CLI::Option* rate_option = nullptr;  ///< to tell --rate 0 from none
  std::string mix;
  std::string session;
  std::string capture;
  double headroom = 1.5;
  bool extensions = false;
  std::vector<std::string> floors;
  SettingsFlags settings;
  bool json = false;
  std::string html;
};

int RunPlanCommand(const PlanFlags& f) {
  PlanInput in;
  auto budget = ParseSize(f.memory);
  if (!budget) return UsageError("--memory: " + budget.error().message);
  in.budget_bytes = *budget;
  if (!LoadSettings(f.settings, &in.tunables)) return kExitFailure;

  if (f.ram.empty()) {
    long pages = sysconf(_SC_PHYS_PAGES);
    long page = sysconf(_SC_PAGESIZE);
    in.ram_bytes = pages > 0 && page > 0 ? static_cast<uint64_t>(pages) *
                                               static_cast<uint64_t>(page)
                                         : 0;
  } else {
    auto ram = ParseSize(f.ram);
    if (!ram) return UsageError("--ram: " + ram.error().message);
    in.ram_bytes = *ram;
  }
  if (f.cpus != 0) {
    in.cpus = f.cpus;
  } else {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    in.cpus = n > 0 ? static_cast<uint64_t>(n) : 1;
  }
  if (f.rate_option != nullptr && f.rate_option->count() > 0) in.rate = f.rate;
  if (!f.mix.empty()) {
    if (!in.rate) return UsageError("--mix needs --rate");
    auto mix = ParseMix(f.mix);
    if (!mix) return UsageError(mix.error().message);
    in.mix = *mix;
  }
  if (!f.session.empty()) {
    auto d = ParseDuration(f.session);
    if (!d) {
      return UsageError("--tcp-session '" + f.session +
                        "': " + d.error().message);
    }
    in.tcp_session_s = static_cast<double>(*d) * 1e-9;
  }
  in.headroom = f.headroom;
  in.extensions = f.extensions;
  for (const std::string& text : f.floors) {
    auto floor = ParseTimeoutFloor(text);
    if (!floor) return UsageError(floor.error().message);
    SetTimeoutFloor(&in.floors, std::move(*floor));
  }
  if (!f.capture.empty()) {
    auto load = MeasureCapture(f.capture, in.tunables);
    if (!load) return Fail(load.error());
    in.measured_peak = load->peak;
    in.capture = f.capture;
    in.load = std::move(*load);
  }
  auto plan = MakePlan(in);
  // No table fits the budget: the --memory given is wrong (2).
  if (!plan) return UsageError(plan.error().message);
  if (f.json) {
    fmt::print("{}", DumpJson(PlanToJson(*plan)));
  } else {
    fmt::print("{}", RenderPlanText(*plan));
  }
  if (!f.html.empty() && !WriteHtmlReport(f.html, RenderPlanHtml(*plan))) {
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

void RegisterPlan(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<PlanFlags>();
  CLI::App* cmd = app.add_subcommand(
      "plan",
      "Recommend nf_conntrack_max, buckets and timeouts for a memory budget "
      "and an expected load; compare with the kernel's and kube-proxy's "
      "sizing");
  cmd->add_option("--memory", flags->memory,
                  "memory budget for the conntrack table: 512M, 4G, 4GiB, "
                  "bytes")
      ->required();
  cmd->add_option("--cpus", flags->cpus,
                  "CPUs, for kube-proxy's formula (default: this host's)");
  cmd->add_option("--ram", flags->ram,
                  "host RAM, for the kernel's default sizing (default: this "
                  "host's)");
  flags->rate_option =
      cmd->add_option("--rate", flags->rate, "expected new flows per second");
  cmd->add_option("--mix", flags->mix,
                  "shares of the new flows, e.g. tcp=70,udp=25,icmp=5 "
                  "(default tcp=100)");
  cmd->add_option("--tcp-session", flags->session,
                  "mean TCP session length before the close, e.g. 2s "
                  "(default 0: short sessions)");
  cmd->add_option("--capture", flags->capture,
                  "measure the peak entries by replaying this capture with no "
                  "limit")
      ->type_name("FILE");
  cmd->add_option("--headroom", flags->headroom,
                  "spare capacity factor on top of the expected entries "
                  "(default 1.5)");
  cmd->add_flag("--extensions", flags->extensions,
                "entries carry the 128 B extension block (acct, timestamp, or "
                "an event listener such as conntrackd)");
  cmd->add_option("--timeout-floor", flags->floors,
                  "NAME=SECONDS: never suggest this timeout below SECONDS "
                  "(repeatable; replaces the default floor of that timeout)");
  AddSettingsFlags(cmd, &flags->settings);
  cmd->add_flag("--json", flags->json, "the plan as one JSON document");
  cmd->add_option("--html", flags->html, kHtmlHelp)->type_name("FILE");
  cmd->callback([flags, exit_code] { *exit_code = RunPlanCommand(*flags); });
}

}  // namespace ctkit::cli
