// Rendering a ReplayReport: the human-readable summary, and the JSON
// document (`ctkit replay --json`) that `ctkit diff` and other tools read.
#ifndef CTKIT_REPORT_REPLAY_OUTPUT_H_
#define CTKIT_REPORT_REPLAY_OUTPUT_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "report/replay.h"

namespace ctkit {

/// "SKIP non-ip" or the verdict name.
std::string OutcomeName(const PacketOutcome& o);

/// "2023-11-14T22:13:20.123456789Z".
std::string FormatTimestamp(uint64_t ts_ns);

/// The summary printed by `ctkit replay`.
std::string RenderReplayText(const ReplayReport& r, const Tunables& t);

/// `entries` of the JSON document: one object per entry.
nlohmann::json FlowToJson(const FlowInfo& f, uint32_t timeout_s,
                          uint64_t now_ns);

/// The JSON document; `verdicts`, `events`, `dump` may be empty when not
/// collected (then they are left out).
nlohmann::json ReplayToJson(const ReplayReport& r, const Tunables& t,
                            const std::vector<std::string>& verdicts,
                            const std::vector<std::string>& events,
                            const nlohmann::json& dump);

/// The timeline as CSV with a header line.
std::string RenderTimelineCsv(const ReplayReport& r);

}  // namespace ctkit

#endif  // CTKIT_REPORT_REPLAY_OUTPUT_H_
