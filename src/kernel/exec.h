// Running the system's network tools (ip, nft) without a shell, and
// entering network namespaces, for the kernel sandbox and its tests.
#ifndef CTKIT_KERNEL_EXEC_H_
#define CTKIT_KERNEL_EXEC_H_

#include <memory>
#include <string>
#include <vector>

#include "ctkit/result.h"

namespace ctkit {

/// Runs argv[0] (searched in PATH) with `input` on stdin; returns its
/// stdout. Fails with the command and its stderr when it exits non-zero.
/// No shell is involved, so arguments need no quoting.
[[nodiscard]] Result<std::string> RunCommand(
    const std::vector<std::string>& argv, const std::string& input = "");

/// Puts the calling thread into a new, empty network namespace and returns
/// it to the previous one when destroyed. The namespace disappears once
/// nothing (socket, process) holds it any more.
class ScopedNewNetns {
 public:
  /// Fails without CAP_SYS_ADMIN.
  [[nodiscard]] static Result<std::unique_ptr<ScopedNewNetns>> Create();
  ~ScopedNewNetns();
  ScopedNewNetns(const ScopedNewNetns&) = delete;
  ScopedNewNetns& operator=(const ScopedNewNetns&) = delete;

 private:
  explicit ScopedNewNetns(int old_fd) : old_fd_(old_fd) {}
  int old_fd_;
};

/// Enters the network namespace at `path` (e.g. /run/netns/NAME) for the
/// calling thread until destroyed, then returns to the previous one.
class ScopedEnterNetns {
 public:
  [[nodiscard]] static Result<std::unique_ptr<ScopedEnterNetns>> Enter(
      const std::string& path);
  ~ScopedEnterNetns();
  ScopedEnterNetns(const ScopedEnterNetns&) = delete;
  ScopedEnterNetns& operator=(const ScopedEnterNetns&) = delete;

 private:
  explicit ScopedEnterNetns(int old_fd) : old_fd_(old_fd) {}
  int old_fd_;
};

/// An unnamed network namespace held open by a file descriptor: it lives
/// exactly as long as this object (and any socket or link in it), so even a
/// killed process leaves nothing behind in /run/netns.
class Netns {
 public:
  /// Creates a new, empty namespace (needs CAP_SYS_ADMIN).
  [[nodiscard]] static Result<std::unique_ptr<Netns>> Create();
  ~Netns();
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  /// A path other programs can open to reach this namespace (what
  /// `ip link set DEV netns PATH` accepts).
  std::string path() const;
  /// Runs a command inside the namespace (see RunCommand).
  [[nodiscard]] Result<std::string> Run(const std::vector<std::string>& argv,
                                        const std::string& input = "") const;
  /// Enters the namespace in the calling thread until the result dies.
  [[nodiscard]] Result<std::unique_ptr<ScopedEnterNetns>> Enter() const;

 private:
  explicit Netns(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace ctkit

#endif  // CTKIT_KERNEL_EXEC_H_
