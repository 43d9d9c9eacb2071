// The replay report, in text and JSON. The text is for an operator asking
// "why did my table fill?": it leads with drops and the fill level, then
// says what the table held at its peak and which setting that points to.
#include "report/replay_output.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "proto/tracker.h"
#include "report/format.h"
#include "report/lifetime.h"
#include "report/summary_parts.h"

namespace ctkit {
namespace {

// "5", "6/original", "7/reply": a zone as --zone-map writes it.
std::string ZoneName(const Zone& z) {
  std::string n = std::to_string(z.id);
  if (z.dir_mask == Zone::kOriginalOnly) n += "/original";
  if (z.dir_mask == Zone::kReplyOnly) n += "/reply";
  return n;
}

std::string Tallies(const std::vector<Tally>& v, uint64_t total) {
  std::string s;
  for (const Tally& t : v) {
    if (!s.empty()) s += ", ";
    s += fmt::format("{} {} ({:.1f} %)", t.key, t.entries,
                     Percent(t.entries, total));
  }
  return s.empty() ? "-" : s;
}

Json TalliesJson(const std::vector<Tally>& v) {
  Json a = Json::array();
  for (const Tally& t : v)
    a.push_back({{"key", t.key}, {"entries", t.entries}});
  return a;
}

// Drops for chains that were too long: the hash is too small for the
// entries, whatever nf_conntrack_max says (spec §4.4).
std::string ChainDiagnosis(const ReplayReport& r) {
  const uint64_t peak = r.peak_count, buckets = r.buckets;
  const double per_bucket =
      buckets ? static_cast<double>(peak) / static_cast<double>(buckets) : 0;
  std::string s = fmt::format(
      "{} packets were dropped because their hash chain was too long, not "
      "because the table was full (it peaked at {} entries{}): the hash "
      "table is too small for its entries. {} entries in "
      "nf_conntrack_buckets = {} average {:.1f} per bucket; each entry is "
      "hashed in both directions, so chains average {:.1f} nodes, and the "
      "kernel refuses an insert into a chain of 52 to 81 nodes (a limit "
      "drawn at random for each insert).",
      r.stats.chaintoolong, peak,
      r.max ? fmt::format(" of nf_conntrack_max {}, {:.1f} %", r.max,
                          Percent(peak, r.max))
            : std::string(", no limit"),
      peak, buckets, per_bucket, 2 * per_bucket);
  const uint64_t for_max = r.max ? KernelRoundBuckets(r.max) : 0;
  const uint64_t for_peak = KernelRoundBuckets(peak);
  auto mib = [](uint64_t b) {
    return static_cast<double>(b * kKernelBucketBytes) / 1048576.0;
  };
  if (for_max > buckets) {
    s += fmt::format(
        " Raise net.netfilter.nf_conntrack_buckets to {} (nf_conntrack_max "
        "rounded up to 512, as the kernel rounds it: the kernel's own 1:1 "
        "ratio, 2 nodes per chain even when the table is full; {:.1f} MiB of "
        "hash)",
        for_max, mib(for_max));
    if (for_peak > buckets && for_peak < for_max) {
      s += fmt::format(
          "; {} would hold this capture's peak at 2 nodes per chain", for_peak);
    }
    s += ".";
  } else if (for_peak > buckets) {
    s += fmt::format(
        " Raise net.netfilter.nf_conntrack_buckets to {} (this capture's peak "
        "rounded up to 512: 2 nodes per chain; {:.1f} MiB of hash).",
        for_peak, mib(for_peak));
  }
  s += " It is writable at run time in the initial network namespace; a "
       "resize leaves nf_conntrack_max unchanged. Raising nf_conntrack_max "
       "does not help: it does not resize the hash.";
  return s;
}

// The reading of the peak composition: what filled the table, whether early
// drop could evict it, which setting governs its lifetime.
std::string FillDiagnosis(const ReplayReport& r, const Tunables& t) {
  if (!r.at_peak || r.at_peak->total == 0 || r.at_peak->by_class.empty()) {
    return "";
  }
  const TableComposition& c = *r.at_peak;
  const Tally& top = c.by_class.front();
  bool assured = top.key.find("ASSURED") != std::string::npos;
  const LifetimeInfo life = DescribeLifetime(c.by_class_kind.front(), t);
  std::string s = fmt::format(
      "the largest class at the peak was {} ({:.0f} % of {} entries), whose "
      "lifetime is {}. ",
      top.key, Percent(top.entries, c.total), c.total, LifetimeSetting(life));
  // A table that never came near full needs no change: say what held it,
  // and no more.
  const bool pressed =
      r.counters.table_full > 0 || r.stats.early_drop > 0 ||
      (r.max != 0 && uint64_t{r.peak_count} * 10 >= uint64_t{r.max} * 9);
  if (!pressed) {
    return fmt::format("the table never came near full (peak {}{}); {}",
                       r.peak_count,
                       r.max ? fmt::format(", {:.1f} % of nf_conntrack_max",
                                           Percent(r.peak_count, r.max))
                             : std::string(", no limit"),
                       s.substr(0, s.size() - 1));
  }
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
  if (Percent(c.assured, c.total) >= 90 && r.stats.drop > 0) {
    s += fmt::format(
        " {:.0f} % of all entries were ASSURED, which is why new "
        "flows were dropped.",
        Percent(c.assured, c.total));
  }
  if (!c.top_sources.empty() && c.total >= 100 &&
      Percent(c.top_sources[0].entries, c.total) >= 50) {
    s += fmt::format(" One source, {}, held {:.0f} % of the entries.",
                     c.top_sources[0].key,
                     Percent(c.top_sources[0].entries, c.total));
  }
  return s;
}

// Wrong checksums on this many packets, and on this share of the decoded
// ones, suggest a capture taken where checksums are offloaded in a form not
// recognised as such, rather than a few frames corrupted on a wire (which
// are rare: far below a percent).
constexpr uint64_t kChecksumHintMinPackets = 10;
constexpr double kChecksumHintMinPct = 5.0;

uint64_t BadChecksumPackets(const ReplayReport& r) {
  uint64_t n = 0;
  for (int i = 1; i < static_cast<int>(InvalidReason::kCount); ++i) {
    if (IsChecksumReason(static_cast<InvalidReason>(i))) {
      n += r.counters.invalid_by_reason[i];
    }
  }
  return n;
}

// The checksum lines: offload checksums seen, and the hint to stop
// verifying when many packets are still INVALID for a wrong checksum.
std::string ChecksumLines(const ReplayReport& r) {
  std::string o;
  if (r.counters.offload_checksums) {
    o += fmt::format(
        "checksums: {} packets carried offload checksums (partial: the "
        "sender left them to its NIC; tracked as the kernel tracks the "
        "packets it sends)\n",
        r.counters.offload_checksums);
  }
  const uint64_t bad = BadChecksumPackets(r);
  if (bad >= kChecksumHintMinPackets &&
      Percent(bad, r.decoded) >= kChecksumHintMinPct) {
    o += fmt::format(
        "hint:      {} packets ({:.0f} % of decoded) are INVALID for a wrong "
        "checksum; if the capture was taken on a host that offloads "
        "checksums, replay with --sysctl nf_conntrack_checksum=0\n",
        bad, Percent(bad, r.decoded));
  }
  return o;
}

// Chain-too-long drops first: their fix is the hash, not the table's size
// or the timeouts, and an operator reading "table full" would change the
// wrong setting.
std::string Diagnosis(const ReplayReport& r, const Tunables& t) {
  std::string chain = r.stats.chaintoolong ? ChainDiagnosis(r) : "";
  std::string fill = FillDiagnosis(r, t);
  if (chain.empty()) return fill;
  if (fill.empty()) return chain;
  return chain + " Apart from that, " + fill;
}

}  // namespace

namespace {

// What reassembly did, when the capture had fragments: how many went into
// datagrams, were duplicates, were given up (by reason) or still waited at
// the end, and the most memory it was charged against its budget.
std::string DefragLine(const ReplayReport& r) {
  const DefragCounters& d = r.defrag;
  if (!d.fragments) return "";
  std::string failed;
  for (size_t i = 0; i < kDefragFailureCount; ++i) {
    if (!d.failed[i]) continue;
    failed += fmt::format("{}{} {}", failed.empty() ? "" : ", ",
                          DefragFailureName(static_cast<DefragFailure>(i)),
                          d.failed[i]);
  }
  return fmt::format(
      "defrag:    {} fragments: {} in {} datagrams, {} duplicate, given up "
      "{}, held at the end {}; peak {} of {} bytes charged\n",
      d.fragments, d.in_datagrams, d.datagrams, d.duplicates,
      failed.empty() ? "0" : failed, d.held_fragments, d.peak_charged_bytes,
      r.defrag_budget_bytes);
}

Json DefragJson(const ReplayReport& r) {
  const DefragCounters& d = r.defrag;
  Json failed = Json::object();
  Json failed_datagrams = Json::object();
  for (size_t i = 0; i < kDefragFailureCount; ++i) {
    const char* name = DefragFailureName(static_cast<DefragFailure>(i));
    failed[name] = d.failed[i];
    failed_datagrams[name] = d.failed_datagrams[i];
  }
  return {{"fragments", d.fragments},
          {"datagrams", d.datagrams},
          {"in_datagrams", d.in_datagrams},
          {"duplicates", d.duplicates},
          {"failed", failed},
          {"failed_datagrams", failed_datagrams},
          {"held_fragments", d.held_fragments},
          {"held_datagrams", d.held_datagrams},
          {"peak_charged_bytes", d.peak_charged_bytes},
          {"peak_stored_bytes", d.peak_stored_bytes},
          {"budget_bytes", r.defrag_budget_bytes}};
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
  o += fmt::format("{}: {}\n", kReplayTool, r.capture);
  o += PacketsLine(r, "decoded", r.decoded);
  o += DefragLine(r);
  o += DurationLine(r);
  o += VerdictsLine(r.counters);
  // Every INVALID verdict counts once in conntrack -S: under `error` when
  // the kernel's ICMP error callback rejected the packet, else `invalid`.
  uint64_t invalid_total = r.stats.invalid + r.stats.error;
  if (invalid_total) {
    std::string why[2];  // [counted under error]
    for (int i = 1; i < static_cast<int>(InvalidReason::kCount); ++i) {
      if (!r.counters.invalid_by_reason[i]) continue;
      auto reason = static_cast<InvalidReason>(i);
      std::string& w = why[CountsAsError(reason) ? 1 : 0];
      if (!w.empty()) w += ", ";
      w += fmt::format("{} {}", InvalidReasonName(reason),
                       r.counters.invalid_by_reason[i]);
    }
    o += fmt::format("invalid:   {} packets = conntrack -S invalid {}",
                     invalid_total, r.stats.invalid);
    if (!why[0].empty()) o += " (" + why[0] + ")";
    o += fmt::format(" + error {}", r.stats.error);
    if (!why[1].empty()) o += " (" + why[1] + ")";
    o += "\n";
    if (r.stats.error) {
      o += "           (ICMP packets that fail conntrack's ICMP checks, and "
           "ICMP errors quoting no entry, count under error, not invalid)\n";
    }
  }
  o += ChecksumLines(r);
  if (r.counters.table_full > 0 && r.first_drop_ts_ns) {
    o += fmt::format(
        "TABLE FULL: {} packets dropped; first drop at packet {} ({}, {})\n",
        r.counters.table_full, *r.first_drop_index,
        RelativeTime(*r.first_drop_ts_ns, r.first_ts_ns),
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
    o += fmt::format(
        "CHAIN TOO LONG: {} packets dropped: their inserts were refused "
        "because a hash chain was too long (chaintoolong, not table full)",
        r.stats.chaintoolong);
    if (r.first_chain_drop_ts_ns) {
      o += fmt::format("; first at packet {} ({}, {})",
                       *r.first_chain_drop_index,
                       RelativeTime(*r.first_chain_drop_ts_ns, r.first_ts_ns),
                       FormatTimestamp(*r.first_chain_drop_ts_ns));
    }
    o += "\n";
  }
  o += fmt::format(
      "entries:   created {}, destroyed {} (expired {}, killed by TCP {}, "
      "early-dropped {}, GC early-drop {}), {} at the end\n",
      r.counters.created, r.counters.destroyed, r.counters.expired,
      r.counters.killed, r.stats.early_drop, r.counters.gc_early_drops,
      r.final_count);
  if (r.max) {
    o += fmt::format(
        "peak:      {} of nf_conntrack_max {} ({:.1f} %) at {}\n", r.peak_count,
        r.max, Percent(r.peak_count, r.max),
        r.packets_read ? RelativeTime(r.peak_ts_ns, r.first_ts_ns) : "-");
    o += fmt::format(
        "fill time: {:.3f} s at >= 90 % of max, {:.3f} s at 100 %\n",
        r.seconds_at_90, r.seconds_at_100);
  } else {
    o += fmt::format("peak:      {} (nf_conntrack_max = 0: no limit)\n",
                     r.peak_count);
  }
  // One line, cpu=0, holding the sums: see FormatStatsLine.
  o += StatsBlock(
      "conntrack -S (all CPUs summed, as a one-CPU kernel prints it)", r.stats);
  if (r.at_peak) {
    const TableComposition& c = *r.at_peak;
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
                     c.assured, Percent(c.assured, c.total),
                     c.total - c.assured, c.unreplied);
    // A big peak's top lists are taken a little before it (table_census.h).
    const uint64_t ranked = c.ranked_at != 0 ? c.ranked_at : c.total;
    if (ranked != c.total) {
      o += fmt::format("  (top lists counted at {} entries, on the way up)\n",
                       ranked);
    }
    o += "  top sources:  " + Tallies(c.top_sources, ranked) + "\n";
    o += "  top dests:    " + Tallies(c.top_destinations, ranked) + "\n";
    o += "  top dports:   " + Tallies(c.top_dports, ranked) + "\n";
  }
  for (const ZoneCounts& z : r.zones) {
    o += fmt::format(
        "zone {:<12} {} packets, {} dropped, {} invalid; {} entries at the "
        "end\n",
        ZoneName(z.zone) + ":", z.packets, z.dropped, z.invalid,
        z.entries_at_end);
  }
  std::string dx = Diagnosis(r, t);
  if (!dx.empty()) o += "diagnosis: " + dx + "\n";
  o += fmt::format(
      "memory:    kernel estimate for the peak {:.1f} MiB ({} B per entry + "
      "{} B per bucket x {} buckets); ctkit's table {:.1f} MiB\n",
      static_cast<double>(r.kernel_memory_bytes) / 1048576.0, kKernelEntryBytes,
      kKernelBucketBytes, r.buckets,
      static_cast<double>(r.table_memory_bytes) / 1048576.0);
  for (const ShortCaptureWarning& w : r.warnings) {
    o += "warning:   " + w.message + "\n";
  }
  o += IncompleteLine(r);
  return o;
}

Json FlowToJson(const FlowInfo& f, uint32_t timeout_s, uint64_t now_ns) {
  auto tuple = [](const Tuple& t) {
    Json j{{"src", AddressToString(t.src, t.family)},
           {"dst", AddressToString(t.dst, t.family)}};
    if (t.l4_proto == ipproto::kIcmp || t.l4_proto == ipproto::kIcmpv6) {
      j["type"] = t.icmp_type();
      j["code"] = t.icmp_code();
      j["id"] = t.src_port_or_icmp_id;
    } else if (t.l4_proto == ipproto::kTcp || t.l4_proto == ipproto::kUdp ||
               t.l4_proto == ipproto::kUdpLite ||
               t.l4_proto == ipproto::kSctp) {
      j["sport"] = t.src_port_or_icmp_id;
      j["dport"] = t.dst_port_or_icmp_type_code;
    } else if (t.l4_proto == ipproto::kGre) {
      j["srckey"] = t.src_port_or_icmp_id;
      j["dstkey"] = t.dst_port_or_icmp_type_code;
    }
    return j;
  };
  // In `conntrack -L`'s order: protocol, timeout, state, tuples, flags.
  Json j{{"family", f.original.family == Family::kIPv4 ? "ipv4" : "ipv6"},
         {"protocol", ProtoName(f.original.l4_proto)},
         {"protonum", f.original.l4_proto},
         {"timeout", timeout_s}};
  if (f.state != nullptr) j["state"] = f.state;
  j["original"] = tuple(f.original);
  j["reply"] = tuple(f.reply);
  j["assured"] = f.assured;
  j["unreplied"] = !f.seen_reply;
  j["mark"] = f.mark;
  if (f.zone.id != 0) {
    j["zone"] = f.zone.id;
    if (f.zone.dir_mask != 0) {
      j["zone_dir"] =
          f.zone.dir_mask == Zone::kOriginalOnly ? "original" : "reply";
    }
  }
  if (f.has_acct) {
    j["packets"] = {f.packets[0], f.packets[1]};
    j["bytes"] = {f.bytes[0], f.bytes[1]};
  }
  j["line"] = FormatConntrackLine(f, timeout_s, now_ns);
  return j;
}

Json EventToJson(const Event& e) {
  Json j = Json::object();
  j["type"] = e.type == EventType::kNew      ? "NEW"
              : e.type == EventType::kUpdate ? "UPDATE"
                                             : "DESTROY";
  j["timestamp"] = FormatTimestamp(e.ts_ns);
  const Json flow = FlowToJson(e.flow, e.flow.timeout_s, e.ts_ns);
  for (const auto& [k, v] : flow.items()) j[k] = v;
  j["line"] = FormatEventLine(e);  // in place of the -L line
  return j;
}

Json ReplayToJson(const ReplayReport& r, const Tunables& t,
                  const std::vector<std::string>* verdicts, const Json& events,
                  const Json& dump) {
  Json j = StartJsonDocument(kReplayTool);  // the tool `ctkit diff` checks
  j["capture"] = r.capture;
  if (!r.capture_sha256.empty()) {
    j["capture_digest"] = CaptureDigestJson(r.packets_read, r.capture_sha256);
  }
  j["settings"] = SettingsJson(t);
  Json invalid = Json::object();
  for (int i = 1; i < static_cast<int>(InvalidReason::kCount); ++i) {
    if (r.counters.invalid_by_reason[i]) {
      invalid[InvalidReasonName(static_cast<InvalidReason>(i))] =
          r.counters.invalid_by_reason[i];
    }
  }
  j["packets"] = {{"read", r.packets_read},
                  {"decoded", r.decoded},
                  {"skipped", SkippedJson(r)},
                  {"invalid", invalid},
                  {"verdicts", VerdictsJson(r.counters)},
                  {"dropped_table_full", r.counters.table_full},
                  {"offload_checksums", r.counters.offload_checksums},
                  {"dropped_chain_too_long", r.stats.chaintoolong},
                  {"first_ts", FormatTimestamp(r.first_ts_ns)},
                  {"last_ts", FormatTimestamp(r.last_ts_ns)}};
  if (r.defrag.fragments) j["defrag"] = DefragJson(r);
  Json table{{"max", r.max},
             {"buckets", r.buckets},
             {"count", r.final_count},
             {"peak_count", r.peak_count},
             {"peak_index", r.peak_index},
             {"peak_ts", FormatTimestamp(r.peak_ts_ns)},
             {"at_90_percent_seconds", r.seconds_at_90},
             {"at_100_percent_seconds", r.seconds_at_100},
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
  if (r.first_chain_drop_ts_ns) {
    table["first_chain_too_long_ts"] =
        FormatTimestamp(*r.first_chain_drop_ts_ns);
    table["first_chain_too_long_index"] = *r.first_chain_drop_index;
  }
  j["table"] = table;
  j["stats"] = StatsJson(r.stats);
  if (r.at_peak) {
    const TableComposition& c = *r.at_peak;
    j["at_peak"] = {{"entries", c.total},
                    {"by_protocol", TalliesJson(c.by_protocol)},
                    {"by_tcp_state", TalliesJson(c.by_tcp_state)},
                    {"by_class", TalliesJson(c.by_class)},
                    {"assured", c.assured},
                    {"unreplied", c.unreplied},
                    {"expired_unreaped", c.expired_unreaped},
                    {"top_sources", TalliesJson(c.top_sources)},
                    {"top_destinations", TalliesJson(c.top_destinations)},
                    {"top_dports", TalliesJson(c.top_dports)},
                    {"ranked_at", c.ranked_at}};
  }
  std::string dx = Diagnosis(r, t);
  if (!dx.empty()) j["diagnosis"] = dx;
  Json warnings = Json::array();
  for (const ShortCaptureWarning& w : r.warnings) {
    LifetimeInfo info = DescribeLifetime(w.klass, t);
    warnings.push_back(
        {{"kind", "capture_shorter_than_lifetime"},
         {"class", info.name},
         {"sysctl",
          info.sysctl[0]
              ? std::string("net.netfilter.nf_conntrack_") + info.sysctl
              : std::string()},
         {"lifetime_seconds", info.seconds},
         {"capture_seconds",
          static_cast<double>(r.last_ts_ns - r.first_ts_ns) * 1e-9},
         {"entries", w.entries},
         {"share_ratio", w.share},
         {"message", w.message}});
  }
  j["warnings"] = warnings;
  if (!r.zones.empty()) {
    Json zones = Json::array();
    for (const ZoneCounts& z : r.zones) {
      Json zj{
          {"zone", z.zone.id},
          {"direction", z.zone.dir_mask == 0                     ? "both"
                        : z.zone.dir_mask == Zone::kOriginalOnly ? "original"
                                                                 : "reply"},
          {"packets", z.packets},
          {"dropped", z.dropped},
          {"invalid", z.invalid},
          {"entries_at_end", z.entries_at_end}};
      zones.push_back(zj);
    }
    j["zones"] = zones;
  }
  if (!r.timeline.empty()) {
    Json tl = Json::array();
    for (const TimelineRow& row : r.timeline) {
      tl.push_back({{"time_seconds",
                     static_cast<double>(row.t_ns - r.first_ts_ns) * 1e-9},
                    {"count", row.count},
                    {"new", row.created},
                    {"destroyed", row.destroyed},
                    {"early_drop", row.early_drop},
                    {"drop", row.drop}});
    }
    j["timeline"] = tl;
  }
  if (verdicts != nullptr) j["verdicts"] = *verdicts;
  if (!events.is_null()) j["events"] = events;
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
