// Rendering a PlanResult (`ctkit plan`): the plan for a terminal, and the
// same as one JSON document.
#ifndef CTKIT_PLAN_SIZING_OUTPUT_H_
#define CTKIT_PLAN_SIZING_OUTPUT_H_

#include <string>

#include "plan/sizing.h"
#include "report/json_doc.h"

namespace ctkit {

/// The plan, for a terminal.
std::string RenderPlanText(const PlanResult& p);

/// The same as one JSON document.
Json PlanToJson(const PlanResult& p);

}  // namespace ctkit

#endif  // CTKIT_PLAN_SIZING_OUTPUT_H_
