// The journal of global sysctls (see global_journal.h). A small text file:
//
//   # comment lines
//   pid 1234
//   start 5678
//   restore /proc/sys/net/netfilter/nf_conntrack_max 262144
//
// one `restore` line per changed sysctl, in the order they were changed;
// they are written back in reverse. Every read-modify-write of the journal
// happens under an exclusive flock on a lock file beside it, so two runs
// starting together cannot both take the host's globals.
#include "kernel/global_journal.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ctkit {
namespace {

// Closes the lock file (releasing the flock) at scope exit.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

bool AllDigits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// "/proc/sys/net/netfilter/nf_conntrack_max" -> "net.netfilter.nf_...".
std::string SysctlName(const std::string& path) {
  const std::string prefix = "/proc/sys/";
  if (path.rfind(prefix, 0) != 0) return path;
  std::string n = path.substr(prefix.size());
  for (char& c : n) {
    if (c == '/') c = '.';
  }
  return n;
}

}  // namespace

[[nodiscard]] Result<std::string> ReadProcValue(const std::string& path) {
  std::ifstream in(path);
  std::string v;
  if (!(in >> v)) return fail(Error::io("cannot read " + path));
  return v;
}

[[nodiscard]] Result<void> WriteProcValue(const std::string& path,
                                          const std::string& v) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return fail(Error::io(
        fmt::format("cannot open {}: {}", path, std::strerror(errno))));
  }
  std::string line = v + "\n";
  ssize_t n = write(fd, line.data(), line.size());
  int e = errno;
  close(fd);
  if (n != static_cast<ssize_t>(line.size())) {
    return fail(Error::io(fmt::format("cannot write {} to {}: {}", v, path,
                                      std::strerror(n < 0 ? e : EIO))));
  }
  return {};
}

GlobalJournal::GlobalJournal(std::string dir, std::string allowed_prefix)
    : dir_(std::move(dir)), allowed_prefix_(std::move(allowed_prefix)) {}

unsigned long long GlobalJournal::StartTime(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces and parentheses: the fields
  // resume after its last ')'. Field 3 is the state; 22 the start time.
  size_t close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close_paren + 1));
  std::string f;
  for (int i = 3; i <= 22; ++i) {
    if (!(fields >> f)) return 0;
    if (i == 3 && (f == "Z" || f == "X")) return 0;  // exited, not reaped
  }
  return std::strtoull(f.c_str(), nullptr, 10);
}

bool GlobalJournal::Alive(pid_t pid, unsigned long long start_time) {
  if (pid <= 0) return false;
  if (kill(pid, 0) != 0 && errno != EPERM) return false;
  unsigned long long now = StartTime(pid);
  return now != 0 && now == start_time;
}

Result<void> GlobalJournal::EnsureDir() const {
  if (mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    return fail(Error::io(
        fmt::format("cannot create {}: {}", dir_, std::strerror(errno))));
  }
  struct stat st {};
  if (lstat(dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return fail(Error::io(dir_ + " is not a directory"));
  }
  // The journal names files a root process writes to: nobody else may
  // plant one.
  if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return fail(Error::io(fmt::format(
        "{} is writable by another user than this one; refusing to use it",
        dir_)));
  }
  return {};
}

Result<int> GlobalJournal::Lock() const {
  if (auto d = EnsureDir(); !d) return fail(d.error());
  std::string lock = dir_ + "/kernel-replay.lock";
  int fd = open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return fail(Error::io(
        fmt::format("cannot open {}: {}", lock, std::strerror(errno))));
  }
  while (flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    int e = errno;
    close(fd);
    return fail(
        Error::io(fmt::format("cannot lock {}: {}", lock, std::strerror(e))));
  }
  return fd;
}

Result<std::optional<GlobalJournal::Contents>> GlobalJournal::Read() const {
  const std::string p = path();
  std::ifstream in(p);
  if (!in) {
    if (access(p.c_str(), F_OK) != 0 && errno == ENOENT) {
      return std::optional<Contents>();
    }
    return fail(Error::io("cannot read " + p));
  }
  Contents c;
  bool have_pid = false, have_start = false;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string key, a, b, extra;
    words >> key >> a >> b >> extra;
    auto bad = [&](const std::string& why) {
      return fail(
          Error::corrupt(fmt::format("{}:{}: {}: '{}'", p, n, why, line)));
    };
    if (key == "pid" && AllDigits(a) && b.empty()) {
      c.pid = static_cast<pid_t>(std::strtol(a.c_str(), nullptr, 10));
      have_pid = true;
    } else if (key == "start" && AllDigits(a) && b.empty()) {
      c.start_time = std::strtoull(a.c_str(), nullptr, 10);
      have_start = true;
    } else if (key == "restore" && extra.empty() && !b.empty()) {
      if (a.rfind(allowed_prefix_, 0) != 0 ||
          a.find("/../") != std::string::npos) {
        return bad("not a sysctl this journal may restore");
      }
      if (!AllDigits(b)) return bad("not a number");
      c.values.emplace_back(a, b);
    } else {
      return bad("unexpected line");
    }
  }
  if (!have_pid || !have_start) {
    return fail(Error::corrupt(p + ": no pid and start lines"));
  }
  c.owner_alive = Alive(c.pid, c.start_time);
  return std::optional<Contents>(std::move(c));
}

Result<std::string> GlobalJournal::RecoverStale(Contents* held_by) {
  if (access(path().c_str(), F_OK) != 0) return std::string();
  auto lk = Lock();
  if (!lk) return fail(lk.error());
  FdCloser closer{*lk};
  auto j = Read();
  if (!j) return fail(j.error());
  if (!*j) return std::string();
  const Contents& c = **j;
  if (c.owner_alive) {
    if (held_by != nullptr) *held_by = c;
    return std::string();
  }
  std::string done;
  for (auto it = c.values.rbegin(); it != c.values.rend(); ++it) {
    auto now = ReadProcValue(it->first);
    auto w = WriteProcValue(it->first, it->second);
    if (!w) {
      return fail(Error::io(fmt::format(
          "{}; the journal {} is kept: run `ctkit kernel-replay --restore` "
          "again once it can be written",
          w.error().message, path())));
    }
    if (!done.empty()) done += ", ";
    done += fmt::format("{} = {}", SysctlName(it->first), it->second);
    if (now && *now != it->second) done += fmt::format(" (was {})", *now);
  }
  if (unlink(path().c_str()) != 0) {
    return fail(Error::io(fmt::format("restored {} but cannot remove {}: {}",
                                      done, path(), std::strerror(errno))));
  }
  return fmt::format(
      "restored {}: a ctkit run (pid {}: kernel-replay or a test) changed {} "
      "and ended without writing {} back",
      done.empty() ? "nothing" : done, c.pid,
      c.values.size() == 1 ? "it" : "them",
      c.values.size() == 1 ? "it" : "them");
}

Result<void> GlobalJournal::Record(const Values& values) {
  for (const auto& [p, v] : values) {
    if (p.rfind(allowed_prefix_, 0) != 0 || !AllDigits(v) ||
        p.find_first_of(" \t\n") != std::string::npos) {
      return fail(Error::invalid_argument(
          fmt::format("journal: cannot record {} = '{}'", p, v)));
    }
  }
  auto lk = Lock();
  if (!lk) return fail(lk.error());
  FdCloser closer{*lk};
  auto j = Read();
  if (!j) return fail(j.error());
  const pid_t self = getpid();
  if (*j && (*j)->pid != self) {
    const Contents& c = **j;
    if (c.owner_alive) {
      return fail(Error::invalid_argument(fmt::format(
          "another ctkit kernel-replay (pid {}) has changed global conntrack "
          "sysctls and restores them when it ends; wait for it, since this "
          "run would take its values for the host's",
          c.pid)));
    }
    return fail(Error::invalid_argument(fmt::format(
        "{} holds values left by pid {} that are not restored yet; run "
        "`ctkit kernel-replay --restore`",
        path(), c.pid)));
  }
  std::string text =
      "# ctkit kernel-replay: global conntrack sysctls changed by a run, with\n"
      "# their old values. The run removes this file once it has written\n"
      "# them back; if it was killed, the next run or `ctkit kernel-replay\n"
      "# --restore` does.\n";
  text += fmt::format("pid {}\nstart {}\n", self, StartTime(self));
  for (const auto& [p, v] : values)
    text += fmt::format("restore {} {}\n", p, v);
  const std::string tmp = fmt::format("{}.tmp.{}", path(), self);
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return fail(Error::io(
        fmt::format("cannot create {}: {}", tmp, std::strerror(errno))));
  }
  ssize_t n = write(fd, text.data(), text.size());
  int e = n == static_cast<ssize_t>(text.size()) ? 0 : (n < 0 ? errno : EIO);
  if (e == 0 && fsync(fd) != 0) e = errno;
  close(fd);
  if (e == 0 && rename(tmp.c_str(), path().c_str()) != 0) e = errno;
  if (e != 0) {
    unlink(tmp.c_str());
    return fail(Error::io(
        fmt::format("cannot write {}: {}", path(), std::strerror(e))));
  }
  // The rename is durable once the directory is.
  int dfd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return {};
}

Result<void> GlobalJournal::Remove() {
  auto lk = Lock();
  if (!lk) return fail(lk.error());
  FdCloser closer{*lk};
  auto j = Read();
  if (!j) return fail(j.error());
  if (!*j || (*j)->pid != getpid()) return {};  // not ours
  if (unlink(path().c_str()) != 0) {
    return fail(Error::io(
        fmt::format("cannot remove {}: {}", path(), std::strerror(errno))));
  }
  return {};
}

}  // namespace ctkit
