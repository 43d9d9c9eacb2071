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
/// The same line appended to `out` (no newline), for dumps of millions of
/// lines into one buffer.
void AppendConntrackLine(std::string* out, const FlowInfo& f,
                         uint32_t timeout_s, uint64_t now_ns);

/// How `conntrack -E` was asked to print (the `-o` options ctkit mirrors).
struct EventLineOptions {
  /// `-o timestamp`: `[SECONDS.MICROSECONDS]` and a tab before the line.
  /// conntrack-tools 1.4.7 prints the wall time it received the event;
  /// ctkit prints the capture time of the packet that caused it.
  bool timestamp = false;
};

/// One line exactly as `conntrack -E` (conntrack-tools 1.4.7) prints the
/// event on 6.18: the label right-aligned in 9 columns, then the entry as
/// the event carries it, which is not the `-L` line: no `mark=` (sent only
/// when non-zero or changed) and no `use=`; no timeout when it is 0 (an
/// expired entry's DESTROY); on UPDATE the TCP state only when it changed;
/// counters and `delta-time=` only on DESTROY.
std::string FormatEventLine(const Event& e, const EventLineOptions& o = {});

/// The `conntrack -S` line of one CPU, with the tool's spacing and trailing
/// space: `cpu=0   \tfound=0 invalid=0 ... chaintoolong=0 `. The tool
/// prints one such line per possible CPU. ctkit's counters are one logical
/// set (the engine's per-thread counters are summed, and the results must
/// not depend on the thread count), so callers print one line, cpu=0,
/// holding the sums: what `conntrack -S` prints on a one-CPU kernel.
std::string FormatStatsLine(const Stats& s);

}  // namespace ctkit

#endif  // CTKIT_REPORT_FORMAT_H_
