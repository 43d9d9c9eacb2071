// `ctkit diff A.json B.json`: compare two replay results (engine or kernel)
// packet by packet, entry by entry and counter by counter. Exit 0 when they
// agree, 1 when they differ, 2 on bad usage, 3 on input that cannot be
// read or is not two results of the same capture (CheckDiffInputs): a
// comparison's codes (exit_status.h).
#include "kernel/diff.h"

#include <fmt/format.h>

#include <fstream>
#include <memory>
#include <string>

#include "tools/ctkit/command.h"

namespace ctkit::cli {
namespace {

struct DiffFlags {
  std::string a, b;
  uint32_t tolerance = 2;
  bool no_stats = false;
  bool json = false;
};

[[nodiscard]] Result<nlohmann::json> Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail(Error::io("cannot open " + path));
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) {
    return fail(Error::corrupt(path + ": not a JSON document"));
  }
  return j;
}

int RunDiff(const DiffFlags& f) {
  auto a = Load(f.a);
  auto b = a ? Load(f.b) : a;
  if (!a || !b) {
    return Fail(!a ? a.error() : b.error(), kCompareExit);
  }
  if (auto c = CheckDiffInputs(*a, f.a, *b, f.b); !c) {
    return Fail(c.error(), kCompareExit);
  }
  DiffOptions o;
  o.timeout_tolerance_s = f.tolerance;
  o.stats = !f.no_stats;
  auto d = DiffReplays(*a, *b, o);
  if (!d) {
    return Fail(d.error(), kCompareExit);
  }
  if (f.json) {
    fmt::print("{}", DumpJson(DiffToJson(*d)));
  } else {
    fmt::print("{}", RenderDiff(*d, f.a, f.b));
  }
  return d->agree() ? kExitOk : kExitFailure;
}

}  // namespace

void RegisterDiff(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<DiffFlags>();
  CLI::App* cmd = app.add_subcommand(
      "diff",
      "Compare two replay results (ctkit replay --json, ctkit kernel-replay "
      "--json): verdicts, entries, counters");
  DocumentExitStatus(
      cmd, {{kExitOk, "the two results agree"},
            {kExitFailure, "they differ"},
            {kExitUsage, "the command line was wrong", true},
            {kExitError,
             "a result could not be read or compared (not a result, or not "
             "of the same capture)"}});
  cmd->add_option("a", flags->a, "first result (JSON)")
      ->required()
      ->type_name("FILE");
  cmd->add_option("b", flags->b, "second result (JSON)")
      ->required()
      ->type_name("FILE");
  cmd->add_option("--timeout-tolerance", flags->tolerance,
                  "seconds by which entry timeouts may differ (default 2)");
  cmd->add_flag("--no-stats", flags->no_stats, "do not compare the counters");
  cmd->add_flag("--json", flags->json, "the comparison as JSON");
  cmd->callback([flags, exit_code] { *exit_code = RunDiff(*flags); });
}

}  // namespace ctkit::cli
