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

/// Named to sort after the files a host usually has that set conntrack
/// keys (Debian's 99-sysctl.conf link to /etc/sysctl.conf, vendor 50-*,
/// kubernetes' 99-kubernetes-*), since the last file wins at boot; --apply
/// stops when a file that sorts after it sets one of its keys.
inline constexpr char kSysctlConf[] =
    "/etc/sysctl.d/99-zz-ctkit-conntrack.conf";
inline constexpr char kModprobeConf[] = "/etc/modprobe.d/ctkit-conntrack.conf";
/// Loads the nf_conntrack module before systemd-sysctl runs.
inline constexpr char kModulesLoadConf[] =
    "/etc/modules-load.d/ctkit-nf_conntrack.conf";
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
  std::vector<std::string> notes;  ///< what else sets the same keys
  std::vector<std::string> warnings;
};

/// Reads the current contents and builds the writes. Fails if a previous
/// --apply has not been rolled back (its state file exists), or if a
/// sysctl.d file applied after kSysctlConf at boot sets one of its keys
/// (the error names the file, line and value). On a kernel where
/// nf_conntrack is a module, also writes kModulesLoadConf unless a
/// modules-load.d file already loads it.
[[nodiscard]] Result<ApplyPlan> PlanApply(const std::vector<Change>& changes,
                                          const HostData& d,
                                          const ApplyOptions& o);

/// The exact changes, one line per file: "path: OLD -> NEW" for values,
/// the new contents for persistent files, then the warnings.
std::string DescribePlan(const ApplyPlan& p);

/// Saves backups and the state file (fsynced) first, then makes each write
/// (persistent files: temp + fsync + rename). On a failed write, restores
/// what was already written and fails.
[[nodiscard]] Result<void> ExecuteApply(const ApplyPlan& p,
                                        const ApplyOptions& o);

/// Restores every file recorded by the last ExecuteApply to its previous
/// bytes (or removes it if it did not exist), removes the directories the
/// apply created, and deletes the state. Returns one line per restore.
[[nodiscard]] Result<std::vector<std::string>> Rollback(const ApplyOptions& o);

}  // namespace ctkit

#endif  // CTKIT_HOST_APPLY_H_
