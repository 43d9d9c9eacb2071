// The kernel replay's summary and JSON. The summary says only what the
// kernel run measured: packets sent, each packet's ct state as logged, the
// table and the counters read over ctnetlink after the last packet, and the
// settings read back from the router namespace. What `ctkit replay` adds
// from the engine's inside view (peak and fill time, entries created and
// destroyed by cause, invalid packets by reason, the composition at the
// peak, memory) has no kernel source here, so it is not printed, rather than
// printed as zeros. The lines and JSON objects it shares with `ctkit
// replay`'s report come from report/summary_parts.h.
#include "kernel/kernel_replay_output.h"

#include <fmt/format.h>

#include "report/format.h"
#include "report/replay_output.h"
#include "report/summary_parts.h"

namespace ctkit {

std::string RenderKernelReplayText(const KernelReplayResult& res) {
  const ReplayReport& r = res.report;
  std::string o = fmt::format("{}: {}\n", kKernelReplayTool, r.capture);
  o += PacketsLine(r, "sent", res.sent);
  o += DurationLine(r, fmt::format(", injected at --speed {}", res.speed));
  o += VerdictsLine(r.counters);
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
        "packet {} ({}, {})\n",
        dropped, *r.first_drop_index,
        RelativeTime(*r.first_drop_ts_ns, r.first_ts_ns),
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
        r.final_count, r.max, Percent(r.final_count, r.max), r.buckets);
  } else {
    o += fmt::format(
        "entries:   {} at the end (nf_conntrack_max = 0: no limit); "
        "nf_conntrack_buckets {}\n",
        r.final_count, r.buckets);
  }
  o += StatsBlock("conntrack -S (the router namespace, summed over CPUs)",
                  r.stats, "  ");
  // The settings the kernel ran with, where they differ from its defaults.
  std::string changed;
  for (const auto& [name, value] : res.tunables.List(/*changed_only=*/true)) {
    if (!changed.empty()) changed += ", ";
    changed.append(name).append("=").append(value);
  }
  if (!changed.empty()) o += "settings:  " + changed + "\n";
  o += IncompleteLine(r);
  return o;
}

Json KernelReplayToJson(const KernelReplayResult& res,
                        const LiveMoment& moment) {
  const ReplayReport& r = res.report;
  Json j = StartJsonDocument(kKernelReplayTool);
  StampLiveMoment(&j, moment);
  j["oracle"] = "kernel";
  j["capture"] = r.capture;
  j["capture_digest"] = CaptureDigestJson(r.packets_read, res.capture_sha256);
  j["speed"] = res.speed;
  j["settings"] = SettingsJson(res.tunables);
  j["packets"] = {{"read", r.packets_read},
                  {"decoded", r.decoded},
                  {"sent", res.sent},
                  {"skipped", SkippedJson(r)},
                  {"verdicts", VerdictsJson(r.counters)},
                  {"first_ts", FormatTimestamp(r.first_ts_ns)},
                  {"last_ts", FormatTimestamp(r.last_ts_ns)}};
  if (r.first_drop_index && r.first_drop_ts_ns) {
    j["packets"]["first_drop_index"] = *r.first_drop_index;
    j["packets"]["first_drop_ts"] = FormatTimestamp(*r.first_drop_ts_ns);
  }
  j["table"] = {
      {"max", r.max}, {"buckets", r.buckets}, {"count", r.final_count}};
  j["stats"] = StatsJson(r.stats);
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
