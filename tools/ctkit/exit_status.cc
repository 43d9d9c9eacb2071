// The one way a command reports an Error (exit_status.h).
#include "tools/ctkit/exit_status.h"

#include <fmt/format.h>

namespace ctkit::cli {

void PrintError(std::string_view message) {
  fmt::print(stderr, "ctkit: error: {}\n", message);
}

int Fail(const Error& e, const ExitCodes& kind) {
  PrintError(e.message);
  return kind.error;
}

int UsageError(std::string_view message, const ExitCodes& kind) {
  PrintError(message);
  return kind.usage;
}

}  // namespace ctkit::cli
