// The parts of a replay's summary and JSON document that `ctkit replay`
// (the engine) and `ctkit kernel-replay` (the kernel) print alike: the
// packets line with the skipped packets by reason, the capture's duration,
// the verdict totals, the `conntrack -S` block, the line of a capture that
// ended in an error, and the JSON objects for the settings, skipped packets,
// verdicts, counters and capture digest. Each is written once here, so the
// two summaries cannot drift apart where they report the same thing.
#ifndef CTKIT_REPORT_SUMMARY_PARTS_H_
#define CTKIT_REPORT_SUMMARY_PARTS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "core/text.h"
#include "ctkit/stats.h"
#include "ctkit/tunables.h"
#include "report/json_doc.h"
#include "report/replay_report.h"

namespace ctkit {

/// Seconds from `from` to `to`; negative when `to` is earlier (a merged
/// capture's timestamps may step back), rather than wrapping around.
double SecondsBetween(uint64_t from, uint64_t to);

/// "+1.234 s": `ts` relative to the capture's first packet at `first`.
std::string RelativeTime(uint64_t ts, uint64_t first);

/// "packets:   read R, COUNTED N, skipped S (non-ip 2, ...)\n": what was
/// read, what became of it (`counted`: "decoded", "sent"), and the skipped
/// packets by reason.
std::string PacketsLine(const ReplayReport& r, std::string_view counted,
                        uint64_t n);

/// "duration:  S s (FIRST .. LAST)" + `suffix` + "\n"; "" when no packet
/// was read.
std::string DurationLine(const ReplayReport& r, std::string_view suffix = "");

/// "verdicts:  NEW n ESTABLISHED n RELATED n INVALID n UNTRACKED n DROP n\n".
std::string VerdictsLine(const EngineCounters& c);

/// `heading` and a colon on a line, then the one `conntrack -S` line
/// (FormatStatsLine) after `indent`.
std::string StatsBlock(std::string_view heading, const Stats& s,
                       std::string_view indent = "");

/// "incomplete: the capture ended in an error after N packets: ...\n" when
/// it did, else "".
std::string IncompleteLine(const ReplayReport& r);

/// `capture_digest`: the packet count and the records' SHA-256 (hex).
Json CaptureDigestJson(uint64_t packets, const std::string& sha256);

/// `settings`: every sysctl by its full name, its value an integer.
Json SettingsJson(const Tunables& t);

/// `packets.skipped`: the skipped packets by reason (reasons with none are
/// left out).
Json SkippedJson(const ReplayReport& r);

/// `packets.verdicts`: every verdict by name, in Verdict order.
Json VerdictsJson(const EngineCounters& c);

/// `stats`: the `conntrack -S` counters, in its order.
Json StatsJson(const Stats& s);

}  // namespace ctkit

#endif  // CTKIT_REPORT_SUMMARY_PARTS_H_
