// libFuzzer target: the exporter's kernel-log follower's reading of
// /dev/kmsg records (watch/kmsg_follower.h). The input is the log's bytes;
// its first byte seeds how they are cut into reads. Whatever the cuts, the
// lines handed on must be the input's complete lines in order (none lost,
// none doubled, memory bounded), and the counts summed over the reads must
// equal the counts of the whole text read at once.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "host/host_data.h"
#include "watch/kmsg_follower.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint32_t seed = data[0] * 2654435761u + 1;
  const std::string_view log(reinterpret_cast<const char*>(data + 1), size - 1);
  ctkit::watch::KmsgLineBuffer buffer;
  std::string passed;
  uint64_t table_full = 0, suppressed = 0;
  size_t at = 0;
  while (at < log.size()) {
    seed = seed * 1103515245u + 12345u;
    const size_t cut = 1 + (seed >> 16) % 64;
    const std::string lines = buffer.Append(log.substr(at, cut));
    at += std::min(cut, log.size() - at);
    if (lines.empty()) continue;
    if (lines.back() != '\n') std::abort();
    const ctkit::KernelLogSummary k = ctkit::SummarizeKernelLog(lines);
    table_full += k.table_full_lines;
    suppressed += k.ratelimit_suppressed;
    passed += lines;
  }
  // Inputs below the junk limit lose nothing: what was passed on is the
  // input up to its last line end.
  if (log.size() <= ctkit::watch::KmsgLineBuffer::kMaxPending) {
    const size_t end = log.rfind('\n');
    const std::string_view want = end == std::string_view::npos
                                      ? std::string_view()
                                      : log.substr(0, end + 1);
    if (passed != want) std::abort();
    const ctkit::KernelLogSummary whole =
        ctkit::SummarizeKernelLog(std::string(want));
    if (whole.table_full_lines != table_full) std::abort();
    if (whole.ratelimit_suppressed != suppressed) std::abort();
  }
  return 0;
}
