// Rendering a ReplayReport: the human-readable summary, and the JSON
// document (`ctkit replay --json`) that `ctkit diff` and other tools read.
#ifndef CTKIT_REPORT_REPLAY_OUTPUT_H_
#define CTKIT_REPORT_REPLAY_OUTPUT_H_

#include <string>
#include <vector>

#include "report/json_doc.h"
#include "report/replay_report.h"

namespace ctkit {

/// "SKIP non-ip" or the verdict name.
std::string OutcomeName(const PacketOutcome& o);

/// "2023-11-14T22:13:20.123456789Z".
std::string FormatTimestamp(uint64_t ts_ns);

/// The summary printed by `ctkit replay`.
std::string RenderReplayText(const ReplayReport& r, const Tunables& t);

/// `entries` of the JSON document: one object per entry, with conntrack's
/// own field names (`timeout` in seconds, as `conntrack -L` prints it).
Json FlowToJson(const FlowInfo& f, uint32_t timeout_s, uint64_t now_ns);

/// One element of `events`: `type` (NEW, UPDATE, DESTROY), `timestamp`
/// (the packet's capture time), the entry's fields as FlowToJson gives
/// them, and `line`, the event as `conntrack -E` prints it.
Json EventToJson(const Event& e);

/// The JSON document (README, "JSON output"). The lists are there when
/// they were collected, even empty: `verdicts` when not null, `events` (an
/// array of EventToJson objects) and `entries` (`dump`, FlowToJson objects)
/// when not JSON null.
Json ReplayToJson(const ReplayReport& r, const Tunables& t,
                  const std::vector<std::string>* verdicts, const Json& events,
                  const Json& dump);

/// The timeline as CSV with a header line.
std::string RenderTimelineCsv(const ReplayReport& r);

}  // namespace ctkit

#endif  // CTKIT_REPORT_REPLAY_OUTPUT_H_
