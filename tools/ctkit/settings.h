// Flags shared by the commands that run the engine: --sysctl NAME=VALUE
// (repeatable) and --sysctl-file FILE, and small value parsers.
#ifndef CTKIT_TOOLS_SETTINGS_H_
#define CTKIT_TOOLS_SETTINGS_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "ctkit/result.h"
#include "ctkit/tunables.h"
#include "replay/zone_map.h"

namespace ctkit::cli {

struct SettingsFlags {
  std::vector<std::string> sysctls;       ///< NAME=VALUE
  std::vector<std::string> sysctl_files;  ///< sysctl.conf-style files
};

void AddSettingsFlags(CLI::App* cmd, SettingsFlags* flags);

/// Applies files first, then --sysctl flags (so flags win), to *t.
/// Prints `ctkit: error: ...` for every bad setting (not only the first)
/// and returns false if there was one; the caller exits with its kind's
/// error code (exit_status.h).
bool LoadSettings(const SettingsFlags& flags, Tunables* t);

/// --zone-map RULE (repeatable), for the commands that replay a capture
/// (replay/zone_map.h has the rules' syntax).
void AddZoneMapFlag(CLI::App* cmd, std::vector<std::string>* rules);
/// Parses every rule into *map; prints `ctkit: error: ...` for each bad
/// one and returns false if there was one.
bool LoadZoneMap(const std::vector<std::string>& rules, ZoneMap* map);

/// "1s", "250ms", "2.5s", "1m", "100us", "2d", "0.5" (seconds) -> ns.
[[nodiscard]] Result<uint64_t> ParseDuration(const std::string& text);

}  // namespace ctkit::cli

#endif  // CTKIT_TOOLS_SETTINGS_H_
