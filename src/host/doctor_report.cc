// The doctor's two output formats. The text puts the status first (as a
// monitoring plugin's first line does), then what was read, then the
// findings most severe first; OK findings still print their runbook
// corrections, because an operator following that runbook needs to hear
// that the step is wrong even when it is not the problem here.
#include "host/doctor_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <utility>

#include "report/json_doc.h"
#include "report/summary_parts.h"

namespace ctkit {
namespace {

// "MemTotal" -> "mem_total"; snake_case names stay as they are.
std::string SnakeCase(const std::string& name) {
  std::string o;
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (std::isupper(c)) {
      if (i > 0 && (std::islower(static_cast<unsigned char>(name[i - 1])) ||
                    std::isdigit(static_cast<unsigned char>(name[i - 1])))) {
        o += '_';
      }
      o += static_cast<char>(std::tolower(c));
    } else {
      o += static_cast<char>(c);
    }
  }
  return o;
}

// An evidence item as JSON: the unit moves into the key (percent becomes a
// _ratio, /proc/meminfo's kB -- KiB -- become _bytes) and a whole number
// is an integer, as counts and settings are. A sysctl keeps its own name
// (its unit is the kernel's: seconds for the timeouts).
std::pair<std::string, Json> EvidenceJson(const Evidence& e) {
  std::string key = SnakeCase(e.name);
  const bool sysctl = key.rfind("nf_conntrack_", 0) == 0;
  auto suffix = [&](const std::string& s) {
    if (!sysctl && (key.size() < s.size() ||
                    key.compare(key.size() - s.size(), s.size(), s) != 0)) {
      key += s;
    }
  };
  double v = e.value;
  if (e.unit == "%") {
    suffix("_ratio");
    return {key, Json(v / 100.0)};
  }
  if (e.unit == "kB") v *= 1024;
  if (e.unit == "kB" || e.unit == "bytes") suffix("_bytes");
  if (e.unit == "s") suffix("_seconds");
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15) {
    return {key, v < 0 ? Json(static_cast<int64_t>(v))
                       : Json(static_cast<uint64_t>(v))};
  }
  return {key, Json(v)};
}

// A sysctl's value: an integer when it is one (all of nf_conntrack's are),
// else the text as read.
Json SysctlJson(const std::string& v) {
  uint64_t u = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), u);
  if (!v.empty() && ec == std::errc() && end == v.data() + v.size()) {
    return Json(u);
  }
  int64_t i = 0;
  auto [end2, ec2] = std::from_chars(v.data(), v.data() + v.size(), i);
  if (!v.empty() && ec2 == std::errc() && end2 == v.data() + v.size()) {
    return Json(i);
  }
  return Json(v);
}

std::string Num(double v) {
  if (v == static_cast<double>(static_cast<int64_t>(v)))
    return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{:.1f}", v);
}

std::string List(const std::vector<Tally>& v) {
  std::string s;
  for (const auto& [k, n] : v) {
    if (!s.empty()) s += ", ";
    s += fmt::format("{} {}", k, n);
  }
  return s.empty() ? "-" : s;
}

int Rank(Severity s) {
  switch (s) {
    case Severity::kCritical:
      return 0;
    case Severity::kWarning:
      return 1;
    case Severity::kUnknown:
      return 2;
    case Severity::kOk:
      return 3;
  }
  return 3;
}

std::vector<const Finding*> Sorted(const Diagnosis& g) {
  std::vector<const Finding*> v;
  for (const auto& f : g.findings) v.push_back(&f);
  std::stable_sort(v.begin(), v.end(), [](const Finding* a, const Finding* b) {
    return Rank(a->severity) < Rank(b->severity);
  });
  return v;
}

}  // namespace

std::string FormatStatusLine(const HostData& d, const Diagnosis& g) {
  std::string o = fmt::format("CONNTRACK {} - ", SeverityName(g.status));
  if (d.count && d.max && *d.max > 0) {
    o += fmt::format(
        "{:.1f}% used ({}/{})",
        100.0 * static_cast<double>(*d.count) / static_cast<double>(*d.max),
        *d.count, *d.max);
  } else if (d.count && d.max) {
    o += fmt::format("{} entries, no limit (max 0)", *d.count);
  } else {
    o += "table fill unknown";
  }
  if (!d.denied.empty()) o += "; permission denied: run as root";
  std::vector<const Finding*> bad;
  for (const Finding* f : Sorted(g)) {
    if (f->severity == Severity::kOk || f->id == "permission-denied") continue;
    bad.push_back(f);
  }
  if (!bad.empty()) {
    o += "; " + bad.front()->title;
    if (bad.size() > 1) o += fmt::format(" (+{} more)", bad.size() - 1);
  }
  // Perfdata: label=value[UOM];warn;crit;min;max, counters with "c".
  auto u = [](const std::optional<uint64_t>& v) {
    return v ? fmt::format("{}", *v) : std::string("U");
  };
  std::string warn, crit;
  if (d.max && *d.max > 0) {
    warn = fmt::format("{}", FillLimit(*d.max, g.thresholds.warn_fill_pct));
    crit = fmt::format("{}", FillLimit(*d.max, g.thresholds.crit_fill_pct));
  }
  o += fmt::format(" | entries={};{};{};0;{}", u(d.count), warn, crit,
                   d.max && *d.max > 0 ? u(d.max) : std::string());
  auto counter = [&](const char* name, uint64_t Stats::*field) {
    o += d.stats ? fmt::format(" {}={}c", name, (*d.stats).*field)
                 : fmt::format(" {}=U", name);
  };
  counter("drop", &Stats::drop);
  counter("early_drop", &Stats::early_drop);
  counter("insert_failed", &Stats::insert_failed);
  counter("chaintoolong", &Stats::chaintoolong);
  return o;
}

std::string FormatDoctorText(const HostData& d, const Diagnosis& g) {
  std::string o = FormatStatusLine(d, g) + "\n";
  o += fmt::format("  source: {}\n", d.source);
  auto opt = [](const std::optional<uint64_t>& v) {
    return v ? fmt::format("{}", *v) : std::string("?");
  };
  o += fmt::format("  table: count {} / max {}", opt(d.count), opt(d.max));
  if (d.count && d.max && *d.max > 0) {
    o += fmt::format(" ({:.1f} %)", 100.0 * static_cast<double>(*d.count) /
                                        static_cast<double>(*d.max));
  }
  o += fmt::format(", buckets {}, hashsize {}{}\n", opt(d.buckets),
                   opt(d.hashsize_param),
                   d.init_netns ? "" : " (not the initial netns)");
  if (d.stats) {
    const Stats& s = *d.stats;
    o += fmt::format(
        "  stats ({}): drop {} early_drop {} insert_failed {} chaintoolong {} "
        "invalid {} error {} clash_resolve {}\n",
        d.stats_source, s.drop, s.early_drop, s.insert_failed, s.chaintoolong,
        s.invalid, s.error, s.clash_resolve);
  }
  if (d.kmsg) {
    o += fmt::format(
        "  kernel log: {} 'table full, dropping packet' line(s) (rate-limited, "
        "not a drop count), {} OOM-killer line(s)\n",
        d.kmsg->table_full_lines, d.kmsg->oom_lines);
    for (const auto& [ns, l] : d.kmsg->table_full_by_netns) {
      bool own = d.init_netns ? ns == 0 : d.netns_inode && *d.netns_inode == ns;
      std::string who = ns == 0 ? std::string("initial namespace")
                                : fmt::format("netns {}", ns);
      auto name = d.netns_names.find(ns);
      if (name != d.netns_names.end()) who += " (" + name->second + ")";
      o += fmt::format("    {}{}: {} line(s)", who, own ? ", this one" : "",
                       l.lines);
      if (l.last_s >= 0 && d.uptime_s) {
        o += ", the last " + FormatAge(std::max(0.0, *d.uptime_s - l.last_s)) +
             " ago";
      }
      o += "\n";
    }
    for (const auto& l : d.kmsg->table_full_samples) o += "    " + l + "\n";
  }
  if (d.mem_total_kb && d.mem_available_kb) {
    o += fmt::format("  memory: MemTotal {} kB, MemAvailable {} kB",
                     *d.mem_total_kb, *d.mem_available_kb);
    if (d.slab) {
      o += fmt::format(", nf_conntrack slab {} objects x {} B",
                       d.slab->num_objs, d.slab->objsize);
    }
    o += "\n";
  }
  if (d.table) {
    const TableComposition& c = g.composition;
    o += fmt::format("  entries read ({}): {}; assured {}, unreplied {}\n",
                     d.table_source, c.total, c.assured, c.unreplied);
    o += fmt::format("    by protocol: {}\n", List(c.by_protocol));
    o += fmt::format("    TCP states: {}\n", List(c.by_tcp_state));
    o += fmt::format("    top sources: {}\n", List(c.top_sources));
    o += fmt::format("    top destinations: {}\n", List(c.top_destinations));
    o += fmt::format("    top destination ports: {}\n", List(c.top_dports));
  }
  if (!g.timeouts.empty()) {
    o += "  timeouts (a new value reaches an entry only when a packet re-arms "
         "it; until then the entry keeps its expiry, so nothing is freed at "
         "once):\n";
    for (const auto& u : g.timeouts) {
      o += fmt::format(
          "    {}={} s holds {} (each gone or re-armed within {} s)", u.sysctl,
          u.value_s, u.entries, u.max_left_s);
      if (u.unknown_idle > 0)
        o += fmt::format("; {} capped or set under a longer value",
                         u.unknown_idle);
      o += "\n";
      for (const auto& st : u.shorter) {
        o += fmt::format(
            "      {} s: {} have more than {} s left (they get {} s only at "
            "their next packet); {} idle >= {} s ({} s in force since their "
            "last packet would have expired them)\n",
            st.value_s, st.more_left, st.value_s, st.value_s, st.idle_at_least,
            st.value_s, st.value_s);
      }
    }
  }
  for (const auto& m : d.missing) o += "  not read: " + m + "\n";
  for (const Finding* f : Sorted(g)) {
    o += fmt::format("\n[{}] {}: {}\n", SeverityName(f->severity), f->id,
                     f->title);
    if (!f->evidence.empty()) {
      o += "  evidence:";
      for (const auto& e : f->evidence) {
        o += fmt::format(" {}={}{}", e.name, Num(e.value),
                         e.unit == "%"    ? "%"
                         : e.unit.empty() ? ""
                                          : " " + e.unit);
      }
      o += "\n";
    }
    if (!f->detail.empty()) o += "  why: " + f->detail + "\n";
    if (!f->fix.empty() && f->severity != Severity::kOk)
      o += "  fix: " + f->fix + "\n";
    for (const auto& c : f->corrections)
      o += "  runbook correction: " + c + "\n";
  }
  if (!g.changes.empty()) {
    o += "\n--apply would set:\n";
    for (const auto& c : g.changes) {
      o += fmt::format("  {} = {}   ({}{})\n", c.name, c.value, c.reason,
                       c.global ? ", global" : "");
    }
  }
  return o;
}

std::string FormatDoctorJson(const HostData& d, const Diagnosis& g,
                             uint64_t generated_at_unix_ns) {
  Json j = StartJsonDocument(kDoctorTool);
  // A diagnosis of one host at one moment: say which and when (with
  // --root, the host the tree was saved from, when its files say).
  StampLiveMoment(&j, {generated_at_unix_ns, d.hostname, d.kernel_release});
  j["source"] = d.source;
  j["status"] = SeverityName(g.status);
  j["exit_code"] = static_cast<int>(g.status);
  j["status_line"] = FormatStatusLine(d, g);
  auto opt = [](const std::optional<uint64_t>& v) -> Json {
    return v ? Json(*v) : Json(nullptr);
  };
  const Thresholds& t = g.thresholds;
  auto limit = [&](double pct) -> Json {
    return d.max ? Json(FillLimit(*d.max, pct)) : Json(nullptr);
  };
  j["thresholds"] = {{"warn_fill_ratio", t.warn_fill_pct / 100.0},
                     {"crit_fill_ratio", t.crit_fill_pct / 100.0},
                     {"warn_entries", limit(t.warn_fill_pct)},
                     {"crit_entries", limit(t.crit_fill_pct)},
                     {"log_window_seconds", t.recent_log_s}};
  auto kib = [](const std::optional<uint64_t>& kb) -> Json {
    return kb ? Json(*kb * 1024) : Json(nullptr);
  };
  Json sysctls = Json::object();
  for (const auto& [name, value] : d.sysctls) sysctls[name] = SysctlJson(value);
  j["host"] = {{"count", opt(d.count)},
               {"max", opt(d.max)},
               {"fill_ratio", d.count && d.max && *d.max > 0
                                  ? Json(Ratio(*d.count, *d.max))
                                  : Json(nullptr)},
               {"buckets", opt(d.buckets)},
               {"hashsize", opt(d.hashsize_param)},
               {"init_netns", d.init_netns},
               {"netns_inode", opt(d.netns_inode)},
               {"denied", d.denied},
               {"mem_total_bytes", kib(d.mem_total_kb)},
               {"mem_available_bytes", kib(d.mem_available_kb)},
               {"sysctls", sysctls},
               {"missing", d.missing}};
  if (d.stats) {
    // Where the counters came from, then the counters as replay's and
    // kernel-replay's `stats` carry them.
    Json stats = {{"source", d.stats_source}};
    const Json counters = StatsJson(*d.stats);
    for (const auto& [k, v] : counters.items()) stats[k] = v;
    j["stats"] = stats;
  }
  if (d.kmsg) {
    Json by_netns = Json::array();
    for (const auto& [ns, l] : d.kmsg->table_full_by_netns) {
      bool own = d.init_netns ? ns == 0 : d.netns_inode && *d.netns_inode == ns;
      auto name = d.netns_names.find(ns);
      by_netns.push_back(
          {{"netns_inode", ns == 0 ? Json(nullptr) : Json(ns)},
           {"initial_namespace", ns == 0},
           {"name",
            name != d.netns_names.end() ? Json(name->second) : Json(nullptr)},
           {"this_namespace", own},
           {"lines", l.lines},
           {"last_since_boot_seconds",
            l.last_s >= 0 ? Json(l.last_s) : Json(nullptr)}});
    }
    j["kernel_log"] = {
        {"table_full_lines", d.kmsg->table_full_lines},
        {"table_full_netns_lines", d.kmsg->table_full_netns_lines},
        {"table_full_by_netns", by_netns},
        {"oom_lines", d.kmsg->oom_lines},
        {"ratelimit_suppressed", d.kmsg->ratelimit_suppressed},
        {"table_full_samples", d.kmsg->table_full_samples}};
  }
  if (d.table) {
    const TableComposition& c = g.composition;
    auto pairs = [](const std::vector<Tally>& v) {
      Json a = Json::array();
      for (const auto& [k, n] : v) a.push_back({{"key", k}, {"entries", n}});
      return a;
    };
    j["table"] = {{"source", d.table_source},
                  {"entries", c.total},
                  {"assured", c.assured},
                  {"unreplied", c.unreplied},
                  {"unreplied_udp", c.unreplied_udp},
                  {"by_protocol", pairs(c.by_protocol)},
                  {"tcp_states", pairs(c.by_tcp_state)},
                  {"top_sources", pairs(c.top_sources)},
                  {"top_destinations", pairs(c.top_destinations)},
                  {"top_dports", pairs(c.top_dports)}};
    Json timeouts = Json::array();
    for (const auto& u : g.timeouts) {
      Json shorter = Json::array();
      for (const auto& st : u.shorter) {
        shorter.push_back({{"value_seconds", st.value_s},
                           {"entries_with_more_left", st.more_left},
                           {"entries_idle_at_least", st.idle_at_least}});
      }
      timeouts.push_back({{"sysctl", u.sysctl},
                          {"value_seconds", u.value_s},
                          {"entries", u.entries},
                          {"max_left_seconds", u.max_left_s},
                          {"unknown_idle", u.unknown_idle},
                          {"shorter", shorter}});
    }
    j["timeouts"] = timeouts;
  }
  Json fs = Json::array();
  for (const Finding* f : Sorted(g)) {
    Json ev = Json::object();
    for (const auto& e : f->evidence) {
      auto [key, value] = EvidenceJson(e);
      ev[key] = value;
    }
    Json ch = Json::array();
    for (const auto& c : f->changes)
      ch.push_back(
          {{"name", c.name}, {"value", c.value}, {"global", c.global}});
    fs.push_back({{"id", f->id},
                  {"severity", SeverityName(f->severity)},
                  {"title", f->title},
                  {"evidence", ev},
                  {"detail", f->detail},
                  {"fix", f->fix},
                  {"corrections", f->corrections},
                  {"changes", ch}});
  }
  j["findings"] = fs;
  Json ch = Json::array();
  for (const auto& c : g.changes) {
    ch.push_back({{"name", c.name},
                  {"value", c.value},
                  {"global", c.global},
                  {"reason", c.reason}});
  }
  j["changes"] = ch;
  return DumpJson(j);
}

}  // namespace ctkit
