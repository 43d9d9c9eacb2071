// `ctkit exporter`: this network namespace's conntrack for Prometheus, on
// /metrics over HTTP (cpp-httplib), or once on standard output (--once).
// Every scrape reads only what costs O(1) whatever the table's size (the
// sysctls and the kernel's statistics: host/host_data.h CollectCounters);
// it never walks the table. Flags follow the Prometheus exporters'
// conventions (--web.listen-address, --web.telemetry-path). Listening on
// anything but loopback is the user's explicit choice.
//
// The forecast (conntrack_seconds_until_full) fits a line through the
// counts of the last 15 minutes of scrapes (--forecast.window;
// watch/forecast.h).
//
// --all-netns reads every namespace of the host (watch/namespaces.h), each
// opened for the scrape only.
//
// The kernel log is followed from the exporter's start on a thread
// (watch/kmsg_follower.h) for conntrack_table_full_messages_total.
//
// Not yet here (issue 12): TLS and basic auth (--web.config.file) and the
// table walk's attribution (states, top-k, lifetimes).
#include <fcntl.h>
#include <fmt/format.h>
#include <httplib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "host/host_data.h"
#include "host/host_view.h"
#include "kernel/ctnetlink.h"
#include "tools/ctkit/command.h"
#include "watch/conntrack_metrics.h"
#include "watch/exposition.h"
#include "watch/forecast.h"
#include "watch/kmsg_follower.h"
#include "watch/namespaces.h"

namespace ctkit::cli {
namespace {

// The port: not yet checked against Prometheus's default-port allocation
// list; see the README.
constexpr char kDefaultListen[] = "127.0.0.1:9466";

// The forecast's default window: long enough that a burst does not read as
// a trend, short enough to see a table filling within the half hour the
// rules warn about (deploy/prometheus/conntrack.rules.yml fits 15 minutes
// too).
constexpr double kForecastWindowSeconds = 900;

struct ExporterFlags {
  std::string listen = kDefaultListen;
  std::string path = "/metrics";
  std::string root;  // a fixture tree or an extracted --collect archive
  bool once = false;
  std::string compat;  // "node": node_exporter's names as well
  double forecast_window = kForecastWindowSeconds;
  bool all_netns = false;
  std::string kernel_log = "/dev/kmsg";  // "" to not follow it
};

// What lives across scrapes (httplib answers on several threads).
struct ScrapeState {
  std::unique_ptr<watch::KmsgFollower> kmsg;  // null with --once
  std::atomic<uint64_t> errors{0};
  std::mutex mu;
  /// One forecast per namespace label (those of the last scrape only).
  std::map<std::string, watch::FillForecast> forecasts;
};

// One namespace read for a scrape.
struct NamespaceRead {
  std::string label;
  HostData data;
  const watch::NetnsRef* ref = nullptr;  // with --all-netns
};

// The namespaces a scrape reads: this one (or the --root tree), or with
// --all-netns every one that can be opened.
std::vector<NamespaceRead> ReadNamespaces(
    const ExporterFlags& f, const std::vector<watch::NetnsRef>& refs) {
  auto open_ctnetlink = [] { return CtnetlinkClient::Open(); };
  std::vector<NamespaceRead> out;
  if (!f.all_netns) {
    std::unique_ptr<HostView> view = f.root.empty()
                                         ? NewLiveHostView(open_ctnetlink, -1)
                                         : NewRootHostView(f.root);
    HostData d = CollectCounters(*view);
    out.push_back(NamespaceRead{watch::NetnsLabel(*view), std::move(d)});
    return out;
  }
  for (const watch::NetnsRef& r : refs) {
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
  std::string name = watch::NetnsName(inode);
  return name.empty() ? std::to_string(inode) : name;
}

// The followed kernel log's counts as metric families.
void MergeKernelLog(const watch::KmsgFollower::Counts& c,
                    std::vector<watch::MetricFamily>* families) {
  watch::MetricFamily full{
      "conntrack_table_full_messages_total",
      "\"nf_conntrack: table full, dropping packet\" lines in the kernel log "
      "since the exporter started, by the namespace they name. Rate-limited "
      "with every net message: a count of messages, not of drops.",
      watch::MetricType::kCounter,
      {}};
  std::map<uint64_t, uint64_t> by_netns = c.table_full_by_netns;
  by_netns.emplace(0, 0);  // the initial namespace's series from the start
  for (const auto& [inode, lines] : by_netns) {
    full.Add(static_cast<double>(lines), {{"netns", LogNetnsLabel(inode)}});
  }
  families->push_back(std::move(full));
  families->push_back(watch::MetricFamily{
      "conntrack_kernel_log_suppressed_total",
      "Messages net_ratelimit suppressed (\"net_ratelimit: N callbacks "
      "suppressed\") since the exporter started: conntrack's table-full "
      "lines among those of every net message.",
      watch::MetricType::kCounter,
      {}}.Add(static_cast<double>(c.ratelimit_suppressed)));
}

std::string Scrape(const ExporterFlags& f, ScrapeState* state) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<watch::NetnsRef> refs =
      f.all_netns ? watch::ListNetworkNamespaces()
                  : std::vector<watch::NetnsRef>{};
  const std::vector<NamespaceRead> reads = ReadNamespaces(f, refs);
  std::vector<watch::MetricFamily> families;
  watch::MetricFamily until{
      "conntrack_seconds_until_full",
      "Seconds until the count reaches nf_conntrack_max at its growth over "
      "the last --forecast.window seconds of scrapes (a least-squares "
      "line); absent while it is not growing.",
      watch::MetricType::kGauge,
      {}};
  watch::MetricFamily info{
      "conntrack_netns_info",
      "The network namespaces --all-netns reads: the label's inode, its "
      "name under /run/netns, and the lowest PID in it with its name.",
      watch::MetricType::kGauge,
      {}};
  bool failed = false;
  {
    const double now =
        std::chrono::duration<double>(start.time_since_epoch()).count();
    std::lock_guard<std::mutex> lock(state->mu);
    std::map<std::string, watch::FillForecast> kept;
    for (const NamespaceRead& r : reads) {
      watch::MergeFamilies(&families,
                           watch::ConntrackFamilies(r.data, r.label));
      if (!r.data.count || !r.data.stats) failed = true;
      if (r.ref != nullptr) {
        info.Add(1, {{"netns", r.label},
                     {"inode", std::to_string(r.ref->inode)},
                     {"name", r.ref->name},
                     {"pid", std::to_string(r.ref->pid)},
                     {"comm", r.ref->comm}});
      }
      // One forecast per namespace, dropped with the namespace.
      auto it = state->forecasts.find(r.label);
      watch::FillForecast fc = it != state->forecasts.end()
                                   ? std::move(it->second)
                                   : watch::FillForecast(f.forecast_window);
      if (r.data.count && r.data.max) {
        fc.Add(now, *r.data.count);
        if (auto left = fc.SecondsUntil(*r.data.max)) {
          until.Add(*left, {{"netns", r.label}});
        }
      }
      kept.insert_or_assign(r.label, std::move(fc));
    }
    state->forecasts = std::move(kept);
  }
  families.push_back(std::move(until));
  families.push_back(std::move(info));
  if (state->kmsg && state->kmsg->ok()) {
    MergeKernelLog(state->kmsg->counts(), &families);
  }
  if (f.compat == "node" && !reads.empty()) {
    // node_exporter has no namespaces: its names for the exporter's own.
    const NamespaceRead* own = &reads.front();
    for (const NamespaceRead& r : reads) {
      if (r.ref != nullptr && r.ref->own) own = &r;
    }
    watch::MergeFamilies(&families, watch::NodeExporterFamilies(own->data));
  }
  // A scrape that could not read a namespace's count or statistics is an
  // error (those series are left out, not zero).
  if (failed || reads.empty()) ++state->errors;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  families.push_back(watch::MetricFamily{
      "conntrack_scrape_errors_total",
      "Scrapes that could not read a namespace's count or statistics (the "
      "missing series are left out).",
      watch::MetricType::kCounter,
      {}}.Add(static_cast<double>(state->errors.load())));
  families.push_back(watch::MetricFamily{
      "conntrack_scrape_duration_seconds",
      "How long this scrape took to read the namespaces.",
      watch::MetricType::kGauge,
      {}}.Add(seconds));
  return watch::Expose(families);
}

// "HOST:PORT", with HOST possibly "[v6]"; false when malformed.
bool SplitListen(const std::string& listen, std::string* host, int* port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) return false;
  *host = listen.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (host->empty()) *host = "0.0.0.0";  // ":9466", as Go's exporters read it
  int p = 0;
  for (char c : listen.substr(colon + 1)) {
    if (c < '0' || c > '9' || p > 65535) return false;
    p = p * 10 + (c - '0');
  }
  if (p < 1 || p > 65535) return false;
  *port = p;
  return true;
}

std::atomic<httplib::Server*> g_server{nullptr};

extern "C" void StopServer(int /*signo*/) {
  // httplib's stop() only shuts the listening socket down and sets a flag:
  // safe enough from a signal handler for a process that is exiting.
  if (httplib::Server* s = g_server.load()) s->stop();
}

int RunExporter(const ExporterFlags& f) {
  ScrapeState state;
  if (f.once) {
    fmt::print("{}", Scrape(f, &state));
    return kExitOk;
  }
  std::string host;
  int port = 0;
  if (!SplitListen(f.listen, &host, &port)) {
    return UsageError("--web.listen-address " + f.listen +
                      ": expected HOST:PORT (e.g. 127.0.0.1:9466)");
  }
  if (f.path.empty() || f.path[0] != '/') {
    return UsageError("--web.telemetry-path " + f.path + ": must start with /");
  }
  if (!f.kernel_log.empty() && f.root.empty()) {
    state.kmsg = std::make_unique<watch::KmsgFollower>(f.kernel_log, false);
    if (!state.kmsg->ok()) {
      fmt::print(stderr,
                 "ctkit exporter: not following the kernel log ({}); "
                 "conntrack_table_full_messages_total is left out\n",
                 state.kmsg->error());
    }
  }
  httplib::Server server;
  // httplib's default also sets SO_REUSEPORT, which lets a second exporter
  // share the port silently; a taken port must be an error.
  server.set_socket_options([](int sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  server.Get(f.path, [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(Scrape(f, &state), watch::kExpositionContentType);
  });
  server.Get("/", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(fmt::format("<html><head><title>ctkit exporter</title>"
                                "</head><body><h1>ctkit exporter</h1><p><a "
                                "href=\"{0}\">{0}</a></p></body></html>\n",
                                f.path),
                    "text/html; charset=utf-8");
  });
  if (!server.bind_to_port(host, port)) {
    return Fail(Error::io("cannot listen on " + f.listen + ": " +
                          std::strerror(errno)));
  }
  g_server.store(&server);
  std::signal(SIGTERM, StopServer);
  std::signal(SIGINT, StopServer);
  fmt::print(stderr, "ctkit exporter: serving {} on http://{}{}\n", f.path,
             f.listen, f.path);
  const bool ok = server.listen_after_bind();
  g_server.store(nullptr);
  return ok || !server.is_running() ? kExitOk : kExitFailure;
}

}  // namespace

void RegisterExporter(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ExporterFlags>();
  CLI::App* cmd = app.add_subcommand(
      "exporter",
      "Serve this network namespace's conntrack (count, limit, the kernel's "
      "statistics, every nf_conntrack sysctl) as Prometheus metrics");
  DocumentExitStatus(
      cmd, {{kExitOk, "stopped by SIGTERM or SIGINT (or --once printed)"},
            {kExitFailure, "could not listen, or the server failed"},
            {kExitUsage, "the command line was wrong", true}});
  cmd->add_option("--web.listen-address", flags->listen,
                  fmt::format("HOST:PORT to listen on (default {}; a "
                              "non-loopback address is an explicit choice)",
                              kDefaultListen));
  cmd->add_option("--web.telemetry-path", flags->path,
                  "path of the metrics (default /metrics)");
  cmd->add_option("--root", flags->root,
                  "read a fixture tree or an extracted `doctor --collect` "
                  "archive instead of the live host")
      ->type_name("DIR")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--compat", flags->compat,
                  "also export under another exporter's names: node "
                  "(node_exporter's node_nf_conntrack_*, so node-mixin rules "
                  "keep working)")
      ->check(CLI::IsMember({"node"}));
  cmd->add_option("--forecast.window", flags->forecast_window,
                  "seconds of scrapes the fill forecast fits a line through "
                  "(default 900)")
      ->check(CLI::Range(1.0, 86400.0));
  cmd->add_flag("--all-netns", flags->all_netns,
                "every network namespace on the host (named under /run/netns "
                "and those of running processes), each under its own netns "
                "label; needs CAP_SYS_ADMIN");
  cmd->add_option("--kernel-log", flags->kernel_log,
                  "the kernel log to follow for table-full lines (default "
                  "/dev/kmsg; \"\" not to; may need CAP_SYSLOG)")
      ->type_name("PATH");
  cmd->add_flag("--once", flags->once,
                "print the metrics once on standard output and exit");
  cmd->callback([flags, exit_code] { *exit_code = RunExporter(*flags); });
}

}  // namespace ctkit::cli
