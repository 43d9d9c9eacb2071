// Text formats other tools' users know: conntrack -L lines, conntrack -E
// event lines, conntrack -S counters.
#ifndef CTKIT_REPORT_FORMAT_H_
#define CTKIT_REPORT_FORMAT_H_

#include <string>

#include "ctkit/engine.h"
#include "ctkit/stats.h"

namespace ctkit {

/// "192.0.2.1" or "2001:db8::1".
std::string AddressToString(const Address& a, Family f);

/// One entry exactly as conntrack-tools' default `conntrack -L` prints it:
/// `tcp      6 431999 ESTABLISHED src=.. dst=.. sport=.. dport=.. src=..
/// dst=.. sport=.. dport=.. [ASSURED] mark=0 use=1`. `timeout_s` is the
/// number to print (callers choose the dump convention).
std::string FormatConntrackLine(const FlowInfo& f, uint32_t timeout_s,
                                uint64_t now_ns);

/// One `conntrack -E` line: the event label right-aligned in 9 columns,
/// then the entry as FormatConntrackLine prints it.
std::string FormatEventLine(const Event& e);

/// `conntrack -S` as one summed line:
/// `cpu=0   \tfound=0 invalid=0 insert=0 insert_failed=0 drop=0 ...`.
std::string FormatStatsLine(const Stats& s);

}  // namespace ctkit

#endif  // CTKIT_REPORT_FORMAT_H_
