// The kernel replay's summary and JSON. The summary says only what the
// kernel run measured: packets sent, each packet's ct state as logged, the
// table and the counters read over ctnetlink after the last packet, and the
// settings read back from the router namespace. What `ctkit replay` adds
// from the engine's inside view (peak and fill time, entries created and
// destroyed by cause, invalid packets by reason, the composition at the
// peak, memory) has no kernel source here, so it is not printed, rather than
// printed as zeros.
#include "kernel/kernel_replay_output.h"

#include <fmt/format.h>

#include "report/format.h"
#include "report/replay_output.h"

namespace ctkit {
namespace {

double Pct(uint64_t part, uint64_t whole) {
  return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole)
               : 0.0;
}

double Seconds(uint64_t from, uint64_t to) {
  return to >= from ? static_cast<double>(to - from) * 1e-9
                    : -static_cast<double>(from - to) * 1e-9;
}

}  // namespace

std::string RenderKernelReplayText(const KernelReplayResult& res) {
  const ReplayReport& r = res.report;
  std::string o = fmt::format("{}: {}\n", kKernelReplayTool, r.capture);
  uint64_t skipped = r.packets_read - r.decoded;
  o += fmt::format("packets:   read {}, sent {}, skipped {}", r.packets_read,
                   res.sent, skipped);
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
  o += "\n";
  if (r.packets_read) {
    o += fmt::format("duration:  {:.3f} s ({} .. {}), injected at --speed {}\n",
                     Seconds(r.first_ts_ns, r.last_ts_ns),
                     FormatTimestamp(r.first_ts_ns),
                     FormatTimestamp(r.last_ts_ns), res.speed);
  }
  o += "verdicts: ";
  for (int v = 0; v < kVerdictCount; ++v) {
    o += fmt::format(" {} {}", VerdictName(static_cast<Verdict>(v)),
                     r.counters.verdicts[v]);
  }
  o += "\n";
  if (r.counters.offload_checksums) {
    o += fmt::format(
        "checksums: {} packets carried offload checksums; sent with the "
        "complete checksum their NIC would have written\n",
        r.counters.offload_checksums);
  }
  uint64_t dropped = r.counters.verdicts[static_cast<int>(Verdict::kDrop)];
  if (r.first_drop_index && r.first_drop_ts_ns) {
    o += fmt::format(
        "dropped:   {} packets never came out of conntrack's hook; first at "
        "packet {} ({:+.3f} s, {})\n",
        dropped, *r.first_drop_index,
        Seconds(r.first_ts_ns, *r.first_drop_ts_ns),
        FormatTimestamp(*r.first_drop_ts_ns));
  }
  if (r.stats.drop) {
    o += fmt::format(
        "TABLE FULL: conntrack refused {} new entries for lack of room "
        "(conntrack -S drop)\n",
        r.stats.drop);
  } else {
    o += "table full: never (conntrack -S drop = 0)\n";
  }
  if (r.max) {
    o += fmt::format(
        "entries:   {} at the end, of nf_conntrack_max {} ({:.1f} %); "
        "nf_conntrack_buckets {}\n",
        r.final_count, r.max, Pct(r.final_count, r.max), r.buckets);
  } else {
    o += fmt::format(
        "entries:   {} at the end (nf_conntrack_max = 0: no limit); "
        "nf_conntrack_buckets {}\n",
        r.final_count, r.buckets);
  }
  o += "conntrack -S (the router namespace, summed over CPUs):\n  " +
       FormatStatsLine(r.stats) + "\n";
  // The settings the kernel ran with, where they differ from its defaults.
  std::string changed;
  const auto defaults = Tunables{}.List();
  const auto now = res.tunables.List();
  for (size_t i = 0; i < now.size() && i < defaults.size(); ++i) {
    if (now[i].second == defaults[i].second) continue;
    if (!changed.empty()) changed += ", ";
    changed += now[i].first + "=" + now[i].second;
  }
  if (!changed.empty()) o += "settings:  " + changed + "\n";
  if (r.read_error) {
    o += fmt::format(
        "incomplete: the capture ended in an error after {} packets: {}\n",
        r.packets_read, r.read_error->message);
  }
  return o;
}

Json KernelReplayToJson(const KernelReplayResult& res,
                        const LiveMoment& moment) {
  const ReplayReport& r = res.report;
  Json j = StartJsonDocument(kKernelReplayTool);
  StampLiveMoment(&j, moment);
  j["oracle"] = "kernel";
  j["capture"] = r.capture;
  j["capture_digest"] = {{"packets", r.packets_read},
                         {"records_sha256", res.capture_sha256}};
  j["speed"] = res.speed;
  Json settings = Json::object();
  for (const auto& [k, v] : res.tunables.List()) settings[k] = std::stoull(v);
  j["settings"] = settings;
  Json skipped = Json::object();
  for (int i = 1; i < static_cast<int>(DecodeStatus::kCount); ++i) {
    if (r.skipped_by_reason[i]) {
      skipped[DecodeStatusName(static_cast<DecodeStatus>(i))] =
          r.skipped_by_reason[i];
    }
  }
  Json by_verdict = Json::object();
  for (int v = 0; v < kVerdictCount; ++v) {
    by_verdict[VerdictName(static_cast<Verdict>(v))] = r.counters.verdicts[v];
  }
  j["packets"] = {{"read", r.packets_read},
                  {"decoded", r.decoded},
                  {"sent", res.sent},
                  {"skipped", skipped},
                  {"verdicts", by_verdict},
                  {"first_ts", FormatTimestamp(r.first_ts_ns)},
                  {"last_ts", FormatTimestamp(r.last_ts_ns)}};
  if (r.first_drop_index && r.first_drop_ts_ns) {
    j["packets"]["first_drop_index"] = *r.first_drop_index;
    j["packets"]["first_drop_ts"] = FormatTimestamp(*r.first_drop_ts_ns);
  }
  j["table"] = {
      {"max", r.max}, {"buckets", r.buckets}, {"count", r.final_count}};
  j["stats"] = {{"found", r.stats.found},
                {"invalid", r.stats.invalid},
                {"insert", r.stats.insert},
                {"insert_failed", r.stats.insert_failed},
                {"drop", r.stats.drop},
                {"early_drop", r.stats.early_drop},
                {"error", r.stats.error},
                {"search_restart", r.stats.search_restart},
                {"clash_resolve", r.stats.clash_resolve},
                {"chaintoolong", r.stats.chaintoolong}};
  j["lost_logs"] = res.lost_logs;
  Json verdicts = Json::array();
  for (const PacketOutcome& o : res.outcomes)
    verdicts.push_back(OutcomeName(o));
  j["verdicts"] = verdicts;
  Json entries = Json::array();
  for (const FlowInfo& fi : res.table) {
    entries.push_back(FlowToJson(fi, fi.timeout_s, r.last_ts_ns));
  }
  j["entries"] = entries;
  if (r.read_error) j["error"] = r.read_error->message;
  return j;
}

}  // namespace ctkit
