// `ctkit history FILE [--at TIME | --from TIME --to TIME] [--json]`: what
// the flight recorder (`exporter --history FILE`) saw. The answers are the
// watch layer's (watch/history_query.h); this file parses flags, reads the
// TIME arguments and picks the exit code: a file with torn or corrupt
// slots, or cut short, is still answered from its good part, and says so
// with exit 1, so a script notices the damage.
#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <string>

#include "tools/ctkit/command.h"
#include "watch/history_query.h"

namespace ctkit::cli {
namespace {

struct HistoryFlags {
  std::string file;
  std::string at, from, to;
  double window_s = 600;
  std::string netns;
  bool json = false;
};

int RunHistory(const HistoryFlags& f) {
  const double now = std::chrono::duration<double>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  watch::HistoryQuery q;
  q.netns = f.netns;
  if (!f.at.empty() && (!f.from.empty() || !f.to.empty())) {
    return UsageError("--at cannot be combined with --from or --to");
  }
  auto parse = [now](const std::string& flag, const std::string& text,
                     double* out) -> bool {
    Result<double> t = watch::ParseHistoryTime(text, now);
    if (!t) {
      (void)UsageError(flag + ": " + t.error().message);
      return false;
    }
    *out = *t;
    return true;
  };
  if (!f.at.empty()) {
    double at = 0;
    if (!parse("--at", f.at, &at)) return kExitUsage;
    q.from = at - f.window_s;
    q.to = at + f.window_s;
  }
  if (!f.from.empty() && !parse("--from", f.from, &q.from)) return kExitUsage;
  if (!f.to.empty() && !parse("--to", f.to, &q.to)) return kExitUsage;
  if (q.from > q.to) return UsageError("--from is after --to");
  Result<watch::HistoryAnswer> a = watch::QueryHistory(f.file, q);
  if (!a) return Fail(a.error(), ExitCodes{kExitError, kExitUsage});
  if (f.json) {
    fmt::print("{}\n", watch::HistoryToJson(*a).dump(2));
  } else {
    fmt::print("{}", watch::RenderHistory(*a));
  }
  return a->read.clean() ? kExitOk : kExitFailure;
}

}  // namespace

void RegisterHistory(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<HistoryFlags>();
  CLI::App* cmd = app.add_subcommand(
      "history",
      "What the flight recorder (ctkit exporter --history FILE) saw: when "
      "the table crossed 90 % and 100 % of nf_conntrack_max and came back, "
      "the intervals it was full, drops and their rate, what held the table "
      "at the peak, and the settings in force and their changes");
  DocumentExitStatus(
      cmd,
      {{kExitOk, "answered from an undamaged file"},
       {kExitFailure,
        "answered, but the file has torn or corrupt slots or is truncated "
        "(each is reported with its byte offset; the rest was read)"},
       {kExitUsage, "the command line was wrong (a TIME that does not parse)",
        true},
       {kExitError,
        "the file cannot be read or is not a ctkit history file (the error "
        "names the file and the field)"}});
  cmd->add_option("file", flags->file, "the history file")
      ->required()
      ->type_name("FILE");
  const std::string time_help =
      " (unix seconds, \"YYYY-MM-DD HH:MM[:SS]\", \"YYYY-MM-DD\" or "
      "\"HH:MM[:SS]\" today; local time, or UTC with a trailing Z)";
  cmd->add_option("--at", flags->at,
                  "the --window seconds either side of TIME" + time_help)
      ->type_name("TIME");
  cmd->add_option("--from", flags->from,
                  "from TIME (default: the oldest sample)" + time_help)
      ->type_name("TIME");
  cmd->add_option("--to", flags->to,
                  "to TIME (default: the newest sample)" + time_help)
      ->type_name("TIME");
  cmd->add_option("--window", flags->window_s,
                  "seconds either side of --at (default 600)")
      ->type_name("SECONDS")
      ->check(CLI::Range(1.0, 30.0 * 86400));
  cmd->add_option("--netns", flags->netns,
                  "only this namespace's samples (its label, as the "
                  "exporter's netns label)")
      ->type_name("LABEL");
  cmd->add_flag("--json", flags->json, "the answers as JSON");
  cmd->callback([flags, exit_code] { *exit_code = RunHistory(*flags); });
}

}  // namespace ctkit::cli
