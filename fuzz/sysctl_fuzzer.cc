// libFuzzer target: the sysctl parser. The first byte picks Tunables::Set
// (name and value split at the first '=') or Tunables::LoadFile (the rest
// is a sysctl.conf file, written to an anonymous memory file). Whatever is
// accepted must survive Normalize() and a List() -> Set() round trip, and
// every error must carry a message.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ctkit/tunables.h"

namespace {

void CheckAccepted(const ctkit::Tunables& t) {
  ctkit::Tunables n = t;
  n.Normalize();
  if (n.buckets < 512 || n.buckets % 512 != 0) std::abort();
  ctkit::Tunables copy;
  for (const auto& [name, value] : n.List()) {
    auto r = copy.Set(name, value);
    if (!r) std::abort();  // List() printed something Set() refuses
  }
  if (copy.List() != n.List()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  ctkit::Tunables t;
  if (data[0] & 1) {
    size_t eq = text.find('=');
    std::string_view name = text.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : text.substr(eq + 1);
    auto r = t.Set(name, value);
    if (!r && r.error().message.empty()) std::abort();
  } else {
    int fd = memfd_create("sysctl_fuzzer", 0);
    if (fd < 0) return 0;
    size_t done = 0;
    while (done < text.size()) {
      ssize_t n = write(fd, text.data() + done, text.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    auto r = t.LoadFile("/proc/self/fd/" + std::to_string(fd));
    close(fd);
    if (!r && r.error().message.empty()) std::abort();
  }
  CheckAccepted(t);
  return 0;
}
