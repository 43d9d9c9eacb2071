// TCP option parsing for the tracker (RFC 9293 §3.1 option layout, RFC 7323
// window scale, RFC 2018 SACK). Both readers walk the same kind/length list
// and treat it as untrusted: every length is checked against the bytes left
// before anything is read, so a hostile or truncated option area can only
// end the walk early, never read past it. The tolerance mirrors what the
// kernel's conntrack accepts: a malformed option ends parsing but keeps the
// options already found, and an option whose length is wrong for its kind
// is stepped over rather than rejected, because conntrack only needs hints
// here and must never make a packet invalid over its options.
#include "proto/tcp_options.h"

#include "net/byte_order.h"

namespace ctkit {
namespace {

constexpr uint8_t kOptEnd = 0;
constexpr uint8_t kOptNop = 1;
constexpr uint8_t kOptWindowScale = 3;
constexpr uint8_t kOptSackPerm = 4;
constexpr uint8_t kOptSack = 5;
constexpr uint32_t kLenWindowScale = 3;
constexpr uint32_t kLenSackPerm = 2;
constexpr uint32_t kSackBlock = 8;  // left edge + right edge

// Calls visit(kind, body, body_len) for each kind/length option in order.
// visit returns false to stop the walk early.
template <typename Visit>
void WalkOptions(const uint8_t* opts, uint32_t len, Visit visit) noexcept {
  uint32_t i = 0;
  while (i < len) {
    const uint8_t kind = opts[i];
    if (kind == kOptEnd) return;
    if (kind == kOptNop) {
      ++i;
      continue;
    }
    if (len - i < 2) return;  // no room for the length byte
    const uint32_t size = opts[i + 1];
    if (size < 2 || size > len - i) return;  // malformed: stop here
    if (!visit(kind, opts + i + 2, size - 2)) return;
    i += size;
  }
}

}  // namespace

TcpSynOptions ParseTcpSynOptions(const uint8_t* opts, uint32_t len) noexcept {
  TcpSynOptions out;
  WalkOptions(
      opts, len, [&out](uint8_t kind, const uint8_t* body, uint32_t body_len) {
        if (kind == kOptSackPerm && body_len + 2 == kLenSackPerm) {
          out.sack_perm = true;
        } else if (kind == kOptWindowScale && body_len + 2 == kLenWindowScale) {
          out.window_scale = true;
          out.scale =
              body[0] > kTcpMaxWindowScale ? kTcpMaxWindowScale : body[0];
        }
        return true;
      });
  return out;
}

uint32_t TcpHighestSack(const uint8_t* opts, uint32_t len,
                        uint32_t ack) noexcept {
  uint32_t sack = ack;
  WalkOptions(opts, len,
              [&sack](uint8_t kind, const uint8_t* body, uint32_t body_len) {
                if (kind != kOptSack || body_len < kSackBlock ||
                    body_len % kSackBlock != 0) {
                  return true;  // not a usable SACK option: keep looking
                }
                for (uint32_t b = 0; b < body_len; b += kSackBlock) {
                  const uint32_t right = LoadBe32(body + b + 4);
                  // Modulo-2^32 "right is after sack".
                  if (static_cast<int32_t>(right - sack) > 0) sack = right;
                }
                return false;  // only the first SACK option counts
              });
  return sack;
}

}  // namespace ctkit
