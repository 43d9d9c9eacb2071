// Reassembly of IPv4 and IPv6 fragments before tracking, as the kernel's
// defragmentation runs before conntrack (docs/kernel-model.md §1.6, §14).
//
// The engine tracks datagrams: give it whole packets. A dataplane that
// receives fragments puts a Reassembler in front of it:
//
//   auto defrag = ctkit::Reassembler::Create(
//       ctkit::DefragOptions::FromTunables(tunables));
//   for each packet (IP header at ip, len bytes, time now_ns):
//     ctkit::DefragResult r = (*defrag)->Add(ip, len, now_ns);
//     if (r.outcome == ctkit::DefragOutcome::kNotFragment) track ip itself;
//     if (r.outcome == ctkit::DefragOutcome::kComplete) track r.datagram;
//     otherwise the fragment was kept (kHeld) or dropped: nothing to track.
//
// A completed datagram is one IP packet (no fragment fields, the full
// length) in the reassembler's own buffer, valid until the next call.
// Memory is fixed at Create (each family's budget, as the kernel's
// high-threshold sysctls give it); Add never allocates, throws or reads a
// clock: time is the now_ns passed in.
#ifndef CTKIT_DEFRAG_H_
#define CTKIT_DEFRAG_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "ctkit/packet.h"
#include "ctkit/result.h"
#include "ctkit/tunables.h"

namespace ctkit {

/// The longest datagram a Reassembler gives out (IPv6: 40 bytes of header
/// before at most 65535 of payload): room a caller must have to copy one.
inline constexpr uint32_t kMaxDatagramBytes = 40 + 65535;

/// What one family's reassembly may hold and for how long.
struct DefragLimits {
  /// Bytes the held fragments may be charged (the kernel's high_thresh).
  /// While more than this is held, every fragment is refused, whether it
  /// would start a datagram or complete one (kernel-model §14).
  uint64_t high_thresh = 4194304;
  /// Seconds from a datagram's first fragment until it is given up.
  uint32_t timeout_s = 30;
};

/// The settings of both families, with the kernel's defaults: IPv4 as
/// net.ipv4.ipfrag_high_thresh / ipfrag_time (4 MiB, 30 s); IPv6 as
/// net.netfilter.nf_conntrack_frag6_high_thresh / _timeout (4 MiB, 60 s).
struct DefragOptions {
  DefragLimits ipv4{4194304, 30};
  DefragLimits ipv6{4194304, 60};
  /// Defaults, with IPv6's limits from the nf_conntrack_frag6_* sysctls.
  static DefragOptions FromTunables(const Tunables& t);
};

/// What Add did with a packet.
enum class DefragOutcome : uint8_t {
  kNotFragment,  ///< a whole packet (or one Add cannot read): track it
  kHeld,         ///< a fragment kept until its datagram completes
  kComplete,     ///< the fragment completed a datagram: track `datagram`
  kDuplicate,    ///< a fragment whose bytes were all held already: ignored
  kDropped,      ///< the fragment (and maybe its datagram) was given up
};

/// Why fragments were given up.
enum class DefragFailure : uint8_t {
  kTimeout = 0,   ///< the datagram did not complete in time
  kOverlap,       ///< a fragment overlapped held data: the datagram goes
  kInconsistent,  ///< the fragments disagree on where the datagram ends
  kTooBig,        ///< the datagram would exceed 65535 bytes
  kMemoryLimit,   ///< refused while the family's budget was exceeded
  kCount,
};
inline constexpr size_t kDefragFailureCount =
    static_cast<size_t>(DefragFailure::kCount);
/// "timeout", "overlap", "inconsistent", "too-big", "memory-limit".
const char* DefragFailureName(DefragFailure f) noexcept;

struct DefragResult {
  DefragOutcome outcome = DefragOutcome::kNotFragment;
  /// kComplete: the datagram, in the reassembler's buffer until the next
  /// call; else null.
  const uint8_t* datagram = nullptr;
  uint32_t datagram_len = 0;
};

/// What a reassembler did so far. Every fragment given to Add ends up in
/// exactly one of: a completed datagram, `duplicates`, `failed`, or still
/// held (`held_fragments`).
struct DefragCounters {
  uint64_t fragments = 0;     ///< fragments given to Add
  uint64_t datagrams = 0;     ///< datagrams completed
  uint64_t in_datagrams = 0;  ///< fragments that went into them
  uint64_t duplicates = 0;    ///< fragments ignored as duplicates
  uint64_t failed[kDefragFailureCount] = {};            ///< fragments given up
  uint64_t failed_datagrams[kDefragFailureCount] = {};  ///< datagrams
  uint64_t held_fragments = 0;                          ///< held now
  uint64_t held_datagrams = 0;  ///< incomplete datagrams held now
  uint64_t charged_bytes = 0;   ///< charged now (both families)
  uint64_t peak_charged_bytes = 0;
  uint64_t stored_bytes = 0;  ///< fragment bytes stored now
  uint64_t peak_stored_bytes = 0;
};

class Reassembler {
 public:
  /// Takes all memory for both families' budgets. Fails on a budget too
  /// large to hold (more than 1 GiB) or a zero timeout.
  [[nodiscard]] static Result<std::unique_ptr<Reassembler>> Create(
      const DefragOptions& opts);
  virtual ~Reassembler() = default;

  /// Feeds one IP packet (from its IP header; `len` readable bytes, cut
  /// to what the header claims) seen at now_ns. Datagrams whose time ran
  /// out by now_ns are given up first.
  virtual DefragResult Add(const uint8_t* ip, uint32_t len,
                           uint64_t now_ns) noexcept = 0;
  /// Gives up the datagrams whose time ran out by now_ns.
  virtual void AdvanceTo(uint64_t now_ns) noexcept = 0;

  virtual const DefragCounters& counters() const noexcept = 0;
  /// Bytes taken at Create (fragment storage, records, the output buffer).
  virtual size_t memory_bytes() const noexcept = 0;
};

/// The fragment fields of an IP packet, for tools that look at fragments
/// without reassembling them.
struct FragmentFields {
  Family family = Family::kIPv4;
  uint8_t l4_proto = 0;     ///< the protocol the datagram carries
  uint32_t id = 0;          ///< IPv4: 16 bits; IPv6: 32 bits
  uint32_t offset = 0;      ///< of this fragment's data, bytes
  uint32_t data_len = 0;    ///< bytes of data this fragment carries
  bool more = false;        ///< more fragments follow
  uint32_t data_start = 0;  ///< where the data starts in the packet
  /// IPv6: where the fragment header starts (the unfragmentable part is
  /// the bytes before it); IPv4: the header length.
  uint32_t fragment_header = 0;
};

/// Reads the fragment fields of the IP packet at ip (len bytes); false for
/// a packet that is not a fragment (IPv6's atomic fragments included) or
/// whose headers cannot be read.
bool ReadFragmentFields(const uint8_t* ip, uint32_t len,
                        FragmentFields* out) noexcept;

}  // namespace ctkit

#endif  // CTKIT_DEFRAG_H_
