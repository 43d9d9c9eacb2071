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

/// One element of `events`: `type` (NEW, UPDATE, DESTROY), `timestamp`
/// (the packet's capture time), the entry's fields as FlowToJson gives
/// them, and `line`, the event as `conntrack -E` prints it.
nlohmann::json EventToJson(const Event& e);

/// The JSON document; `verdicts`, `events` (an array of EventToJson
/// objects), `dump` may be empty or null when not collected (then they are
/// left out).
nlohmann::json ReplayToJson(const ReplayReport& r, const Tunables& t,
                            const std::vector<std::string>& verdicts,
                            const nlohmann::json& events,
                            const nlohmann::json& dump);

/// The timeline as CSV with a header line.
std::string RenderTimelineCsv(const ReplayReport& r);

}  // namespace ctkit

#endif  // CTKIT_REPORT_REPLAY_OUTPUT_H_
