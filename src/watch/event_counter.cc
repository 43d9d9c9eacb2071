// Counting a namespace's NEW conntrack events (see event_counter.h).
#include "watch/event_counter.h"

#include <fmt/format.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "kernel/exec.h"

namespace ctkit::watch {
namespace {

// Room for about 20000 events of ~200 bytes: a refresh loop that reads
// every 0.1 s keeps up with 200000 new entries a second.
constexpr int kReceiveBuffer = 4 << 20;

}  // namespace

Result<std::unique_ptr<ConntrackEventCounter>> ConntrackEventCounter::Open(
    const std::string& netns_path) {
  std::unique_ptr<ScopedEnterNetns> inside;
  if (!netns_path.empty()) {
    auto entered = ScopedEnterNetns::Enter(netns_path);
    if (!entered) return fail(entered.error());
    inside = std::move(*entered);
  }
  // The socket belongs to the namespace it was made in, wherever the
  // thread goes next.
  const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
                        NETLINK_NETFILTER);
  if (fd < 0) {
    return fail(Error::io(fmt::format(
        "cannot open a conntrack event socket: {}", std::strerror(errno))));
  }
  inside.reset();
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveBuffer,
                 sizeof kReceiveBuffer) != 0) {
    // Without CAP_NET_ADMIN: as large as the system allows.
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kReceiveBuffer,
               sizeof kReceiveBuffer);
  }
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = NF_NETLINK_CONNTRACK_NEW;
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    close(fd);
    Error err = Error::io(fmt::format("cannot listen for conntrack events: {}",
                                      std::strerror(e)));
    if (e == EPERM || e == EACCES) err.code = ErrorCode::kPermission;
    return fail(err);
  }
  return std::unique_ptr<ConntrackEventCounter>(new ConntrackEventCounter(fd));
}

ConntrackEventCounter::~ConntrackEventCounter() { close(fd_); }

uint64_t ConntrackEventCounter::Drain() {
  alignas(nlmsghdr) std::array<char, 65536> buf{};
  for (;;) {
    const ssize_t n = recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {  // the kernel dropped events; go on reading
        overrun_ = true;
        continue;
      }
      break;  // EAGAIN: nothing more now
    }
    auto len = static_cast<unsigned int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len);
         h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW)) {
        ++made_;
      }
    }
  }
  return made_;
}

}  // namespace ctkit::watch
