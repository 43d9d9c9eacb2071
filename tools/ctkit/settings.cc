// --sysctl / --sysctl-file handling shared by replay, bench and later
// commands, so every command names settings the same way.
#include "tools/ctkit/settings.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/text.h"
#include "tools/ctkit/exit_status.h"

namespace ctkit::cli {

void AddSettingsFlags(CLI::App* cmd, SettingsFlags* flags) {
  cmd->add_option("--sysctl", flags->sysctls,
                  "set a sysctl, e.g. nf_conntrack_max=65536 (repeatable)");
  cmd->add_option("--sysctl-file", flags->sysctl_files,
                  "read a sysctl.d file (e.g. /etc/sysctl.d/90-conntrack.conf; "
                  "repeatable, later files win); keys outside nf_conntrack "
                  "are ignored")
      ->type_name("FILE");
}

bool LoadSettings(const SettingsFlags& flags, Tunables* t) {
  if (!flags.sysctl_files.empty()) {
    std::vector<std::string> notes;
    auto r = t->LoadFiles(flags.sysctl_files, &notes);
    for (const std::string& n : notes)
      fmt::print(stderr, "ctkit: note: {}\n", n);
    if (!r) {
      PrintError(r.error().message);
      return false;
    }
  }
  // Every bad --sysctl is reported, not only the first: a user fixing a
  // long command line should not have to run it once per mistake.
  bool ok = true;
  for (const std::string& kv : flags.sysctls) {
    auto a = SplitAssignment(kv);
    if (!a) {
      PrintError(fmt::format("--sysctl '{}': expected NAME=VALUE", kv));
      ok = false;
      continue;
    }
    auto r = t->Set(a->name, a->value);
    if (!r) {
      PrintError(fmt::format("--sysctl {}: {}", kv, r.error().message));
      ok = false;
    }
  }
  return ok;
}

void AddZoneMapFlag(CLI::App* cmd, std::vector<std::string>* rules) {
  cmd->add_option("--zone-map", *rules,
                  "put packets in a conntrack zone, first matching rule wins: "
                  "net:PREFIX=ZONE (source or destination in PREFIX), "
                  "vlan:ID=ZONE (outermost 802.1Q tag) or if:N=ZONE / "
                  "if:NAME=ZONE (pcapng interface by number from 0 or by "
                  "name); ZONE/original or "
                  "ZONE/reply for one direction only (repeatable)")
      ->type_name("RULE")
      // One rule per flag, so a capture named after it is not taken for
      // another rule.
      ->allow_extra_args(false);
}

bool LoadZoneMap(const std::vector<std::string>& rules, ZoneMap* map) {
  bool ok = true;
  for (const std::string& rule : rules) {
    if (auto r = map->Add(rule); !r) {
      PrintError(r.error().message);
      ok = false;
    }
  }
  return ok;
}

[[nodiscard]] Result<uint64_t> ParseDuration(const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  std::string unit(end);
  double scale;
  if (unit.empty() || unit == "s") {
    scale = 1e9;
  } else if (unit == "ms") {
    scale = 1e6;
  } else if (unit == "us") {
    scale = 1e3;
  } else if (unit == "m") {
    scale = 60e9;
  } else if (unit == "h") {
    scale = 3600e9;
  } else if (unit == "d") {
    scale = 86400e9;
  } else {
    return fail(Error::invalid_argument("unknown unit '" + unit +
                                        "' (use s, ms, us, m, h or d)"));
  }
  if (end == text.c_str() || !std::isfinite(v) || v <= 0 || v * scale < 1) {
    return fail(Error::invalid_argument("expected a positive duration"));
  }
  return static_cast<uint64_t>(v * scale);
}

}  // namespace ctkit::cli
