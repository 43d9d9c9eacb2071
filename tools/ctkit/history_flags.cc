// The flight recorder's flags (see history_flags.h).
#include "tools/ctkit/history_flags.h"

#include <tuple>

#include "tools/ctkit/settings.h"

namespace ctkit::cli {

void AddHistoryOptions(CLI::App* cmd, HistoryFlags* f) {
  cmd->add_option("--history", f->file,
                  "flight recorder: keep a bounded ring of samples (count, "
                  "limit, every counter, the settings, the last scan's top 5) "
                  "in FILE, written crash-safely, for `ctkit history`; "
                  "created at its full size, 1 KiB per slot: 59 MiB for the "
                  "default 7 days at 10 s (one slot per namespace per "
                  "interval)")
      ->type_name("FILE");
  cmd->add_option("--history.interval", f->interval,
                  "time between samples, e.g. 10s (default), 1m; at least "
                  "100ms")
      ->type_name("DURATION");
  cmd->add_option("--history.retention", f->retention,
                  "how far back the ring reaches, e.g. 7d (default), 12h; "
                  "the file holds retention / interval slots")
      ->type_name("DURATION");
}

[[nodiscard]] Result<void> ParseHistoryFlags(HistoryFlags* f) {
  for (auto [flag, text, seconds] :
       {std::tuple{"--history.interval", &f->interval, &f->interval_s},
        std::tuple{"--history.retention", &f->retention, &f->retention_s}}) {
    Result<uint64_t> ns = ParseDuration(*text);
    if (!ns) {
      return fail(Error::invalid_argument(std::string(flag) + ": " +
                                          ns.error().message));
    }
    *seconds = static_cast<double>(*ns) / 1e9;
  }
  if (f->file.empty()) return {};
  Result<watch::HistoryGeometry> g =
      watch::GeometryFor(f->interval_s, f->retention_s);
  if (!g) return fail(g.error());
  return {};
}

[[nodiscard]] Result<std::unique_ptr<watch::HistoryWriter>> OpenHistoryFile(
    const HistoryFlags& f) {
  Result<watch::HistoryGeometry> g =
      watch::GeometryFor(f.interval_s, f.retention_s);
  if (!g) return fail(g.error());
  return watch::HistoryWriter::Open(f.file, *g);
}

}  // namespace ctkit::cli
