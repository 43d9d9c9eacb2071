// Turning HostData into findings. Every number and every piece of advice
// comes from the kernel behaviour in the spec: a new entry is refused when
// the netns's count would exceed the global max and early drop finds no
// unassured entry in 8 buckets (§2); the table-full log line is rate-limited
// (§2.3), so only `drop` counts drops; hash chains average 2*max/buckets
// nodes when full (§1.3) and inserts fail at 52..81 nodes (§4.4); timeouts
// apply on each entry's next packet (§1.1); tcp_max_retrans is a threshold
// whose raising keeps entries longer (§6.6); memory is ~256 bytes per entry
// plus 8 per bucket (§10). The runbook users start from is wrong on several
// of these points, and the finding for each of its causes says where.
#include "host/findings.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "core/kernel_sizing.h"
#include "core/text.h"
#include "ctkit/tunables.h"
#include "proto/timeout_class.h"

namespace ctkit {
namespace {

uint64_t SysctlOr(const HostData& d, const std::string& n) {
  return d.SysctlOrDefault(n);
}

double D(uint64_t v) { return static_cast<double>(v); }

std::string MiB(uint64_t bytes) {
  return fmt::format("{:.1f} MiB", D(bytes) / (1024.0 * 1024.0));
}

std::string SysctlW(const std::string& short_name, uint64_t v) {
  return fmt::format("sysctl -w net.netfilter.{}={}", short_name, v);
}

uint64_t ClassCount(const TableComposition& c, const std::string& state) {
  for (const auto& [s, n] : c.by_tcp_state) {
    if (s == state) return n;
  }
  return 0;
}

Finding Unknown(const std::string& id, const std::string& title,
                const std::string& what) {
  Finding f;
  f.id = id;
  f.severity = Severity::kUnknown;
  f.title = title;
  f.detail = "Not checked: " + what + " could not be read.";
  return f;
}

// The composition's largest class and the sysctl that sets its lifetime,
// said in one sentence for the table-full finding.
std::string Cause(const HostData& d, const TableComposition& c,
                  const std::vector<TimeoutUse>& uses) {
  if (!d.table || c.total == 0 || uses.empty()) {
    return "The table was not read, so the entries holding it are unknown.";
  }
  const TimeoutUse& top = uses.front();
  std::string s = fmt::format(
      "The largest class is {} entries ({:.0f} % of {}), kept alive by {}={} "
      "s. ",
      top.entries, Percent(top.entries, c.total), c.total, top.sysctl,
      top.value_s);
  double assured = Percent(c.assured, c.total);
  if (assured >= 90) {
    s += fmt::format(
        "{:.0f} % of the entries are ASSURED, which early drop never evicts at "
        "allocation time: every new flow is dropped until something expires. ",
        assured);
  } else {
    s += fmt::format(
        "{:.0f} % are not ASSURED, so early drop can evict them; drops happen "
        "when 8 consecutive buckets hold only ASSURED entries. ",
        100 - assured);
  }
  return s;
}

}  // namespace

std::string FormatAge(double s) {
  if (s < 120) return fmt::format("{:.0f} s", s);
  if (s < 3600) return fmt::format("{:.0f} min", s / 60);
  if (s < 172800) {
    return std::fmod(s, 3600) == 0 ? fmt::format("{:.0f} h", s / 3600)
                                   : fmt::format("{:.1f} h", s / 3600);
  }
  return fmt::format("{:.1f} days", s / 86400);
}

namespace {

std::string Ago(double s) { return FormatAge(s); }

// The kernel log's table-full lines split into this namespace's and the
// others'. The kernel names the namespace by inode ("table full in netns N"
// outside the initial namespace, no number inside it), so a line is ours
// when N is the inode of the namespace doctor reads (or when both are the
// initial namespace).
struct LogAttribution {
  uint64_t own_lines = 0;
  double own_age_s = -1;    ///< age of this namespace's last line (-1: ?)
  bool own_recent = false;  ///< within the window, or undatable
  uint64_t other_lines = 0;
  std::string said;  ///< sentences for the finding's detail
};

LogAttribution AttributeLog(const HostData& d, const Thresholds& t) {
  LogAttribution a;
  if (!d.kmsg) return a;
  std::optional<uint64_t> own;
  if (d.init_netns) {
    own = 0;
  } else if (d.netns_inode) {
    own = *d.netns_inode;
  }
  auto age = [&](double last) {
    return d.uptime_s && last >= 0 ? std::max(0.0, *d.uptime_s - last) : -1.0;
  };
  std::string others;
  for (const auto& [ns, l] : d.kmsg->table_full_by_netns) {
    if (own && ns == *own) {
      a.own_lines = l.lines;
      a.own_age_s = age(l.last_s);
      a.own_recent = a.own_age_s < 0 || a.own_age_s <= t.recent_log_s;
      continue;
    }
    a.other_lines += l.lines;
    std::string who = ns == 0 ? std::string("the initial namespace")
                              : fmt::format("netns {}", ns);
    auto name = d.netns_names.find(ns);
    if (name != d.netns_names.end())
      who += fmt::format(" (ctkit doctor --netns {})", name->second);
    double ago = age(l.last_s);
    if (!others.empty()) others += "; ";
    others += fmt::format("{}: {} line(s){}", who, l.lines,
                          ago >= 0 ? ", the last " + Ago(ago) + " ago" : "");
  }
  if (a.own_lines > 0) {
    a.said += fmt::format(
        "This namespace logged {} 'table full' line(s){}; the window is {} "
        "(--log-window){}. ",
        a.own_lines,
        a.own_age_s >= 0 ? ", the last " + Ago(a.own_age_s) + " ago" : "",
        Ago(t.recent_log_s),
        a.own_recent ? "" : ": they are history, not a problem now");
  }
  if (a.other_lines > 0 && !own) {
    a.said += fmt::format(
        "The kernel log has {} 'table full' line(s), but this namespace's "
        "inode could not be read, so none is attributed to it: {}. ",
        a.other_lines, others);
  } else if (a.other_lines > 0) {
    a.said += fmt::format(
        "The kernel log also has {} 'table full' line(s) of other network "
        "namespaces: those tables were full, not this one: {}. ",
        a.other_lines, others);
  }
  return a;
}

// A change is global when the kernel keeps one value for all namespaces:
// the global sysctls and the hashsize module parameter (§1.1, §1.5).
void AddChange(Finding* f, const std::string& name, uint64_t v) {
  const bool global = name == "hashsize" || IsGlobalSysctl(name);
  f->changes.push_back(Change{name, v, global, f->id});
}

// ---- the runbook's six causes -------------------------------------------

Finding TableFull(const HostData& d, const Thresholds& t,
                  const TableComposition& c,
                  const std::vector<TimeoutUse>& uses) {
  Finding f;
  f.id = "max-too-low";
  f.corrections = {
      "\"Too many links\" (EMLINK) is not a conntrack error: a full table "
      "shows as the log line 'nf_conntrack: nf_conntrack: table full, dropping "
      "packet', a rising drop counter, EPERM on UDP/ICMP sends and TCP "
      "connects "
      "stalling on SYN retransmits.",
      "The count is /proc/sys/net/netfilter/nf_conntrack_count "
      "(net.netfilter.nf_conntrack_count); /proc/sys/netfilter/ does not "
      "exist.",
      "The log line is rate-limited (10 per 5 s, shared with other net "
      "messages): count drops with the drop statistic, not log lines."};
  if (!d.count || !d.max) {
    f = Unknown(f.id, "Table fill", "nf_conntrack_count or nf_conntrack_max");
    return f;
  }
  uint64_t count = *d.count, max = *d.max;
  uint64_t buckets = d.buckets.value_or(0);
  double fill = max == 0 ? 0 : Percent(count, max);
  uint64_t drop = d.stats ? d.stats->drop : 0;
  uint64_t early = d.stats ? d.stats->early_drop : 0;
  const LogAttribution log = AttributeLog(d, t);
  f.evidence = {{"count", D(count), ""},
                {"max", D(max), ""},
                {"fill", fill, "%"},
                {"buckets", D(buckets), ""}};
  if (d.stats) {
    f.evidence.push_back({"drop", D(drop), ""});
    f.evidence.push_back({"early_drop", D(early), ""});
  }
  if (d.kmsg) {
    f.evidence.push_back({"table_full_log_lines", D(log.own_lines), ""});
    if (log.own_age_s >= 0) {
      f.evidence.push_back({"last_table_full_line_age", log.own_age_s, "s"});
    }
    f.evidence.push_back(
        {"table_full_log_lines_other_netns", D(log.other_lines), ""});
  }
  if (max == 0) {
    f.severity = Severity::kWarning;
    f.title = "nf_conntrack_max is 0: no limit at all (6.18)";
    f.detail =
        "With max 0 the table grows until memory runs out (the limit check is "
        "skipped entirely; kernels after 6.18 refuse 0).";
    uint64_t want = std::max<uint64_t>(buckets, 65536);
    f.fix = SysctlW("nf_conntrack_max", want);
    AddChange(&f, "nf_conntrack_max", want);
    return f;
  }
  const bool over_warn = count > FillLimit(max, t.warn_fill_pct);
  const bool over_crit = count > FillLimit(max, t.crit_fill_pct);
  bool dropping = drop > 0 && over_warn;
  if (over_crit || dropping) {
    f.severity = Severity::kCritical;
    f.title = dropping
                  ? "The table is full and new connections are being dropped"
                  : "The table is nearly full";
  } else if (over_warn) {
    f.severity = Severity::kWarning;
    f.title = "The table is filling up";
  } else {
    // Room now. History alone (counters since boot, old log lines, other
    // namespaces' lines) does not hold a WARNING: only a table-full line of
    // this namespace within the window does, or drops the log cannot date.
    std::string history = fmt::format(
        "count {} of max {} ({:.1f} %) now; drop {} and early_drop {} count "
        "since boot (doctor reads them once, so it cannot tell when they "
        "grew). ",
        count, max, fill, drop, early);
    history += log.said;
    f.detail = history;
    if (log.own_recent) {
      f.severity = Severity::kWarning;
      f.title = fmt::format(
          "The table was full {} (kernel log); it has room now ({:.1f} %)",
          log.own_age_s >= 0 ? Ago(log.own_age_s) + " ago" : "recently", fill);
      f.fix =
          "Nothing to change while it has room; run doctor while the table "
          "is full to see what fills it, and watch whether 'drop' grows.";
    } else if ((drop > 0 || early > 0) && !d.kmsg) {
      f.severity = Severity::kWarning;
      f.title =
          "The table has been full before (counters since boot) and the "
          "kernel log could not be read to say when";
      f.fix = "Run as root so the kernel log can date the drops.";
    } else {
      f.severity = Severity::kOk;
      f.title = fmt::format("The table has room ({:.1f} % of max)", fill);
      if (log.own_lines > 0 || drop > 0 || early > 0)
        f.title += "; it was full before, not within the window";
    }
    return f;
  }
  // Recommend at least the kernel's own sizing (max = buckets) and twice
  // what is in use, within a quarter of RAM at the kernel's cost of an
  // entry (the slab object, §10), the figure the fix below states.
  uint64_t want = std::max({2 * count, 2 * max, buckets});
  std::string memnote;
  if (d.mem_total_kb) {
    uint64_t limit = *d.mem_total_kb * 1024 / 4 / KernelEntryBytes(false);
    if (want > limit) {
      want = std::max(limit, max);
      memnote = " (capped at a quarter of RAM; fix what holds the entries too)";
    }
  }
  f.detail = fmt::format(
      "count {} of max {} ({:.1f} %) in this network namespace. A new entry "
      "is refused when count + 1 > max and early drop finds no unassured "
      "entry; the packet is dropped and 'drop' grows. ",
      count, max, fill);
  f.detail += Cause(d, c, uses);
  if (!d.init_netns || log.other_lines > 0) {
    f.detail +=
        "nf_conntrack_max is global (set in the initial netns only) but is "
        "compared with each namespace's own count; the total over all "
        "namespaces can exceed it. ";
  }
  f.detail += log.said;
  if (d.stats && drop > 0) {
    f.detail +=
        "'drop' also counts unresolved insert clashes; with count at max, the "
        "table is the cause. ";
  }
  f.fix = fmt::format(
      "{}{} (memory when full: {} at 256 B per entry, allocated only as "
      "entries are used); persist it as 'net.netfilter.nf_conntrack_max = {}' "
      "in /etc/sysctl.d/. Then shorten the timeout that holds most entries "
      "(see the timeouts below; a new value reaches an entry at its next "
      "packet) rather than only raising max.",
      SysctlW("nf_conntrack_max", want), memnote,
      MiB(KernelTableBytes(want, 0, false)), want);
  AddChange(&f, "nf_conntrack_max", want);
  return f;
}

Finding TcpLoose(const HostData& d) {
  Finding f;
  f.id = "tcp-loose";
  f.corrections = {
      "The runbook's fix 'set nf_conntrack_tcp_loose=1' is a no-op: 1 is the "
      "default. tcp_loose only decides whether a mid-stream TCP packet (an ACK "
      "without a SYN) may create an entry; it has nothing to do with a full "
      "table, and 1 allows more entries, not fewer."};
  auto v = d.Sysctl("nf_conntrack_tcp_loose");
  if (!v) return Unknown(f.id, "tcp_loose", "nf_conntrack_tcp_loose");
  f.evidence = {{"nf_conntrack_tcp_loose", D(*v), ""}};
  if (*v != 0) {
    f.title = "tcp_loose is 1 (the default): not a cause of a full table";
    return f;
  }
  f.severity = Severity::kWarning;
  f.title = "tcp_loose is 0 (not the default)";
  f.detail =
      "With 0, connections that existed before conntrack saw them (after a "
      "reboot, failover or a flush) are INVALID and break where the ruleset "
      "drops invalid packets. It does not fill or relieve the table.";
  f.fix = SysctlW("nf_conntrack_tcp_loose", 1) +
          " if picked-up connections must keep working; otherwise leave it.";
  AddChange(&f, "nf_conntrack_tcp_loose", 1);
  return f;
}

Finding TcpMaxRetrans(const HostData& d) {
  Finding f;
  f.id = "tcp-max-retrans";
  f.corrections = {
      "Raising nf_conntrack_tcp_max_retrans frees nothing: it is the number of "
      "identical retransmissions after which an entry's timeout is capped at "
      "nf_conntrack_tcp_timeout_max_retrans (300 s). Raising it makes the cap "
      "rarer, so entries live longer. To free entries sooner lower "
      "nf_conntrack_tcp_timeout_established or "
      "nf_conntrack_tcp_timeout_max_retrans; changes apply on each entry's "
      "next packet."};
  auto v = d.Sysctl("nf_conntrack_tcp_max_retrans");
  if (!v)
    return Unknown(f.id, "tcp_max_retrans", "nf_conntrack_tcp_max_retrans");
  uint64_t cap = SysctlOr(d, "nf_conntrack_tcp_timeout_max_retrans");
  f.evidence = {{"nf_conntrack_tcp_max_retrans", D(*v), ""},
                {"nf_conntrack_tcp_timeout_max_retrans", D(cap), "s"}};
  if (*v <= 3) {
    f.title = fmt::format("tcp_max_retrans is {} (default 3): not a cause", *v);
    return f;
  }
  f.severity = Severity::kWarning;
  f.title = fmt::format(
      "tcp_max_retrans was raised to {}: entries of "
      "retransmitting connections now live longer",
      *v);
  f.detail =
      "Above 3 it takes more identical retransmissions before a stuck "
      "ESTABLISHED entry's 5-day timeout is cut to 300 s.";
  f.fix = SysctlW("nf_conntrack_tcp_max_retrans", 3) + " (the default).";
  AddChange(&f, "nf_conntrack_tcp_max_retrans", 3);
  return f;
}

Finding HashSize(const HostData& d, const Thresholds& t) {
  Finding f;
  f.id = "hash-size";
  f.corrections = {
      "There is no nf_conntrack_hashsize sysctl ('sysctl: cannot stat "
      "/proc/sys/net/netfilter/nf_conntrack_hashsize'). Set the hash size "
      "with net.netfilter.nf_conntrack_buckets, "
      "/sys/module/nf_conntrack/parameters/hashsize, or nf_conntrack.hashsize= "
      "at boot (the only one that also sets max, to 8 x hashsize).",
      "'At least half of max; for 1,000,000 use 65536' contradicts itself: "
      "65536 is 1/15 of 1,000,000, about 30 nodes per chain when full. The "
      "kernel's default is buckets = max."};
  if (!d.max || !d.buckets || *d.buckets == 0) {
    return Unknown(f.id, "Hash size", "nf_conntrack_buckets");
  }
  uint64_t max = *d.max, buckets = *d.buckets;
  double per_bucket = max == 0 ? 0 : D(max) / D(buckets);
  uint64_t ctl = d.stats ? d.stats->chaintoolong : 0;
  f.evidence = {{"buckets", D(buckets), ""},
                {"max", D(max), ""},
                {"nodes_per_chain_when_full", 2 * per_bucket, ""}};
  if (d.hashsize_param)
    f.evidence.push_back({"hashsize", D(*d.hashsize_param), ""});
  if (d.stats) f.evidence.push_back({"chaintoolong", D(ctl), ""});
  if (per_bucket <= t.max_per_bucket && ctl == 0) {
    f.title =
        fmt::format("Hash size fits max ({:.1f} nodes per chain when full)",
                    2 * per_bucket);
    return f;
  }
  f.severity = Severity::kWarning;
  f.title = ctl > 0 ? "Hash chains grew too long: inserts were refused"
                    : "Too few buckets for max: long chains when full";
  f.detail = fmt::format(
      "Each entry sits in two chains, so a full table averages {:.1f} nodes "
      "per chain; an insert fails (chaintoolong, insert_failed, packet "
      "dropped) at 52..81 nodes.",
      2 * per_bucket);
  uint64_t want = KernelRoundBuckets(max);
  f.fix = fmt::format(
      "{} or echo {} > /sys/module/nf_conntrack/parameters/hashsize (live "
      "rehash, init netns only, 8 bytes per bucket: {}). max stays as it is.",
      SysctlW("nf_conntrack_buckets", want), want,
      MiB(want * kKernelBucketBytes));
  AddChange(&f, "hashsize", want);
  return f;
}

Finding UdpTimeout(const HostData& d, const Thresholds& t,
                   const TableComposition& c) {
  Finding f;
  f.id = "udp-timeout";
  f.corrections = {
      "nf_conntrack_udp_timeout (30 s) only applies until a flow is a stream "
      "(a reply seen and a packet more than 2 s after the first); streams use "
      "nf_conntrack_udp_timeout_stream, 120 s in 6.18. Setting udp_timeout to "
      "30, as the runbook does, changes nothing: it is the default."};
  auto u = d.Sysctl("nf_conntrack_udp_timeout");
  auto s = d.Sysctl("nf_conntrack_udp_timeout_stream");
  if (!u || !s)
    return Unknown(f.id, "UDP timeouts", "nf_conntrack_udp_timeout*");
  f.evidence = {{"nf_conntrack_udp_timeout", D(*u), "s"},
                {"nf_conntrack_udp_timeout_stream", D(*s), "s"}};
  bool busy = d.count && d.max && *d.max > 0 &&
              *d.count > FillLimit(*d.max, t.warn_fill_pct);
  double udp_share = 0;
  if (d.table && c.total > 0) {
    udp_share = Percent(c.udp, c.total);
    f.evidence.push_back({"udp_share", udp_share, "%"});
    f.evidence.push_back({"unreplied_udp", D(c.unreplied_udp), ""});
  }
  if (*u > 30 || *s > 120) {
    f.severity = Severity::kWarning;
    f.title = "UDP timeouts raised above the defaults";
    f.detail = "Longer UDP timeouts keep idle UDP entries in the table.";
    f.fix =
        SysctlW("nf_conntrack_udp_timeout", std::min<uint64_t>(*u, 30)) + "; " +
        SysctlW("nf_conntrack_udp_timeout_stream", std::min<uint64_t>(*s, 120));
    if (*u > 30) AddChange(&f, "nf_conntrack_udp_timeout", 30);
    if (*s > 120) AddChange(&f, "nf_conntrack_udp_timeout_stream", 120);
    return f;
  }
  if (busy && c.total >= t.min_entries && udp_share >= t.majority_pct) {
    f.severity = Severity::kWarning;
    f.title = "UDP entries fill most of a busy table";
    uint64_t stream = c.udp - c.unreplied_udp;
    f.detail = fmt::format(
        "{} UDP entries: {} unreplied (udp_timeout applies), {} replied "
        "(udp_timeout_stream once a stream).",
        c.udp, c.unreplied_udp, stream);
    if (c.unreplied_udp * 2 >= c.udp) {
      f.fix = SysctlW("nf_conntrack_udp_timeout", 10);
      AddChange(&f, "nf_conntrack_udp_timeout", 10);
    } else {
      f.fix = SysctlW("nf_conntrack_udp_timeout_stream", 60);
      AddChange(&f, "nf_conntrack_udp_timeout_stream", 60);
    }
    f.fix += "; for DNS servers consider 'notrack' in the raw table.";
    return f;
  }
  f.title = "UDP timeouts are the defaults and UDP does not fill the table";
  return f;
}

Finding Memory(const HostData& d, const Thresholds& t) {
  Finding f;
  f.id = "memory-pressure";
  f.corrections = {
      "The OOM killer does not remove conntrack entries or 'parts of the "
      "networking stack'; under memory pressure the entry allocation itself "
      "can fail (counted as drop, like a full table). vm.swappiness does not "
      "affect kernel slab memory."};
  if (!d.mem_total_kb || !d.mem_available_kb) {
    return Unknown(f.id, "Memory", "/proc/meminfo");
  }
  double avail = Percent(*d.mem_available_kb, *d.mem_total_kb);
  uint64_t oom = d.kmsg ? d.kmsg->oom_lines : 0;
  uint64_t max = d.max.value_or(0), buckets = d.buckets.value_or(0);
  uint64_t full = KernelTableBytes(max, buckets, false);
  f.evidence = {{"MemTotal", D(*d.mem_total_kb), "kB"},
                {"MemAvailable", D(*d.mem_available_kb), "kB"},
                {"available", avail, "%"},
                {"conntrack_memory_at_max", D(full), "bytes"}};
  if (d.slab) {
    f.evidence.push_back({"slab_active_objs", D(d.slab->active_objs), ""});
    f.evidence.push_back(
        {"slab_bytes", D(d.slab->num_objs * d.slab->objsize), "bytes"});
    f.evidence.push_back({"slab_objsize", D(d.slab->objsize), "bytes"});
  }
  if (d.kmsg) f.evidence.push_back({"oom_log_lines", D(oom), ""});
  double full_pct = Percent(full / 1024, *d.mem_total_kb);
  if (avail < t.mem_crit_pct) {
    f.severity = Severity::kCritical;
  } else if (avail < t.mem_warn_pct || oom > 0 || full_pct > 50) {
    f.severity = Severity::kWarning;
  }
  if (f.severity == Severity::kOk) {
    f.title = fmt::format(
        "Memory is fine ({:.0f} % available; a full table "
        "would take {})",
        avail, MiB(full));
    return f;
  }
  f.title = oom > 0 ? "The OOM killer has run" : "Memory is short";
  f.detail = fmt::format(
      "{:.1f} % of RAM available. A full table at max {} takes about {} "
      "({:.1f} "
      "% of RAM: 256 B per entry plus 8 B per bucket; 128 B more per entry "
      "with accounting/timestamps/events).",
      avail, max, MiB(full), full_pct);
  f.fix =
      "Find what uses the memory (slabtop, ps); keep nf_conntrack_max within "
      "what RAM allows rather than raising it blindly.";
  return f;
}

// ---- what the data shows beyond the runbook -------------------------------

Finding Majority(const std::string& id, const std::string& what, uint64_t n,
                 const TableComposition& c, const Thresholds& t,
                 const HostData& d, const std::string& sysctl,
                 uint64_t suggested, const std::string& why) {
  Finding f;
  f.id = id;
  if (!d.table) return Unknown(id, what, "the conntrack table");
  double share = Percent(n, c.total);
  f.evidence = {{"entries", D(n), ""},
                {"share", share, "%"},
                {sysctl, D(SysctlOr(d, sysctl)), "s"}};
  if (c.total < t.min_entries || share < t.majority_pct) {
    f.title = fmt::format("{}: {:.0f} % of the table", what, share);
    return f;
  }
  f.severity = Severity::kWarning;
  f.title = fmt::format("{} are the majority ({} of {}, {:.0f} %)", what, n,
                        c.total, share);
  f.detail = why;
  if (suggested < SysctlOr(d, sysctl)) {
    f.fix = SysctlW(sysctl, suggested) +
            " (applies on each entry's next packet or to new entries).";
    AddChange(&f, sysctl, suggested);
  }
  return f;
}

Finding SourceDominating(const HostData& d, const TableComposition& c,
                         const Thresholds& t) {
  Finding f;
  f.id = "source-dominating";
  if (!d.table) return Unknown(f.id, "Sources", "the conntrack table");
  if (c.top_sources.empty()) {
    f.title = "The table is empty";
    return f;
  }
  const auto& [addr, n] = c.top_sources.front();
  double share = Percent(n, c.total);
  f.evidence = {{"entries_from_top_source", D(n), ""}, {"share", share, "%"}};
  if (c.total < t.min_entries || share < t.dominate_pct) {
    f.title =
        fmt::format("No source dominates (top: {} with {:.0f} %)", addr, share);
    return f;
  }
  f.severity = Severity::kWarning;
  f.title =
      fmt::format("One source holds {:.0f} % of the table: {}", share, addr);
  f.detail =
      "A single client, scanner or NAT gateway is creating most entries.";
  f.fix = fmt::format(
      "Check what {} is doing; limit it with an nft rule such as 'ip saddr {} "
      "ct count over 1000 drop', or exempt trusted bulk traffic with notrack "
      "in the raw table.",
      addr, addr);
  return f;
}

Finding InsertFailed(const HostData& d) {
  Finding f;
  f.id = "insert-failed-without-drop";
  if (!d.stats) return Unknown(f.id, "Insert failures", "the statistics");
  const Stats& s = *d.stats;
  f.evidence = {{"insert_failed", D(s.insert_failed), ""},
                {"chaintoolong", D(s.chaintoolong), ""},
                {"drop", D(s.drop), ""},
                {"clash_resolve", D(s.clash_resolve), ""}};
  if ((s.insert_failed == 0 && s.chaintoolong == 0) || s.drop > 0) {
    f.title = "No insert failures hidden from the drop counter";
    return f;
  }
  f.severity = Severity::kWarning;
  f.title = "Packets were dropped at insert time, but 'drop' shows 0";
  if (s.chaintoolong > 0) {
    f.detail =
        "chaintoolong counts inserts refused because a hash chain was too long "
        "(52..81 nodes); those packets are dropped without counting 'drop'. "
        "Too few buckets for the entries, or many entries hashing alike.";
    uint64_t want = d.max ? KernelRoundBuckets(*d.max) : 0;
    if (d.buckets && want > *d.buckets) {
      f.fix = SysctlW("nf_conntrack_buckets", want);
      AddChange(&f, "hashsize", want);
    } else {
      f.fix = "Raise nf_conntrack_buckets (e.g. to 2 x max).";
    }
  } else {
    f.detail =
        "insert_failed without chaintoolong: an entry was dying or an "
        "extension went stale at confirm time (helper modules unloaded).";
    f.fix = "Check for helper/module reloads; nothing to tune.";
  }
  return f;
}

Finding BucketsFarFromMax(const HostData& d, const Thresholds& t) {
  Finding f;
  f.id = "buckets-far-from-max";
  if (!d.max || !d.buckets) return Unknown(f.id, "Buckets vs max", "buckets");
  uint64_t max = *d.max, buckets = *d.buckets;
  f.evidence = {{"buckets", D(buckets), ""}, {"max", D(max), ""}};
  if (max == 0 || D(buckets) / D(max) <= t.buckets_per_max) {
    f.title = "max is not far below the bucket count";
    return f;
  }
  f.severity = Severity::kWarning;
  f.title = fmt::format("max ({}) is {:.0f}x below the bucket count ({})", max,
                        D(buckets) / D(max), buckets);
  f.detail =
      "The kernel sized the table for buckets entries (its default max equals "
      "buckets); max was set far lower, so the table fills long before the "
      "hash does. Entries cost memory only while they exist.";
  f.fix = SysctlW("nf_conntrack_max", buckets);
  AddChange(&f, "nf_conntrack_max", buckets);
  return f;
}

Finding Denied(const HostData& d) {
  Finding f;
  f.id = "permission-denied";
  f.severity = Severity::kUnknown;
  f.title = fmt::format(
      "{} source(s) could not be read (permission denied): run as root",
      d.denied.size());
  f.detail = "Not root: ";
  for (size_t i = 0; i < d.denied.size(); ++i)
    f.detail += (i ? "; " : "") + d.denied[i];
  f.detail +=
      ". The table and the counters over ctnetlink need CAP_NET_ADMIN, "
      "/proc/net/nf_conntrack and /proc/slabinfo are root-only, and the "
      "kernel log needs CAP_SYSLOG when kernel.dmesg_restrict is 1; the "
      "findings that need them are not checked.";
  f.fix = "Run as root: sudo ctkit doctor";
  return f;
}

}  // namespace

const char* SeverityName(Severity s) {
  switch (s) {
    case Severity::kOk:
      return "OK";
    case Severity::kWarning:
      return "WARNING";
    case Severity::kCritical:
      return "CRITICAL";
    case Severity::kUnknown:
      return "UNKNOWN";
  }
  return "UNKNOWN";
}

std::string TimeoutSysctlFor(const TableEntry& e) {
  EntryFacts f;
  f.l4_proto = static_cast<uint8_t>(e.proto_num);
  f.state = e.state;
  f.assured = e.assured;
  f.seen_reply = !e.unreplied;
  return TimeoutClassSysctl(TimeoutClassOf(f));
}

uint64_t FillLimit(uint64_t max, double pct) {
  return static_cast<uint64_t>(std::floor(D(max) * pct / 100.0));
}

Diagnosis Diagnose(const HostData& d, const Thresholds& t) {
  Diagnosis g;
  g.thresholds = t;
  if (d.table) {
    g.composition = d.table->composition;
    g.timeouts = d.table->timeouts;
  }
  const TableComposition& c = g.composition;
  g.findings.push_back(TableFull(d, t, c, g.timeouts));
  g.findings.push_back(TcpLoose(d));
  g.findings.push_back(TcpMaxRetrans(d));
  g.findings.push_back(HashSize(d, t));
  g.findings.push_back(UdpTimeout(d, t, c));
  g.findings.push_back(Memory(d, t));
  g.findings.push_back(Majority(
      "time-wait-majority", "TIME_WAIT entries", ClassCount(c, "TIME_WAIT"), c,
      t, d, "nf_conntrack_tcp_timeout_time_wait", 30,
      "Closed connections wait out nf_conntrack_tcp_timeout_time_wait; they "
      "are ASSURED, so early drop at allocation never evicts them (GC early-"
      "drop mode can, once the table is 95 % full). Typical of many short "
      "connections (HTTP without keep-alive, health checks)."));
  g.findings.push_back(Majority(
      "unreplied-udp-majority", "Unreplied UDP entries", c.unreplied_udp, c, t,
      d, "nf_conntrack_udp_timeout", 10,
      "UDP flows that never saw a reply: a DNS resolver talking to a dead "
      "upstream, a UDP scan or flood, or one-way traffic. They are not "
      "ASSURED, so early drop can evict them, but they churn the table."));
  g.findings.push_back(Majority(
      "syn-sent-majority", "SYN_SENT entries", ClassCount(c, "SYN_SENT"), c, t,
      d, "nf_conntrack_tcp_timeout_syn_sent", 30,
      "Connection attempts with no answer: a SYN flood, a scan, or clients "
      "connecting to an unreachable backend. A SYN_SENT entry lives "
      "nf_conntrack_tcp_timeout_syn_sent from the first SYN (retransmits do "
      "not refresh it)."));
  g.findings.push_back(SourceDominating(d, c, t));
  g.findings.push_back(InsertFailed(d));
  g.findings.push_back(BucketsFarFromMax(d, t));
  if (!d.denied.empty()) g.findings.push_back(Denied(d));

  bool any_crit = false, any_warn = false;
  std::map<std::string, Change> merged;
  for (const auto& f : g.findings) {
    if (f.severity == Severity::kCritical) any_crit = true;
    if (f.severity == Severity::kWarning) any_warn = true;
    if (f.severity != Severity::kWarning && f.severity != Severity::kCritical)
      continue;
    for (const auto& ch : f.changes) {
      auto it = merged.find(ch.name);
      if (it == merged.end()) {
        merged[ch.name] = ch;
        continue;
      }
      bool bigger_wins = ch.name == "nf_conntrack_max" || ch.name == "hashsize";
      if (bigger_wins ? ch.value > it->second.value
                      : ch.value < it->second.value) {
        it->second.value = ch.value;
      }
      it->second.reason += "," + ch.reason;
    }
  }
  for (auto& [n, ch] : merged) g.changes.push_back(ch);
  if (!d.count || !d.max || !d.denied.empty()) {
    // What could be read may still show a full table; otherwise a partial
    // read is never OK.
    g.status = any_crit ? Severity::kCritical : Severity::kUnknown;
  } else {
    g.status = any_crit   ? Severity::kCritical
               : any_warn ? Severity::kWarning
                          : Severity::kOk;
  }
  return g;
}

}  // namespace ctkit
