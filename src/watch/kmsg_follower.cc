// Following the kernel log (see kmsg_follower.h).
#include "watch/kmsg_follower.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "host/host_data.h"

namespace ctkit::watch {

KmsgFollower::KmsgFollower(const std::string& path, bool from_start) {
  fd_ = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) {
    error_ = "cannot open " + path + ": " + std::strerror(errno);
    return;
  }
  // /dev/kmsg: SEEK_END puts the reader after the last record, so only
  // what the kernel logs from now on is read.
  if (!from_start) (void)lseek(fd_, 0, SEEK_END);
  thread_ = std::thread([this] { Run(); });
}

std::string KmsgLineBuffer::Append(std::string_view chunk) {
  pending_.append(chunk);
  const size_t end = pending_.rfind('\n');
  if (end == std::string::npos) {
    if (pending_.size() > kMaxPending) pending_.clear();  // no line end: junk
    return {};
  }
  std::string whole = pending_.substr(0, end + 1);
  pending_.erase(0, end + 1);
  return whole;
}

KmsgFollower::~KmsgFollower() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) close(fd_);
}

KmsgFollower::Counts KmsgFollower::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_;
}

void KmsgFollower::Take(const std::string& text) {
  const KernelLogSummary k = SummarizeKernelLog(text);
  if (k.table_full_lines == 0 && k.ratelimit_suppressed == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [netns, lines] : k.table_full_by_netns) {
    counts_.table_full_by_netns[netns] += lines.lines;
  }
  counts_.ratelimit_suppressed += k.ratelimit_suppressed;
}

void KmsgFollower::Run() {
  KmsgLineBuffer lines;
  char buf[8192];
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    const ssize_t n = read(fd_, buf, sizeof buf);
    if (n < 0) {
      // EPIPE: records were overwritten before we read them; go on from
      // the next. EAGAIN: nothing after all.
      if (errno == EPIPE || errno == EAGAIN || errno == EINTR) continue;
      return;
    }
    if (n == 0) {  // a FIFO whose writer closed: wait for another
      usleep(100 * 1000);
      continue;
    }
    const std::string whole =
        lines.Append(std::string_view(buf, static_cast<size_t>(n)));
    if (!whole.empty()) Take(whole);
  }
}

}  // namespace ctkit::watch
