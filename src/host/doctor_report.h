// Rendering a Diagnosis: the text report an operator reads and the JSON a
// monitoring system parses.
#ifndef CTKIT_HOST_DOCTOR_REPORT_H_
#define CTKIT_HOST_DOCTOR_REPORT_H_

#include <cstdint>
#include <string>

#include "host/findings.h"
#include "host/host_data.h"

namespace ctkit {

/// The monitoring-plugin status line, without the newline:
/// "CONNTRACK WARNING - 81.0% used (212345/262144); <the most severe
/// finding> | entries=212345;209715;249036;0;262144 drop=0c early_drop=0c
/// insert_failed=12c chaintoolong=0c". The entries thresholds are the
/// largest counts that do not alert (FillLimit), as the plugin guidelines'
/// ranges mean; unknown values are "U".
std::string FormatStatusLine(const HostData& d, const Diagnosis& g);

/// The text report: the status line, then a summary of what was read, then
/// each finding (most severe first) with evidence, fix and corrections.
std::string FormatDoctorText(const HostData& d, const Diagnosis& g);

/// One JSON document with the same content (README, "JSON output"),
/// stamped with `generated_at_unix_ns` and the host's name and kernel
/// release from `d`.
std::string FormatDoctorJson(const HostData& d, const Diagnosis& g,
                             uint64_t generated_at_unix_ns);

}  // namespace ctkit

#endif  // CTKIT_HOST_DOCTOR_REPORT_H_
