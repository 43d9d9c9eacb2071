// `ctkit replay --compare-kernel`: after the engine's replay, run the same
// capture through the real kernel (kernel-replay) with the same settings
// (--sysctl and --sysctl-file) and print the comparison `ctkit diff` would
// print (with --json, `ctkit diff --json`'s document, so stdout holds JSON
// only). Exit 0 when they agree, 1 when they differ, 3 when either run or
// the comparison failed (a comparison's codes, exit_status.h).
#include <fmt/format.h>

#include <string>
#include <vector>

#include "kernel/diff.h"
#include "kernel/kernel_replay.h"
#include "kernel/kernel_replay_output.h"
#include "kernel/sandbox.h"
#include "report/json_doc.h"
#include "tools/ctkit/command.h"

namespace ctkit::cli {

int CompareWithKernel(const nlohmann::json& engine_doc,
                      const std::string& capture, const Tunables& settings,
                      const ZoneMap& zones, bool allow_global, double speed,
                      uint32_t tolerance, bool json) {
  KernelReplayOptions o;
  auto zone_rules = zones.NftRules();
  if (!zone_rules) return Fail(zone_rules.error(), kCompareExit);
  o.pre_conntrack_rules = std::move(*zone_rules);
  // The router starts from the kernel's defaults: hand it every setting the
  // engine ran with that differs from them, wherever it was given.
  o.sysctls = settings.List(/*changed_only=*/true);
  o.allow_global = allow_global;
  o.speed = speed;
  o.notice = [](const std::string& m) {
    fmt::print(stderr, "ctkit: warning: {}\n", m);
  };
  SignalGuard guard;
  auto k = RunKernelReplay(capture, o);
  if (!k) {
    return Fail({k.error().code, "kernel replay: " + k.error().message},
                kCompareExit);
  }
  nlohmann::json kdoc = KernelReplayToJson(*k, LocalMoment());
  // Both runs read the file; if it changed in between, say so.
  if (auto c = CheckDiffInputs(engine_doc, "ctkit replay", kdoc,
                               "ctkit kernel-replay");
      !c) {
    return Fail(c.error(), kCompareExit);
  }
  DiffOptions d;
  d.timeout_tolerance_s = tolerance;
  auto r = DiffReplays(engine_doc, kdoc, d);
  if (!r) {
    return Fail(r.error(), kCompareExit);
  }
  fmt::print("{}", json ? DumpJson(DiffToJson(*r))
                        : RenderDiff(*r, "ctkit", "kernel"));
  return r->agree() ? kExitOk : kExitFailure;
}

}  // namespace ctkit::cli
