// Tunables by sysctl name. One table maps each name to its field, range and
// meaning, so Set(), LoadFile() and List() cannot disagree. Ranges follow
// the kernel's sysctl handlers (u8 fields are 0..255 or 0..1; timeouts are
// limited to INT_MAX jiffies).
#include "ctkit/tunables.h"

#include <fnmatch.h>

#include <charconv>
#include <fstream>
#include <set>
#include <string>

#include "core/kernel_sizing.h"
#include "core/text.h"

namespace ctkit {
namespace {

constexpr uint64_t kMaxTimeoutSeconds = 0x7fffffffu / 250;

struct Entry {
  const char* name;  // without "net.netfilter.nf_conntrack_"
  uint32_t Tunables::*u32;
  uint8_t Tunables::*u8;
  uint64_t min;
  uint64_t max;
};

#define CTKIT_U32(field, lo, hi) \
  { #field, &Tunables::field, nullptr, lo, hi }
#define CTKIT_U8(field, lo, hi) \
  { #field, nullptr, &Tunables::field, lo, hi }
#define CTKIT_TIMEOUT(field) CTKIT_U32(field, 0, kMaxTimeoutSeconds)

const Entry kEntries[] = {
    CTKIT_U32(max, 0, 0x7fffffff),
    CTKIT_U32(buckets, 1, 0x7fffffff),
    CTKIT_U8(checksum, 0, 1),
    CTKIT_U8(log_invalid, 0, 255),
    CTKIT_U32(expect_max, 1, 0x7fffffff),
    CTKIT_U8(acct, 0, 1),
    CTKIT_U8(events, 0, 2),
    CTKIT_U8(timestamp, 0, 1),
    CTKIT_TIMEOUT(generic_timeout),
    CTKIT_TIMEOUT(icmp_timeout),
    CTKIT_TIMEOUT(icmpv6_timeout),
    CTKIT_TIMEOUT(tcp_timeout_syn_sent),
    CTKIT_TIMEOUT(tcp_timeout_syn_recv),
    CTKIT_TIMEOUT(tcp_timeout_established),
    CTKIT_TIMEOUT(tcp_timeout_fin_wait),
    CTKIT_TIMEOUT(tcp_timeout_close_wait),
    CTKIT_TIMEOUT(tcp_timeout_last_ack),
    CTKIT_TIMEOUT(tcp_timeout_time_wait),
    CTKIT_TIMEOUT(tcp_timeout_close),
    CTKIT_TIMEOUT(tcp_timeout_max_retrans),
    CTKIT_TIMEOUT(tcp_timeout_unacknowledged),
    CTKIT_U8(tcp_loose, 0, 1),
    CTKIT_U8(tcp_be_liberal, 0, 1),
    CTKIT_U8(tcp_ignore_invalid_rst, 0, 1),
    CTKIT_U8(tcp_max_retrans, 0, 255),
    CTKIT_TIMEOUT(udp_timeout),
    CTKIT_TIMEOUT(udp_timeout_stream),
    CTKIT_TIMEOUT(sctp_timeout_closed),
    CTKIT_TIMEOUT(sctp_timeout_cookie_wait),
    CTKIT_TIMEOUT(sctp_timeout_cookie_echoed),
    CTKIT_TIMEOUT(sctp_timeout_established),
    CTKIT_TIMEOUT(sctp_timeout_shutdown_sent),
    CTKIT_TIMEOUT(sctp_timeout_shutdown_recd),
    CTKIT_TIMEOUT(sctp_timeout_shutdown_ack_sent),
    CTKIT_TIMEOUT(sctp_timeout_heartbeat_sent),
    CTKIT_TIMEOUT(gre_timeout),
    CTKIT_TIMEOUT(gre_timeout_stream),
    CTKIT_U32(frag6_high_thresh, 0, 0x7fffffff),
    CTKIT_U32(frag6_low_thresh, 0, 0x7fffffff),
    CTKIT_TIMEOUT(frag6_timeout),
};

#undef CTKIT_U32
#undef CTKIT_U8
#undef CTKIT_TIMEOUT

constexpr std::string_view kFullPrefix = "net.netfilter.nf_conntrack_";
constexpr std::string_view kShortPrefix = "nf_conntrack_";

// The nf_conntrack namespace of keys: everything Set() either takes or
// explains (hashsize, count, a misspelt timeout), as opposed to the rest
// of a sysctl.d file (net.ipv4.*, kernel.*), which a replay ignores.
bool IsConntrackKey(std::string_view key) {
  return key.substr(0, kFullPrefix.size()) == kFullPrefix ||
         key.substr(0, kShortPrefix.size()) == kShortPrefix ||
         key == "net.nf_conntrack_max";
}

// "max" for every accepted spelling of nf_conntrack_max, and so on.
std::string ShortName(std::string_view key) {
  if (key == "net.nf_conntrack_max") return "max";
  if (key.substr(0, kFullPrefix.size()) == kFullPrefix)
    return std::string(key.substr(kFullPrefix.size()));
  if (key.substr(0, kShortPrefix.size()) == kShortPrefix)
    return std::string(key.substr(kShortPrefix.size()));
  return std::string(key);
}

}  // namespace

Result<void> Tunables::Set(std::string_view name, std::string_view value) {
  std::string_view key = Trim(name);
  // sysctl also accepts '/' as the separator.
  std::string dotted(key);
  for (char& c : dotted) {
    if (c == '/') c = '.';
  }
  std::string_view k = dotted;
  if (k == "net.nf_conntrack_max") {
    k = "max";
  } else if (k.substr(0, kFullPrefix.size()) == kFullPrefix) {
    k.remove_prefix(kFullPrefix.size());
  } else if (k.substr(0, kShortPrefix.size()) == kShortPrefix) {
    k.remove_prefix(kShortPrefix.size());
  } else {
    return fail(Error::invalid_argument(
        "unknown sysctl '" + std::string(key) +
        "': expected net.netfilter.nf_conntrack_NAME or nf_conntrack_NAME"));
  }
  if (k == "hashsize") {
    return fail(Error::invalid_argument(
        "'" + std::string(key) +
        "' does not exist: there is no nf_conntrack_hashsize sysctl. The "
        "hash size is net.netfilter.nf_conntrack_buckets (writable in the "
        "initial network namespace), or "
        "/sys/module/nf_conntrack/parameters/hashsize, or the boot "
        "parameter nf_conntrack.hashsize=N (which also sets max = 8 * N). "
        "Use --sysctl nf_conntrack_buckets=N"));
  }
  if (k == "count") {
    return fail(Error::invalid_argument(
        "'" + std::string(key) +
        "' is read-only: it is the number of entries, not a setting"));
  }
  for (const Entry& e : kEntries) {
    if (k != e.name) continue;
    std::string_view v = Trim(value);
    uint64_t parsed = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), parsed);
    if (v.empty() || ec != std::errc() || end != v.data() + v.size()) {
      return fail(Error::invalid_argument(
          "bad value '" + std::string(v) + "' for " + std::string(kFullPrefix) +
          e.name + ": expected a non-negative integer"));
    }
    if (parsed < e.min || parsed > e.max) {
      return fail(Error::invalid_argument(
          "value " + std::string(v) + " for " + std::string(kFullPrefix) +
          e.name + " is out of range [" + std::to_string(e.min) + ", " +
          std::to_string(e.max) + "]"));
    }
    if (e.u32 != nullptr) {
      this->*(e.u32) = static_cast<uint32_t>(parsed);
    } else {
      this->*(e.u8) = static_cast<uint8_t>(parsed);
    }
    return {};
  }
  return fail(Error::invalid_argument("unknown sysctl '" + std::string(key) +
                                      "' (not a nf_conntrack setting in "
                                      "Linux 6.18)"));
}

[[nodiscard]] Result<std::optional<SysctlLine>> ParseSysctlLine(
    std::string_view line) {
  std::string_view l = Trim(line);
  if (l.empty() || l.front() == '#' || l.front() == ';') {
    return std::optional<SysctlLine>();
  }
  size_t eq = l.find('=');
  if (eq == std::string_view::npos) {
    return fail(Error::invalid_argument("expected KEY = VALUE"));
  }
  SysctlLine out;
  std::string_view key = Trim(l.substr(0, eq));
  if (!key.empty() && key.front() == '-') {
    out.ignore_errors = true;
    key = Trim(key.substr(1));
  }
  size_t sep = key.find_first_of("./");
  bool slash_first = sep != std::string_view::npos && key[sep] == '/';
  out.key.assign(key);
  if (slash_first) {
    for (char& c : out.key) c = c == '/' ? '.' : c == '.' ? '/' : c;
  }
  out.value.assign(Trim(l.substr(eq + 1)));
  out.glob = out.key.find_first_of("*?[") != std::string::npos;
  return std::optional<SysctlLine>(std::move(out));
}

bool SysctlGlobMatches(std::string_view pattern, std::string_view key) {
  // The '/' form, so FNM_PATHNAME keeps wildcards inside one component.
  auto slashed = [](std::string_view k) {
    std::string s(k);
    for (char& c : s) c = c == '.' ? '/' : c == '/' ? '.' : c;
    return s;
  };
  return fnmatch(slashed(pattern).c_str(), slashed(key).c_str(),
                 FNM_PATHNAME) == 0;
}

Result<void> Tunables::LoadFile(const std::string& path,
                                std::vector<std::string>* notes) {
  return LoadFiles({path}, notes);
}

Result<void> Tunables::LoadFiles(const std::vector<std::string>& paths,
                                 std::vector<std::string>* notes) {
  struct Glob {
    SysctlLine line;
    std::string where;  // "file:line"
  };
  std::vector<Glob> globs;
  std::set<std::string> exact;       // short names set by their own name
  std::vector<std::string> outside;  // "key (file:line)"
  auto note = [&](const std::string& n) {
    if (notes) notes->push_back(n);
  };
  // A failed assignment: an error, or a note for a '-' key.
  auto apply = [&](const std::string& key, const SysctlLine& l,
                   const std::string& where) -> Result<void> {
    auto r = Set(key, l.value);
    if (r) return {};
    if (l.ignore_errors) {
      note(where + ": ignored ('-' key): " + r.error().message);
      return {};
    }
    return fail(Error::invalid_argument(where + ": " + r.error().message));
  };
  for (const std::string& path : paths) {
    std::ifstream in(path);
    if (!in) return fail(Error::io("cannot open sysctl file '" + path + "'"));
    std::string text;
    int lineno = 0;
    while (std::getline(in, text)) {
      ++lineno;
      const std::string where = path + ":" + std::to_string(lineno);
      auto parsed = ParseSysctlLine(text);
      if (!parsed) {
        return fail(
            Error::invalid_argument(where + ": " + parsed.error().message));
      }
      if (!*parsed) continue;
      const SysctlLine& l = **parsed;
      if (l.glob) {
        globs.push_back({l, where});
        continue;
      }
      if (!IsConntrackKey(l.key)) {
        outside.push_back(l.key + " (" + where + ")");
        continue;
      }
      auto r = apply(l.key, l, where);
      if (!r) return r;
      exact.insert(ShortName(l.key));
    }
    if (in.bad()) return fail(Error::io("error reading '" + path + "'"));
  }
  // Globs after every exact name: an exact assignment wins over a glob
  // whatever the order of the files (measured with systemd-sysctl 252).
  for (const Glob& g : globs) {
    bool any = false;
    for (const Entry& e : kEntries) {
      std::string full = std::string(kFullPrefix) + e.name;
      bool match = SysctlGlobMatches(g.line.key, full) ||
                   (std::string_view(e.name) == "max" &&
                    SysctlGlobMatches(g.line.key, "net.nf_conntrack_max"));
      if (!match) continue;
      any = true;
      if (exact.count(e.name)) continue;
      auto r = apply(full, g.line, g.where);
      if (!r) return r;
    }
    if (!any) outside.push_back(g.line.key + " (" + g.where + ")");
  }
  if (!outside.empty()) {
    std::string n = "ignored " + std::to_string(outside.size()) +
                    " setting(s) outside nf_conntrack: ";
    for (size_t i = 0; i < outside.size() && i < 3; ++i)
      n += (i ? ", " : "") + outside[i];
    if (outside.size() > 3)
      n += ", and " + std::to_string(outside.size() - 3) + " more";
    note(n);
  }
  return {};
}

void Tunables::Normalize() {
  if (buckets == 0) buckets = 1;
  buckets = static_cast<uint32_t>(KernelRoundBuckets(buckets));
}

std::string Tunables::Canonical(std::string_view name) {
  std::string s(Trim(name));
  for (char& c : s) {
    if (c == '/') c = '.';
  }
  if (s == "net.nf_conntrack_max") return "nf_conntrack_max";
  constexpr std::string_view kNetfilter = "net.netfilter.";
  if (s.compare(0, kNetfilter.size(), kNetfilter) == 0) {
    s.erase(0, kNetfilter.size());
  }
  return s;
}

std::optional<uint64_t> Tunables::Get(std::string_view name) const {
  const std::string n = Canonical(name);
  if (n.compare(0, kShortPrefix.size(), kShortPrefix) != 0) return {};
  const std::string_view field =
      std::string_view(n).substr(kShortPrefix.size());
  for (const Entry& e : kEntries) {
    if (field == e.name) {
      return e.u32 != nullptr ? uint64_t{this->*(e.u32)}
                              : uint64_t{this->*(e.u8)};
    }
  }
  return {};
}

std::vector<std::pair<std::string, std::string>> Tunables::List(
    bool changed_only) const {
  static const Tunables kDefaults;
  std::vector<std::pair<std::string, std::string>> out;
  for (const Entry& e : kEntries) {
    uint64_t v = e.u32 != nullptr ? this->*(e.u32) : this->*(e.u8);
    uint64_t d = e.u32 != nullptr ? kDefaults.*(e.u32) : kDefaults.*(e.u8);
    if (changed_only && v == d) continue;
    out.emplace_back(std::string(kFullPrefix) + e.name, std::to_string(v));
  }
  return out;
}

}  // namespace ctkit
