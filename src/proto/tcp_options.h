// Reading the two things the TCP tracker needs from the TCP option area:
// what a SYN announces about its sender (window scale, SACK permitted), and
// how far a SACK option acknowledges.
#ifndef CTKIT_PROTO_TCP_OPTIONS_H_
#define CTKIT_PROTO_TCP_OPTIONS_H_

#include <cstdint>

namespace ctkit {

/// The largest window-scale shift RFC 7323 allows; larger values are capped.
inline constexpr uint8_t kTcpMaxWindowScale = 14;

/// What a SYN or SYN/ACK announces about its sender.
struct TcpSynOptions {
  bool window_scale = false;  ///< a well-formed window-scale option
  uint8_t scale = 0;          ///< its shift, capped at kTcpMaxWindowScale
  bool sack_perm = false;     ///< a well-formed SACK-permitted option
};

/// Parses the option area `opts` (`len` bytes: data offset * 4 - 20). Stops
/// at end-of-list or at the first malformed option (length < 2 or running
/// past the area), keeping what was found before it. Options of the wrong
/// length are skipped without effect.
/// REQUIRES: opts points at len readable bytes (or len == 0).
TcpSynOptions ParseTcpSynOptions(const uint8_t* opts, uint32_t len) noexcept;

/// The highest right edge among the blocks of the first well-formed SACK
/// option that lies beyond `ack` (modulo 2^32), else `ack`. Stops at
/// end-of-list or a malformed option as ParseTcpSynOptions does.
/// REQUIRES: opts points at len readable bytes (or len == 0).
uint32_t TcpHighestSack(const uint8_t* opts, uint32_t len,
                        uint32_t ack) noexcept;

}  // namespace ctkit

#endif  // CTKIT_PROTO_TCP_OPTIONS_H_
