// GlobalJournal: what a kernel-replay run must give back to the host if it
// dies without restoring it.
//
// nf_conntrack_max and _buckets are global (spec §1.1): a run with
// --allow-global changes them for every namespace on the host. The run
// restores them on every exit it sees (success, errors, SIGINT/SIGTERM/
// SIGHUP), but SIGKILL, an OOM kill or a power cut end it without a word.
// So before the first global is written the old values go into a journal,
// written atomically (temporary file, fsync, rename), with the owner's pid
// and start time; the journal is removed once the run has written every old
// value back. The next run (or `ctkit kernel-replay --restore`) that finds a
// journal whose owner is gone restores it first. The journal lives in /run,
// which is emptied at boot, as the sysctls themselves are reset then.
#ifndef CTKIT_KERNEL_GLOBAL_JOURNAL_H_
#define CTKIT_KERNEL_GLOBAL_JOURNAL_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ctkit/result.h"

namespace ctkit {

/// A sysctl's value: the first word of its /proc/sys file.
[[nodiscard]] Result<std::string> ReadProcValue(const std::string& path);

/// Writes `value` and a newline to a /proc/sys file in one write(2), as
/// sysctl(8) does; fails naming the file, the value and the errno.
[[nodiscard]] Result<void> WriteProcValue(const std::string& path,
                                          const std::string& value);

class GlobalJournal {
 public:
  /// (path under /proc/sys, old value), in the order they were changed.
  using Values = std::vector<std::pair<std::string, std::string>>;

  /// The journal kernel-replay uses.
  static constexpr const char* kDefaultDir = "/run/ctkit";

  /// A journal in `dir` (created 0700 when first needed) that may only name
  /// files under `allowed_prefix` (tests use a temporary directory for
  /// both).
  explicit GlobalJournal(std::string dir = kDefaultDir,
                         std::string allowed_prefix = "/proc/sys/net/");

  /// The journal file's path.
  std::string path() const { return dir_ + "/kernel-replay.state"; }

  /// What a journal holds.
  struct Contents {
    pid_t pid = 0;
    unsigned long long start_time = 0;  ///< /proc/PID/stat field 22
    Values values;
    bool owner_alive = false;
  };

  /// The journal as it is now, if there is one. Fails when it cannot be
  /// read or is malformed (naming the file and line).
  [[nodiscard]] Result<std::optional<Contents>> Read() const;

  /// If the journal's owner is gone, writes its old values back and removes
  /// it. Returns a one-line account of what was done ("" when there was no
  /// journal); fails when a value cannot be written back (the journal is
  /// kept, so a later call can try again). A journal whose owner is alive
  /// is left alone: *held_by (if given) receives it.
  [[nodiscard]] Result<std::string> RecoverStale(Contents* held_by = nullptr);

  /// Records `values` with this process as the owner. Fails when another
  /// live process owns a journal (its changes would be restored to the
  /// wrong values) or the file cannot be written.
  [[nodiscard]] Result<void> Record(const Values& values);

  /// Removes the journal after a clean restore.
  [[nodiscard]] Result<void> Remove();

  /// Whether `pid`, started at `start_time`, is still running (a reused
  /// pid has another start time).
  static bool Alive(pid_t pid, unsigned long long start_time);
  /// A process' start time (clock ticks since boot), 0 if unknown.
  static unsigned long long StartTime(pid_t pid);

 private:
  [[nodiscard]] Result<int> Lock()
      const;  // an exclusive flock on dir/kernel-replay.lock
  [[nodiscard]] Result<void> EnsureDir() const;

  std::string dir_;
  std::string allowed_prefix_;
};

}  // namespace ctkit

#endif  // CTKIT_KERNEL_GLOBAL_JOURNAL_H_
