// libFuzzer target: doctor's readers of host files (/proc/net/stat/
// nf_conntrack, `conntrack -S`, table lines, /dev/kmsg, /proc/meminfo,
// /proc/slabinfo). The first byte picks the reader; the rest is the file.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "host/host_data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // An exact-size copy, so that any read past the text is caught.
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string_view v(text);
  switch (data[0] % 7) {
    case 0: {
      uint64_t entries = 0;
      uint32_t cpus = 0;
      auto r = ctkit::ParseProcStat(v, &entries, &cpus);
      if (!r && r.error().message.empty()) std::abort();
      break;
    }
    case 1: {
      uint32_t cpus = 0;
      auto r = ctkit::ParseConntrackS(v, &cpus);
      if (!r && r.error().message.empty()) std::abort();
      break;
    }
    case 2:
      (void)ctkit::ParseTableLine(v);
      break;
    case 3:
      (void)ctkit::SummarizeKernelLog(v);
      break;
    case 4:
      (void)ctkit::MeminfoField(v, "MemTotal");
      (void)ctkit::MeminfoField(v, "MemAvailable");
      break;
    case 5:
      (void)ctkit::ParseSlabinfo(v);
      break;
    default:
      // Every line of a multi-line table dump.
      for (size_t pos = 0; pos <= v.size();) {
        size_t nl = v.find('\n', pos);
        if (nl == std::string_view::npos) nl = v.size();
        (void)ctkit::ParseTableLine(v.substr(pos, nl - pos));
        pos = nl + 1;
      }
      break;
  }
  return 0;
}
