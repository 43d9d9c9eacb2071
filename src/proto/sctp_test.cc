// The SCTP tracker on its own, below the engine: the parts the engine
// tests cannot see (the tags it keeps, what a tracker result carries) and
// its settings. Expected values are the kernel's (kernel-model §9.2).
#include "proto/sctp.h"

#include <gtest/gtest.h>

#include <cstring>
#include <initializer_list>
#include <vector>

#include "net/crc32c.h"

namespace ctkit {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr Direction kOrig = Direction::kOriginal;
constexpr Direction kReply = Direction::kReply;

void Put32(Bytes* b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b->push_back(static_cast<uint8_t>(v >> s));
}

// An SCTP packet (common header and chunks) and a view of it.
struct Packet {
  Bytes l4;
  PacketView view{};

  Packet(uint32_t vtag, std::initializer_list<Bytes> chunks) {
    l4 = {0x17, 0x71, 0x1b, 0x58};  // 6001 -> 7000
    Put32(&l4, vtag);
    Put32(&l4, 0);
    for (const Bytes& c : chunks) l4.insert(l4.end(), c.begin(), c.end());
    const uint32_t crc = Crc32c(0, l4.data(), l4.size());
    for (size_t i = 0; i < 4; ++i) {
      l4[8 + i] = static_cast<uint8_t>(crc >> (8 * i));
    }
    view.family = Family::kIPv4;
    view.l4_proto = ipproto::kSctp;
    view.l4 = l4.data();
    view.l4_caplen = static_cast<uint32_t>(l4.size());
    view.l4_len = view.l4_caplen;
  }
};

Bytes Chunk(uint8_t type, uint8_t flags = 0, Bytes value = {}) {
  Bytes c{type, flags, 0, static_cast<uint8_t>(4 + value.size())};
  c.insert(c.end(), value.begin(), value.end());
  while (c.size() % 4 != 0) c.push_back(0);
  return c;
}

Bytes Init(uint32_t tag, uint8_t type = 1) {
  Bytes v;
  Put32(&v, tag);
  Put32(&v, 65536);
  Put32(&v, 0x000a000a);
  Put32(&v, 1);
  return Chunk(type, 0, v);
}

TrackContext Ctx(Direction dir, bool is_new = false) {
  return TrackContext{dir, is_new, !is_new, false, 0, 1000};
}

SctpConfig Config() { return SctpConfig::FromTunables(Tunables{}, 250); }

TEST(SctpTracker, TimeoutsAreTheSysctlsInJiffies) {
  Tunables t;
  t.sctp_timeout_heartbeat_sent = 7;
  const SctpConfig c = SctpConfig::FromTunables(t, 250);
  EXPECT_EQ(c.timeouts[static_cast<int>(SctpState::kClosed)], 10u * 250);
  EXPECT_EQ(c.timeouts[static_cast<int>(SctpState::kEstablished)], 210u * 250);
  EXPECT_EQ(c.timeouts[static_cast<int>(SctpState::kHeartbeatSent)], 7u * 250);
  EXPECT_EQ(c.timeouts[static_cast<int>(SctpState::kNone)], 0u);
}

TEST(SctpTracker, StateNamesAreConntracks) {
  EXPECT_STREQ(SctpStateName(SctpState::kCookieEchoed), "COOKIE_ECHOED");
  EXPECT_STREQ(SctpStateName(SctpState::kShutdownAckSent), "SHUTDOWN_ACK_SENT");
  EXPECT_STREQ(SctpStateName(SctpState::kMax), "UNKNOWN");
}

// The INIT names the tag of the other direction; the INIT-ACK the tag of
// the initiator's direction; both are kept for the checks that follow.
TEST(SctpTracker, HandshakeTeachesBothTags) {
  SctpConn conn{};
  const SctpConfig cfg = Config();
  Packet init(0, {Init(0x11111111)});
  TrackResult r = SctpTrack(&conn, init.view, Ctx(kOrig, true), cfg);
  EXPECT_EQ(r.verdict, TrackVerdict::kAccept);
  EXPECT_EQ(r.timeout, 10u * 250);
  EXPECT_EQ(conn.state, SctpState::kClosed);
  EXPECT_EQ(conn.vtag[1], 0x11111111u);
  Packet ack(0x11111111, {Init(0x22222222, 2)});
  r = SctpTrack(&conn, ack.view, Ctx(kReply), cfg);
  EXPECT_EQ(r.verdict, TrackVerdict::kAccept);
  EXPECT_TRUE(r.state_changed);
  EXPECT_EQ(conn.state, SctpState::kCookieWait);
  EXPECT_EQ(conn.vtag[0], 0x22222222u);
}

// A HEARTBEAT with an unknown tag: accepted without refresh (kIgnore), and
// the tags stay until the other side's HEARTBEAT-ACK.
TEST(SctpTracker, HeartbeatWithUnknownTagIsIgnoredNotRefused) {
  SctpConn conn{};
  conn.state = SctpState::kEstablished;
  conn.vtag[0] = 0x22222222;
  conn.vtag[1] = 0x11111111;
  Packet hb(0x99, {Chunk(4, 0, {0, 1, 0, 4})});
  TrackResult r = SctpTrack(&conn, hb.view, Ctx(kOrig), Config());
  EXPECT_EQ(r.verdict, TrackVerdict::kIgnore);
  EXPECT_FALSE(r.refresh);
  EXPECT_TRUE(conn.heartbeat_vtag_failed);
  EXPECT_EQ(conn.vtag[0], 0x22222222u);
}

TEST(SctpTracker, HeaderCheckNeedsTwelveBytesAndTheCrc) {
  Packet p(0, {Init(1)});
  EXPECT_EQ(SctpHeaderCheck(p.view, true), InvalidReason::kNone);
  p.l4[20] ^= 1;
  EXPECT_EQ(SctpHeaderCheck(p.view, true), InvalidReason::kSctpChecksum);
  EXPECT_EQ(SctpHeaderCheck(p.view, false), InvalidReason::kNone);
  p.view.l4_caplen = p.view.l4_len = 11;
  EXPECT_EQ(SctpHeaderCheck(p.view, false), InvalidReason::kSctpHeader);
}

// Nothing reads past the packet: every cut of a three-chunk packet is
// either tracked or refused, never read beyond its end (run under ASan).
TEST(SctpTracker, EveryCutOfAPacketIsHandled) {
  Packet p(0x22222222, {Chunk(0, 3, Bytes(20, 7)), Chunk(3, 0, Bytes(12, 1)),
                        Chunk(4, 0, {0, 1, 0, 4})});
  for (uint32_t len = 12; len <= p.l4.size(); ++len) {
    Bytes cut(p.l4.begin(), p.l4.begin() + len);
    PacketView v = p.view;
    v.l4 = cut.data();
    v.l4_caplen = v.l4_len = len;
    SctpConn conn{};
    conn.state = SctpState::kEstablished;
    conn.vtag[0] = 0x22222222;
    const TrackResult r = SctpTrack(&conn, v, Ctx(kOrig), Config());
    EXPECT_TRUE(r.verdict == TrackVerdict::kAccept ||
                r.verdict == TrackVerdict::kInvalid)
        << len;
  }
}

}  // namespace
}  // namespace ctkit
