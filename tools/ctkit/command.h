// The CLI's subcommand table. Each subcommand lives in its own file and
// registers itself on the CLI11 app; main.cc only parses and dispatches.
#ifndef CTKIT_TOOLS_COMMAND_H_
#define CTKIT_TOOLS_COMMAND_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ctkit::cli {

/// Exit codes shared by all subcommands.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,  ///< the input was bad or an operation failed
  kExitUsage = 2,    ///< the command line was wrong
};

/// Adds a subcommand to `app`. When the user runs it, its callback stores
/// the subcommand's exit code in *exit_code.
using RegisterFn = void (*)(CLI::App& app, int* exit_code);

void RegisterReplay(CLI::App& app, int* exit_code);
void RegisterGen(CLI::App& app, int* exit_code);
void RegisterBench(CLI::App& app, int* exit_code);
void RegisterKernelReplay(CLI::App& app, int* exit_code);
void RegisterDiff(CLI::App& app, int* exit_code);

/// `ctkit replay --compare-kernel`: runs the capture through the kernel and
/// prints the diff against `engine_doc` (replay JSON with verdicts and
/// entries). Returns the exit code (0 agree, 1 differ, 2 could not run).
int CompareWithKernel(const nlohmann::json& engine_doc,
                      const std::string& capture,
                      const std::vector<std::string>& sysctls,
                      bool allow_global, double speed, uint32_t tolerance);
void RegisterWhatif(CLI::App& app, int* exit_code);
void RegisterPlan(CLI::App& app, int* exit_code);
void RegisterDoctor(CLI::App& app, int* exit_code);

}  // namespace ctkit::cli

#endif  // CTKIT_TOOLS_COMMAND_H_
