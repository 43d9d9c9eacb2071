// Periodic table scans with a cache (see periodic_scan.h).
#include "watch/periodic_scan.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <chrono>
#include <memory>

#include "host/host_view.h"
#include "kernel/ctnetlink.h"

namespace ctkit::watch {
namespace {

TableScan Failed(std::string why) {
  TableScan s;
  s.error = std::move(why);
  s.finished_unix = std::chrono::duration<double>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  return s;
}

}  // namespace

TableScan ScanOne(const ScanTarget& target, const ScanLimits& limits,
                  uint64_t k0, uint64_t k1) {
  if (!target.root.empty()) {
    std::unique_ptr<HostView> view = NewRootHostView(target.root);
    Result<std::string> text = view->Read(kTablePath);
    if (!text) return Failed(text.error().message);
    return ScanTableText(*text, limits, k0, k1);
  }
  Result<std::unique_ptr<CtnetlinkClient>> client =
      fail(Error::io("not opened"));
  if (target.netns_path.empty()) {
    client = CtnetlinkClient::Open();
  } else {
    // The socket belongs to the namespace it was opened in: enter, open,
    // and come back before the (long) dump.
    const int fd = open(target.netns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Failed(target.netns_path + ": gone or not ours to open");
    {
      NetnsScope in(fd);
      client = in.ok() ? CtnetlinkClient::Open() : fail(in.failure());
    }
    close(fd);
  }
  if (!client) return Failed(client.error().message);
  return ScanTable(**client, limits, k0, k1);
}

PeriodicScan::PeriodicScan(double interval_s, ScanLimits limits,
                           Targets targets)
    : interval_s_(interval_s), limits_(limits), targets_(std::move(targets)) {
  // The rankings' index is keyed so that addresses chosen to collide
  // cannot slow a scan down; the results do not depend on the key.
  uint64_t key[2] = {0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full};
  if (getrandom(key, sizeof key, 0) != static_cast<ssize_t>(sizeof key)) {
    key[0] ^= static_cast<uint64_t>(getpid());
  }
  k0_ = key[0];
  k1_ = key[1];
}

PeriodicScan::~PeriodicScan() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PeriodicScan::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void PeriodicScan::RunOnce() {
  std::map<std::string, TableScan> round;
  uint64_t failed = 0;
  for (const ScanTarget& t : targets_()) {
    TableScan s = ScanOne(t, limits_, k0_, k1_);
    if (!s.error.empty()) ++failed;
    round.insert_or_assign(t.label, std::move(s));
  }
  std::lock_guard<std::mutex> lock(mu_);
  last_ = std::move(round);
  errors_ += failed;
}

void PeriodicScan::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    RunOnce();
    lock.lock();
    wake_.wait_for(lock, std::chrono::duration<double>(interval_s_),
                   [this] { return stop_; });
  }
}

std::vector<MetricFamily> PeriodicScan::Families() const {
  std::vector<MetricFamily> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [label, scan] : last_) {
    MergeFamilies(&out, ScanFamilies(scan, label));
  }
  out.push_back(MetricFamily{
      "conntrack_scan_errors_total",
      "Table scans that failed (a namespace gone, ctnetlink refused); the "
      "namespace's attribution series are left out until one succeeds.",
      MetricType::kCounter,
      {}}.Add(static_cast<double>(errors_)));
  return out;
}

std::map<std::string, TableScan> PeriodicScan::LastScans() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

}  // namespace ctkit::watch
