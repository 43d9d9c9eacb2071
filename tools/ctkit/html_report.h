// `--html FILE`, as replay, whatif, plan and doctor write it: the page
// written atomically (the previous one kept as FILE~), and one line on
// stderr saying where, so a terminal user knows what to open.
#ifndef CTKIT_TOOLS_HTML_REPORT_H_
#define CTKIT_TOOLS_HTML_REPORT_H_

#include <string>

#include "tools/ctkit/exit_status.h"

namespace ctkit::cli {

/// The help text of every --html option.
inline constexpr const char* kHtmlHelp =
    "also write the report as one self-contained HTML page with charts to "
    "FILE (no network needed to view it; an existing FILE is kept as FILE~)";

/// Writes `html` to `path`; on failure prints why and returns false.
bool WriteHtmlReport(const std::string& path, const std::string& html);

}  // namespace ctkit::cli

#endif  // CTKIT_TOOLS_HTML_REPORT_H_
