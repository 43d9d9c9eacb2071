// Child processes and namespace switching for the kernel sandbox. Commands
// run through fork/execvp with pipes (no shell: capture-derived strings
// never reach a shell parser). Namespaces are per thread: setns() and
// unshare(CLONE_NEWNET) change only the calling thread, and a child forked
// from it inherits that thread's namespace, which is how `ip`/`nft` are
// run inside the router namespace.
#include "kernel/exec.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>

namespace ctkit {
namespace {

std::string Join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

}  // namespace

[[nodiscard]] Result<std::string> RunCommand(
    const std::vector<std::string>& argv, const std::string& input) {
  if (argv.empty()) return fail(Error::invalid_argument("empty command"));
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0) return fail(Error::io("pipe failed"));
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]), close(in[1]);
    return fail(Error::io("pipe failed"));
  }
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(in[0]), close(in[1]), close(out[0]), close(out[1]);
    return fail(Error::io("pipe failed"));
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
    return fail(Error::io(fmt::format("fork failed: {}", strerror(errno))));
  }
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    // The parent may block SIGINT/SIGTERM around critical sections; the
    // child starts clean.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  size_t written = 0;
  while (written < input.size()) {
    ssize_t n = write(in[1], input.data() + written, input.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  close(in[1]);
  std::string sout, serr;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? sout : serr).append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!serr.empty() && serr.back() == '\n') serr.pop_back();
    return fail(Error::io(fmt::format(
        "'{}' failed ({}): {}", Join(argv),
        WIFEXITED(status) ? fmt::format("exit {}", WEXITSTATUS(status))
                          : std::string("killed"),
        WIFEXITED(status) && WEXITSTATUS(status) == 127 && serr.empty()
            ? std::string("command not found")
            : serr)));
  }
  return sout;
}

Result<std::unique_ptr<ScopedNewNetns>> ScopedNewNetns::Create() {
  int old_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (old_fd < 0) {
    return fail(Error::io(
        fmt::format("cannot open own network namespace: {}", strerror(errno))));
  }
  if (unshare(CLONE_NEWNET) != 0) {
    int e = errno;
    close(old_fd);
    return fail(Error::unsupported(
        fmt::format("cannot create a network namespace: {}", strerror(e))));
  }
  return std::unique_ptr<ScopedNewNetns>(new ScopedNewNetns(old_fd));
}

ScopedNewNetns::~ScopedNewNetns() {
  setns(old_fd_, CLONE_NEWNET);
  close(old_fd_);
}

Result<std::unique_ptr<ScopedEnterNetns>> ScopedEnterNetns::Enter(
    const std::string& path) {
  int old_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (old_fd < 0) {
    return fail(Error::io(
        fmt::format("cannot open own network namespace: {}", strerror(errno))));
  }
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    close(old_fd);
    return fail(Error::io(fmt::format("cannot enter network namespace {}: {}",
                                      path, strerror(e))));
  }
  close(fd);
  return std::unique_ptr<ScopedEnterNetns>(new ScopedEnterNetns(old_fd));
}

ScopedEnterNetns::~ScopedEnterNetns() {
  setns(old_fd_, CLONE_NEWNET);
  close(old_fd_);
}

Result<std::unique_ptr<Netns>> Netns::Create() {
  auto in = ScopedNewNetns::Create();
  if (!in) return fail(in.error());
  int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return fail(Error::io(
        fmt::format("cannot open the new namespace: {}", strerror(errno))));
  }
  return std::unique_ptr<Netns>(new Netns(fd));
}

Netns::~Netns() { close(fd_); }

std::string Netns::path() const {
  return fmt::format("/proc/{}/fd/{}", getpid(), fd_);
}

Result<std::unique_ptr<ScopedEnterNetns>> Netns::Enter() const {
  return ScopedEnterNetns::Enter(path());
}

Result<std::string> Netns::Run(const std::vector<std::string>& argv,
                               const std::string& input) const {
  auto in = Enter();
  if (!in) return fail(in.error());
  return RunCommand(argv, input);
}

}  // namespace ctkit
