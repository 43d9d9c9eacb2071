// The capacity plan as an HTML page (`ctkit plan --html FILE`): kernel
// memory against entries for each candidate sizing (the recommendation,
// the kernel's default, kube-proxy's, the budget's limit), each line
// ending at its nf_conntrack_max, with the budget and the entries needed
// marked; the comparison table; the plain-text plan in full.
#ifndef CTKIT_PLAN_SIZING_HTML_H_
#define CTKIT_PLAN_SIZING_HTML_H_

#include <string>

#include "plan/sizing.h"

namespace ctkit {

std::string RenderPlanHtml(const PlanResult& p);

}  // namespace ctkit

#endif  // CTKIT_PLAN_SIZING_HTML_H_
