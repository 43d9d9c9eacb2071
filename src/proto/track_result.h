// What every tracker tells the core about one packet, in words that name no
// protocol. As in the kernel's split between nf_conntrack_core and the
// l4proto trackers, a tracker decides everything protocol-specific (is the
// packet acceptable, which timeout applies, is the entry now ASSURED, must
// it go) and the core only applies the outcome to the table: it never reads
// a tracker's state or its timeout slots.
#ifndef CTKIT_PROTO_TRACK_RESULT_H_
#define CTKIT_PROTO_TRACK_RESULT_H_

#include <cstdint>

#include "ctkit/tuple.h"
#include "ctkit/verdict.h"

namespace ctkit {

/// The tracker's verdict on a packet of an entry.
enum class TrackVerdict : uint8_t {
  /// The packet belongs to the entry: apply refresh, set_assured, kill.
  kAccept,
  /// Accepted with the entry, but its timeout and state stay as they were.
  kIgnore,
  /// INVALID: the packet goes on without an entry (`reason` says why); a
  /// new entry is freed, an existing one is kept (see `cap`).
  kInvalid,
  /// The entry is over (a TCP SYN on a closed connection): delete it and
  /// handle the packet again as the first of a new entry.
  kReopen,
};

/// `TrackResult::cap` when the tracker sets none.
inline constexpr uint32_t kNoCap = 0xffffffffu;

/// What a tracker decided for one packet.
struct TrackResult {
  TrackVerdict verdict = TrackVerdict::kInvalid;
  /// With kInvalid: why (never kNone); kNone otherwise.
  InvalidReason reason = InvalidReason::kNone;
  bool refresh = false;      ///< with kAccept: expiry = now + timeout
  uint32_t timeout = 0;      ///< jiffies, already chosen by the tracker
  bool set_assured = false;  ///< with kAccept: the entry is ASSURED from now
  bool kill = false;  ///< with kAccept: delete the entry after this packet
  /// With kAccept: the tracker's state moved (an UPDATE event is due).
  bool state_changed = false;
  /// With kInvalid: unless kNoCap, the entry must expire within `cap`
  /// jiffies from now: expiry = min(expiry, now + cap), unless its timeout
  /// is fixed. (TCP: an out-of-window FIN/RST answering the other side's,
  /// kernel-model §6.4.)
  uint32_t cap = kNoCap;
};

/// What the core tells a tracker about the entry a packet belongs to.
struct TrackContext {
  Direction dir;
  bool is_new;      ///< the entry is unconfirmed: this is its first packet
  bool reply_seen;  ///< a reply-direction packet was seen before this one
  bool assured;
  int32_t remaining;  ///< jiffies left before this packet (signed)
  uint32_t now;       ///< jiffies
};

}  // namespace ctkit

#endif  // CTKIT_PROTO_TRACK_RESULT_H_
