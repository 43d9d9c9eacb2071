// One time-boxed scan of a conntrack table (see table_scan.h).
#include "watch/table_scan.h"

#include <chrono>

#include "host/host_data.h"
#include "host/host_view.h"
#include "kernel/ctnetlink.h"

namespace ctkit::watch {
namespace {

// Reading the clock for every entry would cost more than folding it in.
constexpr uint64_t kEntriesPerClockCheck = 256;

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

double UnixNow() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TableScan ScanTable(CtnetlinkClient& client, const ScanLimits& limits,
                    uint64_t k0, uint64_t k1) {
  TableScan scan;
  TableSummaryBuilder builder(limits.capacity, k0, k1);
  const Clock::time_point start = Clock::now();
  const auto budget = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(limits.budget_s));
  auto r = client.DumpTableWhile([&](const FlowInfo& f) {
    builder.Add(SummaryEntryOf(f));
    return builder.total() % kEntriesPerClockCheck != 0 ||
           Clock::now() - start < budget;
  });
  scan.seconds = Seconds(Clock::now() - start);
  scan.finished_unix = UnixNow();
  scan.summary = builder.Finish(limits.top_k);
  if (!r) {
    scan.error = r.error().message;
  } else {
    scan.complete = *r;
  }
  return scan;
}

TableScan ScanTableText(std::string_view lines, const ScanLimits& limits,
                        uint64_t k0, uint64_t k1) {
  TableScan scan;
  TableSummaryBuilder builder(limits.capacity, k0, k1);
  const Clock::time_point start = Clock::now();
  ForEachTableLine(lines,
                   [&builder](const SummaryEntry& e) { builder.Add(e); });
  scan.complete = true;
  scan.seconds = Seconds(Clock::now() - start);
  scan.finished_unix = UnixNow();
  scan.summary = builder.Finish(limits.top_k);
  return scan;
}

std::vector<MetricFamily> ScanFamilies(const TableScan& scan,
                                       const std::string& netns) {
  std::vector<MetricFamily> out;
  const TableSummary& s = scan.summary;
  if (scan.error.empty()) {
    MetricFamily by_state{
        "conntrack_entries_by_state",
        "Entries by protocol and state at the last scan (state \"\" for "
        "protocols without one), as conntrack -L shows them.",
        MetricType::kGauge,
        {}};
    for (const StateCount& c : s.by_state) {
      by_state.Add(
          static_cast<double>(c.entries),
          {{"netns", netns}, {"protocol", c.protocol}, {"state", c.state}});
    }
    out.push_back(std::move(by_state));
    out.push_back(
        MetricFamily{"conntrack_entries_by_flag",
                     "Entries marked [ASSURED] (kept from early drop) and "
                     "[UNREPLIED] (no reply seen) at the last scan.",
                     MetricType::kGauge,
                     {}}
            .Add(static_cast<double>(s.assured),
                 {{"netns", netns}, {"flag", "ASSURED"}})
            .Add(static_cast<double>(s.unreplied),
                 {{"netns", netns}, {"flag", "UNREPLIED"}}));
    const char* const ranked_note =
        " at the last scan: the largest --top-k, then \"other\". Counted in "
        "fixed memory (Space-Saving): exact while the scan saw no more "
        "different keys than its counters, otherwise each is at most "
        "entries/counters too high.";
    auto ranking = [&](const char* name, const char* what, const char* label,
                       const std::vector<RankedKey>& top, uint64_t other) {
      MetricFamily f{
          name, std::string(what) + ranked_note, MetricType::kGauge, {}};
      for (const RankedKey& k : top) {
        f.Add(static_cast<double>(k.entries),
              {{"netns", netns}, {label, k.key}});
      }
      f.Add(static_cast<double>(other), {{"netns", netns}, {label, "other"}});
      return f;
    };
    out.push_back(ranking("conntrack_top_source_entries",
                          "Entries by original source address", "source",
                          s.top_sources, s.other_sources));
    out.push_back(ranking("conntrack_top_destination_entries",
                          "Entries by original destination address",
                          "destination", s.top_destinations,
                          s.other_destinations));
    MetricFamily ports{
        "conntrack_top_destination_port_entries",
        std::string("Entries by protocol and original destination port") +
            ranked_note,
        MetricType::kGauge,
        {}};
    for (const RankedKey& k : s.top_dports) {
      ports.Add(static_cast<double>(k.entries),
                {{"netns", netns}, {"protocol", k.protocol}, {"port", k.key}});
    }
    ports.Add(static_cast<double>(s.other_dports),
              {{"netns", netns}, {"protocol", "other"}, {"port", "other"}});
    out.push_back(std::move(ports));
    MetricFamily life{
        "conntrack_entry_remaining_lifetime_seconds",
        "Seconds each entry had left at the last scan, by the timeout "
        "sysctl that set it (\"none\": SYN_SENT2's fixed 120 s and unknown "
        "states): how soon the table drains if its traffic stops, and what "
        "a shorter timeout would reach.",
        MetricType::kHistogram,
        {}};
    const std::vector<double> bounds(kLifetimeBounds.begin(),
                                     kLifetimeBounds.end());
    for (const LifetimeHistogram& h : s.lifetimes) {
      life.AddHistogram(
          bounds, std::vector<uint64_t>(h.at_most.begin(), h.at_most.end()),
          h.count, h.sum_s, {{"netns", netns}, {"sysctl", h.sysctl}});
    }
    out.push_back(std::move(life));
    out.push_back(MetricFamily{
        "conntrack_scan_entries",
        "Entries the last scan read.",
        MetricType::kGauge,
        {}}.Add(static_cast<double>(s.total), {{"netns", netns}}));
    out.push_back(MetricFamily{
        "conntrack_scan_complete",
        "1 when the last scan read the whole table "
        "within --scan-budget, 0 when it stopped "
        "there (its counts are then partial).",
        MetricType::kGauge,
        {}}.Add(scan.complete ? 1 : 0, {{"netns", netns}}));
  }
  out.push_back(MetricFamily{
      "conntrack_scan_duration_seconds",
      "How long the last table scan took.",
      MetricType::kGauge,
      {}}.Add(scan.seconds, {{"netns", netns}}));
  out.push_back(MetricFamily{
      "conntrack_scan_timestamp_seconds",
      "When the last table scan ended (Unix time): "
      "the attribution metrics are as of then.",
      MetricType::kGauge,
      {}}.Add(scan.finished_unix, {{"netns", netns}}));
  return out;
}

}  // namespace ctkit::watch
