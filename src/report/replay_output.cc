// The replay report, in text and JSON. The text is for an operator asking
// "why did my table fill?": it leads with drops and the fill level, then
// says what the table held at its peak and which setting that points to.
#include "report/replay_output.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <utility>

#include "proto/tracker.h"
#include "report/format.h"

namespace ctkit {
namespace {

double Pct(uint64_t part, uint64_t whole) {
  return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole)
               : 0.0;
}

// Seconds from the first packet; negative when a capture's timestamps go
// backwards (merged captures), rather than wrapping around.
std::string Rel(uint64_t ts, uint64_t first) {
  double d = ts >= first ? static_cast<double>(ts - first) * 1e-9
                         : -static_cast<double>(first - ts) * 1e-9;
  return fmt::format("{:+.3f} s", d);
}

std::string Tallies(const std::vector<Tally>& v, uint64_t total) {
  std::string s;
  for (const Tally& t : v) {
    if (!s.empty()) s += ", ";
    s += fmt::format("{} {} ({:.1f} %)", t.key, t.entries,
                     Pct(t.entries, total));
  }
  return s.empty() ? "-" : s;
}

nlohmann::json TalliesJson(const std::vector<Tally>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (const Tally& t : v)
    a.push_back({{"key", t.key}, {"entries", t.entries}});
  return a;
}

// The sysctl that sets the lifetime of entries of a class (see
// LifetimeClass in replay.cc), with its value.
std::pair<std::string, uint32_t> GoverningTimeout(const std::string& klass,
                                                  const Tunables& t) {
  auto has = [&](const char* w) { return klass.find(w) != std::string::npos; };
  if (klass.rfind("tcp", 0) == 0) {
    if (has("SYN_SENT"))
      return {"tcp_timeout_syn_sent", t.tcp_timeout_syn_sent};
    if (has("SYN_RECV"))
      return {"tcp_timeout_syn_recv", t.tcp_timeout_syn_recv};
    if (has("TIME_WAIT")) {
      return {"tcp_timeout_time_wait", t.tcp_timeout_time_wait};
    }
    if (has("FIN_WAIT"))
      return {"tcp_timeout_fin_wait", t.tcp_timeout_fin_wait};
    if (has("CLOSE_WAIT")) {
      return {"tcp_timeout_close_wait", t.tcp_timeout_close_wait};
    }
    if (has("LAST_ACK"))
      return {"tcp_timeout_last_ack", t.tcp_timeout_last_ack};
    if (has("CLOSE")) return {"tcp_timeout_close", t.tcp_timeout_close};
    if (has("ESTABLISHED") && !has("ASSURED")) {
      return {"tcp_timeout_unacknowledged", t.tcp_timeout_unacknowledged};
    }
    return {"tcp_timeout_established", t.tcp_timeout_established};
  }
  if (klass.rfind("udp", 0) == 0) {
    if (has("ASSURED")) return {"udp_timeout_stream", t.udp_timeout_stream};
    return {"udp_timeout", t.udp_timeout};
  }
  if (klass.rfind("icmpv6", 0) == 0) {
    return {"icmpv6_timeout", t.icmpv6_timeout};
  }
  if (klass.rfind("icmp", 0) == 0) return {"icmp_timeout", t.icmp_timeout};
  return {"generic_timeout", t.generic_timeout};
}

// The reading of the peak composition: what filled the table, whether early
// drop could evict it, which setting governs its lifetime.
std::string Diagnosis(const ReplayReport& r, const Tunables& t) {
  if (!r.at_peak || r.at_peak->total == 0 || r.at_peak->by_class.empty()) {
    return "";
  }
  const PeakComposition& c = *r.at_peak;
  const Tally& top = c.by_class.front();
  bool assured = top.key.find("ASSURED") != std::string::npos;
  auto [sysctl, seconds] = GoverningTimeout(top.key, t);
  std::string s = fmt::format(
      "the largest class at the peak was {} ({:.0f} % of {} entries), whose "
      "lifetime is net.netfilter.nf_conntrack_{} = {} s. ",
      top.key, Pct(top.entries, c.total), c.total, sysctl, seconds);
  if (assured) {
    s += "ASSURED entries are never evicted by early drop when a new flow "
         "needs room";
    bool closing = top.key.find("TIME_WAIT") != std::string::npos ||
                   top.key.find("FIN_WAIT") != std::string::npos ||
                   top.key.find("CLOSE") != std::string::npos ||
                   top.key.find("LAST_ACK") != std::string::npos;
    s += closing ? " (only the GC's early-drop mode, at 95 % of max, may take "
                   "these closing states)"
                 : "";
    s += "; shorten that timeout or raise nf_conntrack_max.";
  } else {
    s += "These are not ASSURED, so early drop evicts them to make room; "
         "drops happen only when the 8 buckets scanned hold nothing but "
         "ASSURED entries.";
  }
  if (Pct(c.assured, c.total) >= 90 && r.stats.drop > 0) {
    s += fmt::format(
        " {:.0f} % of all entries were ASSURED, which is why new "
        "flows were dropped.",
        Pct(c.assured, c.total));
  }
  if (!c.top_sources.empty() && c.total >= 100 &&
      Pct(c.top_sources[0].entries, c.total) >= 50) {
    s += fmt::format(" One source, {}, held {:.0f} % of the entries.",
                     c.top_sources[0].key,
                     Pct(c.top_sources[0].entries, c.total));
  }
  return s;
}

}  // namespace

std::string OutcomeName(const PacketOutcome& o) {
  if (o.skipped) return std::string("SKIP ") + DecodeStatusName(o.reason);
  return VerdictName(o.verdict);
}

std::string FormatTimestamp(uint64_t ts_ns) {
  std::time_t secs = static_cast<std::time_t>(ts_ns / 1000000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:09}Z", buf, ts_ns % 1000000000);
}

std::string RenderReplayText(const ReplayReport& r, const Tunables& t) {
  std::string o;
  o += fmt::format("ctkit replay: {}\n", r.capture);
  uint64_t skipped = r.packets_read - r.decoded;
  o += fmt::format("packets:   read {}, decoded {}, skipped {}", r.packets_read,
                   r.decoded, skipped);
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
    o += fmt::format("duration:  {:.3f} s ({} .. {})\n",
                     static_cast<double>(r.last_ts_ns - r.first_ts_ns) * 1e-9,
                     FormatTimestamp(r.first_ts_ns),
                     FormatTimestamp(r.last_ts_ns));
  }
  o += "verdicts: ";
  for (int v = 0; v < kVerdictCount; ++v) {
    o += fmt::format(" {} {}", VerdictName(static_cast<Verdict>(v)),
                     r.counters.verdicts[v]);
  }
  o += "\n";
  uint64_t invalid_total = r.stats.invalid + r.stats.error;
  if (invalid_total) {
    std::string why;
    for (int i = 1; i < static_cast<int>(InvalidReason::kCount); ++i) {
      if (!r.counters.invalid_by_reason[i]) continue;
      if (!why.empty()) why += ", ";
      why +=
          fmt::format("{} {}", InvalidReasonName(static_cast<InvalidReason>(i)),
                      r.counters.invalid_by_reason[i]);
    }
    o += fmt::format("invalid:   {} ({})\n", invalid_total, why);
  }
  if (r.first_drop_ts_ns) {
    o += fmt::format(
        "TABLE FULL: {} packets dropped; first drop at packet {} ({}, {})\n",
        r.counters.table_full, *r.first_drop_index,
        Rel(*r.first_drop_ts_ns, r.first_ts_ns),
        FormatTimestamp(*r.first_drop_ts_ns));
    o += fmt::format(
        "kernel log: {} x \"nf_conntrack: nf_conntrack: table full, dropping "
        "packet\" ({} more suppressed by net_ratelimit; the log is not a drop "
        "count)\n",
        r.counters.log_lines, r.counters.log_suppressed);
  } else {
    o += "table full: never (no packet dropped for lack of room)\n";
  }
  if (r.stats.chaintoolong) {
    o += fmt::format("chain too long: {} inserts refused (packets dropped)\n",
                     r.stats.chaintoolong);
  }
  o += fmt::format(
      "entries:   created {}, destroyed {} (expired {}, killed by TCP {}, "
      "early-dropped {}, GC early-drop {}), {} at the end\n",
      r.counters.created, r.counters.destroyed, r.counters.expired,
      r.counters.killed, r.stats.early_drop, r.counters.gc_early_drops,
      r.final_count);
  if (r.max) {
    o += fmt::format("peak:      {} of nf_conntrack_max {} ({:.1f} %) at {}\n",
                     r.peak_count, r.max, Pct(r.peak_count, r.max),
                     r.packets_read ? Rel(r.peak_ts_ns, r.first_ts_ns) : "-");
    o += fmt::format(
        "fill time: {:.3f} s at >= 90 % of max, {:.3f} s at 100 %\n",
        r.seconds_at_90, r.seconds_at_100);
  } else {
    o += fmt::format("peak:      {} (nf_conntrack_max = 0: no limit)\n",
                     r.peak_count);
  }
  o += "conntrack -S (summed):\n  " + FormatStatsLine(r.stats) + "\n";
  if (r.at_peak) {
    const PeakComposition& c = *r.at_peak;
    o += fmt::format("at the peak ({} entries", c.total);
    if (c.expired_unreaped) {
      o += fmt::format(", {} of them expired but not yet reaped",
                       c.expired_unreaped);
    }
    o += "):\n";
    o += "  protocol:     " + Tallies(c.by_protocol, c.total) + "\n";
    if (!c.by_tcp_state.empty()) {
      o += "  TCP state:    " + Tallies(c.by_tcp_state, c.total) + "\n";
    }
    std::vector<Tally> classes(
        c.by_class.begin(),
        c.by_class.begin() +
            static_cast<long>(std::min<size_t>(c.by_class.size(), 6)));
    o += "  by lifetime:  " + Tallies(classes, c.total) + "\n";
    o += fmt::format("  ASSURED {} ({:.1f} %), not ASSURED {}, UNREPLIED {}\n",
                     c.assured, Pct(c.assured, c.total), c.total - c.assured,
                     c.unreplied);
    o += "  top sources:  " + Tallies(c.top_sources, c.total) + "\n";
    o += "  top dests:    " + Tallies(c.top_destinations, c.total) + "\n";
    o += "  top dports:   " + Tallies(c.top_dports, c.total) + "\n";
  }
  std::string dx = Diagnosis(r, t);
  if (!dx.empty()) o += "diagnosis: " + dx + "\n";
  o += fmt::format(
      "memory:    kernel estimate for the peak {:.1f} MiB ({} B per entry + "
      "{} B per bucket x {} buckets); ctkit's table {:.1f} MiB\n",
      static_cast<double>(r.kernel_memory_bytes) / 1048576.0, kKernelEntryBytes,
      kKernelBucketBytes, r.buckets,
      static_cast<double>(r.table_memory_bytes) / 1048576.0);
  if (r.read_error) {
    o += fmt::format(
        "incomplete: the capture ended in an error after {} "
        "packets: {}\n",
        r.packets_read, r.read_error->message);
  }
  return o;
}

nlohmann::json FlowToJson(const FlowInfo& f, uint32_t timeout_s,
                          uint64_t now_ns) {
  auto tuple = [](const Tuple& t) {
    nlohmann::json j{{"src", AddressToString(t.src, t.family)},
                     {"dst", AddressToString(t.dst, t.family)}};
    if (t.l4_proto == ipproto::kIcmp || t.l4_proto == ipproto::kIcmpv6) {
      j["type"] = t.icmp_type();
      j["code"] = t.icmp_code();
      j["id"] = t.src_port_or_icmp_id;
    } else if (t.l4_proto == ipproto::kTcp || t.l4_proto == ipproto::kUdp ||
               t.l4_proto == ipproto::kUdpLite) {
      j["sport"] = t.src_port_or_icmp_id;
      j["dport"] = t.dst_port_or_icmp_type_code;
    }
    return j;
  };
  nlohmann::json j{
      {"family", f.original.family == Family::kIPv4 ? "ipv4" : "ipv6"},
      {"protocol", ProtoName(f.original.l4_proto)},
      {"protonum", f.original.l4_proto},
      {"timeout", timeout_s},
      {"original", tuple(f.original)},
      {"reply", tuple(f.reply)},
      {"assured", f.assured},
      {"unreplied", !f.seen_reply},
      {"mark", f.mark},
      {"line", FormatConntrackLine(f, timeout_s, now_ns)}};
  if (f.state != nullptr) j["state"] = f.state;
  if (f.has_acct) {
    j["packets"] = {f.packets[0], f.packets[1]};
    j["bytes"] = {f.bytes[0], f.bytes[1]};
  }
  return j;
}

nlohmann::json ReplayToJson(const ReplayReport& r, const Tunables& t,
                            const std::vector<std::string>& verdicts,
                            const std::vector<std::string>& events,
                            const nlohmann::json& dump) {
  nlohmann::json j;
  j["capture"] = r.capture;
  nlohmann::json settings = nlohmann::json::object();
  for (const auto& [k, v] : t.List()) settings[k] = std::stoull(v);
  j["settings"] = settings;
  nlohmann::json skipped = nlohmann::json::object();
  for (int i = 1; i < static_cast<int>(DecodeStatus::kCount); ++i) {
    if (r.skipped_by_reason[i]) {
      skipped[DecodeStatusName(static_cast<DecodeStatus>(i))] =
          r.skipped_by_reason[i];
    }
  }
  nlohmann::json invalid = nlohmann::json::object();
  for (int i = 1; i < static_cast<int>(InvalidReason::kCount); ++i) {
    if (r.counters.invalid_by_reason[i]) {
      invalid[InvalidReasonName(static_cast<InvalidReason>(i))] =
          r.counters.invalid_by_reason[i];
    }
  }
  nlohmann::json by_verdict = nlohmann::json::object();
  for (int v = 0; v < kVerdictCount; ++v) {
    by_verdict[VerdictName(static_cast<Verdict>(v))] = r.counters.verdicts[v];
  }
  j["packets"] = {{"read", r.packets_read},
                  {"decoded", r.decoded},
                  {"skipped", skipped},
                  {"invalid", invalid},
                  {"verdicts", by_verdict},
                  {"dropped_table_full", r.counters.table_full},
                  {"first_ts", FormatTimestamp(r.first_ts_ns)},
                  {"last_ts", FormatTimestamp(r.last_ts_ns)}};
  nlohmann::json table{{"max", r.max},
                       {"buckets", r.buckets},
                       {"count", r.final_count},
                       {"peak_count", r.peak_count},
                       {"peak_index", r.peak_index},
                       {"peak_ts", FormatTimestamp(r.peak_ts_ns)},
                       {"seconds_at_90", r.seconds_at_90},
                       {"seconds_at_100", r.seconds_at_100},
                       {"created", r.counters.created},
                       {"destroyed", r.counters.destroyed},
                       {"expired", r.counters.expired},
                       {"killed", r.counters.killed},
                       {"gc_early_drops", r.counters.gc_early_drops},
                       {"log_lines", r.counters.log_lines},
                       {"log_suppressed", r.counters.log_suppressed},
                       {"kernel_memory_bytes", r.kernel_memory_bytes},
                       {"table_memory_bytes", r.table_memory_bytes}};
  if (r.first_drop_ts_ns) {
    table["first_drop_ts"] = FormatTimestamp(*r.first_drop_ts_ns);
    table["first_drop_index"] = *r.first_drop_index;
  }
  j["table"] = table;
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
  if (r.at_peak) {
    const PeakComposition& c = *r.at_peak;
    j["at_peak"] = {{"entries", c.total},
                    {"by_protocol", TalliesJson(c.by_protocol)},
                    {"by_tcp_state", TalliesJson(c.by_tcp_state)},
                    {"by_class", TalliesJson(c.by_class)},
                    {"assured", c.assured},
                    {"unreplied", c.unreplied},
                    {"expired_unreaped", c.expired_unreaped},
                    {"top_sources", TalliesJson(c.top_sources)},
                    {"top_destinations", TalliesJson(c.top_destinations)},
                    {"top_dports", TalliesJson(c.top_dports)}};
  }
  std::string dx = Diagnosis(r, t);
  if (!dx.empty()) j["diagnosis"] = dx;
  if (!r.timeline.empty()) {
    nlohmann::json tl = nlohmann::json::array();
    for (const TimelineRow& row : r.timeline) {
      tl.push_back(
          {{"time", static_cast<double>(row.t_ns - r.first_ts_ns) * 1e-9},
           {"count", row.count},
           {"new", row.created},
           {"destroyed", row.destroyed},
           {"early_drop", row.early_drop},
           {"drop", row.drop}});
    }
    j["timeline"] = tl;
  }
  if (!verdicts.empty()) j["verdicts"] = verdicts;
  if (!events.empty()) j["events"] = events;
  if (!dump.is_null()) j["entries"] = dump;
  if (r.read_error) j["error"] = r.read_error->message;
  if (r.capture_dropped) j["capture_dropped"] = *r.capture_dropped;
  return j;
}

std::string RenderTimelineCsv(const ReplayReport& r) {
  std::string o = "time,count,new,destroyed,early_drop,drop\n";
  for (const TimelineRow& row : r.timeline) {
    o += fmt::format("{:.3f},{},{},{},{},{}\n",
                     static_cast<double>(row.t_ns - r.first_ts_ns) * 1e-9,
                     row.count, row.created, row.destroyed, row.early_drop,
                     row.drop);
  }
  return o;
}

}  // namespace ctkit
