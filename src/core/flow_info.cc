// Snapshots of entries (FlowInfo) for dumps, events and lookups by tools.
// Timeouts are shown as the kernel shows them: whole seconds left, floored.
#include "core/engine_impl.h"

namespace ctkit {

FlowInfo EngineImpl::Snapshot(uint32_t index, uint32_t now) const noexcept {
  const Flow& f = table_->At(index);
  FlowInfo info;
  info.original = table_->OrigTuple(index);
  InvertTuple(info.original, &info.reply);
  info.remaining_jiffies = JiffiesLeft(f.expiry, now);
  info.timeout_s = info.remaining_jiffies > 0
                       ? static_cast<uint32_t>(info.remaining_jiffies) / kHz
                       : 0;
  info.state = ProtoStateName(f.key.l4_proto, f.proto);
  info.assured = (f.status & flowstatus::kAssured) != 0;
  info.seen_reply = (f.status & flowstatus::kSeenReply) != 0;
  info.zone = table_->ZoneOf(index);
  if (f.status & flowstatus::kHasAcct) {
    info.has_acct = true;
    for (int d = 0; d < 2; ++d) {
      info.packets[d] = acct_[index].packets[d];
      info.bytes[d] = acct_[index].bytes[d];
    }
  }
  if (f.status & flowstatus::kHasTimestamp) {
    info.has_timestamp = true;
    info.start_ns = start_ns_[index];
  }
  return info;
}

void EngineImpl::Dump(uint64_t now_ns,
                      const std::function<void(const FlowInfo&)>& fn) {
  uint32_t now = Jiffies(now_ns);
  // A chain's first flow is a cache miss in a big table; asking for the
  // one a few buckets ahead overlaps those misses with this chain's work.
  constexpr uint32_t kAhead = 8;
  const uint32_t buckets = table_->buckets();
  for (uint32_t b = table_->UsedBucketFrom(0); b < buckets;
       b = table_->UsedBucketFrom(b + 1)) {
    if (b + kAhead < buckets) {
      const uint32_t ahead = table_->Head(b + kAhead);
      if (ahead != kNil) __builtin_prefetch(&table_->At(NodeFlow(ahead)));
    }
    uint32_t node = table_->Head(b);
    while (node != kNil) {
      uint32_t index = NodeFlow(node);
      if (JiffiesLeft(table_->At(index).expiry, now) <= 0) {
        uint32_t next = table_->NextPastFlow(node);
        Delete(main_, index, DeleteCause::kExpired, now);
        node = next;
        continue;
      }
      // Each entry once, at its original-direction node, as ctnetlink does.
      if (NodeDir(node) == Direction::kOriginal) fn(Snapshot(index, now));
      node = table_->Next(node);
    }
  }
}

void EngineImpl::Visit(uint64_t now_ns,
                       const std::function<void(const FlowInfo&)>& fn) const {
  uint32_t now = last_now_;
  if (clock_started_ && now_ns > last_now_ns_) now = JiffiesAt(now_ns);
  // In pool order: the memory is read front to back instead of one chain
  // hop (a cache miss in a big table) per node. Between packets every
  // allocated flow is confirmed and linked; a free one has status 0.
  const uint32_t end = table_->pool_high_water();
  for (uint32_t i = 0; i < end; ++i) {
    if (table_->At(i).status & flowstatus::kConfirmed) fn(Snapshot(i, now));
  }
}

std::optional<FlowInfo> EngineImpl::Find(const Tuple& t, uint64_t now_ns,
                                         Zone zone) const {
  uint32_t now = last_now_;
  if (clock_started_ && now_ns > last_now_ns_) now = JiffiesAt(now_ns);
  PreparedPacket pp{};
  pp.tuple = t;
  if (!InvertTuple(t, &pp.reply)) pp.reply = Tuple{};
  pp.key = FlowKey::Of(pp.tuple);
  pp.reply_key = FlowKey::Of(pp.reply);
  pp.zone = zone;
  for (const uint16_t id :
       {FlowTable::HashedZoneId(zone), FlowTable::AlternateZoneId(zone)}) {
    const uint32_t bucket = table_->Bucket(table_->Hash(t, id));
    for (uint32_t n = table_->Head(bucket); n != kNil; n = table_->Next(n)) {
      const Flow& f = table_->At(NodeFlow(n));
      if (JiffiesLeft(f.expiry, now) <= 0) continue;
      if (NodeIs(n, pp)) return Snapshot(NodeFlow(n), now);
    }
    if (zone.id == 0) break;
  }
  return std::nullopt;
}

}  // namespace ctkit
