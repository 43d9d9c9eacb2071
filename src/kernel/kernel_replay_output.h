// Printing a kernel replay: the summary of what the kernel run knows (no
// engine-only figures: the kernel reports no peak, fill time, created or
// destroyed entries, invalid reasons or memory), and the JSON document
// `ctkit diff` compares with `ctkit replay --json --verdicts --dump`.
#ifndef CTKIT_KERNEL_KERNEL_REPLAY_OUTPUT_H_
#define CTKIT_KERNEL_KERNEL_REPLAY_OUTPUT_H_

#include <nlohmann/json.hpp>
#include <string>

#include "kernel/kernel_replay.h"

namespace ctkit {

/// The `"tool"` of each result document `ctkit diff` accepts.
inline constexpr const char* kReplayTool = "ctkit replay";
inline constexpr const char* kKernelReplayTool = "ctkit kernel-replay";

/// The summary printed by `ctkit kernel-replay`.
std::string RenderKernelReplayText(const KernelReplayResult& res);

/// The document `ctkit kernel-replay --json` prints: always with the
/// verdicts and the table's entries, in `ctkit replay --json`'s shapes.
nlohmann::json KernelReplayToJson(const KernelReplayResult& res);

}  // namespace ctkit

#endif  // CTKIT_KERNEL_KERNEL_REPLAY_OUTPUT_H_
