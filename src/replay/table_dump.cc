// WriteTableDump: see table_dump.h.
#include "replay/table_dump.h"

#include <string>

#include "replay/replay.h"
#include "report/format.h"

namespace ctkit {

uint64_t WriteTableDump(Engine& engine, uint64_t now_ns, std::FILE* out) {
  constexpr size_t kFlushBytes = size_t{1} << 20;
  std::string buf;
  buf.reserve(kFlushBytes + 4096);
  uint64_t lines = 0;
  engine.Dump(now_ns, [&](const FlowInfo& info) {
    AppendConntrackLine(&buf, info, DumpTimeoutSeconds(info), now_ns);
    buf.push_back('\n');
    ++lines;
    if (buf.size() >= kFlushBytes) {
      std::fwrite(buf.data(), 1, buf.size(), out);
      buf.clear();
    }
  });
  std::fwrite(buf.data(), 1, buf.size(), out);
  return lines;
}

}  // namespace ctkit
