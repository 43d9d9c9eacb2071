// Rendering a WhatifResult (`ctkit whatif`): the comparison table and its
// notes for a terminal, and the same as one JSON document.
#ifndef CTKIT_PLAN_WHATIF_OUTPUT_H_
#define CTKIT_PLAN_WHATIF_OUTPUT_H_

#include <string>

#include "plan/whatif.h"
#include "report/json_doc.h"

namespace ctkit {

/// The comparison table and its notes, for a terminal.
std::string RenderWhatifText(const WhatifResult& r);

/// The same as one JSON document.
Json WhatifToJson(const WhatifResult& r);

}  // namespace ctkit

#endif  // CTKIT_PLAN_WHATIF_OUTPUT_H_
