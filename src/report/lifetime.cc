// Lifetime classes (see lifetime.h): the report's view of the timeout
// classes of proto/timeout_class.h.
#include "report/lifetime.h"

#include <fmt/format.h>

#include <cstring>

namespace ctkit {

LifetimeKind LifetimeKindOf(const FlowInfo& f) {
  EntryFacts e;
  e.l4_proto = f.original.l4_proto;
  if (f.state != nullptr) e.state = f.state;
  e.assured = f.assured;
  e.seen_reply = f.seen_reply;
  return TimeoutClassOf(e);
}

LifetimeInfo DescribeLifetime(LifetimeKind c, const Tunables& t) {
  // The sysctl as the report prints it, after "nf_conntrack_".
  constexpr size_t kPrefix = sizeof("nf_conntrack_") - 1;
  const char* sysctl = TimeoutClassSysctl(c);
  if (std::strlen(sysctl) > kPrefix) sysctl += kPrefix;
  return {TimeoutClassName(c), sysctl, TimeoutClassSeconds(c, t),
          c == LifetimeKind::kTcpEstablished};
}

std::string LifetimeSetting(const LifetimeInfo& info) {
  if (info.sysctl[0] == '\0') return fmt::format("{} s (fixed)", info.seconds);
  return fmt::format("net.netfilter.nf_conntrack_{} = {} s", info.sysctl,
                     info.seconds);
}

}  // namespace ctkit
