// doctor --apply and --rollback: turning a Diagnosis's changes into exact
// file writes (runtime sysctls and module parameter, persistent sysctl.d
// and modprobe.d files), made atomically with backups and a state file from
// which --rollback restores every touched file byte for byte.
#ifndef CTKIT_HOST_APPLY_H_
#define CTKIT_HOST_APPLY_H_

#include <string>
#include <vector>

#include "ctkit/result.h"
#include "host/findings.h"
#include "host/host_data.h"

namespace ctkit {

inline constexpr char kSysctlConf[] = "/etc/sysctl.d/90-ctkit-conntrack.conf";
inline constexpr char kModprobeConf[] = "/etc/modprobe.d/ctkit-conntrack.conf";
inline constexpr char kStateDir[] = "/var/lib/ctkit/doctor";

struct ApplyOptions {
  /// Prefix for the runtime files (/proc/sys, /sys); "" is the live host.
  std::string runtime_root;
  /// Prefix for /etc and the state directory; "" is the live host.
  std::string persist_root;
  /// Also write /etc/sysctl.d and /etc/modprobe.d.
  bool persistent = true;
  /// Per-netns sysctls are written inside this network namespace (-1: ours).
  int netns_fd = -1;
};

/// One file write, with what it held before.
struct PlannedWrite {
  std::string path;      ///< as written (with the root prefix)
  std::string display;   ///< as on the host
  bool runtime = false;  ///< a /proc or /sys file: written in place
  bool per_netns = false;
  bool existed = false;
  std::string old_content;
  std::string new_content;
};

struct ApplyPlan {
  std::vector<PlannedWrite> writes;
  std::vector<std::string> warnings;
};

/// Reads the current contents and builds the writes. Fails if a previous
/// --apply has not been rolled back (its state file exists).
Result<ApplyPlan> PlanApply(const std::vector<Change>& changes,
                            const HostData& d, const ApplyOptions& o);

/// The exact changes, one line per file: "path: OLD -> NEW" for values,
/// the new contents for persistent files, then the warnings.
std::string DescribePlan(const ApplyPlan& p);

/// Saves backups and the state file (fsynced) first, then makes each write
/// (persistent files: temp + fsync + rename). On a failed write, restores
/// what was already written and fails.
Result<void> ExecuteApply(const ApplyPlan& p, const ApplyOptions& o);

/// Restores every file recorded by the last ExecuteApply to its previous
/// bytes (or removes it if it did not exist), removes the directories the
/// apply created, and deletes the state. Returns one line per restore.
Result<std::vector<std::string>> Rollback(const ApplyOptions& o);

}  // namespace ctkit

#endif  // CTKIT_HOST_APPLY_H_
