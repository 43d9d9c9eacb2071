// Reassembly of IPv4 and IPv6 fragments, with the rules measured on the
// kernel's defragmentation in front of conntrack (docs/kernel-model.md §14).
//
// The rules, in the project's words:
//   - A datagram is held under (family, source, destination, id, and for
//     IPv4 the protocol) from its first fragment to arrive, for the
//     family's timeout counted from that first arrival: later fragments do
//     not extend it. When it runs out the held fragments are given up.
//   - Fragments are kept in offset order in "runs": a fragment that
//     starts exactly where the highest held fragment ends, arriving after
//     it, joins that fragment's run; any other starts a run of its own. A
//     fragment lying wholly inside one run is a duplicate and is ignored
//     (the first bytes win); a fragment touching held bytes in any other
//     way is an overlap, and the whole datagram is given up (IPv4 and
//     IPv6 alike). So a fragment spanning two runs that arrived out of
//     order is an overlap, the same one spanning a run built in order is
//     not.
//   - The last fragment fixes the end; a second last fragment with another
//     end, a fragment past that end, or a last fragment ending before data
//     already held gives the datagram up.
//   - Memory is charged per fragment as the kernel charges its socket
//     buffers (TrueSize below) plus a fixed cost per datagram; while a
//     family's charge is above its high threshold every fragment of that
//     family is refused, including the one that would complete a held
//     datagram. Nothing is evicted to make room: the budget frees only as
//     datagrams complete or time out. (The kernel's low threshold is no
//     longer used.)
//   - The fragment that completes a datagram is the one whose packet goes
//     on, as the whole datagram, to conntrack.
//
// Storage: everything is taken at Create, sized from the budgets. Fragment
// bytes live in 512-byte blocks chained per fragment; a fragment never
// charges less than the blocks it fills (TrueSize(L) >= L + 612), so the
// blocks a budget allows always exist. Records for fragments and datagrams
// come from free lists; datagrams are found through a chained hash and
// expire from a list per family kept in arrival order (the timeout is the
// same for the whole family, so arrival order is expiry order).
#include "ctkit/defrag.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

#include "net/byte_order.h"

namespace ctkit {
namespace {

constexpr uint32_t kNone = UINT32_MAX;
constexpr uint32_t kBlockBytes = 512;
// Largest IP packet: a fragment, or a reassembled datagram.
constexpr uint32_t kMaxPacketBytes = kMaxDatagramBytes;
// What a held datagram costs besides its fragments (measured: the kernel's
// queue object, kernel-model §14).
constexpr uint64_t kQueueBytesIpv4 = 200;
constexpr uint64_t kQueueBytesIpv6 = 184;
// Smallest charge of one fragment (TrueSize of any packet).
constexpr uint64_t kMinFragmentCharge = 832;
// Budgets above this are refused at Create.
constexpr uint64_t kMaxBudget = 1ull << 30;

// The bytes the kernel charges for a fragment of `ip_len` bytes: its
// socket buffer's true size, measured in kernel-replay's router (frames
// sent through a packet socket, received on a veth; kernel-model §14): the
// packet plus 356 bytes of headroom and shared info, in a 576-byte small
// head, else the next power of two up to 4 KiB (+256 of buffer metadata),
// else whole pages behind a small head. A NIC driver chooses its own
// buffers, so on a real host the charge may differ.
uint64_t TrueSize(uint32_t ip_len) {
  const uint64_t need = uint64_t{ip_len} + 356;
  if (need <= 576) return 832;
  if (need <= 4416) {
    uint64_t p = 1024;
    while (p < need) p <<= 1;
    return p + 256;
  }
  return (need + 4095) / 4096 * 4096 + 832;
}

constexpr uint8_t kIpv6HopByHop = 0;
constexpr uint8_t kIpv6Routing = 43;
constexpr uint8_t kIpv6Fragment = 44;
constexpr uint8_t kIpv6Ah = 51;
constexpr uint8_t kIpv6DestOpts = 60;
constexpr int kMaxExtHeaders = 16;

}  // namespace

const char* DefragFailureName(DefragFailure f) noexcept {
  switch (f) {
    case DefragFailure::kTimeout:
      return "timeout";
    case DefragFailure::kOverlap:
      return "overlap";
    case DefragFailure::kInconsistent:
      return "inconsistent";
    case DefragFailure::kTooBig:
      return "too-big";
    case DefragFailure::kMemoryLimit:
      return "memory-limit";
    case DefragFailure::kCount:
      break;
  }
  return "?";
}

DefragOptions DefragOptions::FromTunables(const Tunables& t) {
  DefragOptions o;
  o.ipv6.high_thresh = t.frag6_high_thresh;
  o.ipv6.timeout_s = t.frag6_timeout;
  return o;
}

bool ReadFragmentFields(const uint8_t* ip, uint32_t len,
                        FragmentFields* out) noexcept {
  if (len < 20) return false;
  if ((ip[0] >> 4) == 4) {
    const uint32_t ihl = (ip[0] & 0x0fu) * 4u;
    const uint32_t total = LoadBe16(ip + 2);
    if (ihl < 20 || total < ihl || total > len) return false;
    const uint16_t frag = LoadBe16(ip + 6);
    const bool more = (frag & 0x2000) != 0;
    const uint32_t offset = (frag & 0x1fffu) * 8u;
    if (!more && offset == 0) return false;
    out->family = Family::kIPv4;
    out->l4_proto = ip[9];
    out->id = LoadBe16(ip + 4);
    out->offset = offset;
    out->data_len = total - ihl;
    out->more = more;
    out->data_start = ihl;
    out->fragment_header = ihl;
    return true;
  }
  if ((ip[0] >> 4) != 6 || len < 40) return false;
  const uint32_t total = 40u + LoadBe16(ip + 4);
  if (total == 40 || total > len) return false;
  uint8_t next = ip[6];
  uint32_t off = 40;
  for (int walked = 0; walked < kMaxExtHeaders; ++walked) {
    if (next != kIpv6HopByHop && next != kIpv6Routing &&
        next != kIpv6DestOpts && next != kIpv6Ah && next != kIpv6Fragment) {
      return false;  // reached the upper layer: not a fragment
    }
    if (off + 8 > total) return false;
    if (next == kIpv6Fragment) {
      const uint16_t frag = LoadBe16(ip + off + 2);
      const bool more = (frag & 1) != 0;
      const uint32_t offset = static_cast<uint32_t>(frag >> 3) * 8u;
      if (!more && offset == 0) return false;  // atomic: a whole packet
      out->family = Family::kIPv6;
      out->l4_proto = ip[off];
      out->id = LoadBe32(ip + off + 4);
      out->offset = offset;
      out->data_len = total - off - 8;
      out->more = more;
      out->data_start = off + 8;
      out->fragment_header = off;
      return true;
    }
    const uint32_t ext_len =
        next == kIpv6Ah ? (ip[off + 1] + 2u) * 4u : (ip[off + 1] + 1u) * 8u;
    next = ip[off];
    off += ext_len;
  }
  return false;
}

namespace {

struct Fragment {
  uint32_t next = kNone;  // the next held fragment in offset order
  uint32_t first_block = kNone;
  uint32_t offset = 0;
  uint32_t data_len = 0;
  uint32_t stored = 0;  // bytes in its blocks: its header (offset 0), data
  uint32_t charge = 0;  // TrueSize of its packet
  bool run_start = false;
};

struct Datagram {
  // Identity.
  Family family = Family::kIPv4;
  uint8_t l4_proto = 0;  // part of the key for IPv4 only
  uint32_t id = 0;
  Address src{}, dst{};
  // State.
  uint64_t deadline_ns = 0;
  uint32_t first = kNone;  // held fragments, offset order
  uint32_t last = kNone;   // the highest
  uint32_t fragments = 0;
  uint32_t received = 0;  // data bytes held (no two overlap)
  uint32_t max_end = 0;
  uint32_t end = 0;  // when last_seen
  bool last_seen = false;
  uint32_t header_len = 0;      // of the offset-0 fragment's stored header
  uint32_t next_header_at = 0;  // IPv6: the byte naming the fragment hdr
  uint8_t upper_proto = 0;      // from the offset-0 fragment
  uint64_t charge = 0;
  // Links.
  uint32_t hash_next = kNone;
  uint32_t older = kNone, newer = kNone;  // the family's arrival list
};

class ReassemblerImpl final : public Reassembler {
 public:
  explicit ReassemblerImpl(const DefragOptions& o) : opts_(o) {}

  void Init(uint64_t capacity_v4, uint64_t capacity_v6) {
    const uint64_t bytes = capacity_v4 + capacity_v6;
    const uint64_t blocks = bytes / kBlockBytes + 2;
    const uint64_t fragments = bytes / kMinFragmentCharge + 2;
    const uint64_t datagrams =
        capacity_v4 / (kQueueBytesIpv4 + kMinFragmentCharge) +
        capacity_v6 / (kQueueBytesIpv6 + kMinFragmentCharge) + 2;
    block_bytes_.reset(new uint8_t[blocks * kBlockBytes]);
    block_next_.assign(blocks, kNone);
    for (uint32_t i = 0; i + 1 < blocks; ++i) block_next_[i] = i + 1;
    free_block_ = 0;
    free_blocks_ = static_cast<uint32_t>(blocks);
    fragments_.resize(fragments);
    for (uint32_t i = 0; i + 1 < fragments; ++i) fragments_[i].next = i + 1;
    free_fragment_ = 0;
    datagrams_.resize(datagrams);
    for (uint32_t i = 0; i + 1 < datagrams; ++i)
      datagrams_[i].hash_next = i + 1;
    free_datagram_ = 0;
    uint32_t buckets = 64;
    while (buckets < datagrams) buckets <<= 1;
    buckets_.assign(buckets, kNone);
    output_.reset(new uint8_t[kMaxPacketBytes]);
    memory_ = blocks * (kBlockBytes + sizeof(uint32_t)) +
              fragments * sizeof(Fragment) + datagrams * sizeof(Datagram) +
              buckets * sizeof(uint32_t) + kMaxPacketBytes;
  }

  DefragResult Add(const uint8_t* ip, uint32_t len,
                   uint64_t now_ns) noexcept override {
    now_ns = std::max(now_ns, now_ns_);  // time never runs backwards
    AdvanceTo(now_ns);
    FragmentFields f;
    if (!ReadFragmentFields(ip, len, &f)) return {};
    ++c_.fragments;
    const int fam = FamilyIndex(f.family);
    const DefragLimits& lim = Limits(f.family);
    if (charged_[fam] > lim.high_thresh || lim.high_thresh == 0) {
      return Refuse(DefragFailure::kMemoryLimit);
    }
    uint32_t end = f.offset + f.data_len;
    // IPv4 rounds a non-last fragment's data down to whole 8-byte units;
    // IPv6 gives the datagram up (below, as inconsistent).
    if (f.more && f.family == Family::kIPv4) end &= ~7u;
    const uint32_t unfragmentable =
        f.family == Family::kIPv6 ? f.fragment_header - 40 : f.data_start;
    uint32_t d = Find(f, ip);
    if (d == kNone) {
      d = NewDatagram(f, ip, now_ns);
      if (d == kNone) return Refuse(DefragFailure::kMemoryLimit);
    }
    Datagram& g = datagrams_[d];
    if (unfragmentable + end > 65535) {
      return GiveUp(d, DefragFailure::kTooBig, 1);
    }
    if (f.more && (end <= f.offset ||
                   (f.family == Family::kIPv6 && (f.data_len & 7u) != 0))) {
      return GiveUp(d, DefragFailure::kInconsistent, 1);
    }
    if (!f.more) {
      if (end < g.max_end || (g.last_seen && end != g.end)) {
        return GiveUp(d, DefragFailure::kInconsistent, 1);
      }
      g.last_seen = true;
      g.end = end;
    } else if (g.last_seen && end > g.end) {
      return GiveUp(d, DefragFailure::kInconsistent, 1);
    }
    // Where it goes: after the highest fragment, or between held ones.
    uint32_t after = kNone;  // insert after this fragment (kNone: first)
    bool run_start = true;
    if (g.last == kNone) {
      after = kNone;
    } else if (f.offset >= FragEnd(g.last)) {
      after = g.last;
      run_start = f.offset != FragEnd(g.last);
    } else {
      switch (Place(g, f.offset, end, &after)) {
        case Placement::kDuplicate:
          ++c_.duplicates;
          return {DefragOutcome::kDuplicate, nullptr, 0};
        case Placement::kOverlap:
          return GiveUp(d, DefragFailure::kOverlap, 1);
        case Placement::kFits:
          break;
      }
    }
    // The offset-0 fragment also keeps its header (IPv6: the part before
    // the fragment header), the datagram's header once reassembled.
    const uint32_t header = f.offset == 0 ? f.fragment_header : 0;
    const uint32_t fi = Store(f, ip, header, end - f.offset);
    if (fi == kNone) return GiveUp(d, DefragFailure::kMemoryLimit, 1);
    Fragment& fr = fragments_[fi];
    fr.offset = f.offset;
    fr.data_len = end - f.offset;
    fr.run_start = run_start;
    fr.charge = static_cast<uint32_t>(TrueSize(f.data_start + f.data_len));
    if (after == kNone) {
      fr.next = g.first;
      g.first = fi;
    } else {
      fr.next = fragments_[after].next;
      fragments_[after].next = fi;
    }
    if (fr.next == kNone) g.last = fi;
    if (f.offset == 0) {
      g.header_len = header;
      g.upper_proto = f.l4_proto;
      g.next_header_at =
          f.family == Family::kIPv6 ? NextHeaderAt(ip, f.fragment_header) : 0;
    }
    ++g.fragments;
    g.received += fr.data_len;
    g.max_end = std::max(g.max_end, end);
    Charge(g, fr.charge);
    if (!g.last_seen || g.received != g.end || g.first == kNone ||
        fragments_[g.first].offset != 0) {
      return {DefragOutcome::kHeld, nullptr, 0};
    }
    const uint32_t n = Build(g);
    c_.in_datagrams += g.fragments;
    ++c_.datagrams;
    Release(d);
    return {DefragOutcome::kComplete, output_.get(), n};
  }

  void AdvanceTo(uint64_t now_ns) noexcept override {
    now_ns_ = std::max(now_ns, now_ns_);
    for (int fam = 0; fam < 2; ++fam) {
      while (oldest_[fam] != kNone &&
             datagrams_[oldest_[fam]].deadline_ns <= now_ns_) {
        (void)GiveUp(oldest_[fam], DefragFailure::kTimeout, 0);
      }
    }
  }

  const DefragCounters& counters() const noexcept override { return c_; }
  size_t memory_bytes() const noexcept override { return memory_; }

 private:
  enum class Placement { kFits, kDuplicate, kOverlap };

  static int FamilyIndex(Family f) { return f == Family::kIPv4 ? 0 : 1; }
  const DefragLimits& Limits(Family f) const {
    return f == Family::kIPv4 ? opts_.ipv4 : opts_.ipv6;
  }
  uint32_t FragEnd(uint32_t fi) const {
    return fragments_[fi].offset + fragments_[fi].data_len;
  }

  // Where [offset, end) goes among g's fragments (it starts below the
  // highest one's end): a duplicate if inside one run, an overlap if it
  // touches held bytes otherwise (runs have no holes, so touching a run's
  // span is touching its bytes), else it fits after *after.
  Placement Place(const Datagram& g, uint32_t offset, uint32_t end,
                  uint32_t* after) const {
    *after = kNone;
    uint32_t i = g.first;
    while (i != kNone) {
      uint32_t last = i;
      while (fragments_[last].next != kNone &&
             !fragments_[fragments_[last].next].run_start) {
        last = fragments_[last].next;
      }
      const uint32_t run_from = fragments_[i].offset;
      const uint32_t run_end = FragEnd(last);
      if (offset >= run_from && end <= run_end) return Placement::kDuplicate;
      if (offset < run_end && end > run_from) return Placement::kOverlap;
      if (run_end <= offset) *after = last;
      i = fragments_[last].next;
    }
    return Placement::kFits;
  }

  uint32_t Hash(Family fam, uint8_t proto, uint32_t id, const Address& s,
                const Address& d) const {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t{id} << 8) ^ proto ^
                 (static_cast<uint64_t>(fam) << 40);
    for (int i = 0; i < 16; i += 8) {
      uint64_t a, b;
      std::memcpy(&a, s.bytes + i, 8);
      std::memcpy(&b, d.bytes + i, 8);
      h = (h ^ a) * 0xbf58476d1ce4e5b9ull;
      h = (h ^ b) * 0x94d049bb133111ebull;
    }
    h ^= h >> 31;
    return static_cast<uint32_t>(h & (buckets_.size() - 1));
  }

  static void Key(const FragmentFields& f, const uint8_t* ip, Address* s,
                  Address* d, uint8_t* proto) {
    std::memset(s->bytes, 0, 16);
    std::memset(d->bytes, 0, 16);
    if (f.family == Family::kIPv4) {
      std::memcpy(s->bytes, ip + 12, 4);
      std::memcpy(d->bytes, ip + 16, 4);
      *proto = f.l4_proto;
    } else {
      std::memcpy(s->bytes, ip + 8, 16);
      std::memcpy(d->bytes, ip + 24, 16);
      *proto = 0;  // IPv6 datagrams are not keyed by protocol
    }
  }

  uint32_t Find(const FragmentFields& f, const uint8_t* ip) const {
    Address s, d;
    uint8_t proto;
    Key(f, ip, &s, &d, &proto);
    for (uint32_t i = buckets_[Hash(f.family, proto, f.id, s, d)]; i != kNone;
         i = datagrams_[i].hash_next) {
      const Datagram& g = datagrams_[i];
      if (g.family == f.family && g.id == f.id && g.l4_proto == proto &&
          g.src == s && g.dst == d) {
        return i;
      }
    }
    return kNone;
  }

  uint32_t NewDatagram(const FragmentFields& f, const uint8_t* ip,
                       uint64_t now_ns) {
    if (free_datagram_ == kNone) return kNone;
    const uint32_t i = free_datagram_;
    Datagram& g = datagrams_[i];
    free_datagram_ = g.hash_next;
    g = Datagram{};
    g.family = f.family;
    g.id = f.id;
    Key(f, ip, &g.src, &g.dst, &g.l4_proto);
    g.deadline_ns =
        now_ns + uint64_t{Limits(f.family).timeout_s} * 1000000000ull;
    uint32_t& head = buckets_[Hash(g.family, g.l4_proto, g.id, g.src, g.dst)];
    g.hash_next = head;
    head = i;
    const int fam = FamilyIndex(f.family);
    g.older = newest_[fam];
    if (newest_[fam] != kNone) datagrams_[newest_[fam]].newer = i;
    newest_[fam] = i;
    if (oldest_[fam] == kNone) oldest_[fam] = i;
    ++c_.held_datagrams;
    Charge(g, f.family == Family::kIPv4 ? kQueueBytesIpv4 : kQueueBytesIpv6);
    return i;
  }

  void Charge(Datagram& g, uint64_t bytes) {
    g.charge += bytes;
    charged_[FamilyIndex(g.family)] += bytes;
    c_.charged_bytes += bytes;
    c_.peak_charged_bytes = std::max(c_.peak_charged_bytes, c_.charged_bytes);
  }

  // Copies `header` bytes of the packet's header and `data_len` bytes of
  // its data into fresh blocks; kNone when out of records or blocks.
  uint32_t Store(const FragmentFields& f, const uint8_t* ip, uint32_t header,
                 uint32_t data_len) {
    const uint32_t bytes = header + data_len;
    const uint32_t need = (bytes + kBlockBytes - 1) / kBlockBytes;
    if (free_fragment_ == kNone || need > free_blocks_) return kNone;
    const uint32_t fi = free_fragment_;
    free_fragment_ = fragments_[fi].next;
    Fragment& fr = fragments_[fi];
    fr = Fragment{};
    fr.stored = bytes;
    uint32_t* link = &fr.first_block;
    uint32_t done = 0;
    for (uint32_t k = 0; k < need; ++k) {
      const uint32_t b = free_block_;
      free_block_ = block_next_[b];
      --free_blocks_;
      *link = b;
      link = &block_next_[b];
      const uint32_t n = std::min(kBlockBytes, bytes - done);
      uint8_t* to = block_bytes_.get() + uint64_t{b} * kBlockBytes;
      // The header part, then the data part (they need not be adjacent in
      // the packet: IPv6's fragment header sits between them).
      for (uint32_t j = 0; j < n; ++j) {
        const uint32_t at = done + j;
        to[j] = at < header ? ip[at] : ip[f.data_start + (at - header)];
      }
      done += n;
    }
    *link = kNone;
    c_.stored_bytes += bytes;
    c_.peak_stored_bytes = std::max(c_.peak_stored_bytes, c_.stored_bytes);
    ++c_.held_fragments;
    return fi;
  }

  // Copies fragment fi's stored bytes from `skip` on to `to`.
  void CopyOut(uint32_t fi, uint32_t skip, uint8_t* to) const {
    const Fragment& fr = fragments_[fi];
    uint32_t at = 0;
    for (uint32_t b = fr.first_block; b != kNone && at < fr.stored;
         b = block_next_[b]) {
      const uint32_t n = std::min(kBlockBytes, fr.stored - at);
      const uint8_t* from = block_bytes_.get() + uint64_t{b} * kBlockBytes;
      for (uint32_t j = 0; j < n; ++j) {
        if (at + j >= skip) to[at + j - skip] = from[j];
      }
      at += n;
    }
  }

  // Writes the whole datagram to output_; returns its length.
  uint32_t Build(const Datagram& g) {
    uint8_t* out = output_.get();
    CopyOut(g.first, 0, out);  // the header, then the first data
    for (uint32_t i = fragments_[g.first].next; i != kNone;
         i = fragments_[i].next) {
      CopyOut(i, 0, out + g.header_len + fragments_[i].offset);
    }
    const uint32_t total = g.header_len + g.end;
    if (g.family == Family::kIPv4) {
      StoreBe16(out + 2, static_cast<uint16_t>(total));
      out[6] &= 0x40;  // keep only DF
      out[7] = 0;
      out[10] = out[11] = 0;
      uint32_t sum = 0;
      for (uint32_t k = 0; k < g.header_len; k += 2) {
        sum += LoadBe16(out + k);
      }
      while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
      StoreBe16(out + 10, static_cast<uint16_t>(~sum));
    } else {
      StoreBe16(out + 4, static_cast<uint16_t>(total - 40));
      out[g.next_header_at] = g.upper_proto;
    }
    return total;
  }

  // IPv6: the offset of the byte that names the fragment header at
  // `frag_at` (the base header's next-header field, or the first byte of
  // the extension header before it).
  static uint32_t NextHeaderAt(const uint8_t* ip, uint32_t frag_at) {
    uint32_t at = 6, off = 40;
    uint8_t next = ip[6];
    while (off < frag_at) {
      at = off;
      const uint32_t ext_len =
          next == kIpv6Ah ? (ip[off + 1] + 2u) * 4u : (ip[off + 1] + 1u) * 8u;
      next = ip[off];
      off += ext_len;
    }
    return at;
  }

  DefragResult Refuse(DefragFailure why) {
    ++c_.failed[static_cast<int>(why)];
    return {DefragOutcome::kDropped, nullptr, 0};
  }

  // Gives datagram d up for `why`, with `extra` fragments (the one being
  // added) that were never stored.
  DefragResult GiveUp(uint32_t d, DefragFailure why, uint32_t extra) {
    c_.failed[static_cast<int>(why)] += datagrams_[d].fragments + extra;
    ++c_.failed_datagrams[static_cast<int>(why)];
    Release(d);
    return {DefragOutcome::kDropped, nullptr, 0};
  }

  // Frees datagram d and its fragments.
  void Release(uint32_t d) {
    Datagram& g = datagrams_[d];
    for (uint32_t i = g.first; i != kNone;) {
      Fragment& fr = fragments_[i];
      const uint32_t next = fr.next;
      uint32_t b = fr.first_block;
      while (b != kNone) {
        const uint32_t nb = block_next_[b];
        block_next_[b] = free_block_;
        free_block_ = b;
        ++free_blocks_;
        b = nb;
      }
      c_.stored_bytes -= fr.stored;
      --c_.held_fragments;
      fr.next = free_fragment_;
      free_fragment_ = i;
      i = next;
    }
    const int fam = FamilyIndex(g.family);
    charged_[fam] -= g.charge;
    c_.charged_bytes -= g.charge;
    uint32_t* link = &buckets_[Hash(g.family, g.l4_proto, g.id, g.src, g.dst)];
    while (*link != d) link = &datagrams_[*link].hash_next;
    *link = g.hash_next;
    if (g.older != kNone) {
      datagrams_[g.older].newer = g.newer;
    } else {
      oldest_[fam] = g.newer;
    }
    if (g.newer != kNone) {
      datagrams_[g.newer].older = g.older;
    } else {
      newest_[fam] = g.older;
    }
    --c_.held_datagrams;
    g.hash_next = free_datagram_;
    free_datagram_ = d;
  }

  DefragOptions opts_;
  DefragCounters c_;
  uint64_t charged_[2] = {0, 0};  // by family (IPv4, IPv6)
  std::unique_ptr<uint8_t[]> block_bytes_;
  std::vector<uint32_t> block_next_;  // chains, and the free list
  uint32_t free_block_ = kNone;
  uint32_t free_blocks_ = 0;
  std::vector<Fragment> fragments_;
  uint32_t free_fragment_ = kNone;
  std::vector<Datagram> datagrams_;
  uint32_t free_datagram_ = kNone;  // chained through hash_next
  std::vector<uint32_t> buckets_;
  uint32_t oldest_[2] = {kNone, kNone};
  uint32_t newest_[2] = {kNone, kNone};
  std::unique_ptr<uint8_t[]> output_;
  size_t memory_ = 0;
  uint64_t now_ns_ = 0;  // the latest time seen
};

}  // namespace

Result<std::unique_ptr<Reassembler>> Reassembler::Create(
    const DefragOptions& opts) {
  for (const DefragLimits* l : {&opts.ipv4, &opts.ipv6}) {
    if (l->high_thresh > kMaxBudget) {
      return fail(Error::invalid_argument("a reassembly budget above 1 GiB (" +
                                          std::to_string(l->high_thresh) +
                                          " bytes) is not supported"));
    }
    if (l->timeout_s == 0) {
      return fail(Error::invalid_argument("a reassembly timeout of 0 s"));
    }
  }
  // A family may go over its threshold by one fragment (the check comes
  // before the fragment is added) and one datagram's fixed cost.
  const uint64_t over = TrueSize(kMaxPacketBytes) + kQueueBytesIpv4;
  try {
    auto r = std::make_unique<ReassemblerImpl>(opts);
    r->Init(opts.ipv4.high_thresh + over, opts.ipv6.high_thresh + over);
    return std::unique_ptr<Reassembler>(std::move(r));
  } catch (const std::bad_alloc&) {
    return fail(Error::io("cannot allocate the reassembly budget"));
  }
}

}  // namespace ctkit
