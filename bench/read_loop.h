// The yardstick for `ctkit replay`'s speed: a loop that only reads a
// capture with libpcap and pulls each packet's 5-tuple out of its headers.
//
// Nothing a replay does can be faster than reading its input, so a replay's
// speed is stated as a fraction of this loop's, measured in the same run.
// The loop is kept as lean as a hand-written reader would be (no checksum,
// no validation beyond the lengths it reads, no copies) so the ratio is
// honest: a heavier yardstick would flatter the replay.
#ifndef CTKIT_BENCH_READ_LOOP_H_
#define CTKIT_BENCH_READ_LOOP_H_

#include <cstdint>
#include <optional>
#include <string>

namespace ctkit::bench {

struct ReadLoopResult {
  uint64_t packets = 0;  ///< records read
  uint64_t tuples = 0;   ///< of those, IPv4/IPv6 with a 5-tuple pulled out
  uint64_t sink = 0;     ///< a fold of every tuple (keeps the work alive)
};

/// Reads `path` (classic pcap or pcapng, Ethernet or raw IP) to its end.
/// nullopt when libpcap cannot open it or stops on an error.
std::optional<ReadLoopResult> ReadFiveTuples(const std::string& path);

}  // namespace ctkit::bench

#endif  // CTKIT_BENCH_READ_LOOP_H_
