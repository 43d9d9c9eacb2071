// ctkit: the thin command-line front end over the ctkit library. Each
// subcommand is registered from its own file (command.h); this file parses
// the command line and turns CLI11's exceptions into exit codes.
#include <cstdio>

#include "tools/ctkit/command.h"

int main(int argc, char** argv) {
  CLI::App app{
      "ctkit: Linux nf_conntrack rebuilt in userspace, and the tools around "
      "it"};
  app.require_subcommand(1);
  int exit_code = ctkit::cli::kExitOk;
  for (ctkit::cli::RegisterFn reg :
       {&ctkit::cli::RegisterReplay, &ctkit::cli::RegisterGen,
        &ctkit::cli::RegisterBench}) {
    reg(app, &exit_code);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : ctkit::cli::kExitUsage;
  }
  return exit_code;
}
