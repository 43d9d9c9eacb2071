// ctkit: the thin command-line front end over the ctkit library. Each
// subcommand is registered from its own file (command.h); this file parses
// the command line and turns CLI11's exceptions into exit codes.
#include <cstdio>
#include <exception>
#include <new>
#include <string_view>

#include "tools/ctkit/command.h"

int main(int argc, char** argv) {
  CLI::App app{
      "ctkit: Linux nf_conntrack rebuilt in userspace, and the tools around "
      "it"};
  app.require_subcommand(1);
  int exit_code = ctkit::cli::kExitOk;
  for (ctkit::cli::RegisterFn reg :
       {&ctkit::cli::RegisterReplay, &ctkit::cli::RegisterGen,
        &ctkit::cli::RegisterBench, &ctkit::cli::RegisterKernelReplay,
        &ctkit::cli::RegisterDiff, &ctkit::cli::RegisterWhatif,
        &ctkit::cli::RegisterPlan, &ctkit::cli::RegisterDoctor}) {
    reg(app, &exit_code);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    if (rc == 0) return 0;
    // `doctor` is a monitoring check: bad arguments are UNKNOWN (3), with
    // the status line a monitoring system shows.
    if (argc > 1 && std::string_view(argv[1]) == "doctor") {
      bool json = false;
      for (int i = 2; i < argc; ++i)
        json |= std::string_view(argv[i]) == "--json";
      if (!json)
        std::printf("CONNTRACK UNKNOWN - bad argument: %s\n", e.what());
      return 3;
    }
    return ctkit::cli::kExitUsage;
  } catch (const std::bad_alloc&) {
    // E.g. a large nf_conntrack_max with acct/timestamp extensions under a
    // memory limit: fail with the usual one-line error, not an abort.
    std::fprintf(stderr, "ctkit: error: out of memory\n");
    return ctkit::cli::kExitFailure;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ctkit: error: %s\n", e.what());
    return ctkit::cli::kExitFailure;
  }
  return exit_code;
}
