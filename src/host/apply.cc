// Applying and rolling back. Runtime values are single write()s to /proc/sys
// or /sys (a sysctl write is atomic by itself and cannot be renamed over);
// persistent files are written to a temporary file in the same directory,
// fsynced and renamed, so a crash leaves either the old or the new file.
// Before anything changes, the previous bytes of every target (or the fact
// that it did not exist) and every directory we create are saved under
// /var/lib/ctkit/doctor with an fsynced state file; --rollback replays that
// state in reverse. A second --apply before a rollback is refused, so the
// state always describes the host as it was before ctkit touched it.
#include "host/apply.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include "ctkit/tunables.h"
#include "host/host_view.h"
#include "host/sysctl_d.h"

namespace ctkit {
namespace {

[[nodiscard]] Error Sys(const std::string& what, const std::string& path) {
  return Error::io(what + " " + path + ": " + std::strerror(errno));
}

bool Exists(const std::string& p) {
  struct stat st {};
  return lstat(p.c_str(), &st) == 0;
}

[[nodiscard]] Result<std::string> Slurp(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(Sys("cannot open", path));
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    out.append(buf, static_cast<size_t>(n));
  int e = errno;
  close(fd);
  if (n < 0) {
    errno = e;
    return fail(Sys("cannot read", path));
  }
  return out;
}

[[nodiscard]] Result<void> WriteAll(int fd, const std::string& data,
                                    const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Sys("cannot write", path));
    }
    off += static_cast<size_t>(n);
  }
  return {};
}

// In-place write, for /proc/sys and /sys files.
[[nodiscard]] Result<void> WriteInPlace(const std::string& path,
                                        const std::string& data) {
  int fd = open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) {
    if (errno == EACCES || errno == EROFS || errno == EPERM) {
      return fail(Error::io(
          "cannot write " + path + ": " + std::strerror(errno) +
          (path.find("nf_conntrack_max") != std::string::npos ||
                   path.find("buckets") != std::string::npos ||
                   path.find("hashsize") != std::string::npos
               ? " (global setting: writable by root in the initial network "
                 "namespace only)"
               : "")));
    }
    return fail(Sys("cannot open", path));
  }
  auto r = WriteAll(fd, data, path);
  if (close(fd) != 0 && r) return fail(Sys("cannot write", path));
  return r;
}

void FsyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

std::string DirName(const std::string& p) {
  auto s = p.rfind('/');
  return s == 0 ? "/" : s == std::string::npos ? "." : p.substr(0, s);
}

// temp + fsync + rename + fsync(dir), keeping `mode`.
[[nodiscard]] Result<void> WriteAtomic(const std::string& path,
                                       const std::string& data, mode_t mode) {
  std::string dir = DirName(path);
  std::string tmp = dir + "/." + path.substr(dir.size() + 1) + ".ctkit-tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return fail(Sys("cannot create", tmp));
  auto r = WriteAll(fd, data, tmp);
  if (r && fchmod(fd, mode) != 0) r = fail(Sys("cannot chmod", tmp));
  if (r && fsync(fd) != 0) r = fail(Sys("cannot fsync", tmp));
  close(fd);
  if (r && rename(tmp.c_str(), path.c_str()) != 0)
    r = fail(Sys("cannot rename to", path));
  if (!r) {
    unlink(tmp.c_str());
    return r;
  }
  FsyncDir(dir);
  return {};
}

// mkdir -p, recording each directory created (outermost first).
[[nodiscard]] Result<void> MakeDirs(const std::string& dir,
                                    std::vector<std::string>* made) {
  if (dir.empty() || Exists(dir)) return {};
  auto r = MakeDirs(DirName(dir), made);
  if (!r) return r;
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return fail(Sys("cannot create directory", dir));
  made->push_back(dir);
  return {};
}

std::string StateDir(const ApplyOptions& o) {
  return o.persist_root + kStateDir;
}

// "net.netfilter.X = V" lines merged into an existing sysctl.d file: keys we
// set are replaced where they stand, new ones appended.
std::string MergeSysctlConf(
    const std::string& old,
    const std::vector<std::pair<std::string, uint64_t>>& kv) {
  std::set<std::string> done;
  std::string out;
  std::istringstream in(old);
  std::string line;
  bool had_header = old.find("ctkit doctor --apply") != std::string::npos;
  if (!had_header) {
    out +=
        "# Written by `ctkit doctor --apply`; `ctkit doctor --rollback` "
        "restores the previous state.\n";
  }
  while (std::getline(in, line)) {
    // Any spelling of a key we set ("-net/netfilter/..." too).
    auto parsed = ParseSysctlLine(line);
    std::string key =
        parsed && *parsed && !(*parsed)->glob ? (*parsed)->key : std::string();
    bool replaced = false;
    for (const auto& [k, v] : kv) {
      if (key == k) {
        out += fmt::format("{} = {}\n", k, v);
        done.insert(k);
        replaced = true;
      }
    }
    if (!replaced) out += line + "\n";
  }
  for (const auto& [k, v] : kv) {
    if (!done.count(k)) out += fmt::format("{} = {}\n", k, v);
  }
  return out;
}

// Where else each key we persist is set, judged by boot order. A file
// applied after ours that sets the key by its exact name would win at boot:
// it goes to *blockers. Files applied before ours are listed as notes, one
// line per file (a link and its target are one file). /etc/sysctl.conf is
// read again last by procps `sysctl --system` (not by systemd-sysctl), so
// it gets a warning, on the same line when it is also read at boot.
void OtherSettings(const ApplyOptions& o, const std::string& key,
                   std::vector<std::string>* blockers, ApplyPlan* p) {
  const std::string& root = o.persist_root;
  const std::string ours =
      std::string(kSysctlConf).substr(std::string(kSysctlConf).rfind('/') + 1);
  std::vector<std::string> keys = {key};
  // /proc/sys/net/nf_conntrack_max is the same setting.
  if (key == "net.netfilter.nf_conntrack_max")
    keys.push_back("net.nf_conntrack_max");
  struct Where {
    std::string shown, key, value;
    int line = 0;
    bool later = false, boot = false, procps = false;
    size_t order = 0;
  };
  std::map<std::string, Where> by_target;  // one entry per real file
  size_t order = 0;
  auto files = BootSysctlFiles(root);
  for (const auto& k : keys) {
    for (const auto& s : ExactSettings(root, files, k)) {
      if (s.file.name == ours) continue;  // ours masks any same-named file
      Where& w = by_target[s.file.target];
      w.shown = s.file.Shown();
      w.key = k;
      w.value = s.value;
      w.line = s.line;
      w.boot = true;
      w.later = w.later || s.file.name > ours;
      w.order = ++order;
    }
  }
  std::string conf = ResolveUnderRoot(root, "/etc/sysctl.conf");
  if (!conf.empty() && conf != "/dev/null") {
    ConfFile f{"sysctl.conf", "/etc/sysctl.conf", conf};
    for (const auto& k : keys) {
      for (const auto& s : ExactSettings(root, {f}, k)) {
        Where& w = by_target[conf];
        if (!w.boot) {
          w.shown = f.Shown();
          w.key = k;
          w.value = s.value;
          w.line = s.line;
          w.order = ++order;
        }
        w.procps = true;
      }
    }
  }
  std::vector<Where> list;
  list.reserve(by_target.size());
  for (auto& [t, w] : by_target) list.push_back(w);
  std::sort(list.begin(), list.end(),
            [](const Where& a, const Where& b) { return a.order < b.order; });
  for (const auto& w : list) {
    std::string at =
        fmt::format("{}:{} sets {} = {}", w.shown, w.line, w.key, w.value);
    std::string procps =
        w.procps ? "procps `sysctl --system` reads /etc/sysctl.conf again "
                   "after every sysctl.d file, so running it by hand sets " +
                       w.value + " again: change it there too"
                 : "";
    if (w.later) {
      blockers->push_back(at);
    } else if (w.boot) {
      p->notes.push_back(fmt::format(
          "{}, applied before {} at boot, so the new value wins{}{}", at,
          kSysctlConf, procps.empty() ? "" : "; ", procps));
    } else {
      p->warnings.push_back(fmt::format(
          "{}; systemd-sysctl does not read it at boot, but {}", at, procps));
    }
  }
}

}  // namespace

[[nodiscard]] Result<ApplyPlan> PlanApply(const std::vector<Change>& changes,
                                          const HostData& d,
                                          const ApplyOptions& o) {
  if (Exists(StateDir(o) + "/state")) {
    return fail(Error::invalid_argument(
        "a previous --apply has not been rolled back (" + StateDir(o) +
        "/state exists); run `ctkit doctor --rollback` first"));
  }
  ApplyPlan p;
  std::vector<std::pair<std::string, uint64_t>> persist;
  std::optional<uint64_t> modprobe_hashsize;
  bool kube_keys = false, per_netns = false;
  for (const auto& c : changes) {
    PlannedWrite w;
    if (c.name == "hashsize") {
      w.display = kHashsizeParam;
      if (d.builtin.value_or(true)) {
        persist.emplace_back("net.netfilter.nf_conntrack_buckets", c.value);
      } else {
        modprobe_hashsize = c.value;
      }
    } else {
      w.display = std::string(kSysctlDir) + c.name;
      w.per_netns = !c.global;
      persist.emplace_back("net.netfilter." + c.name, c.value);
      per_netns |= !c.global;
      if (c.name == "nf_conntrack_max" ||
          c.name == "nf_conntrack_tcp_timeout_established" ||
          c.name == "nf_conntrack_tcp_timeout_close_wait")
        kube_keys = true;
    }
    w.runtime = true;
    w.path = o.runtime_root + w.display;
    {
      NetnsScope scope(w.per_netns ? o.netns_fd : -1);
      if (!scope.ok()) return fail(Error::io(scope.error()));
      auto old = Slurp(w.path);
      if (!old) return fail(old.error());
      w.existed = true;
      w.old_content = *old;
    }
    w.new_content = fmt::format("{}\n", c.value);
    p.writes.push_back(std::move(w));
  }
  if (o.persistent && !persist.empty()) {
    std::vector<std::string> blockers;
    for (const auto& [k, v] : persist) OtherSettings(o, k, &blockers, &p);
    if (!blockers.empty()) {
      std::string msg = fmt::format(
          "{} would not win at boot: sysctl.d files apply in file-name order "
          "and the last one that sets a key wins, and ",
          kSysctlConf);
      for (size_t i = 0; i < blockers.size(); ++i)
        msg += (i ? "; " : "") + blockers[i];
      msg +=
          " (applied after it). Nothing was written: change or remove the "
          "value there, or use --runtime-only";
      return fail(Error::invalid_argument(msg));
    }
    PlannedWrite w;
    w.display = kSysctlConf;
    w.path = o.persist_root + kSysctlConf;
    if (auto old = Slurp(w.path)) {
      w.existed = true;
      w.old_content = *old;
    }
    w.new_content = MergeSysctlConf(w.old_content, persist);
    p.writes.push_back(std::move(w));
    // A module loaded after systemd-sysctl ran has none of the
    // net.netfilter keys set: load it first (systemd-sysctl.service runs
    // After=systemd-modules-load.service).
    if (d.builtin && !*d.builtin) {
      std::string by = ModuleLoadedAtBootBy(o.persist_root, "nf_conntrack");
      if (!by.empty()) {
        p.notes.push_back("nf_conntrack is a module, loaded at boot by " + by +
                          " before systemd-sysctl applies " + kSysctlConf);
      } else {
        PlannedWrite m;
        m.display = kModulesLoadConf;
        m.path = o.persist_root + kModulesLoadConf;
        m.new_content = fmt::format(
            "# Written by `ctkit doctor --apply`: nf_conntrack is a module; "
            "load it at boot\n# before systemd-sysctl applies the "
            "net.netfilter keys of {}.\nnf_conntrack\n",
            kSysctlConf);
        p.writes.push_back(std::move(m));
      }
    } else if (!d.builtin) {
      p.warnings.push_back(
          "could not tell whether nf_conntrack is built in or a module; if it "
          "is a module, list it in /etc/modules-load.d/ so it loads before "
          "systemd-sysctl applies " +
          std::string(kSysctlConf));
    }
  }
  if (o.persistent && modprobe_hashsize) {
    PlannedWrite w;
    w.display = kModprobeConf;
    w.path = o.persist_root + kModprobeConf;
    if (auto old = Slurp(w.path)) {
      w.existed = true;
      w.old_content = *old;
    }
    w.new_content = fmt::format(
        "# Written by `ctkit doctor --apply`.\noptions nf_conntrack "
        "hashsize={}\n",
        *modprobe_hashsize);
    p.writes.push_back(std::move(w));
  }
  for (const auto& c : changes) {
    if (c.name == "hashsize" && d.builtin.value_or(true) && o.persistent) {
      p.warnings.push_back(fmt::format(
          "nf_conntrack is built into this kernel: /etc/modprobe.d does not "
          "apply, so the hash size is persisted as "
          "net.netfilter.nf_conntrack_buckets in {} (or add "
          "nf_conntrack.hashsize={} to the kernel command line, which also "
          "sets max to 8 x {} unless sysctl.d sets max).",
          kSysctlConf, c.value, c.value));
    }
  }
  if (kube_keys && d.kube_proxy_running) {
    p.warnings.push_back(
        "kube-proxy is running: at start it sets nf_conntrack_max (by default "
        "32768 per CPU, at least 131072) and the established/close_wait "
        "timeouts, undoing these values. Set the same numbers in its config "
        "(conntrack.maxPerCore / conntrack.min / tcpEstablishedTimeout).");
  }
  if (per_netns && (!d.init_netns || o.netns_fd >= 0)) {
    p.warnings.push_back(
        "Per-netns timeouts are written in the diagnosed network namespace; "
        "sysctl.d applies to the initial namespace at boot only, and a new "
        "namespace starts with the compiled-in defaults: set them where the "
        "namespace is created.");
  }
  return p;
}

std::string DescribePlan(const ApplyPlan& p) {
  std::string o;
  for (const auto& w : p.writes) {
    if (w.runtime) {
      std::string oldv = w.old_content;
      while (!oldv.empty() && oldv.back() == '\n') oldv.pop_back();
      std::string newv = w.new_content;
      newv.pop_back();
      o += fmt::format("  write {}: {} -> {}\n", w.display, oldv, newv);
    } else {
      o += fmt::format("  {} {} (atomically, backup kept):\n",
                       w.existed ? "replace" : "create", w.display);
      std::istringstream in(w.new_content);
      std::string line;
      while (std::getline(in, line)) o += "      " + line + "\n";
    }
  }
  for (const auto& n : p.notes) o += "  note: " + n + "\n";
  for (const auto& wn : p.warnings) o += "  warning: " + wn + "\n";
  return o;
}

[[nodiscard]] Result<void> ExecuteApply(const ApplyPlan& p,
                                        const ApplyOptions& o) {
  std::vector<std::string> made;
  if (auto r = MakeDirs(StateDir(o), &made); !r) return r;
  // Directories for persistent files that do not exist yet.
  std::vector<std::string> made_files_dirs;
  for (const auto& w : p.writes) {
    if (!w.runtime) {
      if (auto r = MakeDirs(DirName(w.path), &made_files_dirs); !r) return r;
    }
  }
  std::string state;
  for (const auto& d : made) state += "dir " + d + "\n";
  for (const auto& d : made_files_dirs) state += "dir " + d + "\n";
  for (size_t i = 0; i < p.writes.size(); ++i) {
    const auto& w = p.writes[i];
    mode_t mode = 0644;
    struct stat st {};
    if (w.existed && stat(w.path.c_str(), &st) == 0) mode = st.st_mode & 07777;
    if (w.existed) {
      auto r = WriteAtomic(fmt::format("{}/backup.{}", StateDir(o), i),
                           w.old_content, 0600);
      if (!r) return r;
    }
    state += fmt::format("file {} {} {} {:o} {}\n", i,
                         w.runtime ? "runtime" : "persist", w.existed ? 1 : 0,
                         mode, w.per_netns ? 1 : 0);
    state += w.path + "\n";
  }
  if (auto r = WriteAtomic(StateDir(o) + "/state", state, 0600); !r) return r;

  for (const auto& w : p.writes) {
    Result<void> r;
    if (w.runtime) {
      NetnsScope scope(w.per_netns ? o.netns_fd : -1);
      r = scope.ok() ? WriteInPlace(w.path, w.new_content)
                     : Result<void>(fail(Error::io(scope.error())));
    } else {
      mode_t mode = 0644;
      struct stat st {};
      if (w.existed && stat(w.path.c_str(), &st) == 0)
        mode = st.st_mode & 07777;
      r = WriteAtomic(w.path, w.new_content, mode);
    }
    if (!r) {
      auto rb = Rollback(o);
      std::string msg = r.error().message;
      if (!rb)
        msg += "; rollback also failed: " + rb.error().message;
      else
        msg += "; everything already written was restored";
      return fail(Error::io(msg));
    }
  }
  return {};
}

[[nodiscard]] Result<std::vector<std::string>> Rollback(const ApplyOptions& o) {
  std::string dir = StateDir(o);
  auto state = Slurp(dir + "/state");
  if (!state) {
    return fail(Error::invalid_argument("nothing to roll back: " +
                                        state.error().message));
  }
  struct Entry {
    size_t index;
    bool runtime, existed, per_netns;
    mode_t mode;
    std::string path;
  };
  std::vector<Entry> entries;
  std::vector<std::string> dirs;
  std::istringstream in(*state);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("dir ", 0) == 0) {
      dirs.push_back(line.substr(4));
      continue;
    }
    std::istringstream f(line);
    std::string tag, kind;
    Entry e{};
    unsigned mode = 0;
    int existed = 0, netns = 0;
    f >> tag >> e.index >> kind >> existed >> std::oct >> mode >> std::dec >>
        netns;
    if (tag != "file" || !f) {
      return fail(
          Error::corrupt(fmt::format("bad line in {}/state: {}", dir, line)));
    }
    if (!std::getline(in, e.path)) {
      return fail(Error::corrupt(dir + "/state is truncated"));
    }
    e.runtime = kind == "runtime";
    e.existed = existed != 0;
    e.per_netns = netns != 0;
    e.mode = static_cast<mode_t>(mode);
    entries.push_back(e);
  }
  std::vector<std::string> done;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    std::string backup = fmt::format("{}/backup.{}", dir, it->index);
    if (it->existed) {
      auto old = Slurp(backup);
      if (!old) return fail(old.error());
      Result<void> r;
      if (it->runtime) {
        NetnsScope scope(it->per_netns ? o.netns_fd : -1);
        r = scope.ok() ? WriteInPlace(it->path, *old)
                       : Result<void>(fail(Error::io(scope.error())));
      } else {
        r = WriteAtomic(it->path, *old, it->mode);
      }
      if (!r) return fail(r.error());
      std::string shown = *old;
      while (!shown.empty() && shown.back() == '\n') shown.pop_back();
      done.push_back(it->runtime ? "restored " + it->path + " = " + shown
                                 : "restored " + it->path);
    } else {
      // Not there (ENOTDIR: a component is a file, e.g. an apply that
      // failed to create it) is as good as removed: go on restoring.
      if (unlink(it->path.c_str()) != 0 && errno != ENOENT && errno != ENOTDIR)
        return fail(Sys("cannot remove", it->path));
      done.push_back("removed " + it->path);
    }
  }
  for (const auto& e : entries)
    unlink(fmt::format("{}/backup.{}", dir, e.index).c_str());
  if (unlink((dir + "/state").c_str()) != 0)
    return fail(Sys("cannot remove", dir + "/state"));
  FsyncDir(dir);
  // Directories the apply created, innermost first.
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) rmdir(it->c_str());
  return done;
}

}  // namespace ctkit
