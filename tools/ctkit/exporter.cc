// `ctkit exporter`: this network namespace's conntrack for Prometheus, on
// /metrics over HTTP (cpp-httplib), or once on standard output (--once).
// What a scrape says is the watch layer's (watch/scraper.h): the O(1)
// counters on every scrape, the table scan's attribution from its own
// interval. This file parses flags and serves HTTP through the watch
// layer's front (watch/http_front.h: TLS and basic auth from
// --web.config.file, and connections no client can exhaust). Flags follow
// the Prometheus exporters' conventions (--web.listen-address,
// --web.telemetry-path, --web.config.file). Listening on anything but
// loopback is the user's explicit choice.
#include <fmt/format.h>
#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>
#include <string>
#include <tuple>
#include <utility>

#include "tools/ctkit/command.h"
#include "tools/ctkit/history_flags.h"
#include "tools/ctkit/settings.h"
#include "watch/exposition.h"
#include "watch/http_front.h"
#include "watch/scraper.h"
#include "watch/web_config.h"

namespace ctkit::cli {
namespace {

// The port: Prometheus's default-port allocation list gave out all of its
// first range, 9100-9999, by 2023 and continues above 10000; 10737 is in
// that continuation and was on no list we could find (see the README).
constexpr char kDefaultListen[] = "127.0.0.1:10737";

struct ExporterFlags {
  std::string listen = kDefaultListen;
  std::string path = "/metrics";
  std::string web_config;  // --web.config.file: TLS and basic auth
  bool once = false;
  HistoryFlags history;
  watch::ScraperOptions scraper;
};

// "HOST:PORT", with HOST possibly "[v6]"; false when malformed.
bool SplitListen(const std::string& listen, std::string* host, int* port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) return false;
  *host = listen.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (host->empty()) *host = "0.0.0.0";  // ":10737", as Go's exporters read it
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

int RunExporter(ExporterFlags f) {
  // The flight recorder (watch/history_file.h): its file is opened, or
  // refused, before anything is served.
  if (Result<void> h = ParseHistoryFlags(&f.history); !h) {
    return UsageError(h.error().message);
  }
  f.scraper.history = f.history.file;
  f.scraper.history_interval_s = f.history.interval_s;
  f.scraper.history_retention_s = f.history.retention_s;
  watch::Scraper scraper(f.scraper);
  if (Result<void> h = scraper.OpenHistory(); !h) return Fail(h.error());
  if (f.once) {
    scraper.ScanNow();
    fmt::print("{}", scraper.Scrape());
    return kExitOk;
  }
  std::string host;
  int port = 0;
  if (!SplitListen(f.listen, &host, &port)) {
    return UsageError("--web.listen-address " + f.listen +
                      ": expected HOST:PORT (e.g. 127.0.0.1:10737)");
  }
  if (f.path.empty() || f.path[0] != '/') {
    return UsageError("--web.telemetry-path " + f.path + ": must start with /");
  }
  // TLS, basic auth and the connection limits (watch/http_front.h); a
  // wrong web config stops the exporter before it listens.
  watch::WebConfig web;
  if (!f.web_config.empty()) {
    Result<watch::WebConfig> loaded = watch::LoadWebConfig(f.web_config);
    if (!loaded) return Fail(loaded.error());
    web = std::move(*loaded);
  }
  Result<std::unique_ptr<watch::HttpFront>> front =
      watch::HttpFront::Create(web);
  if (!front) return Fail(front.error());
  if (std::string why = scraper.StartBackground(); !why.empty()) {
    fmt::print(stderr,
               "ctkit exporter: not following the kernel log ({}); "
               "conntrack_table_full_messages_total is left out\n",
               why);
  }
  httplib::Server& server = (*front)->server();
  // httplib's default also sets SO_REUSEPORT, which lets a second exporter
  // share the port silently; a taken port must be an error.
  server.set_socket_options([](int sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  server.Get(f.path, [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(scraper.Scrape(), watch::kExpositionContentType);
  });
  server.Get("/", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(fmt::format("<html><head><title>ctkit exporter</title>"
                                "</head><body><h1>ctkit exporter</h1><p><a "
                                "href=\"{0}\">{0}</a></p></body></html>\n",
                                f.path),
                    "text/html; charset=utf-8");
  });
  if ((*front)->Bind(host, port) < 0) {
    return Fail(Error::io("cannot listen on " + f.listen + ": " +
                          std::strerror(errno)));
  }
  g_server.store(&server);
  std::signal(SIGTERM, StopServer);
  std::signal(SIGINT, StopServer);
  fmt::print(stderr, "ctkit exporter: serving {} on {}://{}{}\n", f.path,
             (*front)->scheme(), f.listen, f.path);
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
            {kExitFailure,
             "could not listen, the --web.config.file is wrong or names an "
             "unusable file, the --history file cannot be used, or the "
             "server failed"},
            {kExitUsage, "the command line was wrong", true}});
  cmd->add_option("--web.listen-address", flags->listen,
                  fmt::format("HOST:PORT to listen on (default {}; a "
                              "non-loopback address is an explicit choice)",
                              kDefaultListen));
  cmd->add_option("--web.telemetry-path", flags->path,
                  "path of the metrics (default /metrics)");
  cmd->add_option("--web.config.file", flags->web_config,
                  "TLS and basic auth, in the web configuration format of "
                  "Prometheus's exporters (tls_server_config, "
                  "http_server_config, basic_auth_users, rate_limit); read "
                  "once at start; HTTP/2 is not served (http2 has no effect)")
      ->type_name("FILE");
  cmd->add_option("--root", flags->scraper.root,
                  "read a fixture tree or an extracted `doctor --collect` "
                  "archive instead of the live host")
      ->type_name("DIR")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--compat", flags->scraper.compat,
                  "also export under another exporter's names: node "
                  "(node_exporter's node_nf_conntrack_*, so node-mixin rules "
                  "keep working)")
      ->check(CLI::IsMember({"node"}));
  cmd->add_option("--forecast.window", flags->scraper.forecast_window_s,
                  "seconds of scrapes the fill forecast fits a line through "
                  "(default 900)")
      ->check(CLI::Range(1.0, 86400.0));
  cmd->add_flag("--all-netns", flags->scraper.all_netns,
                "every network namespace on the host (named under /run/netns "
                "and those of running processes), each under its own netns "
                "label; needs CAP_SYS_ADMIN");
  cmd->add_option("--kernel-log", flags->scraper.kernel_log,
                  "the kernel log to follow for table-full lines (default "
                  "/dev/kmsg; \"\" not to; may need CAP_SYSLOG)")
      ->type_name("PATH");
  cmd->add_option("--scan-interval", flags->scraper.scan_interval_s,
                  "seconds between walks of the table for the attribution "
                  "metrics (states, top sources, destinations and ports, "
                  "remaining lifetimes), served from the last walk; 0 for "
                  "none (default 30)")
      ->check(CLI::Range(0.0, 86400.0));
  cmd->add_option("--scan-budget", flags->scraper.scan.budget_s,
                  "seconds a walk may take before it stops and reports "
                  "partial counts (conntrack_scan_complete 0; default 10)")
      ->check(CLI::Range(0.01, 3600.0));
  cmd->add_option("--top-k", flags->scraper.scan.top_k,
                  "sources, destinations and ports shown by the attribution "
                  "metrics, besides \"other\" (default 10)")
      ->check(CLI::Range(1, 100));
  AddHistoryOptions(cmd, &flags->history);
  cmd->add_flag("--once", flags->once,
                "print the metrics once on standard output and exit");
  cmd->callback([flags, exit_code] { *exit_code = RunExporter(*flags); });
}

}  // namespace ctkit::cli
