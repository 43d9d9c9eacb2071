// The flight recorder's flags (watch/history_file.h), as `ctkit exporter`
// and `ctkit top` take them: --history FILE, --history.interval and
// --history.retention, with one help text and one parser.
#ifndef CTKIT_TOOLS_HISTORY_FLAGS_H_
#define CTKIT_TOOLS_HISTORY_FLAGS_H_

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "ctkit/result.h"
#include "watch/history_file.h"

namespace ctkit::cli {

struct HistoryFlags {
  std::string file;  ///< "": no recording
  std::string interval = "10s";
  std::string retention = "7d";
  // Parsed by ParseHistoryFlags.
  double interval_s = 10;
  double retention_s = 7 * 86400;
};

void AddHistoryOptions(CLI::App* cmd, HistoryFlags* f);

/// Parses the durations into interval_s and retention_s and checks the
/// ring they make (watch::GeometryFor). The message of a failure is for
/// UsageError.
[[nodiscard]] Result<void> ParseHistoryFlags(HistoryFlags* f);

/// The writer of f.file (created at its full size, or reopened when its
/// geometry matches); errors name the file and field.
[[nodiscard]] Result<std::unique_ptr<watch::HistoryWriter>> OpenHistoryFile(
    const HistoryFlags& f);

}  // namespace ctkit::cli

#endif  // CTKIT_TOOLS_HISTORY_FLAGS_H_
