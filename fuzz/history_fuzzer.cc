// libFuzzer target: the flight recorder's sample decoding
// (watch/history_file.h DecodeSample), the part of `ctkit history` that
// reads bytes a crash, a full disk or an editor may have mangled. Any input
// either fails with an error or decodes; a decoded sample must encode again
// and decode to the same label, counts, limit and settings, and to the same
// time within a double's precision (times are stored in nanoseconds).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "watch/history_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string payload(reinterpret_cast<const char*>(data), size);
  auto sample = ctkit::watch::DecodeSample(payload);
  if (!sample) {
    if (sample.error().message.empty()) std::abort();
    return 0;
  }
  auto again = ctkit::watch::EncodeSample(*sample, 1 << 20);
  if (!again) return 0;  // a field too long to store: refused, not a crash
  auto back = ctkit::watch::DecodeSample(*again);
  if (!back) std::abort();
  if (back->count != sample->count || back->max != sample->max ||
      back->netns != sample->netns || back->settings != sample->settings ||
      std::fabs(back->unix_s - sample->unix_s) >
          1e-12 * std::max(1.0, std::fabs(sample->unix_s))) {
    std::abort();
  }
  return 0;
}
