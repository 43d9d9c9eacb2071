// The what-if sweep as an HTML page (`ctkit whatif --html FILE`): every
// variant's count through the capture on one chart against its own
// nf_conntrack_max, the recommended variant drawn thick, the adaptive
// (not Linux) variants labelled so in the legend; the drops per variant as
// bars; the recommendation; the plain-text comparison in full.
#ifndef CTKIT_PLAN_WHATIF_HTML_H_
#define CTKIT_PLAN_WHATIF_HTML_H_

#include <string>

#include "plan/whatif.h"

namespace ctkit {

std::string RenderWhatifHtml(const WhatifResult& r);

}  // namespace ctkit

#endif  // CTKIT_PLAN_WHATIF_HTML_H_
