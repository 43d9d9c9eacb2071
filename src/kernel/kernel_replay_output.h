// Printing a kernel replay: the summary of what the kernel run knows (no
// engine-only figures: the kernel reports no peak, fill time, created or
// destroyed entries, invalid reasons or memory), and the JSON document
// `ctkit diff` compares with `ctkit replay --json --verdicts --dump`.
#ifndef CTKIT_KERNEL_KERNEL_REPLAY_OUTPUT_H_
#define CTKIT_KERNEL_KERNEL_REPLAY_OUTPUT_H_

#include <string>

#include "kernel/kernel_replay.h"
#include "report/json_doc.h"

namespace ctkit {

/// The summary printed by `ctkit kernel-replay`.
std::string RenderKernelReplayText(const KernelReplayResult& res);

/// The document `ctkit kernel-replay --json` prints: always with the
/// verdicts and the table's entries, in `ctkit replay --json`'s shapes.
/// It describes a run of this host's kernel, so it says when and where
/// (`moment`: StampLiveMoment).
Json KernelReplayToJson(const KernelReplayResult& res,
                        const LiveMoment& moment);

}  // namespace ctkit

#endif  // CTKIT_KERNEL_KERNEL_REPLAY_OUTPUT_H_
