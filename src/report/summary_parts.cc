// The summary and JSON parts `ctkit replay` and `ctkit kernel-replay` share
// (see summary_parts.h). The text lines keep the layout both summaries
// print: a label padded to 11 columns ("packets:   ", "duration:  "), then
// the figures.
#include "report/summary_parts.h"

#include <fmt/format.h>

#include "ctkit/decode.h"
#include "ctkit/engine.h"
#include "report/format.h"
#include "report/replay_output.h"

namespace ctkit {

double SecondsBetween(uint64_t from, uint64_t to) {
  return to >= from ? static_cast<double>(to - from) * 1e-9
                    : -static_cast<double>(from - to) * 1e-9;
}

std::string RelativeTime(uint64_t ts, uint64_t first) {
  return fmt::format("{:+.3f} s", SecondsBetween(first, ts));
}

std::string PacketsLine(const ReplayReport& r, std::string_view counted,
                        uint64_t n) {
  const uint64_t skipped = r.packets_read - r.decoded;
  std::string o = fmt::format("packets:   read {}, {} {}, skipped {}",
                              r.packets_read, counted, n, skipped);
  if (skipped) {
    std::string why;
    for (int i = 1; i < static_cast<int>(DecodeStatus::kCount); ++i) {
      if (!r.skipped_by_reason[i]) continue;
      if (!why.empty()) why += ", ";
      why +=
          fmt::format("{} {}", DecodeStatusName(static_cast<DecodeStatus>(i)),
                      r.skipped_by_reason[i]);
    }
    o += " (" + why + ")";
  }
  return o + "\n";
}

std::string DurationLine(const ReplayReport& r, std::string_view suffix) {
  if (!r.packets_read) return "";
  return fmt::format("duration:  {:.3f} s ({} .. {}){}\n",
                     SecondsBetween(r.first_ts_ns, r.last_ts_ns),
                     FormatTimestamp(r.first_ts_ns),
                     FormatTimestamp(r.last_ts_ns), suffix);
}

std::string VerdictsLine(const EngineCounters& c) {
  std::string o = "verdicts: ";
  for (int v = 0; v < kVerdictCount; ++v) {
    o += fmt::format(" {} {}", VerdictName(static_cast<Verdict>(v)),
                     c.verdicts[v]);
  }
  return o + "\n";
}

std::string StatsBlock(std::string_view heading, const Stats& s,
                       std::string_view indent) {
  return fmt::format("{}:\n{}{}\n", heading, indent, FormatStatsLine(s));
}

std::string IncompleteLine(const ReplayReport& r) {
  if (!r.read_error) return "";
  return fmt::format(
      "incomplete: the capture ended in an error after {} packets: {}\n",
      r.packets_read, r.read_error->message);
}

Json CaptureDigestJson(uint64_t packets, const std::string& sha256) {
  return {{"packets", packets}, {"records_sha256", sha256}};
}

Json SettingsJson(const Tunables& t) {
  Json settings = Json::object();
  for (const auto& [k, v] : t.List()) settings[k] = std::stoull(v);
  return settings;
}

Json SkippedJson(const ReplayReport& r) {
  Json skipped = Json::object();
  for (int i = 1; i < static_cast<int>(DecodeStatus::kCount); ++i) {
    if (r.skipped_by_reason[i]) {
      skipped[DecodeStatusName(static_cast<DecodeStatus>(i))] =
          r.skipped_by_reason[i];
    }
  }
  return skipped;
}

Json VerdictsJson(const EngineCounters& c) {
  Json by_verdict = Json::object();
  for (int v = 0; v < kVerdictCount; ++v) {
    by_verdict[VerdictName(static_cast<Verdict>(v))] = c.verdicts[v];
  }
  return by_verdict;
}

Json StatsJson(const Stats& s) {
  return {{"found", s.found},
          {"invalid", s.invalid},
          {"insert", s.insert},
          {"insert_failed", s.insert_failed},
          {"drop", s.drop},
          {"early_drop", s.early_drop},
          {"error", s.error},
          {"search_restart", s.search_restart},
          {"clash_resolve", s.clash_resolve},
          {"chaintoolong", s.chaintoolong}};
}

}  // namespace ctkit
