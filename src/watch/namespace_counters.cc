// Each namespace's counters (see namespace_counters.h).
#include "watch/namespace_counters.h"

#include <fcntl.h>
#include <unistd.h>

#include "kernel/ctnetlink.h"
#include "watch/conntrack_metrics.h"

namespace ctkit::watch {

std::unique_ptr<HostView> OwnNamespaceView(const std::string& root) {
  auto open_ctnetlink = [] { return CtnetlinkClient::Open(); };
  return root.empty() ? NewLiveHostView(open_ctnetlink, -1)
                      : NewRootHostView(root);
}

std::vector<NamespaceCounters> ReadNamespaceCounters(
    const std::string& root, bool all_netns,
    const std::vector<NetnsRef>& refs) {
  std::vector<NamespaceCounters> out;
  if (!all_netns) {
    std::unique_ptr<HostView> view = OwnNamespaceView(root);
    HostData d = CollectCounters(*view);
    out.push_back(NamespaceCounters{NetnsLabel(*view), std::move(d)});
    return out;
  }
  auto open_ctnetlink = [] { return CtnetlinkClient::Open(); };
  for (const NetnsRef& r : refs) {
    const int fd = r.own ? -1 : open(r.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (!r.own && fd < 0) continue;  // gone, or not ours to open
    {
      std::unique_ptr<HostView> view = NewLiveHostView(open_ctnetlink, fd);
      out.push_back(NamespaceCounters{r.Label(), CollectCounters(*view), &r});
    }
    if (fd >= 0) close(fd);
  }
  return out;
}

std::vector<ScanTarget> ScanTargetsFor(const std::string& root,
                                       bool all_netns) {
  std::vector<ScanTarget> out;
  if (!all_netns) {
    std::unique_ptr<HostView> view = OwnNamespaceView(root);
    out.push_back(ScanTarget{NetnsLabel(*view), "", root});
    return out;
  }
  for (const NetnsRef& r : ListNetworkNamespaces()) {
    out.push_back(ScanTarget{r.Label(), r.own ? "" : r.path, ""});
  }
  return out;
}

}  // namespace ctkit::watch
