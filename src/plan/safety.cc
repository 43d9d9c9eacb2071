// Safety floors for recommendations (see safety.h). Each default is the
// point below which a timeout ends the entries of connections that are
// still in use, for a reason outside conntrack:
//  - tcp_timeout_established 7200 s: TCP keepalive's default idle time
//    (net.ipv4.tcp_keepalive_time). A shorter timeout removes the entry of
//    an idle connection before its first keepalive probe; the probe then
//    arrives as NEW without a SYN, which a stateful firewall drops.
//  - tcp_timeout_time_wait 60 s: Linux's own TIME_WAIT (TCP_TIMEWAIT_LEN).
//    The entry must outlive the endpoint's TIME_WAIT, in which a
//    retransmitted FIN is still answered with the last ACK.
//  - udp_timeout 10 s: a reply must arrive while the entry lives; 10 s is
//    twice the 5 s a resolver (glibc's default) waits before it retries.
//  - udp_timeout_stream 120 s: RFC 4787 REQ-5, a NAT's UDP mapping must not
//    expire in less than 2 minutes; applications space their keepalives
//    for that.
//  - icmp_timeout, icmpv6_timeout 10 s: the echo reply must arrive while
//    the entry lives; ping refreshes it every second.
#include "plan/safety.h"

#include <fmt/format.h>

#include <charconv>
#include <optional>
#include <string>

#include "core/text.h"
#include "plan/whatif.h"

namespace ctkit {
std::vector<TimeoutFloor> DefaultTimeoutFloors() {
  return {
      {"nf_conntrack_tcp_timeout_established", 7200,
       "TCP keepalive's default idle time (net.ipv4.tcp_keepalive_time): an "
       "idle connection must keep its entry until its first probe"},
      {"nf_conntrack_tcp_timeout_time_wait", 60,
       "Linux's own TIME_WAIT length: the entry must outlive the endpoint's "
       "TIME_WAIT"},
      {"nf_conntrack_udp_timeout", 10,
       "twice a resolver's 5 s retry time: the reply must find the entry"},
      {"nf_conntrack_udp_timeout_stream", 120,
       "RFC 4787: UDP mappings must last at least 2 minutes, and "
       "applications' keepalives are spaced for that"},
      {"nf_conntrack_icmp_timeout", 10, "the echo reply must find the entry"},
      {"nf_conntrack_icmpv6_timeout", 10, "the echo reply must find the entry"},
  };
}

[[nodiscard]] Result<TimeoutFloor> ParseTimeoutFloor(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return fail(Error::invalid_argument("--timeout-floor '" +
                                        std::string(text) + "': " + why));
  };
  auto kv = SplitAssignment(text);
  if (!kv) return bad("expected NAME=SECONDS");
  TimeoutFloor f;
  f.sysctl = Tunables::Canonical(kv->name);
  std::string_view num = kv->value;
  auto [end, ec] =
      std::from_chars(num.data(), num.data() + num.size(), f.seconds);
  if (num.empty() || ec != std::errc() || end != num.data() + num.size()) {
    return bad("expected whole seconds");
  }
  Tunables probe;
  auto set = probe.Set(f.sysctl, num);
  if (!set) return bad(set.error().message);
  if (f.sysctl.find("timeout") == std::string::npos) {
    return bad(f.sysctl + " is not a timeout");
  }
  f.reason = "given with --timeout-floor";
  return f;
}

void SetTimeoutFloor(std::vector<TimeoutFloor>* floors, TimeoutFloor f) {
  for (TimeoutFloor& g : *floors) {
    if (g.sysctl == f.sysctl) {
      g = std::move(f);
      return;
    }
  }
  floors->push_back(std::move(f));
}

uint32_t FloorFor(const std::vector<TimeoutFloor>& floors,
                  std::string_view sysctl) {
  for (const TimeoutFloor& f : floors) {
    if (f.sysctl == sysctl) return f.seconds;
  }
  return 0;
}

std::vector<std::string> SafetyProblems(
    const Tunables& t, const std::vector<TimeoutFloor>& floors) {
  std::vector<std::string> out;
  for (const TimeoutFloor& f : floors) {
    std::optional<uint64_t> v = t.Get(f.sysctl);
    if (v && *v < f.seconds) {
      out.push_back(fmt::format("{} {} s is below its floor of {} s",
                                f.sysctl.substr(13), *v, f.seconds));
    }
  }
  Tunables n = t;
  n.Normalize();
  if (n.max == 0) {
    out.push_back("nf_conntrack_max 0: no limit on the table's memory");
  } else if (n.max > uint64_t{kMaxEntriesPerBucket} * n.buckets) {
    out.push_back(fmt::format(
        "nf_conntrack_max {} is more than {} x the {} buckets (the kernel's "
        "own largest ratio): chains grow toward the 52..81-node limit as "
        "the table fills",
        n.max, kMaxEntriesPerBucket, n.buckets));
  }
  return out;
}

}  // namespace ctkit
