// `ctkit doctor`: read a host (live, another network namespace, or a saved
// tree under --root), explain why its conntrack table is or would be full,
// and optionally apply and roll back the fixes. All the judgement is in the
// host library (findings.cc); this file wires flags to it, asks for
// confirmation, and maps the overall severity to monitoring-plugin exit
// codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN). Every failure of the
// command itself is UNKNOWN (a check's codes, exit_status.h): never 1 or 2,
// which a monitoring system would read as a finding.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "host/apply.h"
#include "host/doctor_html.h"
#include "host/doctor_report.h"
#include "host/findings.h"
#include "host/host_data.h"
#include "host/host_view.h"
#include "host/tar_writer.h"
#include "kernel/ctnetlink.h"
#include "report/json_doc.h"
#include "tools/ctkit/command.h"
#include "tools/ctkit/html_report.h"
#include "tools/ctkit/settings.h"
#include "watch/history_query.h"

namespace ctkit::cli {
namespace {

struct DoctorFlags {
  std::string root;
  std::string netns;
  std::string collect;
  std::string persist_root;
  bool json = false;
  std::string html;
  std::string history;
  bool apply = false;
  bool rollback = false;
  bool yes = false;
  bool runtime_only = false;
  std::string log_window = "1h";
  Thresholds t;
};

constexpr int kExitUnknown = kCheckExit.error;

// A check command's bad arguments are UNKNOWN (3), as monitoring plugins
// report them: the status line on stdout (what Nagios shows), the error on
// stderr, nothing else.
int BadArgument(const DoctorFlags& f, const std::string& msg) {
  if (!f.json) fmt::print("CONNTRACK UNKNOWN - bad argument: {}\n", msg);
  return UsageError(msg, kCheckExit);
}

// Every option's range and the combinations that make no sense; "" if
// all is well. Also converts --log-window into the thresholds.
std::string Validate(DoctorFlags* f) {
  auto pct = [](const char* name, double v) -> std::string {
    if (!(v >= 0 && v <= 100))
      return fmt::format("{} {} is not a percentage in 0..100", name, v);
    return "";
  };
  const Thresholds& t = f->t;
  for (auto [name, v] :
       {std::pair<const char*, double>{"--warn-fill", t.warn_fill_pct},
        {"--crit-fill", t.crit_fill_pct},
        {"--majority", t.majority_pct},
        {"--dominate", t.dominate_pct},
        {"--mem-warn", t.mem_warn_pct},
        {"--mem-crit", t.mem_crit_pct}}) {
    if (auto e = pct(name, v); !e.empty()) return e;
  }
  if (t.warn_fill_pct > t.crit_fill_pct) {
    return fmt::format("--warn-fill {} is above --crit-fill {}",
                       t.warn_fill_pct, t.crit_fill_pct);
  }
  if (t.mem_crit_pct > t.mem_warn_pct) {
    return fmt::format(
        "--mem-crit {} is above --mem-warn {} (both are 'MemAvailable below')",
        t.mem_crit_pct, t.mem_warn_pct);
  }
  auto w = ParseDuration(f->log_window);
  if (!w) {
    return fmt::format("--log-window '{}': {}", f->log_window,
                       w.error().message);
  }
  f->t.recent_log_s = static_cast<double>(*w) / 1e9;
  if (f->apply && f->rollback)
    return "--apply and --rollback cannot be combined: roll back first";
  if (!f->netns.empty() && !f->root.empty()) {
    return "--netns reads a live namespace and --root a saved tree: use one";
  }
  for (auto [name, dir] :
       {std::pair<const char*, const std::string*>{"--root", &f->root},
        {"--persist-root", &f->persist_root}}) {
    if (dir->empty()) continue;
    struct stat st {};
    if (stat(dir->c_str(), &st) != 0)
      return fmt::format("{} {}: {}", name, *dir, std::strerror(errno));
    if (!S_ISDIR(st.st_mode))
      return fmt::format("{} {}: not a directory", name, *dir);
  }
  return "";
}

// Whether the user confirmed the changes; if not, why not.
[[nodiscard]] Result<void> Confirm(bool yes) {
  if (yes) return {};
  if (!isatty(STDIN_FILENO)) {
    return fail(Error::invalid_argument(
        "nothing applied: confirm with --yes or run on a terminal"));
  }
  fmt::print(stderr, "Apply these changes? Type 'yes' to continue: ");
  std::string answer;
  std::getline(std::cin, answer);
  if (answer != "yes") {
    return fail(Error::invalid_argument("nothing applied: not confirmed"));
  }
  return {};
}

// Closes the --netns descriptor on every way out of RunDoctor.
struct FdCloser {
  explicit FdCloser(int f) : fd(f) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  int fd = -1;
  ~FdCloser() {
    if (fd >= 0) close(fd);
  }
};

int RunDoctor(DoctorFlags& f) {
  if (std::string bad = Validate(&f); !bad.empty()) return BadArgument(f, bad);
  int netns_fd = -1;
  if (!f.netns.empty()) {
    std::string path = f.netns.find('/') == std::string::npos
                           ? "/var/run/netns/" + f.netns
                           : f.netns;
    netns_fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (netns_fd < 0) {
      return BadArgument(
          f, fmt::format("--netns {}: {}", path, std::strerror(errno)));
    }
  }
  FdCloser netns_closer{netns_fd};
  ApplyOptions ao;
  ao.netns_fd = netns_fd;
  ao.persistent = !f.runtime_only;
  ao.runtime_root = f.root;
  ao.persist_root = f.root.empty() ? f.persist_root : f.root;

  if (f.rollback) {
    auto done = Rollback(ao);
    if (!done) return Fail(done.error(), kCheckExit);
    for (const auto& l : *done) fmt::print("{}\n", l);
    return kExitOk;
  }

  std::unique_ptr<HostView> base =
      f.root.empty()
          ? NewLiveHostView([] { return CtnetlinkClient::Open(); }, netns_fd)
          : NewRootHostView(f.root);
  // The table is kept in memory only to be saved by --collect; otherwise
  // it streams through the digest.
  RecordingHostView view(base.get(), /*keep_table=*/!f.collect.empty());
  HostData d = Collect(view);
  Diagnosis g = Diagnose(d, f.t);

  if (!f.collect.empty()) {
    auto r = WriteTarGz(f.collect, view.files(),
                        static_cast<uint64_t>(std::time(nullptr)));
    if (!r) return Fail(r.error(), kCheckExit);
    fmt::print(stderr,
               "ctkit: saved {} files read to {} (extract it and run "
               "`ctkit doctor --root DIR`)\n",
               view.files().size(), f.collect);
  }
  // The flight recorder's account (--history): read before anything is
  // printed, so the report carries it; a file that cannot be read is said
  // on stderr and makes the status UNKNOWN, after the report.
  std::optional<watch::HistoryAnswer> history;
  bool history_failed = false;
  if (!f.history.empty()) {
    auto answer = watch::QueryHistory(f.history, watch::HistoryQuery{});
    if (answer) {
      history = std::move(*answer);
    } else {
      PrintError(answer.error().message);
      history_failed = true;
    }
  }
  if (f.json) {
    std::string doc = FormatDoctorJson(d, g, LocalMoment().unix_ns);
    if (history) {
      nlohmann::json j = nlohmann::json::parse(doc);
      j["history"] = watch::HistoryToJson(*history);
      doc = DumpJson(j);
    }
    std::fputs(doc.c_str(), stdout);
  } else {
    std::fputs(FormatDoctorText(d, g).c_str(), stdout);
    if (history) {
      fmt::print("\nThe flight recorder ({}):\n", f.history);
      for (const std::string& line : watch::HistoryFindingLines(*history)) {
        fmt::print("  {}\n", line);
      }
    }
  }
  if (!f.html.empty() &&
      !WriteHtmlReport(f.html,
                       RenderDoctorHtml(d, g,
                                        history ? watch::RenderHistory(*history)
                                                : std::string()))) {
    return kCheckExit.error;
  }
  if (history_failed) return kCheckExit.error;

  if (f.apply) {
    std::fflush(stdout);
    if (g.changes.empty()) {
      fmt::print(stderr, "ctkit: --apply: nothing to change\n");
    } else {
      auto plan = PlanApply(g.changes, d, ao);
      if (!plan) return Fail(plan.error(), kCheckExit);
      fmt::print(stderr, "\nctkit doctor --apply will make these changes:\n{}",
                 DescribePlan(*plan));
      if (auto yes = Confirm(f.yes); !yes) return Fail(yes.error(), kCheckExit);
      auto r = ExecuteApply(*plan, ao);
      if (!r) return Fail(r.error(), kCheckExit);
      fmt::print(stderr,
                 "ctkit: applied; `ctkit doctor --rollback{}` restores the "
                 "previous state\n",
                 f.root.empty() ? (f.persist_root.empty()
                                       ? std::string()
                                       : " --persist-root " + f.persist_root)
                                : " --root " + f.root);
    }
  }
  return static_cast<int>(g.status);
}

}  // namespace

void RegisterDoctor(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<DoctorFlags>();
  CLI::App* cmd = app.add_subcommand(
      "doctor",
      "Diagnose why the conntrack table is (or will be) full, with evidence "
      "and fixes");
  // Monitoring-plugin (Nagios) codes: the overall severity of the findings.
  DocumentExitStatus(
      cmd, {{kExitOk, "OK: no finding needs attention"},
            {1, "WARNING: the worst finding is a warning"},
            {2, "CRITICAL: a finding is critical"},
            {kExitUnknown,
             "UNKNOWN: the table's count or maximum could not be read, or a "
             "source was refused for lack of privileges (and nothing is "
             "critical); or doctor itself failed: the command line was wrong, "
             "the --netns namespace could not be opened, --collect could not "
             "write its file, --html could not write its page, the --history "
             "file could not be read, --apply or --rollback failed or --apply "
             "was not "
             "confirmed (one line on stderr says why)",
             true}});
  cmd->add_option("--root", f->root,
                  "read a saved tree under DIR (its /proc, /sys, /dev/kmsg, "
                  "ctkit/conntrack-L.txt) instead of the live host; --apply "
                  "and --rollback write under DIR")
      ->type_name("DIR");
  cmd->add_option("--netns", f->netns,
                  "diagnose (and set per-netns sysctls in) this network "
                  "namespace: a name under /var/run/netns or a path");
  cmd->add_option("--collect", f->collect,
                  "save exactly what was read to FILE.tar.gz")
      ->type_name("FILE");
  cmd->add_flag("--json", f->json, "print the report as JSON");
  cmd->add_option("--html", f->html, kHtmlHelp)->type_name("FILE");
  cmd->add_option("--history", f->history,
                  "the flight recorder's file (`exporter --history`): say "
                  "when the table was full or above 90 %, the drops, and "
                  "what held it")
      ->type_name("FILE");
  cmd->add_flag("--apply", f->apply,
                "write the fixes: runtime sysctls, /etc/sysctl.d, hashsize");
  cmd->add_flag("--yes", f->yes, "apply without asking");
  cmd->add_flag("--runtime-only", f->runtime_only,
                "with --apply: do not write persistent files");
  cmd->add_option("--persist-root", f->persist_root,
                  "write /etc files and the rollback state under DIR (runtime "
                  "values still go to the live host)")
      ->type_name("DIR");
  cmd->add_flag("--rollback", f->rollback,
                "restore everything the last --apply changed");
  cmd->add_option("--warn-fill", f->t.warn_fill_pct,
                  "WARNING when the count is above this % of "
                  "nf_conntrack_max (0..100, at most --crit-fill)")
      ->capture_default_str();
  cmd->add_option("--crit-fill", f->t.crit_fill_pct,
                  "CRITICAL when the count is above this % of "
                  "nf_conntrack_max (0..100)")
      ->capture_default_str();
  cmd->add_option("--log-window", f->log_window,
                  "a 'table full' kernel log line of this namespace younger "
                  "than this (1h, 30m, 600s) is a WARNING even when the table "
                  "has room; older ones are history")
      ->capture_default_str();
  cmd->add_option("--majority", f->t.majority_pct,
                  "% of entries in one state that makes a majority finding")
      ->capture_default_str();
  cmd->add_option("--dominate", f->t.dominate_pct,
                  "% of entries from one source that dominates")
      ->capture_default_str();
  cmd->add_option("--mem-warn", f->t.mem_warn_pct,
                  "WARNING when MemAvailable is below this % of MemTotal")
      ->capture_default_str();
  cmd->add_option("--mem-crit", f->t.mem_crit_pct,
                  "CRITICAL when MemAvailable is below this % of MemTotal")
      ->capture_default_str();
  cmd->add_option("--min-entries", f->t.min_entries,
                  "table size below which composition findings stay quiet")
      ->capture_default_str();
  cmd->callback([f, exit_code] { *exit_code = RunDoctor(*f); });
  // Bad arguments CLI11 finds itself (not a number, unknown option) are
  // mapped to UNKNOWN (3) by main.cc for this subcommand.
}

}  // namespace ctkit::cli
