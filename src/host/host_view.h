// HostView: where `ctkit doctor` reads a host from. Everything the doctor
// knows comes through Read(path), so a report is a pure function of the
// bytes read: the live host, a fixture tree (--root DIR) and a collected
// archive (--collect) are interchangeable.
#ifndef CTKIT_HOST_HOST_VIEW_H_
#define CTKIT_HOST_HOST_VIEW_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ctkit/result.h"

namespace ctkit {

class CtnetlinkClient;

/// Pseudo paths for what is not a file on the live host. Under --root they
/// are ordinary files at the same relative path, so a collected archive
/// extracts into a tree that --root reads back.
inline constexpr char kTablePath[] = "/ctkit/conntrack-L.txt";
inline constexpr char kStatsPath[] = "/ctkit/conntrack-S.txt";
inline constexpr char kKmsgPath[] = "/dev/kmsg";
/// The diagnosed network namespace as /proc/self/ns/net names it
/// ("net:[4026532318]"); its inode is the N the kernel prints in
/// "table full in netns N".
inline constexpr char kNetnsPath[] = "/ctkit/netns";
/// "INODE NAME" lines for the namespaces named under /run/netns.
inline constexpr char kNetnsNamesPath[] = "/ctkit/netns-names";

struct SummaryEntry;

/// How a table was read: where it came from ("ctnetlink",
/// "/proc/net/nf_conntrack", "conntrack -L") and how many of its lines did
/// not parse.
struct TableReadInfo {
  std::string source;
  uint64_t unparsed = 0;
};

/// Passes each entry of a table listing (`conntrack -L` or
/// /proc/net/nf_conntrack lines; a "# source: X" line names the source) to
/// `fn`, a line at a time; counts the lines that do not parse.
TableReadInfo ForEachTableLine(
    std::string_view text, const std::function<void(const SummaryEntry&)>& fn);

/// Abstract so tests and --root can substitute fixture trees (leveldb Env
/// style). Not thread-safe.
class HostView {
 public:
  virtual ~HostView() = default;
  /// The contents of `path` (absolute, as on the host: "/proc/meminfo").
  /// kTablePath gives the conntrack table as `conntrack -L` lines (or
  /// /proc/net/nf_conntrack lines), kStatsPath the statistics as
  /// `conntrack -S` lines, kKmsgPath the kernel log records. A refusal by
  /// the OS (not root, no CAP_NET_ADMIN) is ErrorCode::kPermission.
  [[nodiscard]] virtual Result<std::string> Read(const std::string& path) = 0;
  /// Passes each entry of the conntrack table to `fn` as it is read and
  /// keeps none of them. The default reads kTablePath and parses its lines
  /// (a "# source: X" line names the source); the live view streams the
  /// ctnetlink dump, or /proc/net/nf_conntrack, without holding either.
  [[nodiscard]] virtual Result<TableReadInfo> ForEachTableEntry(
      const std::function<void(const SummaryEntry&)>& fn);
  /// The names in directory `path` (no "." or "..").
  [[nodiscard]] virtual Result<std::vector<std::string>> List(
      const std::string& path) = 0;
  /// Where this view reads from, for the report ("live host", "/tmp/x").
  virtual std::string Describe() const = 0;
};

/// Opens a ctnetlink client in the current netns (CtnetlinkClient::Open);
/// injected so the host layer does not need the kernel client to link.
using CtnetlinkOpener =
    std::function<Result<std::unique_ptr<CtnetlinkClient>>()>;

/// The live host. With `netns_fd` >= 0 every read happens inside that
/// network namespace (per-netns sysctls, count, stats, table); the global
/// files read the same from anywhere. The table and statistics come from
/// ctnetlink when `open_ctnetlink` is set and works, otherwise from
/// /proc/net/nf_conntrack and /proc/net/stat/nf_conntrack.
std::unique_ptr<HostView> NewLiveHostView(CtnetlinkOpener open_ctnetlink,
                                          int netns_fd);

/// A fixture tree or an extracted --collect archive: Read(p) reads DIR + p.
/// Falls back to /proc/net/nf_conntrack for the table and
/// /proc/net/stat/nf_conntrack for the statistics, as the live view does.
std::unique_ptr<HostView> NewRootHostView(const std::string& dir);

/// Wraps `base` and remembers every successful read (path -> bytes), so
/// --collect saves exactly what the report was computed from. The table is
/// remembered only with `keep_table` (it is the one read whose size grows
/// with the host's trouble); otherwise it streams through from `base`.
class RecordingHostView : public HostView {
 public:
  explicit RecordingHostView(HostView* base, bool keep_table = true)
      : base_(base), keep_table_(keep_table) {}
  [[nodiscard]] Result<std::string> Read(const std::string& path) override;
  [[nodiscard]] Result<TableReadInfo> ForEachTableEntry(
      const std::function<void(const SummaryEntry&)>& fn) override;
  [[nodiscard]] Result<std::vector<std::string>> List(
      const std::string& path) override;
  std::string Describe() const override { return base_->Describe(); }
  /// path -> contents, in path order.
  const std::map<std::string, std::string>& files() const { return files_; }

 private:
  HostView* base_;  ///< not owned
  bool keep_table_;
  std::map<std::string, std::string> files_;
};

/// Enters network namespace `fd` for its lifetime (no-op for fd < 0) and
/// returns to the namespace it started in. `ok()` says whether it got in.
class NetnsScope {
 public:
  explicit NetnsScope(int fd);
  ~NetnsScope();
  NetnsScope(const NetnsScope&) = delete;
  NetnsScope& operator=(const NetnsScope&) = delete;
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  /// error() as an Error: a permission error when setns was refused.
  [[nodiscard]] Error failure() const;

 private:
  int saved_ = -1;
  int errno_ = 0;
  bool ok_ = true;
  std::string error_;
};

}  // namespace ctkit

#endif  // CTKIT_HOST_HOST_VIEW_H_
