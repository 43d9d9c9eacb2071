// Reading a host into HostData. The parsers accept exactly the formats the
// kernel and conntrack-tools print (spec §5.1 for the 17-column hex
// statistics, §5.2 for `conntrack -S`, §12 for table lines, §2.3 for the
// table-full log line), so a saved file from a real host parses the same as
// the live read. Nothing here judges the data; findings.cc does.
#include "host/host_data.h"

#include <arpa/inet.h>

#include <cstdlib>

#include "core/text.h"
#include "ctkit/tunables.h"

namespace ctkit {
namespace {

bool Contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

void KeepLast(std::vector<std::string>* v, std::string_view line) {
  v->emplace_back(line);
  if (v->size() > 5) v->erase(v->begin());
}

}  // namespace

std::optional<uint64_t> HostData::Sysctl(const std::string& short_name) const {
  auto it = sysctls.find(short_name);
  if (it == sysctls.end()) return std::nullopt;
  return ToU64(it->second);
}

uint64_t HostData::SysctlOrDefault(const std::string& short_name) const {
  static const Tunables kDefaults;
  return Sysctl(short_name).value_or(kDefaults.Get(short_name).value_or(0));
}

[[nodiscard]] Result<Stats> ParseProcStat(std::string_view text,
                                          uint64_t* entries, uint32_t* cpus) {
  // The 17 columns (§5.1) are mapped by header name, so a kernel adding
  // or moving one is still read.
  auto lines = Split(text, '\n');
  if (lines.empty()) return fail(Error::corrupt("empty statistics file"));
  auto header = Words(lines[0]);
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < header.size(); ++i) col[std::string(header[i])] = i;
  for (const char* c : {"entries", "drop", "early_drop", "insert_failed"}) {
    if (!col.count(c)) {
      return fail(
          Error::corrupt(std::string("statistics header lacks '") + c + "'"));
    }
  }
  Stats s;
  uint32_t n = 0;
  for (size_t li = 1; li < lines.size(); ++li) {
    auto w = Words(lines[li]);
    if (w.empty()) continue;
    if (w.size() != header.size()) {
      return fail(Error::corrupt("statistics line " + std::to_string(li + 1) +
                                 " has " + std::to_string(w.size()) +
                                 " fields, header has " +
                                 std::to_string(header.size())));
    }
    auto get = [&](const char* name) -> uint64_t {
      auto it = col.find(name);
      if (it == col.end()) return 0;
      return ToU64(w[it->second], 16).value_or(0);
    };
    for (size_t i = 0; i < w.size(); ++i) {
      if (!ToU64(w[i], 16)) {
        return fail(Error::corrupt("statistics line " + std::to_string(li + 1) +
                                   ": '" + std::string(w[i]) + "' is not hex"));
      }
    }
    if (entries) *entries = get("entries");  // same on every line
    s.found += get("found");
    s.invalid += get("invalid");
    s.insert += get("insert");
    s.insert_failed += get("insert_failed");
    s.drop += get("drop");
    s.early_drop += get("early_drop");
    s.error += get("icmp_error");
    s.search_restart += get("search_restart");
    s.clash_resolve += get("clashres");
    s.chaintoolong += get("chainlength");  // chain-too-long failures
    ++n;
  }
  if (n == 0) return fail(Error::corrupt("statistics file has no CPU lines"));
  if (cpus) *cpus = n;
  return s;
}

[[nodiscard]] Result<Stats> ParseConntrackS(std::string_view text,
                                            uint32_t* cpus) {
  Stats s;
  uint32_t n = 0;
  for (auto line : Split(text, '\n')) {
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    bool any = false;
    for (auto w : Words(line)) {
      size_t eq = w.find('=');
      if (eq == std::string_view::npos) continue;
      auto key = w.substr(0, eq);
      auto v = ToU64(w.substr(eq + 1));
      if (!v) {
        return fail(Error::corrupt("conntrack -S: bad value in '" +
                                   std::string(w) + "'"));
      }
      any = true;
      if (key == "found") s.found += *v;
      if (key == "invalid") s.invalid += *v;
      if (key == "insert") s.insert += *v;
      if (key == "insert_failed") s.insert_failed += *v;
      if (key == "drop") s.drop += *v;
      if (key == "early_drop") s.early_drop += *v;
      if (key == "error") s.error += *v;
      if (key == "search_restart") s.search_restart += *v;
      if (key == "clash_resolve") s.clash_resolve += *v;
      if (key == "chaintoolong") s.chaintoolong += *v;
    }
    if (any) ++n;
  }
  if (n == 0) return fail(Error::corrupt("conntrack -S: no counters"));
  if (cpus) *cpus = n;
  return s;
}

std::optional<TableEntry> ParseTableLine(std::string_view line) {
  auto w = Words(Trim(line));
  size_t i = 0;
  if (w.size() >= 2 && (w[0] == "ipv4" || w[0] == "ipv6") && ToU64(w[1])) i = 2;
  if (w.size() < i + 3) return std::nullopt;
  TableEntry e;
  e.proto = std::string(w[i]);
  auto num = ToU64(w[i + 1]);
  auto timeout = ToU64(w[i + 2]);
  if (!num || !timeout || *num > 255 || *timeout > UINT32_MAX)
    return std::nullopt;
  e.proto_num = static_cast<int>(*num);
  e.timeout_s = static_cast<uint32_t>(*timeout);
  i += 3;
  if (i < w.size() && w[i].find('=') == std::string_view::npos &&
      w[i][0] != '[') {
    e.state = std::string(w[i]);
    ++i;
  }
  int srcs = 0;
  bool have_src = false;
  for (; i < w.size(); ++i) {
    auto t = w[i];
    if (t == "[UNREPLIED]") e.unreplied = true;
    if (t == "[ASSURED]") e.assured = true;
    size_t eq = t.find('=');
    if (eq == std::string_view::npos) continue;
    auto key = t.substr(0, eq);
    auto val = t.substr(eq + 1);
    if (key == "src") ++srcs;
    if (srcs != 1) continue;  // only the original tuple
    if (key == "src") {
      e.src = std::string(val);
      have_src = true;
    } else if (key == "dst") {
      e.dst = std::string(val);
    } else if (key == "sport") {
      e.sport = static_cast<uint16_t>(ToU64(val).value_or(0));
    } else if (key == "dport") {
      e.dport = static_cast<uint16_t>(ToU64(val).value_or(0));
    }
  }
  if (!have_src) return std::nullopt;
  return e;
}

namespace {

// An address as conntrack -L prints it, into `a` and `f`.
bool ParseAddress(const std::string& text, Address* a, Family* f) {
  *a = Address{};
  if (inet_pton(AF_INET, text.c_str(), a->bytes) == 1) {
    *f = Family::kIPv4;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), a->bytes) == 1) {
    *f = Family::kIPv6;
    return true;
  }
  return false;
}

}  // namespace

std::optional<SummaryEntry> SummaryEntryOf(const TableEntry& t) {
  SummaryEntry e;
  e.l4_proto = static_cast<uint8_t>(t.proto_num);
  e.state = t.state;
  e.assured = t.assured;
  e.seen_reply = !t.unreplied;
  Family dst_family{};
  if (!ParseAddress(t.src, &e.src, &e.family) ||
      !ParseAddress(t.dst, &e.dst, &dst_family)) {
    return std::nullopt;
  }
  e.has_dport = ProtocolHasPorts(e.l4_proto);
  e.dport = t.dport;
  e.timeout_s = t.timeout_s;
  return e;
}

KernelLogSummary SummarizeKernelLog(std::string_view text) {
  KernelLogSummary k;
  for (auto line : Split(text, '\n')) {
    if (line.empty() || line[0] == ' ') continue;  // kmsg continuation
    double ts = -1;
    std::string_view msg = line;
    size_t semi = line.find(';');
    if (semi != std::string_view::npos && !line.empty() && line[0] >= '0' &&
        line[0] <= '9') {
      // /dev/kmsg: "prio,seq,usec,flags;text"
      auto f = Split(line.substr(0, semi), ',');
      if (f.size() >= 3) {
        if (auto us = ToU64(f[2])) ts = static_cast<double>(*us) / 1e6;
      }
      msg = line.substr(semi + 1);
    } else if (!line.empty() && line[0] == '[') {
      // dmesg: "[ 1234.567890] text"
      size_t close = line.find(']');
      if (close != std::string_view::npos) {
        std::string num(Trim(line.substr(1, close - 1)));
        char* end = nullptr;
        double v = std::strtod(num.c_str(), &end);
        if (end != num.c_str()) ts = v;
        msg = Trim(line.substr(close + 1));
      }
    }
    if (ts >= 0 && k.first_record_s < 0) k.first_record_s = ts;
    if (Contains(msg, "nf_conntrack") && Contains(msg, "table full") &&
        Contains(msg, "dropping packet")) {
      ++k.table_full_lines;
      // "table full in netns N, dropping packet" outside the initial
      // namespace; key 0 for the initial one.
      uint64_t netns = 0;
      constexpr std::string_view kIn = "in netns ";
      if (size_t at = msg.find(kIn); at != std::string_view::npos) {
        ++k.table_full_netns_lines;
        std::string_view rest = msg.substr(at + kIn.size());
        size_t n = 0;
        while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
        netns = ToU64(rest.substr(0, n)).value_or(0);
      }
      NetnsTableFull& ns = k.table_full_by_netns[netns];
      ++ns.lines;
      if (ts >= 0) {
        k.last_table_full_s = ts;
        ns.last_s = ts;
      }
      KeepLast(&k.table_full_samples, msg);
    } else if (Contains(msg, "net_ratelimit:") &&
               Contains(msg, "callbacks suppressed")) {
      auto w = Words(msg);
      for (size_t i = 0; i + 1 < w.size(); ++i) {
        if (w[i] == "net_ratelimit:")
          k.ratelimit_suppressed += ToU64(w[i + 1]).value_or(0);
      }
    } else if (Contains(msg, "invoked oom-killer") ||
               Contains(msg, "Out of memory") || Contains(msg, "oom-kill:")) {
      ++k.oom_lines;
      KeepLast(&k.oom_samples, msg);
    }
  }
  return k;
}

std::optional<uint64_t> MeminfoField(std::string_view text,
                                     std::string_view field) {
  for (auto line : Split(text, '\n')) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || line.substr(0, colon) != field)
      continue;
    auto w = Words(line.substr(colon + 1));
    if (w.empty()) return std::nullopt;
    return ToU64(w[0]);
  }
  return std::nullopt;
}

std::optional<SlabInfo> ParseSlabinfo(std::string_view text) {
  for (auto line : Split(text, '\n')) {
    auto w = Words(line);
    if (w.size() < 4 || w[0] != "nf_conntrack") continue;
    auto a = ToU64(w[1]), n = ToU64(w[2]), sz = ToU64(w[3]);
    if (!a || !n || !sz) return std::nullopt;
    return SlabInfo{*a, *n, *sz};
  }
  return std::nullopt;
}

namespace {

// What could not be read goes into `missing` (and `denied` when refused).
void Note(HostData* d, const Error& e) {
  d->missing.push_back(e.message);
  if (e.code == ErrorCode::kPermission) d->denied.push_back(e.message);
}

}  // namespace

HostData CollectCounters(HostView& view) {
  HostData d;
  d.source = view.Describe();
  auto note = [&d](const Error& e) { Note(&d, e); };

  if (auto names = view.List(kSysctlDir)) {
    for (const auto& n : *names) {
      if (n.rfind("nf_conntrack_", 0) != 0) continue;
      if (auto v = view.Read(kSysctlDir + n)) {
        d.sysctls[n] = std::string(Trim(*v));
      } else {
        note(v.error());
      }
    }
  } else {
    note(names.error());
  }
  d.count = d.Sysctl("nf_conntrack_count");
  d.max = d.Sysctl("nf_conntrack_max");
  d.buckets = d.Sysctl("nf_conntrack_buckets");
  if (auto s = view.Read(kStatsPath)) {
    std::string_view text = *s;
    bool from_netlink = text.rfind("# source: ctnetlink", 0) == 0;
    Result<Stats> st = fail(Error::corrupt(""));
    if (Contains(text, "entries") && Contains(text, "early_drop ")) {
      uint64_t entries = 0;
      st = ParseProcStat(text, &entries, &d.stats_cpus);
      d.stats_source = "/proc/net/stat/nf_conntrack";
      if (st && !d.count) d.count = entries;
    } else {
      st = ParseConntrackS(text, &d.stats_cpus);
      d.stats_source = from_netlink ? "ctnetlink" : "conntrack -S";
    }
    if (st) {
      d.stats = *st;
    } else {
      note(st.error());
    }
  } else {
    note(s.error());
  }

  return d;
}

HostData Collect(HostView& view) {
  HostData d = CollectCounters(view);
  auto note = [&d](const Error& e) { Note(&d, e); };

  d.init_netns = view.Read("/proc/sys/net/nf_conntrack_max").has_value();
  if (auto h = view.Read(kHashsizeParam)) {
    d.hashsize_param = ToU64(*h);
  } else {
    note(h.error());
  }
  // A loadable module has an initstate file; a built-in one does not
  // (both have /sys/module/nf_conntrack/parameters).
  if (view.List("/sys/module/nf_conntrack/parameters")) {
    d.builtin = !view.Read("/sys/module/nf_conntrack/initstate").has_value();
  }
  if (auto n = view.Read(kNetnsPath)) {
    // "net:[4026532318]"
    std::string_view v = Trim(*n);
    size_t open = v.find('['), close = v.rfind(']');
    if (open != std::string_view::npos && close != std::string_view::npos &&
        close > open) {
      d.netns_inode = ToU64(v.substr(open + 1, close - open - 1));
    }
  }
  if (auto n = view.Read(kNetnsNamesPath)) {
    for (auto line : Split(*n, '\n')) {
      auto w = Words(line);
      if (w.size() != 2) continue;
      if (auto ino = ToU64(w[0])) d.netns_names[*ino] = std::string(w[1]);
    }
  }

  // The table is digested as it is read: none of it is kept, so a table
  // of millions costs no more memory than one of hundreds.
  TableDigestBuilder digest(
      [&d](const std::string& name) { return d.SysctlOrDefault(name); });
  if (auto t = view.ForEachTableEntry(
          [&digest](const SummaryEntry& e) { digest.Add(e); })) {
    d.table_source = t->source;
    d.table_unparsed = t->unparsed;
    d.table = digest.Finish();
  } else {
    note(t.error());
  }

  if (auto k = view.Read(kKmsgPath)) {
    d.kmsg = SummarizeKernelLog(*k);
  } else {
    note(k.error());
  }
  if (auto h = view.Read("/proc/sys/kernel/hostname")) {
    d.hostname = std::string(Trim(*h));
  }
  if (auto k = view.Read("/proc/sys/kernel/osrelease")) {
    d.kernel_release = std::string(Trim(*k));
  }
  if (auto u = view.Read("/proc/uptime")) {
    auto w = Words(*u);
    if (!w.empty())
      d.uptime_s = std::strtod(std::string(w[0]).c_str(), nullptr);
  }
  if (auto m = view.Read("/proc/meminfo")) {
    d.mem_total_kb = MeminfoField(*m, "MemTotal");
    d.mem_available_kb = MeminfoField(*m, "MemAvailable");
  } else {
    note(m.error());
  }
  if (auto s = view.Read("/proc/slabinfo")) {
    d.slab = ParseSlabinfo(*s);
  } else {
    note(s.error());
  }
  // kube-proxy rewrites nf_conntrack_max and two TCP timeouts at start.
  if (auto pids = view.List("/proc")) {
    for (const auto& p : *pids) {
      if (p.empty() || p[0] < '0' || p[0] > '9') continue;
      auto comm = view.Read("/proc/" + p + "/comm");
      if (comm && Trim(*comm) == "kube-proxy") d.kube_proxy_running = true;
    }
  }
  return d;
}

}  // namespace ctkit
