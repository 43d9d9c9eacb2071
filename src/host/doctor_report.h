// Rendering a Diagnosis: the text report an operator reads and the JSON a
// monitoring system parses.
#ifndef CTKIT_HOST_DOCTOR_REPORT_H_
#define CTKIT_HOST_DOCTOR_REPORT_H_

#include <string>

#include "host/findings.h"
#include "host/host_data.h"

namespace ctkit {

/// The text report: a summary of what was read, then each finding (most
/// severe first) with evidence, fix and corrections. `verbose` also lists
/// the OK findings' corrections of the runbook.
std::string FormatDoctorText(const HostData& d, const Diagnosis& g);

/// One JSON document with the same content.
std::string FormatDoctorJson(const HostData& d, const Diagnosis& g);

}  // namespace ctkit

#endif  // CTKIT_HOST_DOCTOR_REPORT_H_
