// The conventions every ctkit JSON document follows (README, "JSON
// output"), kept in one place so each command only fills in its content:
//
// - the document starts with `schema_version` (kJsonSchemaVersion), then
//   `tool` ("ctkit replay", ...), so a reader can check both first;
// - keys come out in the order they are written (ordered_json), which is the
//   documented order, so the same input gives byte-identical output;
// - documents that describe a live moment of a host (doctor, kernel-replay)
//   say when and where (StampLiveMoment); the others are pure functions of
//   their input and carry no date, so they can be diffed and cached;
// - it is printed with DumpJson: two-space indent, a final newline, and
//   bytes that are not UTF-8 (a file name, a kernel log line) replaced
//   rather than failing the whole document.
//
// The naming rules (snake_case keys, units in key names, ratios 0-1,
// integers for everything counted) are the producers' to follow; the CLI
// test tests/cli/json_cli_test.cc checks every document against them.
#ifndef CTKIT_REPORT_JSON_DOC_H_
#define CTKIT_REPORT_JSON_DOC_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace ctkit {

/// A JSON value that keeps its keys in insertion order.
using Json = nlohmann::ordered_json;

/// Raised on an incompatible change of any document (a key removed,
/// renamed or retyped, a meaning changed); adding a key is compatible.
inline constexpr int kJsonSchemaVersion = 1;

/// The `tool` of each document.
inline constexpr const char* kReplayTool = "ctkit replay";
inline constexpr const char* kKernelReplayTool = "ctkit kernel-replay";
inline constexpr const char* kWhatifTool = "ctkit whatif";
inline constexpr const char* kPlanTool = "ctkit plan";
inline constexpr const char* kDoctorTool = "ctkit doctor";
inline constexpr const char* kDiffTool = "ctkit diff";

/// A new top-level document: {"schema_version": 1, "tool": tool}.
Json StartJsonDocument(std::string_view tool);

/// Where and when a live document was made; unset fields are written as
/// null.
struct LiveMoment {
  uint64_t unix_ns = 0;  ///< wall-clock time
  std::optional<std::string> hostname;
  std::optional<std::string> kernel_release;  ///< `uname -r`
};

/// This host, now (clock_gettime, uname).
LiveMoment LocalMoment();

/// Appends `generated_at` (RFC 3339, UTC, whole seconds: "2025-01-31T
/// 12:00:00Z"), `hostname` and `kernel_release`.
void StampLiveMoment(Json* doc, const LiveMoment& m);

/// "2025-01-31T12:00:00Z".
std::string FormatRfc3339Utc(uint64_t unix_ns);

/// part / whole, 0 when whole is 0: a `_ratio`.
double Ratio(uint64_t part, uint64_t whole);

/// The document as printed, with a final newline.
std::string DumpJson(const Json& doc);

}  // namespace ctkit

#endif  // CTKIT_REPORT_JSON_DOC_H_
