// Size parsing and printing for `ctkit plan` and `ctkit whatif`. Binary
// suffixes are the default because every conntrack figure an operator
// compares with (slab pages, the kernel's RAM/128 KiB sizing, `free -h`) is
// binary; the SI forms are accepted for people who mean them.
#include "plan/units.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace ctkit {

[[nodiscard]] Result<uint64_t> ParseSize(std::string_view text) {
  std::string s(text);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.pop_back();
  }
  size_t start = 0;
  while (start < s.size() &&
         std::isspace(static_cast<unsigned char>(s[start]))) {
    ++start;
  }
  s.erase(0, start);
  auto bad = [&](const std::string& why) {
    return fail(Error::invalid_argument("bad size '" + std::string(text) +
                                        "': " + why));
  };
  if (s.empty()) return bad("empty");
  if (!std::isdigit(static_cast<unsigned char>(s[0])) && s[0] != '.') {
    return bad("expected a number such as 512M, 4G, 4GiB or 1073741824");
  }
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  std::string unit(end);
  while (!unit.empty() && unit[0] == ' ') unit.erase(0, 1);
  for (char& c : unit) c = static_cast<char>(std::tolower(c));
  double scale = 0;
  if (unit.empty() || unit == "b") {
    scale = 1;
  } else if (unit == "k" || unit == "kib") {
    scale = 1024.0;
  } else if (unit == "m" || unit == "mib") {
    scale = 1024.0 * 1024;
  } else if (unit == "g" || unit == "gib") {
    scale = 1024.0 * 1024 * 1024;
  } else if (unit == "t" || unit == "tib") {
    scale = 1024.0 * 1024 * 1024 * 1024;
  } else if (unit == "kb") {
    scale = 1e3;
  } else if (unit == "mb") {
    scale = 1e6;
  } else if (unit == "gb") {
    scale = 1e9;
  } else if (unit == "tb") {
    scale = 1e12;
  } else {
    return bad("unknown unit '" + std::string(end) +
               "' (use B, K/KiB, M/MiB, G/GiB, T/TiB, or KB/MB/GB/TB)");
  }
  double bytes = v * scale;
  if (!std::isfinite(bytes) || bytes >= 9.2e18) return bad("too large");
  if (bytes < 1) return bad("must be at least 1 byte");
  return static_cast<uint64_t>(bytes);
}

std::string FormatBytes(uint64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < 1024ull * 1024) return fmt::format("{:.1f} KiB", b / 1024);
  if (bytes < 1024ull * 1024 * 1024) {
    return fmt::format("{:.2f} MiB", b / (1024.0 * 1024));
  }
  return fmt::format("{:.2f} GiB", b / (1024.0 * 1024 * 1024));
}

}  // namespace ctkit
