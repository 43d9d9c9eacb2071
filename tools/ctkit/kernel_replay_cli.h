// Printing a kernel replay in `ctkit replay`'s formats; shared by
// `ctkit kernel-replay` and `ctkit replay --compare-kernel`.
#ifndef CTKIT_TOOLS_KERNEL_REPLAY_CLI_H_
#define CTKIT_TOOLS_KERNEL_REPLAY_CLI_H_

#include "kernel/kernel_replay.h"

namespace ctkit::cli {

/// Prints --json, or the --dump lines then the --verdicts lines, or the
/// summary.
void PrintKernelResult(const KernelReplayResult& res, bool dump, bool verdicts,
                       bool json);

}  // namespace ctkit::cli

#endif  // CTKIT_TOOLS_KERNEL_REPLAY_CLI_H_
