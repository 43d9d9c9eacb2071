// Comparing two replay results (`ctkit replay --json` from the engine or
// `ctkit kernel-replay --json` from the kernel): verdict by verdict, entry
// by entry, counter by counter.
#ifndef CTKIT_KERNEL_DIFF_H_
#define CTKIT_KERNEL_DIFF_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ctkit/result.h"
#include "report/json_doc.h"

namespace ctkit {

struct DiffOptions {
  /// Entry timeouts may differ by this many seconds (wall-clock injection
  /// and the dump's own delay move the kernel's clock).
  uint32_t timeout_tolerance_s = 2;
  /// Also compare the statistics counters.
  bool stats = true;
};

/// Agreement for one protocol ("tcp", "udp", "icmp", ...; "other" for
/// skipped packets).
struct ProtoAgreement {
  uint64_t packets = 0;
  uint64_t verdicts_agree = 0;
  uint64_t entries = 0;  ///< union of both tables
  uint64_t state_agree = 0;
  uint64_t flags_agree = 0;  ///< ASSURED and UNREPLIED both equal
  uint64_t timeout_agree = 0;
};

struct DiffResult {
  std::map<std::string, ProtoAgreement> by_proto;
  ProtoAgreement total;
  uint64_t stats_compared = 0;
  uint64_t stats_agree = 0;
  /// One line per disagreement, in packet order where known.
  std::vector<std::string> disagreements;
  bool agree() const { return disagreements.empty(); }
};

/// Checks that `a` and `b` can be compared: each is a result of `ctkit
/// replay` or `ctkit kernel-replay` (its "tool") of the schema version this
/// ctkit reads (kJsonSchemaVersion) with the verdicts, the entries and the
/// capture digest, and both read the same capture (same packet count and
/// records_sha256). The error names the file (`name_a`,
/// `name_b`) and what is missing or different.
[[nodiscard]] Result<void> CheckDiffInputs(const nlohmann::json& a,
                                           const std::string& name_a,
                                           const nlohmann::json& b,
                                           const std::string& name_b);

/// Compares `a` and `b`. The packets' protocols (for the per-protocol
/// split and for "after packet N") come from the capture named in the
/// documents when it can be read and, if the documents carry a digest,
/// still holds the same packets; otherwise everything is "all".
[[nodiscard]] Result<DiffResult> DiffReplays(const nlohmann::json& a,
                                             const nlohmann::json& b,
                                             const DiffOptions& opts);

/// The human-readable report: a summary table, then the disagreements.
std::string RenderDiff(const DiffResult& d, const std::string& name_a,
                       const std::string& name_b);

/// The same as JSON (for scripts: `make fidelity`).
Json DiffToJson(const DiffResult& d);

}  // namespace ctkit

#endif  // CTKIT_KERNEL_DIFF_H_
