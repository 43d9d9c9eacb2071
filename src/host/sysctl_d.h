// The sysctl.d and modules-load.d files a host applies at boot, in the
// order it applies them, so `doctor --apply` can write a file that wins
// and say which file would win instead. The rules are sysctl.d(5) and
// modules-load.d(5), checked against systemd 252 (Debian 12) and procps
// 4.0.2 in a private mount and network namespace:
// - the directories, earliest first: /etc, /run, /usr/local/lib, /usr/lib;
//   a file name in an earlier one masks the same name in later ones, and a
//   name linked to /dev/null (or an empty file) is masked altogether;
// - all files sorted by file name across the directories; a key set in
//   several takes the value of the last; an exact key wins over a glob
//   whatever the order;
// - systemd-sysctl never reads /etc/sysctl.conf itself (Debian reads it at
//   boot only through the link /etc/sysctl.d/99-sysctl.conf), while procps
//   `sysctl --system` reads it once more after every sysctl.d file.
// Everything is read under a root directory ("" is the live host), and
// symbolic links are followed inside it.
#ifndef CTKIT_HOST_SYSCTL_D_H_
#define CTKIT_HOST_SYSCTL_D_H_

#include <string>
#include <vector>

namespace ctkit {

struct ConfFile {
  std::string name;    ///< the file name, the sort key
  std::string path;    ///< as on the host: "/etc/sysctl.d/99-sysctl.conf"
  std::string target;  ///< `path` with links followed ("/etc/sysctl.conf")
  /// "/etc/sysctl.d/99-sysctl.conf (a link to /etc/sysctl.conf)"
  std::string Shown() const;
};

/// The *.conf files of `dirs` (host paths, earliest first) that apply, in
/// the order they apply.
std::vector<ConfFile> BootConfFiles(const std::string& root,
                                    const std::vector<std::string>& dirs);

/// BootConfFiles of the four sysctl.d directories.
std::vector<ConfFile> BootSysctlFiles(const std::string& root);

/// Where a key is set by its exact name.
struct KeySetting {
  ConfFile file;
  int line = 0;
  std::string value;
};

/// Every exact assignment of `key` ('.' form) in `files`, in file order.
std::vector<KeySetting> ExactSettings(const std::string& root,
                                      const std::vector<ConfFile>& files,
                                      const std::string& key);

/// The modules-load.d file (or /etc/modules through a link) that loads
/// `module` at boot; "" when none does.
std::string ModuleLoadedAtBootBy(const std::string& root,
                                 const std::string& module);

/// `host_path` with symbolic links followed inside `root` (absolute link
/// targets are taken relative to `root`); "" when it does not exist.
std::string ResolveUnderRoot(const std::string& root,
                             const std::string& host_path);

}  // namespace ctkit

#endif  // CTKIT_HOST_SYSCTL_D_H_
