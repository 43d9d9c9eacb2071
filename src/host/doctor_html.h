// Doctor's diagnosis as an HTML page (`ctkit doctor --html FILE`): the
// status, the count against the limit, each finding with its evidence, fix
// and the common advice it corrects, what the table holds (the same
// composition tables as a replay's peak), the timeout table, what the
// flight recorder says if one was given, and the text report in full.
#ifndef CTKIT_HOST_DOCTOR_HTML_H_
#define CTKIT_HOST_DOCTOR_HTML_H_

#include <string>

#include "host/findings.h"
#include "host/host_data.h"

namespace ctkit {

/// `history`: the flight recorder's account (`doctor --history`), or "".
std::string RenderDoctorHtml(const HostData& d, const Diagnosis& g,
                             const std::string& history = "");

}  // namespace ctkit

#endif  // CTKIT_HOST_DOCTOR_HTML_H_
