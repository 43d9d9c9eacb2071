// The kernel's sizing and memory facts against docs/kernel-model.md: the
// worked values of §1.3 (default sizing from RAM, hashsize= at boot), the
// rounding of §1.4 (1 -> 512, 1000 -> 1024), the costs of §10 (256 B per
// entry, +128 B with extensions, 8 B per bucket) and the scope rules of §1.1.
#include "core/kernel_sizing.h"

#include <gtest/gtest.h>

namespace ctkit {
namespace {

constexpr uint64_t kMiB = 1024ull * 1024;
constexpr uint64_t kGiB = 1024 * kMiB;

TEST(KernelDefaultSizing, MatchesTheSpecsWorkedValues) {
  // §1.3: 512 MiB gives 4096; 1-4 GiB gives 65536; > 4 GiB gives 262144.
  TableSize s512 = KernelDefaultSizing(512 * kMiB);
  EXPECT_EQ(s512.buckets, 4096u);
  EXPECT_EQ(s512.max, 4096u);
  TableSize s2g = KernelDefaultSizing(2 * kGiB);
  EXPECT_EQ(s2g.buckets, 65536u);
  EXPECT_EQ(s2g.max, 65536u);
  TableSize s16g = KernelDefaultSizing(16 * kGiB);
  EXPECT_EQ(s16g.buckets, 262144u);
  EXPECT_EQ(s16g.max, 262144u);
  // A "1 GiB" VM (not above 1 GiB): RAM / 128 KiB = 8192.
  EXPECT_EQ(KernelDefaultSizing(kGiB).max, 8192u);
  // A "4 GiB" VM with a little less usable RAM: 65536.
  EXPECT_EQ(KernelDefaultSizing(4 * kGiB - 100 * kMiB).max, 65536u);
  // Never below 1024; rounded up to 512.
  EXPECT_EQ(KernelDefaultSizing(64 * kMiB).buckets, 1024u);
  EXPECT_EQ(KernelDefaultSizing(200 * kMiB).buckets, 2048u);  // 1600 -> 2048
  // 32-bit kernels stop at 65536.
  EXPECT_EQ(KernelDefaultSizing(16 * kGiB, /*is_64bit=*/false).max, 65536u);
}

TEST(KernelBootHashsizeSizing, MaxIsEightTimesTheRoundedHashsize) {
  TableSize s = KernelBootHashsizeSizing(1000);
  EXPECT_EQ(s.buckets, 1024u);
  EXPECT_EQ(s.max, 8192u);
  EXPECT_EQ(KernelBootHashsizeSizing(65536).max, 524288u);
}

TEST(KernelCost, EntryAndBucketBytes) {
  EXPECT_EQ(KernelEntryBytes(false), 256u);
  EXPECT_EQ(KernelEntryBytes(true), 384u);
  // §10: 262144 entries are 64 MiB (96 MiB with extensions), + 2 MiB hash.
  EXPECT_EQ(KernelTableBytes(262144, 262144, false), 66 * kMiB);
  EXPECT_EQ(KernelTableBytes(262144, 262144, true), 98 * kMiB);
}

TEST(KernelCost, TheDocumentedTableOfSection10) {
  // §10's estimate table: 1,000,000 entries are about 244 MiB alone and
  // about 366 MiB with a 128-byte extension each.
  EXPECT_EQ(KernelTableBytes(1000000, 0, false), 256000000u);
  EXPECT_EQ(KernelTableBytes(1000000, 0, true), 384000000u);
  // The hash alone: 1,048,576 buckets are 8 MiB.
  EXPECT_EQ(KernelTableBytes(0, 1048576, false), 8 * kMiB);
}

TEST(KernelRoundBuckets, UpToAMultipleOf512) {
  // §1.4, measured: 1 becomes 512 and 1000 becomes 1024.
  EXPECT_EQ(KernelRoundBuckets(1), 512u);
  EXPECT_EQ(KernelRoundBuckets(1000), 1024u);
  EXPECT_EQ(KernelRoundBuckets(512), 512u);
  EXPECT_EQ(KernelRoundBuckets(513), 1024u);
  EXPECT_EQ(KernelRoundBuckets(262144), 262144u);
  EXPECT_EQ(KernelRoundBuckets(0), 0u);
}

TEST(IsGlobalSysctl, OnlyMaxBucketsAndExpectMax) {
  // §1.1: three settings are global, in every spelling.
  EXPECT_TRUE(IsGlobalSysctl("nf_conntrack_max"));
  EXPECT_TRUE(IsGlobalSysctl("net.netfilter.nf_conntrack_max"));
  EXPECT_TRUE(IsGlobalSysctl("net/netfilter/nf_conntrack_max"));
  EXPECT_TRUE(IsGlobalSysctl("net.nf_conntrack_max"));
  EXPECT_TRUE(IsGlobalSysctl("nf_conntrack_buckets"));
  EXPECT_TRUE(IsGlobalSysctl("net.netfilter.nf_conntrack_expect_max"));
  // Everything else is per namespace, the count included.
  EXPECT_FALSE(IsGlobalSysctl("nf_conntrack_count"));
  EXPECT_FALSE(IsGlobalSysctl("nf_conntrack_udp_timeout"));
  EXPECT_FALSE(IsGlobalSysctl("net.netfilter.nf_conntrack_tcp_loose"));
  EXPECT_FALSE(IsGlobalSysctl("hashsize"));  // a module parameter
}

}  // namespace
}  // namespace ctkit
