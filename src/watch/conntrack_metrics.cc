// One namespace's conntrack as metric families (see conntrack_metrics.h).
#include "watch/conntrack_metrics.h"

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/text.h"
#include "host/host_view.h"

namespace ctkit::watch {
namespace {

struct CounterDoc {
  const char* name;  // the statistic, as conntrack -S names it
  uint64_t Stats::*field;
  const char* help;
};

// The kernel's per-CPU statistics, summed (conntrack -S).
constexpr CounterDoc kCounters[] = {
    {"found", &Stats::found, "Lookups that found an entry."},
    {"invalid", &Stats::invalid,
     "Packets conntrack could not track (conntrack -S invalid)."},
    {"insert", &Stats::insert, "Entries inserted (0 on current kernels)."},
    {"insert_failed", &Stats::insert_failed,
     "Entries that could not be inserted: a clash with an entry made at the "
     "same time (NAT or races), not a full table."},
    {"drop", &Stats::drop,
     "Packets dropped because the table was full and early drop found "
     "nothing to evict."},
    {"early_drop", &Stats::early_drop,
     "Entries evicted to make room for a new one in a full table."},
    {"error", &Stats::error,
     "ICMP(v6) packets conntrack refused (bad errors, errors quoting no "
     "entry)."},
    {"search_restart", &Stats::search_restart,
     "Lookups restarted because a chain changed under them."},
    {"clash_resolve", &Stats::clash_resolve,
     "Insert clashes the kernel resolved (UDP and GRE may share an entry)."},
    {"chaintoolong", &Stats::chaintoolong,
     "Inserts refused because the hash chain was too long (hash table too "
     "small, or hash flooding)."},
};

}  // namespace

std::vector<MetricFamily> ConntrackFamilies(const HostData& d,
                                            const std::string& netns) {
  std::vector<MetricFamily> out;
  const Labels ns = {{"netns", netns}};
  auto gauge = [&](const char* name, const char* help,
                   std::optional<uint64_t> v) {
    MetricFamily f{name, help, MetricType::kGauge, {}};
    if (v) f.Add(static_cast<double>(*v), ns);
    out.push_back(std::move(f));
  };
  gauge("conntrack_entries", "Entries in this namespace's table.", d.count);
  gauge("conntrack_entries_limit",
        "nf_conntrack_max: the limit on entries, global to the host (every "
        "namespace's entries count against it).",
        d.max);
  gauge("conntrack_buckets", "nf_conntrack_buckets: hash table buckets.",
        d.buckets);
  for (const CounterDoc& c : kCounters) {
    MetricFamily f{std::string("conntrack_") + c.name + "_total",
                   c.help,
                   MetricType::kCounter,
                   {}};
    if (d.stats) f.Add(static_cast<double>((*d.stats).*c.field), ns);
    out.push_back(std::move(f));
  }
  {
    MetricFamily f{"conntrack_collector_info",
                   "Where the statistics came from: netlink (ctnetlink) or "
                   "procfs (/proc/net/stat/nf_conntrack).",
                   MetricType::kGauge,
                   {}};
    if (d.stats) {
      const bool procfs = d.stats_source.rfind("/proc", 0) == 0;
      Labels l = ns;
      l.emplace_back("source", procfs ? "procfs" : "netlink");
      f.Add(1, std::move(l));
    }
    out.push_back(std::move(f));
  }
  {
    MetricFamily f{"conntrack_sysctl",
                   "Every numeric nf_conntrack_* sysctl as this namespace "
                   "reads it (timeouts in seconds).",
                   MetricType::kGauge,
                   {}};
    for (const auto& [name, value] : d.sysctls) {
      const auto v = ToU64(value);
      if (!v) continue;  // not numeric (none are today)
      Labels l = ns;
      l.emplace_back("sysctl", name);
      f.Add(static_cast<double>(*v), std::move(l));
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<MetricFamily> NodeExporterFamilies(const HostData& d) {
  std::vector<MetricFamily> out;
  auto gauge = [&out](std::string name, std::string help,
                      std::optional<uint64_t> v) {
    MetricFamily f{std::move(name), std::move(help), MetricType::kGauge, {}};
    if (v) f.Add(static_cast<double>(*v));
    out.push_back(std::move(f));
  };
  gauge("node_nf_conntrack_entries",
        "node_exporter's name for conntrack_entries.", d.count);
  gauge("node_nf_conntrack_entries_limit",
        "node_exporter's name for conntrack_entries_limit.", d.max);
  struct Stat {
    const char* name = nullptr;
    std::optional<uint64_t> value;
  };
  const std::optional<Stats>& st = d.stats;
  auto v = [&st](uint64_t Stats::*field) -> std::optional<uint64_t> {
    if (!st) return std::nullopt;
    return (*st).*field;
  };
  const Stat stats[] = {
      {"found", v(&Stats::found)},
      {"invalid", v(&Stats::invalid)},
      {"ignore", st ? std::optional<uint64_t>(0) : std::nullopt},
      {"insert", v(&Stats::insert)},
      {"insert_failed", v(&Stats::insert_failed)},
      {"drop", v(&Stats::drop)},
      {"early_drop", v(&Stats::early_drop)},
      {"search_restart", v(&Stats::search_restart)},
  };
  for (const Stat& s : stats) {
    gauge(std::string("node_nf_conntrack_stat_") + s.name,
          std::string("node_exporter's name for the ") + s.name +
              " statistic (a gauge there; conntrack_" + s.name +
              "_total here).",
          s.value);
  }
  return out;
}

std::string NetnsLabel(HostView& view) {
  std::optional<uint64_t> inode;
  if (auto n = view.Read(kNetnsPath)) {
    std::string_view v = Trim(*n);
    const size_t open = v.find('['), close = v.rfind(']');
    if (open != std::string_view::npos && close != std::string_view::npos &&
        close > open) {
      inode = ToU64(v.substr(open + 1, close - open - 1));
    }
  }
  if (!inode) return "unknown";
  if (auto names = view.Read(kNetnsNamesPath)) {
    for (std::string_view line : Split(*names, '\n')) {
      auto w = Words(line);
      if (w.size() == 2 && ToU64(w[0]) == inode) return std::string(w[1]);
    }
  }
  return std::to_string(*inode);
}

}  // namespace ctkit::watch
