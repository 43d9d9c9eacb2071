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
#include "watch/namespaces.h"

namespace ctkit::watch {
namespace {

// One namespace read for a scrape.
struct NamespaceRead {
  std::string label;
  HostData data;
  const NetnsRef* ref = nullptr;  // with all_netns
};

std::unique_ptr<HostView> OwnView(const std::string& root) {
  auto open_ctnetlink = [] { return CtnetlinkClient::Open(); };
  return root.empty() ? NewLiveHostView(open_ctnetlink, -1)
                      : NewRootHostView(root);
}

// The namespaces a scrape reads: this one (or the root tree), or with
// all_netns every one that can be opened.
std::vector<NamespaceRead> ReadNamespaces(const ScraperOptions& o,
                                          const std::vector<NetnsRef>& refs) {
  std::vector<NamespaceRead> out;
  if (!o.all_netns) {
    std::unique_ptr<HostView> view = OwnView(o.root);
    HostData d = CollectCounters(*view);
    out.push_back(NamespaceRead{NetnsLabel(*view), std::move(d)});
    return out;
  }
  auto open_ctnetlink = [] { return CtnetlinkClient::Open(); };
  for (const NetnsRef& r : refs) {
    // Opened for this scrape only: a namespace that is gone by the next
    // one is not kept alive by the exporter.
    const int fd = r.own ? -1 : open(r.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (!r.own && fd < 0) continue;  // gone, or not ours to open
    {
      std::unique_ptr<HostView> view = NewLiveHostView(open_ctnetlink, fd);
      out.push_back(NamespaceRead{r.Label(), CollectCounters(*view), &r});
    }
    if (fd >= 0) close(fd);
  }
  return out;
}

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
  std::vector<ScanTarget> out;
  if (!options_.all_netns) {
    std::unique_ptr<HostView> view = OwnView(options_.root);
    out.push_back(ScanTarget{NetnsLabel(*view), "", options_.root});
    return out;
  }
  for (const NetnsRef& r : ListNetworkNamespaces()) {
    out.push_back(ScanTarget{r.Label(), r.own ? "" : r.path, ""});
  }
  return out;
}

std::string Scraper::StartBackground() {
  std::string why;
  if (!options_.kernel_log.empty() && options_.root.empty()) {
    kmsg_ = std::make_unique<KmsgFollower>(options_.kernel_log, false);
    if (!kmsg_->ok()) why = kmsg_->error();
  }
  if (scan_) scan_->Start();
  return why;
}

void Scraper::ScanNow() {
  if (scan_) scan_->RunOnce();
}

std::string Scraper::Scrape() {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<NetnsRef> refs =
      options_.all_netns ? ListNetworkNamespaces() : std::vector<NetnsRef>{};
  const std::vector<NamespaceRead> reads = ReadNamespaces(options_, refs);
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
    for (const NamespaceRead& r : reads) {
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
  if (options_.compat == "node" && !reads.empty()) {
    // node_exporter has no namespaces: its names for the exporter's own.
    const NamespaceRead* own = &reads.front();
    for (const NamespaceRead& r : reads) {
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
