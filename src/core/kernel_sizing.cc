// The kernel's table sizing and memory facts (see kernel_sizing.h).
#include "core/kernel_sizing.h"

#include <algorithm>
#include <string>

#include "ctkit/tunables.h"

namespace ctkit {
namespace {

constexpr uint64_t kGiB = 1024ull * 1024 * 1024;

}  // namespace

uint64_t KernelEntryBytes(bool extensions) {
  return kKernelEntryBytes + (extensions ? kKernelExtensionBytes : 0);
}

uint64_t KernelTableBytes(uint64_t entries, uint64_t buckets, bool extensions) {
  return entries * KernelEntryBytes(extensions) + buckets * kKernelBucketBytes;
}

uint64_t KernelRoundBuckets(uint64_t n) {
  return (n + kKernelBucketRounding - 1) / kKernelBucketRounding *
         kKernelBucketRounding;
}

TableSize KernelDefaultSizing(uint64_t ram_bytes, bool is_64bit) {
  uint64_t buckets = ram_bytes / (uint64_t{128} * 1024);
  if (is_64bit && ram_bytes > 4 * kGiB) {
    buckets = 262144;
  } else if (ram_bytes > kGiB) {
    buckets = 65536;
  }
  buckets = std::max<uint64_t>(buckets, 1024);
  buckets = KernelRoundBuckets(buckets);
  return {buckets, buckets};
}

TableSize KernelBootHashsizeSizing(uint64_t hashsize) {
  uint64_t buckets = KernelRoundBuckets(std::max<uint64_t>(hashsize, 1));
  return {8 * buckets, buckets};
}

bool IsGlobalSysctl(std::string_view name) {
  const std::string n = Tunables::Canonical(name);
  return n == "nf_conntrack_max" || n == "nf_conntrack_buckets" ||
         n == "nf_conntrack_expect_max";
}

}  // namespace ctkit
