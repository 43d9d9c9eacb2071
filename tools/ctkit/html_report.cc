// `--html FILE` (see html_report.h).
#include "tools/ctkit/html_report.h"

#include <fmt/format.h>

#include "report/html_page.h"

namespace ctkit::cli {

bool WriteHtmlReport(const std::string& path, const std::string& html) {
  auto written = WriteFileAtomically(path, html);
  if (!written) {
    PrintError(written.error().message);
    return false;
  }
  fmt::print(stderr, "ctkit: wrote the HTML report to {}\n", path);
  return true;
}

}  // namespace ctkit::cli
