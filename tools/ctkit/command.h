// The CLI's subcommand table. Each subcommand lives in its own file and
// registers itself on the CLI11 app; main.cc only parses and dispatches.
#ifndef CTKIT_TOOLS_COMMAND_H_
#define CTKIT_TOOLS_COMMAND_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ctkit/tunables.h"
#include "replay/zone_map.h"
#include "tools/ctkit/exit_status.h"

namespace ctkit::cli {

/// One exit code of a command and what it means.
struct ExitStatusDoc {
  int code;
  std::string meaning;
  /// The code a command line that cannot be parsed exits with (default
  /// kExitUsage; a monitoring check says UNKNOWN instead).
  bool usage = false;
};

/// Documents the exit codes of `cmd` (a subcommand, or the app for the
/// codes every command shares): they close its --help and make the EXIT
/// STATUS section of its man page. One home for them: the file that
/// registers the command.
void DocumentExitStatus(CLI::App* cmd, std::vector<ExitStatusDoc> codes);

/// The exit codes `cmd` documented, or none.
const std::vector<ExitStatusDoc>& DocumentedExitStatus(const CLI::App& cmd);

/// The exit code for a command line `app` could not parse: the one the
/// subcommand it had reached documents as `usage`, else kExitUsage.
int UsageExitCode(const CLI::App& app);

/// Adds a subcommand to `app`. When the user runs it, its callback stores
/// the subcommand's exit code in *exit_code.
using RegisterFn = void (*)(CLI::App& app, int* exit_code);

void RegisterReplay(CLI::App& app, int* exit_code);
void RegisterGen(CLI::App& app, int* exit_code);
void RegisterBench(CLI::App& app, int* exit_code);
void RegisterKernelReplay(CLI::App& app, int* exit_code);
void RegisterDiff(CLI::App& app, int* exit_code);

/// `ctkit replay --compare-kernel`: runs the capture through the kernel with
/// the settings the engine ran with (every one that differs from the
/// kernel's default, from --sysctl and --sysctl-file alike) and prints the
/// diff against `engine_doc` (replay JSON with verdicts and entries) as
/// `ctkit diff` prints it (`json`: as `ctkit diff --json`).
/// Returns the exit code of a comparison (exit_status.h: 0 agree, 1
/// differ, 3 the kernel run or the comparison failed).
/// `zones` is the replay's zone map, set in the router by nft rules.
int CompareWithKernel(const nlohmann::json& engine_doc,
                      const std::string& capture, const Tunables& settings,
                      const ZoneMap& zones, bool allow_global, double speed,
                      uint32_t tolerance, bool json);
void RegisterWhatif(CLI::App& app, int* exit_code);
void RegisterPlan(CLI::App& app, int* exit_code);
void RegisterDoctor(CLI::App& app, int* exit_code);
void RegisterExporter(CLI::App& app, int* exit_code);
void RegisterTop(CLI::App& app, int* exit_code);
void RegisterHistory(CLI::App& app, int* exit_code);

/// The hidden `ctkit generate-docs --man-dir DIR --bash-completion FILE`,
/// run by the build: writes ctkit(1), a page per subcommand and the bash
/// completion script, all from `app`'s own definition (cli_docs.cc).
void RegisterGenerateDocs(CLI::App& app, int* exit_code);

}  // namespace ctkit::cli

#endif  // CTKIT_TOOLS_COMMAND_H_
