// Tunables: the kernel's net.netfilter.nf_conntrack_* sysctls, by their
// kernel names, with the kernel's (6.18) defaults. Timeouts are in seconds,
// as the sysctls are; the engine converts them to jiffies once.
#ifndef CTKIT_TUNABLES_H_
#define CTKIT_TUNABLES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ctkit/result.h"

namespace ctkit {

/// Every sysctl the engine models. Field names are the sysctl names without
/// the `net.netfilter.nf_conntrack_` prefix.
struct Tunables {
  /// Maximum entries (the count is compared after incrementing: a new entry
  /// is refused when count+1 > max). 0 means no limit, as in 6.18. A replay
  /// defaults to the kernel's value for a 64-bit host with > 4 GiB RAM.
  uint32_t max = 262144;
  /// Hash buckets. Kernel rounds up to a multiple of 512 (done on load).
  uint32_t buckets = 262144;
  /// Verify L4 checksums (the kernel does so only at PREROUTING; a replay
  /// sees packets as a router's PREROUTING would).
  uint8_t checksum = 1;
  uint8_t log_invalid = 0;
  uint32_t expect_max = 4096;
  /// Per-entry packet/byte counters for entries created while this is 1.
  uint8_t acct = 0;
  /// 0 off, 1 always, 2 only if a listener exists at creation.
  uint8_t events = 2;
  /// Start/stop timestamps for entries created while this is 1.
  uint8_t timestamp = 0;

  uint32_t generic_timeout = 600;
  uint32_t icmp_timeout = 30;
  uint32_t icmpv6_timeout = 30;

  uint32_t tcp_timeout_syn_sent = 120;
  uint32_t tcp_timeout_syn_recv = 60;
  uint32_t tcp_timeout_established = 432000;
  uint32_t tcp_timeout_fin_wait = 120;
  uint32_t tcp_timeout_close_wait = 60;
  uint32_t tcp_timeout_last_ack = 30;
  uint32_t tcp_timeout_time_wait = 120;
  uint32_t tcp_timeout_close = 10;
  /// Cap once tcp_max_retrans identical retransmissions were seen, or the
  /// last window was 0.
  uint32_t tcp_timeout_max_retrans = 300;
  /// Cap while data is unacknowledged, and for unreplied pickups.
  uint32_t tcp_timeout_unacknowledged = 300;
  /// 1: a first ACK (mid-stream) may create an entry. Not a table-full fix.
  uint8_t tcp_loose = 1;
  /// 1: window checks never make a packet INVALID or ignored.
  uint8_t tcp_be_liberal = 0;
  /// 1: skip the RST sequence check.
  uint8_t tcp_ignore_invalid_rst = 0;
  /// Identical retransmissions before the max_retrans cap; raising it makes
  /// entries live longer, not shorter.
  uint8_t tcp_max_retrans = 3;

  uint32_t udp_timeout = 30;
  uint32_t udp_timeout_stream = 120;

  uint32_t sctp_timeout_closed = 10;
  uint32_t sctp_timeout_cookie_wait = 3;
  uint32_t sctp_timeout_cookie_echoed = 3;
  uint32_t sctp_timeout_established = 210;
  uint32_t sctp_timeout_shutdown_sent = 3;
  uint32_t sctp_timeout_shutdown_recd = 3;
  uint32_t sctp_timeout_shutdown_ack_sent = 3;
  uint32_t sctp_timeout_heartbeat_sent = 30;
  uint32_t gre_timeout = 30;
  uint32_t gre_timeout_stream = 180;

  uint32_t frag6_high_thresh = 4194304;
  uint32_t frag6_low_thresh = 3145728;
  uint32_t frag6_timeout = 60;

  /// Sets one sysctl by name: `net.netfilter.nf_conntrack_udp_timeout`,
  /// `nf_conntrack_udp_timeout` (and `net.nf_conntrack_max`) are accepted.
  /// Unknown names, read-only ones (count) and out-of-range values fail with
  /// a message naming them; `nf_conntrack_hashsize` fails with an
  /// explanation of what to use instead.
  [[nodiscard]] Result<void> Set(std::string_view name, std::string_view value);

  /// Reads sysctl.d files (sysctl.d(5)) as systemd-sysctl applies them:
  /// `KEY = VALUE` lines, '#'/';' comments, '.' or '/' separators, later
  /// assignments win. A real file sets many other keys (net.ipv4.*,
  /// kernel.*): keys outside nf_conntrack are skipped and counted in one
  /// note. A leading '-' makes a bad assignment a note instead of an error
  /// (its "ignore errors"). A glob key (`*`, `?`, `[`) sets every matching
  /// nf_conntrack sysctl that no file sets by its exact name, as
  /// systemd-sysctl does. Errors name the file and line. Notes (one line
  /// each, for stderr) go to `notes` when given.
  [[nodiscard]] Result<void> LoadFiles(
      const std::vector<std::string>& paths,
      std::vector<std::string>* notes = nullptr);
  /// LoadFiles({path}, notes).
  [[nodiscard]] Result<void> LoadFile(
      const std::string& path, std::vector<std::string>* notes = nullptr);

  /// Applies the kernel's normalisation: buckets rounded up to a multiple of
  /// 512 (minimum 512).
  void Normalize();

  /// The one spelling of a sysctl name: "net.netfilter.nf_conntrack_x",
  /// "net/netfilter/nf_conntrack_x" and "nf_conntrack_x" are
  /// "nf_conntrack_x"; "net.nf_conntrack_max" (the kernel's second name for
  /// the global max) is "nf_conntrack_max". Blanks around it are trimmed;
  /// other names come back with '/' as '.' but otherwise unchanged.
  static std::string Canonical(std::string_view name);

  /// The value of a sysctl named in any spelling Canonical() accepts;
  /// nullopt for a name Tunables does not hold.
  std::optional<uint64_t> Get(std::string_view name) const;

  /// All sysctls as (full name, value) pairs, in a stable order; with
  /// `changed_only`, only those whose value is not the kernel's default
  /// (a default-constructed Tunables).
  std::vector<std::pair<std::string, std::string>> List(
      bool changed_only = false) const;
};

/// One assignment of a sysctl.d file.
struct SysctlLine {
  /// With '.' separators, as `sysctl -a` prints it: a key whose first
  /// separator is '/' has its '/' and '.' swapped ("net/ipv4/conf/eth0.10/x"
  /// is "net.ipv4.conf.eth0/10.x"), as systemd-sysctl normalises it.
  std::string key;
  std::string value;
  bool ignore_errors = false;  ///< the key had a leading '-'
  bool glob = false;           ///< the key has '*', '?' or '['
};

/// Parses one line of a sysctl.d file. nullopt for blank lines and
/// comments; an error (without file and line) for a line with no '='.
[[nodiscard]] Result<std::optional<SysctlLine>> ParseSysctlLine(
    std::string_view line);

/// Whether sysctl.d glob `pattern` matches `key` (both in the '.' form of
/// SysctlLine::key). As systemd-sysctl globs /proc/sys paths, a wildcard
/// does not cross a separator.
bool SysctlGlobMatches(std::string_view pattern, std::string_view key);

}  // namespace ctkit

#endif  // CTKIT_TUNABLES_H_
