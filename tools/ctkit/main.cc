// ctkit: the thin command-line front end over the ctkit library. Each
// subcommand is registered from its own file (command.h); this file parses
// the command line and turns CLI11's exceptions into exit codes. main()
// itself only guards Run(): building the command tree allocates too, and
// nothing may escape as an abort.
#include <cstdio>
#include <exception>
#include <new>
#include <string_view>
#include <vector>

#include "tools/ctkit/command.h"
#include "tools/ctkit/version.h"

namespace {

int Run(int argc, char** argv) {
  CLI::App app{
      "ctkit: Linux nf_conntrack rebuilt in userspace, and the tools around "
      "it",
      "ctkit"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "ctkit " CTKIT_VERSION,
                       "Print the version and exit");
  int exit_code = ctkit::cli::kExitOk;
  for (ctkit::cli::RegisterFn reg :
       {&ctkit::cli::RegisterReplay, &ctkit::cli::RegisterGen,
        &ctkit::cli::RegisterBench, &ctkit::cli::RegisterKernelReplay,
        &ctkit::cli::RegisterDiff, &ctkit::cli::RegisterWhatif,
        &ctkit::cli::RegisterPlan, &ctkit::cli::RegisterDoctor,
        &ctkit::cli::RegisterExporter, &ctkit::cli::RegisterHistory,
        &ctkit::cli::RegisterTop}) {
    reg(app, &exit_code);
  }
  ctkit::cli::RegisterGenerateDocs(app, &exit_code);
  // The codes every command shares; a command whose codes mean more
  // documents its own when it registers.
  const std::vector<ctkit::cli::ExitStatusDoc> shared = {
      {ctkit::cli::kExitOk, "success"},
      {ctkit::cli::kExitFailure,
       "the input (a capture, a file, a setting) was bad or an operation "
       "failed; the error is on stderr"},
      {ctkit::cli::kExitUsage, "the command line was wrong", true}};
  ctkit::cli::DocumentExitStatus(&app, shared);
  for (CLI::App* cmd : app.get_subcommands({})) {
    if (ctkit::cli::DocumentedExitStatus(*cmd).empty()) {
      ctkit::cli::DocumentExitStatus(cmd, shared);
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    if (rc == 0) return 0;
    // `doctor` is a monitoring check: bad arguments are UNKNOWN (its
    // documented usage code), with the status line a monitoring system shows.
    if (argc > 1 && std::string_view(argv[1]) == "doctor") {
      bool json = false;
      for (int i = 2; i < argc; ++i)
        json |= std::string_view(argv[i]) == "--json";
      if (!json)
        std::printf("CONNTRACK UNKNOWN - bad argument: %s\n", e.what());
    }
    return ctkit::cli::UsageExitCode(app);
  } catch (const std::bad_alloc&) {
    // E.g. a large nf_conntrack_max with acct/timestamp extensions under a
    // memory limit: fail with the usual one-line error, not an abort.
    ctkit::cli::PrintError("out of memory");
    return ctkit::cli::kExitFailure;
  } catch (const std::exception& e) {
    ctkit::cli::PrintError(e.what());
    return ctkit::cli::kExitFailure;
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (...) {
    // Out of memory before the commands were registered, or an error while
    // printing an error: the plainest message, with no formatting to throw.
    std::fputs("ctkit: error: internal failure (out of memory?)\n", stderr);
    return ctkit::cli::kExitFailure;
  }
}
