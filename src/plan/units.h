// Memory sizes as operators write and read them: "512M", "4GiB", "2.5G".
#ifndef CTKIT_PLAN_UNITS_H_
#define CTKIT_PLAN_UNITS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "ctkit/result.h"

namespace ctkit {

/// Parses a size in bytes: a number (decimals allowed) and an optional
/// suffix. K, M, G, T and KiB, MiB, GiB, TiB are powers of 1024 (as `free`,
/// systemd and the kernel's own messages use them); KB, MB, GB, TB are
/// powers of 1000; B or none means bytes. Case-insensitive, spaces between
/// number and unit allowed. Errors (invalid_argument, naming the text):
/// empty, not a number, unknown unit, zero, negative, above 2^63.
[[nodiscard]] Result<uint64_t> ParseSize(std::string_view text);

/// "512 B", "12.0 KiB", "2.06 MiB", "16.00 GiB".
std::string FormatBytes(uint64_t bytes);

}  // namespace ctkit

#endif  // CTKIT_PLAN_UNITS_H_
