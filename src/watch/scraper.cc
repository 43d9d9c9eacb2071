// The exporter's scrape (see scraper.h).
#include "watch/scraper.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <utility>
#include <vector>

#include "host/host_data.h"
#include "host/host_view.h"
#include "kernel/ctnetlink.h"
#include "watch/conntrack_metrics.h"
#include "watch/exposition.h"
#include "watch/namespace_counters.h"
#include "watch/namespaces.h"

namespace ctkit::watch {
namespace {

// The label of the namespace with inode `inode` (0: the initial one, whose
// log lines name none; taken to be PID 1's, and "init" when PID 1's cannot
// be looked at, as in a container).
std::string LogNetnsLabel(uint64_t inode) {
  struct stat st {};
  if (inode == 0) {
    if (stat("/proc/1/ns/net", &st) != 0) return "init";
    inode = st.st_ino;
  }
  std::string name = NetnsName(inode);
  return name.empty() ? std::to_string(inode) : name;
}

// The followed kernel log's counts as metric families.
void MergeKernelLog(const KmsgFollower::Counts& c,
                    std::vector<MetricFamily>* families) {
  MetricFamily full{
      "conntrack_table_full_messages_total",
      "\"nf_conntrack: table full, dropping packet\" lines in the kernel log "
      "since the exporter started, by the namespace they name. Rate-limited "
      "with every net message: a count of messages, not of drops.",
      MetricType::kCounter,
      {}};
  std::map<uint64_t, uint64_t> by_netns = c.table_full_by_netns;
  by_netns.emplace(0, 0);  // the initial namespace's series from the start
  for (const auto& [inode, lines] : by_netns) {
    full.Add(static_cast<double>(lines), {{"netns", LogNetnsLabel(inode)}});
  }
  families->push_back(std::move(full));
  families->push_back(MetricFamily{
      "conntrack_kernel_log_suppressed_total",
      "Messages net_ratelimit suppressed (\"net_ratelimit: N callbacks "
      "suppressed\") since the exporter started: conntrack's table-full "
      "lines among those of every net message.",
      MetricType::kCounter,
      {}}.Add(static_cast<double>(c.ratelimit_suppressed)));
}

}  // namespace

Scraper::Scraper(ScraperOptions options) : options_(std::move(options)) {
  if (options_.scan_interval_s > 0) {
    scan_ =
        std::make_unique<PeriodicScan>(options_.scan_interval_s, options_.scan,
                                       [this] { return ScanTargets(); });
  }
}

Scraper::~Scraper() = default;

std::vector<ScanTarget> Scraper::ScanTargets() const {
  return ScanTargetsFor(options_.root, options_.all_netns);
}

Result<void> Scraper::OpenHistory() {
  if (options_.history.empty() || history_) return {};
  Result<HistoryGeometry> g =
      GeometryFor(options_.history_interval_s, options_.history_retention_s);
  if (!g) return fail(g.error());
  Result<std::unique_ptr<HistoryWriter>> writer =
      HistoryWriter::Open(options_.history, *g);
  if (!writer) return fail(writer.error());
  history_ = std::make_unique<HistoryRecorder>(
      std::move(*writer), options_.history_interval_s,
      [this] { return HistorySamples(); });
  return {};
}

std::vector<HistorySample> Scraper::HistorySamples() const {
  return SampleNamespaces(options_.root, options_.all_netns, scan_.get());
}

std::string Scraper::StartBackground() {
  std::string why;
  if (!options_.kernel_log.empty() && options_.root.empty()) {
    kmsg_ = std::make_unique<KmsgFollower>(options_.kernel_log, false);
    if (!kmsg_->ok()) why = kmsg_->error();
  }
  if (scan_) scan_->Start();
  if (history_) history_->Start();
  return why;
}

void Scraper::ScanNow() {
  if (scan_) scan_->RunOnce();
  if (history_) history_->RecordNow();
}

std::string Scraper::Scrape() {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<NetnsRef> refs =
      options_.all_netns ? ListNetworkNamespaces() : std::vector<NetnsRef>{};
  const std::vector<NamespaceCounters> reads =
      ReadNamespaceCounters(options_.root, options_.all_netns, refs);
  std::vector<MetricFamily> families;
  MetricFamily until{
      "conntrack_seconds_until_full",
      "Seconds until the count reaches nf_conntrack_max at its growth over "
      "the last --forecast.window seconds of scrapes (a least-squares "
      "line); absent while it is not growing.",
      MetricType::kGauge,
      {}};
  MetricFamily info{
      "conntrack_netns_info",
      "The network namespaces --all-netns reads: the label's inode, its "
      "name under /run/netns, and the lowest PID in it with its name.",
      MetricType::kGauge,
      {}};
  bool failed = false;
  {
    const double now =
        std::chrono::duration<double>(start.time_since_epoch()).count();
    std::lock_guard<std::mutex> lock(mu_);
    std::map<std::string, FillForecast> kept;
    for (const NamespaceCounters& r : reads) {
      MergeFamilies(&families, ConntrackFamilies(r.data, r.label));
      if (!r.data.count || !r.data.stats) failed = true;
      if (r.ref != nullptr) {
        info.Add(1, {{"netns", r.label},
                     {"inode", std::to_string(r.ref->inode)},
                     {"name", r.ref->name},
                     {"pid", std::to_string(r.ref->pid)},
                     {"comm", r.ref->comm}});
      }
      // One forecast per namespace, dropped with the namespace.
      auto it = forecasts_.find(r.label);
      FillForecast fc = it != forecasts_.end()
                            ? std::move(it->second)
                            : FillForecast(options_.forecast_window_s);
      // nf_conntrack_max 0 is no limit at all (6.18): nothing to reach.
      if (r.data.count && r.data.max && *r.data.max > 0) {
        fc.Add(now, *r.data.count);
        if (auto left = fc.SecondsUntil(*r.data.max)) {
          until.Add(*left, {{"netns", r.label}});
        }
      }
      kept.insert_or_assign(r.label, std::move(fc));
    }
    forecasts_ = std::move(kept);
  }
  families.push_back(std::move(until));
  families.push_back(std::move(info));
  if (kmsg_ && kmsg_->ok()) MergeKernelLog(kmsg_->counts(), &families);
  if (scan_) MergeFamilies(&families, scan_->Families());
  if (history_) {
    const HistoryRecorder::Counts h = history_->counts();
    families.push_back(MetricFamily{
        "conntrack_history_samples_total",
        "Samples the flight recorder (--history) wrote since the start.",
        MetricType::kCounter,
        {}}.Add(static_cast<double>(h.samples)));
    families.push_back(MetricFamily{
        "conntrack_history_write_errors_total",
        "Samples the flight recorder could not write (a full or failing "
        "disk).",
        MetricType::kCounter,
        {}}.Add(static_cast<double>(h.errors)));
  }
  if (options_.compat == "node" && !reads.empty()) {
    // node_exporter has no namespaces: its names for the exporter's own.
    const NamespaceCounters* own = &reads.front();
    for (const NamespaceCounters& r : reads) {
      if (r.ref != nullptr && r.ref->own) own = &r;
    }
    MergeFamilies(&families, NodeExporterFamilies(own->data));
  }
  // A scrape that could not read a namespace's count or statistics is an
  // error (those series are left out, not zero).
  if (failed || reads.empty()) ++errors_;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  families.push_back(MetricFamily{
      "conntrack_scrape_errors_total",
      "Scrapes that could not read a namespace's count or statistics (the "
      "missing series are left out).",
      MetricType::kCounter,
      {}}.Add(static_cast<double>(errors_.load())));
  families.push_back(MetricFamily{
      "conntrack_scrape_duration_seconds",
      "How long this scrape took to read the namespaces.",
      MetricType::kGauge,
      {}}.Add(seconds));
  return Expose(families);
}

}  // namespace ctkit::watch
