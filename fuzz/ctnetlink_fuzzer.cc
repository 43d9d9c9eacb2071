// libFuzzer target: the ctnetlink message parsers kernel-replay and doctor
// use on what the kernel (or anything on the netlink socket) sends. Every
// malformed message must be refused with a message, never read past `len`.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "kernel/ctnetlink.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exact-size copy, so that any read past the message is caught.
  std::vector<uint8_t> msg(data, data + size);
  auto flow = ctkit::ParseCtMessage(msg.data(), msg.size());
  if (!flow && flow.error().message.empty()) std::abort();
  auto stats = ctkit::ParseCpuStatsMessage(msg.data(), msg.size());
  if (!stats && stats.error().message.empty()) std::abort();
  return 0;
}
