// The exit codes of every ctkit command, in one table, and the one way a
// command turns an Error into a line on stderr and one of those codes.
//
// A command is one of three kinds, and its kind says what each code means:
//
//   code  tool (replay, gen, bench,   comparison (diff,        check (doctor, a
//         kernel-replay, whatif,      replay --compare-        monitoring
//         plugin) plan)                       kernel)
//   0     success                     the two agree            OK
//   1     an error: bad input or      they differ              WARNING
//         an operation that failed
//   2     the command line was wrong  the command line was     CRITICAL
//                                     wrong
//   3     -                           an error: an input or    UNKNOWN: every
//                                     the kernel run failed    error, and a
//                                     wrong
//                                                              command line
//
// A comparison's 1 is "differ" (diff(1), cmp(1)), so its errors cannot be 1;
// they are 3, never 2, which a script reads as "fix the command line". A
// check's every failure is UNKNOWN (3): a monitoring system must not read a
// failed run as a finding (the Monitoring Plugins guidelines). Each command
// documents its codes with DocumentExitStatus (command.h), which puts them
// in its --help and its man page.
#ifndef CTKIT_TOOLS_EXIT_STATUS_H_
#define CTKIT_TOOLS_EXIT_STATUS_H_

#include <string_view>

#include "ctkit/result.h"

namespace ctkit::cli {

/// The codes by number; what each means depends on the kind (above).
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,  ///< a tool's error; a comparison's "differ"; WARNING
  kExitUsage = 2,    ///< the command line was wrong (a check: CRITICAL)
  kExitError = 3,    ///< a comparison's error; a check's UNKNOWN
};

/// One column of the table: the codes a kind of command fails with.
struct ExitCodes {
  int error;  ///< an Error: bad input, or an operation that failed
  int usage;  ///< a command line that cannot be parsed or a bad flag value
};

inline constexpr ExitCodes kToolExit{kExitFailure, kExitUsage};
inline constexpr ExitCodes kCompareExit{kExitError, kExitUsage};
inline constexpr ExitCodes kCheckExit{kExitError, kExitError};

/// Prints `ctkit: error: MESSAGE` on stderr.
void PrintError(std::string_view message);

/// Prints `e` as PrintError does and returns the exit code for an error of
/// a command of kind `kind`.
[[nodiscard]] int Fail(const Error& e, const ExitCodes& kind = kToolExit);

/// The same for a bad command line found after parsing (a flag's value, a
/// combination of flags): prints `message`, returns kind.usage.
[[nodiscard]] int UsageError(std::string_view message,
                             const ExitCodes& kind = kToolExit);

}  // namespace ctkit::cli

#endif  // CTKIT_TOOLS_EXIT_STATUS_H_
