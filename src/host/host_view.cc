// The three HostViews. The live one reads /proc, /sys and /dev/kmsg and asks
// ctnetlink for the table and statistics, falling back to the /proc files
// (recent kernels may lack them, so both paths are kept); it can read from
// inside another network namespace, because the count, the statistics, the
// table and most sysctls are per netns while nf_conntrack_max is global.
// The root view reads the same relative paths under a directory, which is
// what makes fixture tests and collected archives work. The recording view
// keeps a copy of every byte handed out, for --collect.
#include "host/host_view.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "core/text.h"
#include "host/host_data.h"
#include "kernel/ctnetlink.h"
#include "report/format.h"
#include "report/table_summary.h"

namespace ctkit {
namespace {

// EACCES/EPERM are kept apart from other failures: they mean "not root",
// which makes the report UNKNOWN rather than silently partial.
[[nodiscard]] Error OsError(const std::string& what, int e) {
  std::string m = what + ": " + std::strerror(e);
  return e == EACCES || e == EPERM ? Error::permission(m) : Error::io(m);
}

[[nodiscard]] Result<std::string> ReadWholeFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(OsError("cannot open " + path, errno));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      return fail(OsError("cannot read " + path, e));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

[[nodiscard]] Result<std::vector<std::string>> ListDirectory(
    const std::string& path) {
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return fail(OsError("cannot list " + path, errno));
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  return names;
}

// /dev/kmsg hands out one record per read() and EAGAIN at the end when
// opened non-blocking; EPIPE means records were overwritten while reading.
[[nodiscard]] Result<std::string> ReadKmsg() {
  int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return fail(OsError("cannot open /dev/kmsg", errno));
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR || errno == EPIPE) continue;
      break;  // EAGAIN: the end of the buffer
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.back() != '\n') out += '\n';
  }
  close(fd);
  return out;
}

// One line of a table listing: a "# source: X" header names the source,
// an entry goes to `fn`, anything else counts as unparsed.
void TakeTableLine(std::string_view line,
                   const std::function<void(const SummaryEntry&)>& fn,
                   TableReadInfo* info) {
  line = Trim(line);
  if (line.empty()) return;
  if (line[0] == '#') {
    constexpr std::string_view kSource = "# source: ";
    if (line.rfind(kSource, 0) == 0) {
      info->source = std::string(line.substr(kSource.size()));
    }
    return;
  }
  std::optional<TableEntry> t = ParseTableLine(line);
  std::optional<SummaryEntry> e;
  if (t) e = SummaryEntryOf(*t);
  if (e) {
    fn(*e);
  } else {
    ++info->unparsed;
  }
}

// The lines of `path`, one read buffer at a time: memory does not grow
// with the file.
[[nodiscard]] Result<void> ForEachLineOfFile(
    const std::string& path, const std::function<void(std::string_view)>& fn) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(OsError("cannot open " + path, errno));
  std::string pending;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      close(fd);
      return fail(OsError("cannot read " + path, e));
    }
    if (n == 0) break;
    pending.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos;
         start = nl + 1) {
      fn(std::string_view(pending).substr(start, nl - start));
    }
    pending.erase(0, start);
  }
  close(fd);
  if (!pending.empty()) fn(pending);
  return {};
}

class LiveHostView : public HostView {
 public:
  LiveHostView(CtnetlinkOpener opener, int netns_fd)
      : opener_(std::move(opener)), netns_fd_(netns_fd) {}

  [[nodiscard]] Result<std::string> Read(const std::string& path) override {
    NetnsScope scope(netns_fd_);
    if (!scope.ok()) return fail(scope.failure());
    if (path == kKmsgPath) return ReadKmsg();
    if (path == kTablePath) return ReadTable();
    if (path == kStatsPath) return ReadStats();
    if (path == kNetnsPath) return ReadNetnsLink();
    if (path == kNetnsNamesPath) return ReadNetnsNames();
    return ReadWholeFile(path);
  }
  [[nodiscard]] Result<TableReadInfo> ForEachTableEntry(
      const std::function<void(const SummaryEntry&)>& fn) override {
    NetnsScope scope(netns_fd_);
    if (!scope.ok()) return fail(scope.failure());
    if (CtnetlinkClient* c = Client()) {
      uint64_t passed = 0;
      auto r = c->DumpTable([&](const FlowInfo& f) {
        ++passed;
        fn(SummaryEntryOf(f));
      });
      if (r) return TableReadInfo{"ctnetlink", 0};
      // Entries already passed on cannot be taken back: falling back to
      // /proc would count them twice.
      if (passed != 0) return fail(r.error());
      ctnetlink_error_ = r.error();
    }
    TableReadInfo info{"/proc/net/nf_conntrack", 0};
    auto r = ForEachLineOfFile(
        "/proc/net/nf_conntrack",
        [&](std::string_view l) { TakeTableLine(l, fn, &info); });
    if (r) return info;
    auto both = Fallback(fail(r.error()), "no table", "");
    return fail(both.error());
  }
  [[nodiscard]] Result<std::vector<std::string>> List(
      const std::string& path) override {
    NetnsScope scope(netns_fd_);
    if (!scope.ok()) return fail(scope.failure());
    return ListDirectory(path);
  }
  std::string Describe() const override {
    return netns_fd_ >= 0 ? "live host (other network namespace)" : "live host";
  }

 private:
  CtnetlinkClient* Client() {
    if (!client_ && opener_ && !tried_) {
      tried_ = true;
      auto c = opener_();
      if (c) {
        client_ = std::move(*c);
      } else {
        ctnetlink_error_ = c.error();
      }
    }
    return client_.get();
  }

  [[nodiscard]] Result<std::string> ReadTable() {
    if (CtnetlinkClient* c = Client()) {
      std::string out = "# source: ctnetlink\n";
      auto r = c->DumpTable([&](const FlowInfo& f) {
        out += FormatConntrackLine(f, f.timeout_s, 0);
        out += '\n';
      });
      if (r) return out;
      ctnetlink_error_ = r.error();
    }
    return Fallback(ReadWholeFile("/proc/net/nf_conntrack"), "no table",
                    "# source: /proc/net/nf_conntrack\n");
  }

  [[nodiscard]] Result<std::string> ReadStats() {
    if (CtnetlinkClient* c = Client()) {
      auto s = c->GetStats();
      if (s) return "# source: ctnetlink\n" + FormatStatsLine(*s) + "\n";
      ctnetlink_error_ = s.error();
    }
    return Fallback(ReadWholeFile("/proc/net/stat/nf_conntrack"),
                    "no statistics", "");
  }

  // The /proc file read after ctnetlink failed. When both fail, the error
  // names both, and is a permission error if either was refused: without
  // CAP_NET_ADMIN the /proc file may simply not exist on this kernel.
  [[nodiscard]] Result<std::string> Fallback(Result<std::string> text,
                                             const std::string& what,
                                             const std::string& header) {
    if (text) return header + *text;
    std::string m = what + ": " +
                    (ctnetlink_error_ ? ctnetlink_error_->message
                                      : std::string("ctnetlink: not built")) +
                    "; " + text.error().message;
    bool denied =
        text.error().code == ErrorCode::kPermission ||
        (ctnetlink_error_ && ctnetlink_error_->code == ErrorCode::kPermission);
    return fail(denied ? Error::permission(m) : Error::io(m));
  }

  // "net:[INODE]": the INODE is the N of "table full in netns N".
  [[nodiscard]] static Result<std::string> ReadNetnsLink() {
    char buf[64];
    ssize_t n = readlink("/proc/thread-self/ns/net", buf, sizeof buf - 1);
    if (n < 0)
      return fail(OsError("cannot read /proc/thread-self/ns/net", errno));
    return std::string(buf, static_cast<size_t>(n)) + "\n";
  }

  // "INODE NAME" for each namespace named under /run/netns (ip netns).
  [[nodiscard]] static Result<std::string> ReadNetnsNames() {
    auto names = ListDirectory("/run/netns");
    if (!names) return fail(names.error());
    std::string out;
    for (const auto& n : *names) {
      struct stat st {};
      std::string p = "/run/netns/" + n;
      if (stat(p.c_str(), &st) == 0)
        out += std::to_string(st.st_ino) + " " + n + "\n";
    }
    return out;
  }

  CtnetlinkOpener opener_;
  int netns_fd_;
  bool tried_ = false;
  std::unique_ptr<CtnetlinkClient> client_;
  std::optional<Error> ctnetlink_error_;
};

class RootHostView : public HostView {
 public:
  explicit RootHostView(std::string dir) : dir_(std::move(dir)) {
    while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  }
  [[nodiscard]] Result<std::string> Read(const std::string& path) override {
    auto r = ReadWholeFile(dir_ + path);
    if (r || (path != kTablePath && path != kStatsPath)) return r;
    // A plain fixture tree has only the /proc files.
    if (path == kTablePath) {
      auto t = ReadWholeFile(dir_ + "/proc/net/nf_conntrack");
      if (t) return "# source: /proc/net/nf_conntrack\n" + *t;
      return t;
    }
    return ReadWholeFile(dir_ + "/proc/net/stat/nf_conntrack");
  }
  [[nodiscard]] Result<std::vector<std::string>> List(
      const std::string& path) override {
    return ListDirectory(dir_ + path);
  }
  std::string Describe() const override { return dir_; }

 private:
  std::string dir_;
};

}  // namespace

std::unique_ptr<HostView> NewLiveHostView(CtnetlinkOpener open_ctnetlink,
                                          int netns_fd) {
  return std::make_unique<LiveHostView>(std::move(open_ctnetlink), netns_fd);
}

std::unique_ptr<HostView> NewRootHostView(const std::string& dir) {
  return std::make_unique<RootHostView>(dir);
}

Result<TableReadInfo> HostView::ForEachTableEntry(
    const std::function<void(const SummaryEntry&)>& fn) {
  auto text = Read(kTablePath);
  if (!text) return fail(text.error());
  return ForEachTableLine(*text, fn);
}

TableReadInfo ForEachTableLine(
    std::string_view text, const std::function<void(const SummaryEntry&)>& fn) {
  TableReadInfo info{"conntrack -L", 0};
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    TakeTableLine(text.substr(0, nl), fn, &info);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  }
  return info;
}

Result<TableReadInfo> RecordingHostView::ForEachTableEntry(
    const std::function<void(const SummaryEntry&)>& fn) {
  // Kept: read whole through Read(), which remembers it. Not kept: the
  // base streams it.
  return keep_table_ ? HostView::ForEachTableEntry(fn)
                     : base_->ForEachTableEntry(fn);
}

Result<std::string> RecordingHostView::Read(const std::string& path) {
  auto r = base_->Read(path);
  if (r) files_[path] = *r;
  return r;
}

Result<std::vector<std::string>> RecordingHostView::List(
    const std::string& path) {
  // A listing is reproduced by the files later read from it; directories
  // listed but not read (e.g. /proc/PID without comm) are not needed.
  return base_->List(path);
}

NetnsScope::NetnsScope(int fd) {
  if (fd < 0) return;
  saved_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved_ < 0 || setns(fd, CLONE_NEWNET) != 0) {
    ok_ = false;
    errno_ = errno;
    error_ = std::string("cannot enter the network namespace: ") +
             std::strerror(errno);
    if (saved_ >= 0) close(saved_);
    saved_ = -1;
  }
}

Error NetnsScope::failure() const {
  return errno_ == EPERM || errno_ == EACCES ? Error::permission(error_)
                                             : Error::io(error_);
}

NetnsScope::~NetnsScope() {
  if (saved_ < 0) return;
  if (setns(saved_, CLONE_NEWNET) != 0) {
    // Staying in the wrong namespace would make every later read lie.
    std::perror("ctkit: cannot return to the original network namespace");
    std::abort();
  }
  close(saved_);
}

}  // namespace ctkit
