// Tunables by sysctl name. One table maps each name to its field, range and
// meaning, so Set(), LoadFile() and List() cannot disagree. Ranges follow
// the kernel's sysctl handlers (u8 fields are 0..255 or 0..1; timeouts are
// limited to INT_MAX jiffies).
#include "ctkit/tunables.h"

#include <charconv>
#include <fstream>
#include <string>

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

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
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

Result<void> Tunables::LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail(Error::io("cannot open sysctl file '" + path + "'"));
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::string_view l = Trim(line);
    if (l.empty() || l.front() == '#' || l.front() == ';') continue;
    if (l.front() == '-') l.remove_prefix(1);  // "ignore errors" marker
    size_t eq = l.find('=');
    if (eq == std::string_view::npos) {
      return fail(Error::invalid_argument(path + ":" + std::to_string(lineno) +
                                          ": expected NAME = VALUE"));
    }
    auto r = Set(l.substr(0, eq), l.substr(eq + 1));
    if (!r) {
      return fail(Error::invalid_argument(path + ":" + std::to_string(lineno) +
                                          ": " + r.error().message));
    }
  }
  if (in.bad()) return fail(Error::io("error reading '" + path + "'"));
  return {};
}

void Tunables::Normalize() {
  if (buckets == 0) buckets = 512;
  buckets = (buckets + 511u) / 512u * 512u;
}

std::vector<std::pair<std::string, std::string>> Tunables::List() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Entry& e : kEntries) {
    uint64_t v = e.u32 != nullptr ? this->*(e.u32) : this->*(e.u8);
    out.emplace_back(std::string(kFullPrefix) + e.name, std::to_string(v));
  }
  return out;
}

}  // namespace ctkit
