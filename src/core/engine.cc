// The per-packet recipe, in the kernel's order (nf_conntrack_in):
//
//   1. per-protocol sanity checks (header, checksum) -> INVALID or the ICMP
//      error path (RELATED via the quoted flow) or UNTRACKED (ICMPv6 ND);
//   2. tuple extraction and a keyed-hash lookup that reaps every expired
//      entry it walks past;
//   3. no entry: allocate (table full -> early drop or DROP), run the
//      tracker on the unconfirmed entry, then confirm it into both chains
//      (chain too long -> DROP);
//   4. an entry: run the tracker, refresh, set ASSURED/SEEN_REPLY, kill on
//      an unreplied RST, reopen on a SYN after TIME_WAIT.
//
// Time is the packet's timestamp, converted to 32-bit jiffies at HZ=250;
// the GC runs at its scheduled virtual times before each packet. Nothing here
// allocates or throws.
#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <string>

#include "core/engine_impl.h"

namespace ctkit {
namespace {

Verdict CtinfoVerdict(Direction dir, bool reply_seen) {
  if (dir == Direction::kReply || reply_seen) return Verdict::kEstablished;
  return Verdict::kNew;
}

}  // namespace

const char* VerdictName(Verdict v) noexcept {
  switch (v) {
    case Verdict::kNew:
      return "NEW";
    case Verdict::kEstablished:
      return "ESTABLISHED";
    case Verdict::kRelated:
      return "RELATED";
    case Verdict::kInvalid:
      return "INVALID";
    case Verdict::kUntracked:
      return "UNTRACKED";
    case Verdict::kDrop:
      return "DROP";
  }
  return "?";
}

namespace {

// A fresh hash key from the kernel's CSPRNG (getrandom(2), blocking only
// until the pool is initialised, early at boot).
[[nodiscard]] Result<HashSeed> RandomHashSeed() {
  uint64_t key[2];
  auto* p = reinterpret_cast<unsigned char*>(key);
  size_t got = 0;
  while (got < sizeof key) {
    ssize_t n = getrandom(p + got, sizeof key - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Error::io(std::string("cannot draw the hash key: "
                                        "getrandom: ") +
                            std::strerror(errno)));
    }
    got += static_cast<size_t>(n);
  }
  return HashSeed{key[0], key[1]};
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::Create(const Tunables& t,
                                               EngineOptions opts) {
  if (!opts.hash_seed) {
    auto key = RandomHashSeed();
    if (!key) return fail(key.error());
    opts.hash_seed = *key;
  }
  Tunables norm = t;
  norm.Normalize();
  uint32_t capacity = norm.max != 0 ? norm.max : opts.unlimited_capacity;
  auto table = FlowTable::Create(capacity, norm.buckets, opts.hash_seed->k0,
                                 opts.hash_seed->k1, opts.huge_pages);
  if (!table) return fail(table.error());
  try {
    return std::unique_ptr<Engine>(
        new EngineImpl(norm, std::move(opts), std::move(*table)));
  } catch (const std::bad_alloc&) {
    // The acct/timestamp extensions are sized for the whole table up front.
    return fail(Error::io("cannot allocate the per-entry extensions for " +
                          std::to_string(capacity) + " entries"));
  } catch (const std::exception& e) {
    return fail(Error::io(std::string("cannot start the engine's threads: ") +
                          e.what()));
  }
}

EngineImpl::EngineImpl(const Tunables& t, EngineOptions opts,
                       std::unique_ptr<FlowTable> table)
    : opts_(std::move(opts)), table_(std::move(table)) {
  Start(t);
  if (opts_.threads > 1 && CanRunParallel()) StartWorkers();
}

void EngineImpl::Start(const Tunables& t) {
  tunables_ = t;
  cfg_ = ProtoConfig::FromTunables(t);
  events_for_new_ = t.events == 1 || (t.events == 2 && opts_.on_event);
  // Extensions are sized for the whole pool up front, so the hot path
  // never allocates. Their slots are written when an entry is created.
  if (t.acct) acct_.resize(table_->capacity());
  if (t.timestamp) start_ns_.resize(table_->capacity());
  for (uint32_t s = 0; s < FlowTable::kShards; ++s) {
    uint64_t seed = opts_.hash_seed->k0 ^ (opts_.hash_seed->k1 << 1) ^
                    0x9e3779b97f4a7c15ull;
    rng_state_[s].state = seed + s * 0xbf58476d1ce4e5b9ull;
    if (rng_state_[s].state == 0) rng_state_[s].state = 1;
  }
  main_.stats = Stats{};
  main_.counters = EngineCounters{};
  clock_started_ = false;
  last_now_ = 0;
  last_now_ns_ = 0;
  base_ns_ = 0;
  gc_ = Gc{};
  ratelimit_ = RateLimit{};
}

Result<void> EngineImpl::Reset(const Tunables& t) {
  Tunables norm = t;
  norm.Normalize();
  // Parallel scratch is sized for the max at creation; a smaller max only
  // shortens stretches (PlanStretch), so it fits too.
  if (norm.max == 0 || norm.max > table_->capacity()) {
    return fail(
        Error::invalid_argument("nf_conntrack_max " + std::to_string(norm.max) +
                                " does not fit the engine's table (1.." +
                                std::to_string(table_->capacity()) + ")"));
  }
  if (norm.buckets != table_->buckets()) {
    return fail(Error::invalid_argument(
        "nf_conntrack_buckets " + std::to_string(norm.buckets) +
        " differs from the engine's table (" +
        std::to_string(table_->buckets()) + ")"));
  }
  table_->Clear();
  Start(norm);
  return {};
}

uint32_t EngineImpl::Jiffies(uint64_t now_ns) noexcept {
  if (!clock_started_) {
    clock_started_ = true;
    base_ns_ = now_ns;
    last_now_ns_ = now_ns;
    last_now_ = kInitialJiffies;
    // The kernel's first GC run comes 1 s after conntrack starts.
    gc_.next_run = last_now_ + kHz;
    gc_.cycle_start = last_now_;
    return last_now_;
  }
  // A capture whose clock steps back is treated as standing still: the
  // kernel's jiffies never decrease.
  if (now_ns <= last_now_ns_) return last_now_;
  uint64_t ticks = (now_ns - base_ns_) / kNsPerJiffy;
  uint64_t step = ticks - (last_now_ns_ - base_ns_) / kNsPerJiffy;
  uint32_t prev = last_now_;
  last_now_ns_ = now_ns;
  last_now_ = kInitialJiffies + static_cast<uint32_t>(ticks);
  if (step > kLongGapJiffies) CrossLongGap(prev, step);
  return last_now_;
}

void EngineImpl::CrossLongGap(uint32_t prev, uint64_t step) noexcept {
  // Expiry is compared as a signed 32-bit difference, which only works for
  // times less than 2^31 jiffies (~99 days) apart. The kernel's clock ticks
  // through any gap and its GC reaps on the way; a capture can jump months
  // or years at once. So every entry whose remaining time (measured before
  // the step, when it was still meaningful) is used up by the step is reaped
  // here; the rest keep their absolute expiry, which is still less than
  // 2^31 jiffies ahead.
  uint32_t now = last_now_;
  for (uint32_t b = table_->UsedBucketFrom(0); b < table_->buckets();
       b = table_->UsedBucketFrom(b + 1)) {
    uint32_t node = table_->Head(b);
    while (node != kNil) {
      uint32_t index = NodeFlow(node);
      int64_t left = JiffiesLeft(table_->At(index).expiry, prev);
      if (left <= static_cast<int64_t>(step)) {
        uint32_t next = table_->NextPastFlow(node);
        Delete(main_, index, DeleteCause::kExpired, now);
        node = next;
        continue;
      }
      node = table_->Next(node);
    }
  }
  // The GC schedule and the log rate-limit window are jiffy stamps from
  // before the step: start both afresh (a new GC cycle one minute back, as
  // after any long gap).
  gc_.next_run = now - 60 * kHz;
  gc_.next_bucket = 0;
  gc_.cycle_start = gc_.next_run;
  ratelimit_.started = false;
}

uint32_t EngineImpl::JiffiesAt(uint64_t now_ns) const noexcept {
  return kInitialJiffies +
         static_cast<uint32_t>((now_ns - base_ns_) / kNsPerJiffy);
}

void EngineImpl::Prepare(const PacketView& pkt,
                         PreparedPacket* out) const noexcept {
  out->offload_checksum = false;
  out->reason = PreLookupCheck(pkt, cfg_, &out->offload_checksum);
  if (out->reason != InvalidReason::kNone) {
    out->kind = PreparedPacket::Kind::kInvalid;
    return;
  }
  if (IsUntrackedIcmpv6(pkt)) {
    out->kind = PreparedPacket::Kind::kUntracked;
    return;
  }
  if (IsIcmpError(pkt)) {
    out->kind = PreparedPacket::Kind::kIcmpError;
    out->reason = IcmpErrorInnerTuple(pkt, cfg_, &out->tuple);
    if (out->reason != InvalidReason::kNone) {
      out->kind = PreparedPacket::Kind::kInvalid;
      return;
    }
  } else {
    out->kind = PreparedPacket::Kind::kTrack;
    out->reason = ExtractTuple(pkt, &out->tuple);
    if (out->reason != InvalidReason::kNone) {
      out->kind = PreparedPacket::Kind::kInvalid;
      return;
    }
  }
  // The original tuple a reply-direction node would carry for this packet
  // (all zero when there is none: no flow's tuple is all zero).
  out->zone = pkt.zone;
  const uint16_t zone_id = FlowTable::HashedZoneId(pkt.zone);
  if (InvertTuple(out->tuple, &out->reply)) {
    out->hash = table_->Hash(out->tuple, out->reply, zone_id);
  } else {
    out->reply = Tuple{};
    out->hash = table_->Hash(out->tuple, zone_id);
  }
  out->key = FlowKey::Of(out->tuple);
  out->reply_key = FlowKey::Of(out->reply);
  if (pkt.zone.id != 0) [[unlikely]] {
    out->alt_hash = AlternateHash(*out);
  }
}

uint32_t EngineImpl::AlternateHash(const PreparedPacket& pp) const noexcept {
  const uint16_t alt = FlowTable::AlternateZoneId(pp.zone);
  return pp.reply.l4_proto != 0 ? table_->Hash(pp.tuple, pp.reply, alt)
                                : table_->Hash(pp.tuple, alt);
}

Verdict EngineImpl::Process(const PacketView& pkt, uint64_t now_ns) noexcept {
  PreparedPacket pp;
  Prepare(pkt, &pp);
  return Execute(pkt, pp, now_ns);
}

void EngineImpl::ProcessBatch(const PacketView* pkts, const uint64_t* now_ns,
                              size_t n, Verdict* out,
                              uint32_t* count_after) noexcept {
  if (par_ != nullptr) {
    ProcessParallel(pkts, now_ns, n, out, count_after);
  } else {
    ProcessSerial(pkts, now_ns, 0, n, out, count_after);
  }
}

void EngineImpl::ProcessSerial(const PacketView* pkts, const uint64_t* now_ns,
                               size_t a, size_t b, Verdict* out,
                               uint32_t* count_after) noexcept {
  constexpr size_t kBatch = 32;
  PreparedPacket pp[kBatch];
  uint32_t idx[kBatch];
  for (size_t base = a; base < b; base += kBatch) {
    size_t m = b - base < kBatch ? b - base : kBatch;
    // The next batch's headers start on their way while this one runs.
    for (size_t i = base + kBatch; i < b && i < base + 2 * kBatch; ++i) {
      __builtin_prefetch(pkts[i].l4);
    }
    for (size_t i = 0; i < m; ++i) {
      Prepare(pkts[base + i], &pp[i]);
      idx[i] = static_cast<uint32_t>(i);
    }
    RunBatch(main_, pkts + base, now_ns + base, nullptr, pp, idx, m, out + base,
             count_after ? count_after + base : nullptr, nullptr);
  }
}

void EngineImpl::RunBatch(Lane& lane, const PacketView* pkts,
                          const uint64_t* now_ns, const uint32_t* now,
                          const PreparedPacket* pp, const uint32_t* idx,
                          size_t m, Verdict* out, uint32_t* count_after,
                          int32_t* net) noexcept {
  constexpr size_t kBatch = 32;
  // Pass 1: prefetch every packet's bucket head.
  for (size_t k = 0; k < m; ++k) {
    const PreparedPacket& p = pp[idx[k]];
    if (p.kind == PreparedPacket::Kind::kTrack) {
      table_->PrefetchBucket(table_->Bucket(p.hash));
    }
  }
  // Passes 2..: chase each chain one node per pass, prefetching the next
  // node until the packet's own node (either direction) is found. Each
  // pass gives the previous pass's prefetches time to land. Both nodes of a
  // flow share its bucket, so with the kernel's default 1:1 bucket ratio a
  // full table has 2 nodes per chain on average.
  uint32_t cursor[kBatch];
  for (size_t k = 0; k < m; ++k) {
    const PreparedPacket& p = pp[idx[k]];
    cursor[k] = kNil;
    if (p.kind != PreparedPacket::Kind::kTrack) continue;
    cursor[k] = table_->Head(table_->Bucket(p.hash));
    if (cursor[k] != kNil) table_->PrefetchFlow(NodeFlow(cursor[k]));
    // An IPv6 match also reads the flow's addresses from the side pool.
    if (cursor[k] != kNil && p.key.family == Family::kIPv6) {
      table_->PrefetchV6(NodeFlow(cursor[k]));
    }
  }
  constexpr int kChaseDepth = 3;
  for (int pass = 1; pass < kChaseDepth; ++pass) {
    for (size_t k = 0; k < m; ++k) {
      if (cursor[k] == kNil) continue;
      const PreparedPacket& p = pp[idx[k]];
      if (NodeIs(cursor[k], p)) {
        cursor[k] = kNil;  // found: the recipe will walk to it in cache
        continue;
      }
      cursor[k] = table_->Next(cursor[k]);
      if (cursor[k] != kNil) table_->PrefetchFlow(NodeFlow(cursor[k]));
    }
  }
  // Last pass: run the recipe in order (the results depend on it).
  for (size_t k = 0; k < m; ++k) {
    uint32_t i = idx[k];
    if (now == nullptr) {
      out[i] = Execute(pkts[i], pp[i], now_ns[i]);
      if (count_after != nullptr) count_after[i] = table_->in_use();
    } else {
      lane.net = 0;
      out[k] = Track(lane, pkts[i], pp[i], now[i], now_ns[i]);
      net[k] = lane.net;
    }
  }
}

void EngineImpl::AdvanceTo(uint64_t now_ns) noexcept {
  RunGcUntil(Jiffies(now_ns));
}

Verdict EngineImpl::Execute(const PacketView& pkt, const PreparedPacket& pp,
                            uint64_t now_ns) noexcept {
  uint32_t now = Jiffies(now_ns);
  RunGcUntil(now);
  return Track(main_, pkt, pp, now, now_ns);
}

Verdict EngineImpl::Track(Lane& lane, const PacketView& pkt,
                          const PreparedPacket& pp, uint32_t now,
                          uint64_t now_ns) noexcept {
  ++lane.counters.packets;
  lane.counters.offload_checksums += pp.offload_checksum;
  Verdict v;
  switch (pp.kind) {
    case PreparedPacket::Kind::kInvalid:
      if (CountsAsError(pp.reason)) {
        ++lane.stats.error;
      } else {
        ++lane.stats.invalid;
      }
      ++lane.counters.invalid_by_reason[static_cast<int>(pp.reason)];
      v = Verdict::kInvalid;
      break;
    case PreparedPacket::Kind::kUntracked:
      v = Verdict::kUntracked;
      break;
    case PreparedPacket::Kind::kIcmpError:
      v = HandleIcmpError(lane, pkt, pp, now);
      break;
    case PreparedPacket::Kind::kTrack:
    default: {
      uint32_t node = LookupAndReap(lane, pp, now);
      v = node == kNil ? NewFlow(lane, pkt, pp.tuple, pp.hash, now, now_ns)
                       : ExistingFlow(lane, pkt, pp, node, now, now_ns);
      break;
    }
  }
  ++lane.counters.verdicts[static_cast<int>(v)];
  return v;
}

Verdict EngineImpl::HandleIcmpError(Lane& lane, const PacketView& pkt,
                                    const PreparedPacket& pp,
                                    uint32_t now) noexcept {
  uint32_t node = LookupAndReap(lane, pp, now);
  InvalidReason reason = InvalidReason::kNone;
  if (node == kNil) {
    reason = InvalidReason::kIcmpErrorNoFlow;
  } else {
    // Anti-spoofing: the error must be addressed to the endpoint that the
    // matched direction's tuple sends to.
    Tuple orig = table_->OrigTuple(NodeFlow(node));
    const Address& want =
        NodeDir(node) == Direction::kOriginal ? orig.dst : orig.src;
    if (!(pkt.dst == want)) reason = InvalidReason::kIcmpErrorBad;
  }
  if (reason != InvalidReason::kNone) {
    ++lane.stats.error;
    ++lane.counters.invalid_by_reason[static_cast<int>(reason)];
    return Verdict::kInvalid;
  }
  // No refresh: the error path never runs the tracker.
  return Verdict::kRelated;
}

uint32_t EngineImpl::LookupAndReap(Lane& lane, const PreparedPacket& pp,
                                   uint32_t now) noexcept {
  const uint32_t node = LookupInBucket(lane, pp, table_->Bucket(pp.hash), now);
  if (node != kNil || pp.zone.id == 0) [[likely]] {
    return node;
  }
  // A packet in a zone: its entry may be in the other bucket
  // (FlowTable::HashedZoneId says why).
  return LookupInBucket(lane, pp, table_->Bucket(pp.alt_hash), now);
}

// Inlined into LookupAndReap (always: the compiler would rather not since
// a zone's second bucket calls it too), as the walk was before zones.
[[gnu::always_inline]] inline uint32_t EngineImpl::LookupInBucket(
    Lane& lane, const PreparedPacket& pp, uint32_t bucket,
    uint32_t now) noexcept {
  uint32_t node = table_->Head(bucket);
  while (node != kNil) {
    uint32_t index = NodeFlow(node);
    Flow& f = table_->At(index);
    if (JiffiesLeft(f.expiry, now) <= 0) {
      uint32_t next = table_->NextPastFlow(node);
      Delete(lane, index, DeleteCause::kExpired, now);
      node = next;
      continue;
    }
    if (NodeIs(node, pp)) return node;
    node = table_->Next(node);
  }
  return kNil;
}

bool EngineImpl::ChainTooLong(uint32_t bucket) noexcept {
  // A fresh random limit L in [50, 79] per insert; a chain of L+2 nodes or
  // more refuses the insert (spec §4.4). The new entry is not linked yet, and
  // a replay never finds a clashing entry, so every node counts. Both
  // directions of a flow share the bucket, so one chain is checked.
  uint64_t& rng = rng_state_[table_->Shard(bucket)].state;
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  uint32_t limit = 50 + static_cast<uint32_t>(rng % 30);
  return table_->ChainLength(bucket) > limit + 1;
}

void EngineImpl::Insert(Lane& lane, uint32_t index, uint32_t bucket) noexcept {
  table_->LinkHead(bucket, NodeId(index, Direction::kOriginal));
  table_->LinkHead(bucket, NodeId(index, Direction::kReply));
  table_->At(index).status |= flowstatus::kConfirmed;
  ++lane.counters.created;
}

uint32_t EngineImpl::AllocFlow(Lane& lane) noexcept {
  if (!lane.parallel) return table_->Alloc();
  uint32_t index = table_->AllocFrom(&lane.cache);
  if (index != kNil) ++lane.net;
  return index;
}

void EngineImpl::FreeFlow(Lane& lane, uint32_t index) noexcept {
  if (!lane.parallel) {
    table_->Free(index);
    return;
  }
  table_->FreeTo(&lane.cache, index);
  --lane.net;
}

Verdict EngineImpl::NewFlow(Lane& lane, const PacketView& pkt, const Tuple& t,
                            uint32_t hash, uint32_t now,
                            uint64_t now_ns) noexcept {
  Tuple reply;
  if (!InvertTuple(t, &reply)) {
    ++lane.stats.invalid;
    ++lane.counters
          .invalid_by_reason[static_cast<int>(InvalidReason::kNotInvertible)];
    return Verdict::kInvalid;
  }
  // Allocation comes before the tracker has judged the packet: even a
  // packet that turns out INVALID can trigger early drop or a DROP. (A
  // parallel lane only runs where the table cannot fill.)
  uint32_t max = tunables_.max;
  if (!lane.parallel && max != 0 && table_->in_use() + 1 > max &&
      !EarlyDrop(table_->Bucket(hash), now)) {
    gc_.early_drop_mode = true;
    ++lane.stats.drop;
    ++lane.counters.table_full;
    LogTableFull(now);
    return Verdict::kDrop;
  }
  uint32_t index = AllocFlow(lane);
  if (index == kNil) {  // only with max = 0 and the pool exhausted
    ++lane.stats.drop;
    ++lane.counters.table_full;
    return Verdict::kDrop;
  }
  Flow& f = table_->At(index);
  table_->SetTuple(index, t);
  table_->SetZone(index, pkt.zone);
  TrackContext ctx{Direction::kOriginal, /*is_new=*/true,
                   /*reply_seen=*/false, /*assured=*/false, 0, now};
  TrackResult r = TrackPacket(pkt, t.l4_proto, &f.proto, ctx, cfg_);
  if (r.verdict != TrackVerdict::kAccept) {
    FreeFlow(lane, index);
    ++lane.stats.invalid;
    ++lane.counters.invalid_by_reason[static_cast<int>(r.reason)];
    return Verdict::kInvalid;
  }
  uint32_t bucket = table_->Bucket(hash);
  if (ChainTooLong(bucket)) {
    FreeFlow(lane, index);
    ++lane.stats.chaintoolong;
    ++lane.stats.insert_failed;
    return Verdict::kDrop;
  }
  // Confirmation: the relative timeout the tracker chose starts now.
  f.expiry = now + Adapt(r.timeout);
  if (r.set_assured) f.status |= flowstatus::kAssured;
  if (tunables_.acct) {
    f.status |= flowstatus::kHasAcct;
    acct_[index] = Acct{};
    Account(index, Direction::kOriginal, pkt);
  }
  if (tunables_.timestamp) {
    f.status |= flowstatus::kHasTimestamp;
    start_ns_[index] = now_ns;
  }
  if (events_for_new_) f.status |= flowstatus::kHasEvents;
  Insert(lane, index, bucket);
  Emit(EventType::kNew, index, now);
  return Verdict::kNew;
}

Verdict EngineImpl::ExistingFlow(Lane& lane, const PacketView& pkt,
                                 const PreparedPacket& pp, uint32_t node,
                                 uint32_t now, uint64_t now_ns) noexcept {
  uint32_t index = NodeFlow(node);
  Direction dir = NodeDir(node);
  Flow& f = table_->At(index);
  bool reply_seen = (f.status & flowstatus::kSeenReply) != 0;
  TrackContext ctx{dir,
                   /*is_new=*/false,
                   reply_seen,
                   (f.status & flowstatus::kAssured) != 0,
                   JiffiesLeft(f.expiry, now),
                   now};
  TrackResult r = TrackPacket(pkt, f.key.l4_proto, &f.proto, ctx, cfg_);
  bool changed = false;
  switch (r.verdict) {
    case TrackVerdict::kInvalid:
      if (r.cap != kNoCap && !(f.status & flowstatus::kFixedTimeout) &&
          JiffiesLeft(f.expiry, now) > static_cast<int64_t>(r.cap)) {
        f.expiry = now + r.cap;
      }
      ++lane.stats.invalid;
      ++lane.counters.invalid_by_reason[static_cast<int>(r.reason)];
      return Verdict::kInvalid;
    case TrackVerdict::kReopen:
      // The tracker closed the entry (TCP: a new SYN on a closed
      // connection): the old entry goes and the packet is processed from
      // scratch as the first of a new flow.
      Delete(lane, index, DeleteCause::kKilled, now);
      return NewFlow(lane, pkt, pp.tuple, pp.hash, now, now_ns);
    case TrackVerdict::kIgnore:
      // No refresh and no accounting; a state the packet moved still
      // announces itself (SCTP: a chunk after an ignored HEARTBEAT).
      changed |= r.state_changed;
      break;
    case TrackVerdict::kAccept:
      if (f.status & flowstatus::kHasAcct) Account(index, dir, pkt);
      if (r.refresh && !(f.status & flowstatus::kFixedTimeout)) {
        f.expiry = now + Adapt(r.timeout);
      }
      if (r.set_assured && !(f.status & flowstatus::kAssured)) {
        f.status |= flowstatus::kAssured;
        changed = true;
      }
      changed |= r.state_changed;
      break;
  }
  Verdict v = CtinfoVerdict(dir, reply_seen);
  if (r.kill) {
    // The tracker deletes the entry itself, before the core would mark the
    // reply seen: the DESTROY event still shows [UNREPLIED].
    Delete(lane, index, DeleteCause::kKilled, now);
    return v;
  }
  // The reply-seen bit is set after the tracker ran, for any accepted
  // reply-direction packet (ignored ones included).
  if (dir == Direction::kReply && !reply_seen) {
    f.status |= flowstatus::kSeenReply;
    changed = true;
  }
  if (changed) Emit(EventType::kUpdate, index, now, r.state_changed);
  return v;
}

void EngineImpl::Delete(Lane& lane, uint32_t index, DeleteCause cause,
                        uint32_t now) noexcept {
  Flow& f = table_->At(index);
  f.status |= flowstatus::kDying;
  Emit(EventType::kDestroy, index, now);
  uint32_t bucket = table_->Bucket(table_->FlowHash(index));
  table_->Unlink(bucket, NodeId(index, Direction::kOriginal));
  table_->Unlink(bucket, NodeId(index, Direction::kReply));
  FreeFlow(lane, index);
  ++lane.counters.destroyed;
  switch (cause) {
    case DeleteCause::kExpired:
      ++lane.counters.expired;
      break;
    case DeleteCause::kKilled:
      ++lane.counters.killed;
      break;
    case DeleteCause::kGcEarlyDrop:
      ++lane.counters.gc_early_drops;
      break;
    case DeleteCause::kEarlyDrop:
      break;
  }
}

void EngineImpl::Emit(EventType type, uint32_t index, uint32_t now,
                      bool state_changed) noexcept {
  if (!opts_.on_event) return;
  const bool announced =
      (table_->At(index).status & flowstatus::kHasEvents) != 0;
  if (!announced && !opts_.events_for_every_entry) return;
  // A GC run replayed while the clock catches up to a packet happened at an
  // earlier jiffy: its events are dated at the run, not at the packet.
  uint64_t ts = last_now_ns_;
  int32_t behind = static_cast<int32_t>(last_now_ - now);
  if (behind > 0) {
    uint64_t back = static_cast<uint64_t>(behind) * kNsPerJiffy;
    ts = back < ts ? ts - back : 0;
  }
  Event e{type, ts, Snapshot(index, now), state_changed, announced, now, index};
  opts_.on_event(e);
}

uint32_t EngineImpl::Adapt(uint32_t timeout) const noexcept {
  uint32_t start = opts_.adaptive_start, end = opts_.adaptive_end;
  uint32_t count = table_->in_use();
  if (end == 0 || count <= start || start >= end) return timeout;
  if (count >= end) return 0;
  return static_cast<uint32_t>(static_cast<uint64_t>(timeout) * (end - count) /
                               (end - start));
}

void EngineImpl::Account(uint32_t index, Direction dir,
                         const PacketView& pkt) noexcept {
  Acct& a = acct_[index];
  ++a.packets[static_cast<int>(dir)];
  a.bytes[static_cast<int>(dir)] += pkt.ip_len;
}

uint32_t EngineImpl::longest_chain() const noexcept {
  uint32_t longest = 0;
  for (uint32_t b = table_->UsedBucketFrom(0); b < table_->buckets();
       b = table_->UsedBucketFrom(b + 1)) {
    uint32_t len = 0;
    for (uint32_t n = table_->Head(b); n != kNil; n = table_->Next(n)) ++len;
    if (len > longest) longest = len;
  }
  return longest;
}

}  // namespace ctkit
