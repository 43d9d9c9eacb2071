// Lifetime classes: each entry maps to the timeout the spec says governs it
// (§6.6 TCP by state, §7 UDP by reply and stream, §8 ICMP, §9 generic).
#include "report/lifetime.h"

#include <gtest/gtest.h>

#include <string>

namespace ctkit {
namespace {

FlowInfo Entry(uint8_t proto, const char* state, bool assured = false,
               bool replied = false) {
  FlowInfo f;
  f.original.l4_proto = proto;
  f.state = state;
  f.assured = assured;
  f.seen_reply = replied;
  return f;
}

TEST(LifetimeKindOf, TcpByStateUdpByReplyAndStream) {
  EXPECT_EQ(LifetimeKindOf(Entry(ipproto::kTcp, "TIME_WAIT", true)),
            LifetimeKind::kTcpTimeWait);
  EXPECT_EQ(LifetimeKindOf(Entry(ipproto::kTcp, "SYN_SENT")),
            LifetimeKind::kTcpSynSent);
  EXPECT_EQ(LifetimeKindOf(Entry(ipproto::kTcp, "ESTABLISHED", true, true)),
            LifetimeKind::kTcpEstablished);
  EXPECT_EQ(LifetimeKindOf(Entry(ipproto::kTcp, "CLOSE")),
            LifetimeKind::kTcpClose);
  EXPECT_EQ(LifetimeKindOf(Entry(ipproto::kUdp, nullptr)),
            LifetimeKind::kUdpUnreplied);
  EXPECT_EQ(LifetimeKindOf(Entry(ipproto::kUdp, nullptr, false, true)),
            LifetimeKind::kUdpReplied);
  EXPECT_EQ(LifetimeKindOf(Entry(ipproto::kUdpLite, nullptr, true, true)),
            LifetimeKind::kUdpStream);
  EXPECT_EQ(LifetimeKindOf(Entry(ipproto::kIcmp, nullptr)),
            LifetimeKind::kIcmp);
  EXPECT_EQ(LifetimeKindOf(Entry(ipproto::kIcmpv6, nullptr)),
            LifetimeKind::kIcmpv6);
  // SCTP by its state (kernel-model §9.2).
  EXPECT_EQ(LifetimeKindOf(Entry(132, "COOKIE_WAIT", false, true)),
            LifetimeKind::kSctpCookieWait);
}

// §6.6: an ESTABLISHED entry no reply has confirmed (a mid-stream pickup)
// is capped at the unacknowledged timeout, 300 s, not the 5 days of a
// connection; it becomes ASSURED, and bound to its connection, only then.
TEST(LifetimeKindOf, EstablishedBeforeAssuredIsCappedAtUnacknowledged) {
  EXPECT_EQ(LifetimeKindOf(Entry(ipproto::kTcp, "ESTABLISHED")),
            LifetimeKind::kTcpEstablishedUnassured);
  const LifetimeInfo pickup =
      DescribeLifetime(LifetimeKind::kTcpEstablishedUnassured, Tunables{});
  EXPECT_STREQ(pickup.sysctl, "tcp_timeout_unacknowledged");
  EXPECT_EQ(pickup.seconds, 300u);
  EXPECT_FALSE(pickup.connection_bound);
}

TEST(DescribeLifetime, TheSysctlInForce) {
  Tunables t;  // kernel defaults
  LifetimeInfo tw = DescribeLifetime(LifetimeKind::kTcpTimeWait, t);
  EXPECT_EQ(tw.seconds, 120u);
  EXPECT_STREQ(tw.sysctl, "tcp_timeout_time_wait");
  EXPECT_FALSE(tw.connection_bound);
  LifetimeInfo est = DescribeLifetime(LifetimeKind::kTcpEstablished, t);
  EXPECT_EQ(est.seconds, 432000u);
  EXPECT_TRUE(est.connection_bound);
  EXPECT_EQ(DescribeLifetime(LifetimeKind::kUdpStream, t).seconds, 120u);
  EXPECT_EQ(DescribeLifetime(LifetimeKind::kUdpUnreplied, t).seconds, 30u);
  EXPECT_EQ(DescribeLifetime(LifetimeKind::kGeneric, t).seconds, 600u);
  t.tcp_timeout_time_wait = 30;
  EXPECT_EQ(DescribeLifetime(LifetimeKind::kTcpTimeWait, t).seconds, 30u);
  EXPECT_EQ(LifetimeSetting(DescribeLifetime(LifetimeKind::kTcpTimeWait, t)),
            "net.netfilter.nf_conntrack_tcp_timeout_time_wait = 30 s");
  // SYN_SENT2 has no sysctl (§6.6: fixed at 120 s).
  EXPECT_EQ(LifetimeSetting(DescribeLifetime(LifetimeKind::kTcpSynSent2, t)),
            "120 s (fixed)");
}

}  // namespace
}  // namespace ctkit
