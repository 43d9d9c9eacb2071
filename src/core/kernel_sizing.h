// What the kernel's table costs and how the kernel sizes it: the facts the
// operator tools (replay, whatif, plan, doctor, kernel-replay) all state,
// given once here so they cannot drift apart.
//
// Memory (docs/kernel-model.md §10): every entry is one 256-byte object of
// the nf_conntrack slab cache (struct nf_conn is 248 bytes, the cache is
// aligned to cache lines); entries that carry extensions (accounting,
// timestamps, an event listener, a helper, ...) also own a separate
// kmalloc block of at least 128 bytes; the hash table is an array of 8-byte
// bucket heads, allocated at its full size whatever the count.
//
// Sizing (§1.3, §1.4): the kernel rounds every hash size it is given up to
// a multiple of 512 buckets (a 4 KiB page of heads). At initialisation it
// sizes the table from RAM (8 buckets per MiB, 65536 above 1 GiB, 262144
// above 4 GiB on 64-bit, at least 1024) with max = buckets, unless a
// hashsize was given at boot or module load, which sets max = 8 x buckets.
//
// Scope (§1.1): nf_conntrack_max, nf_conntrack_buckets and
// nf_conntrack_expect_max are global, writable only in the initial network
// namespace; every other nf_conntrack sysctl is per namespace.
#ifndef CTKIT_CORE_KERNEL_SIZING_H_
#define CTKIT_CORE_KERNEL_SIZING_H_

#include <cstdint>
#include <string_view>

namespace ctkit {

/// Bytes of the nf_conntrack slab object per entry (§10).
inline constexpr uint64_t kKernelEntryBytes = 256;
/// Bytes of the extension block an entry with extensions also owns (§10).
inline constexpr uint64_t kKernelExtensionBytes = 128;
/// Bytes per hash bucket head (§10).
inline constexpr uint64_t kKernelBucketBytes = 8;
/// The kernel rounds hash sizes up to a multiple of this (§1.3, §1.4).
inline constexpr uint64_t kKernelBucketRounding = 512;

/// Bytes one entry costs the kernel: the slab object, plus the extension
/// block when `extensions`.
uint64_t KernelEntryBytes(bool extensions);

/// Kernel memory for `entries` entries in a `buckets`-bucket table.
uint64_t KernelTableBytes(uint64_t entries, uint64_t buckets, bool extensions);

/// `n` rounded up to a multiple of 512, as the kernel rounds a hash size it
/// is given (0 stays 0: the kernel refuses it rather than rounding it).
uint64_t KernelRoundBuckets(uint64_t n);

/// A (max, buckets) pair.
struct TableSize {
  uint64_t max = 0;
  uint64_t buckets = 0;
};

/// The kernel's own sizing at initialisation for a host with `ram_bytes` of
/// usable RAM (§1.3): buckets = RAM / 128 KiB, then 262144 above 4 GiB on
/// 64-bit or 65536 above 1 GiB, at least 1024, rounded up to 512;
/// max = buckets.
TableSize KernelDefaultSizing(uint64_t ram_bytes, bool is_64bit = true);

/// `nf_conntrack.hashsize=N` at boot: buckets N rounded up to 512, and the
/// kernel then sets max = 8 x buckets (§1.3).
TableSize KernelBootHashsizeSizing(uint64_t hashsize);

/// Whether a sysctl (any spelling Tunables accepts: "nf_conntrack_max",
/// "net.netfilter.nf_conntrack_max", "net.nf_conntrack_max", '/' or '.')
/// is global: one value for the whole kernel, writable only in the initial
/// network namespace (§1.1).
bool IsGlobalSysctl(std::string_view name);

}  // namespace ctkit

#endif  // CTKIT_CORE_KERNEL_SIZING_H_
