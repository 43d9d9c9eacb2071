// The timeout class of an entry (kernel-model §1.2, §6.4, §6.6, §7, §8, §9):
// the sysctl each class names is the kernel's, and the class follows what
// conntrack -L shows of the entry.
#include "proto/timeout_class.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "ctkit/packet.h"

namespace ctkit {
namespace {

EntryFacts Facts(uint8_t proto, std::string_view state, bool assured = false,
                 bool replied = false) {
  EntryFacts e;
  e.l4_proto = proto;
  e.state = state;
  e.assured = assured;
  e.seen_reply = replied;
  return e;
}

TimeoutClass Kernel(const EntryFacts& e) { return TimeoutClassOf(e); }

TEST(TimeoutClass, TcpByStateInAnyCase) {
  EXPECT_EQ(Kernel(Facts(ipproto::kTcp, "TIME_WAIT", true, true)),
            TimeoutClass::kTcpTimeWait);
  EXPECT_EQ(Kernel(Facts(ipproto::kTcp, "time_wait", true, true)),
            TimeoutClass::kTcpTimeWait);
  EXPECT_EQ(Kernel(Facts(ipproto::kTcp, "SYN_SENT")),
            TimeoutClass::kTcpSynSent);
  EXPECT_EQ(Kernel(Facts(ipproto::kTcp, "ESTABLISHED", true, true)),
            TimeoutClass::kTcpEstablished);
  EXPECT_STREQ(TimeoutClassSysctl(TimeoutClass::kTcpTimeWait),
               "nf_conntrack_tcp_timeout_time_wait");
}

// §6.4 step 6: an ESTABLISHED entry no reply has confirmed is capped at
// the unacknowledged timeout (300 s), whoever tracks it.
TEST(TimeoutClass, EstablishedBeforeAssuredIsUnacknowledged) {
  EXPECT_EQ(Kernel(Facts(ipproto::kTcp, "ESTABLISHED")),
            TimeoutClass::kTcpEstablishedUnassured);
  EXPECT_STREQ(TimeoutClassSysctl(TimeoutClass::kTcpEstablishedUnassured),
               "nf_conntrack_tcp_timeout_unacknowledged");
  EXPECT_EQ(
      TimeoutClassSeconds(TimeoutClass::kTcpEstablishedUnassured, Tunables{}),
      300u);
}

// §1.2: SYN_SENT2 was never a sysctl; it is a fixed 120 s.
TEST(TimeoutClass, SynSent2HasNoSysctl) {
  EXPECT_EQ(Kernel(Facts(ipproto::kTcp, "SYN_SENT2")),
            TimeoutClass::kTcpSynSent2);
  EXPECT_STREQ(TimeoutClassSysctl(TimeoutClass::kTcpSynSent2), "");
  Tunables t;
  t.tcp_timeout_syn_sent = 30;  // does not govern SYN_SENT2
  EXPECT_EQ(TimeoutClassSeconds(TimeoutClass::kTcpSynSent2, t), 120u);
}

// §6.1: NONE exists only before a first packet was handled; no sysctl
// governs an entry whose state says nothing.
TEST(TimeoutClass, TcpWithoutAKnownStateIsUnknown) {
  for (std::string_view s : {"", "NONE", "LISTEN"}) {
    EXPECT_EQ(Kernel(Facts(ipproto::kTcp, s)), TimeoutClass::kUnknown) << s;
  }
  EXPECT_STREQ(TimeoutClassSysctl(TimeoutClass::kUnknown), "");
}

// §7: UDP and UDP-Lite by reply and stream (ASSURED).
TEST(TimeoutClass, UdpByReplyAndStream) {
  EXPECT_EQ(Kernel(Facts(ipproto::kUdp, "")), TimeoutClass::kUdpUnreplied);
  EXPECT_EQ(Kernel(Facts(ipproto::kUdp, "", false, true)),
            TimeoutClass::kUdpReplied);
  EXPECT_EQ(Kernel(Facts(ipproto::kUdpLite, "", true, true)),
            TimeoutClass::kUdpStream);
  EXPECT_STREQ(TimeoutClassSysctl(TimeoutClass::kUdpReplied),
               "nf_conntrack_udp_timeout");
  EXPECT_STREQ(TimeoutClassSysctl(TimeoutClass::kUdpStream),
               "nf_conntrack_udp_timeout_stream");
  EXPECT_EQ(Kernel(Facts(ipproto::kIcmp, "")), TimeoutClass::kIcmp);
  EXPECT_EQ(Kernel(Facts(ipproto::kIcmpv6, "")), TimeoutClass::kIcmpv6);
}

// §9: the kernel has SCTP and GRE trackers and so has ctkit (§9.1, §9.2),
// so both tables classify alike. DCCP has no tracker in 6.18: generic for
// both.
TEST(TimeoutClass, SctpAndGreByTheirOwnClassesDccpGeneric) {
  EXPECT_EQ(Kernel(Facts(132, "COOKIE_WAIT")), TimeoutClass::kSctpCookieWait);
  EXPECT_STREQ(TimeoutClassSysctl(TimeoutClass::kSctpCookieWait),
               "nf_conntrack_sctp_timeout_cookie_wait");
  EXPECT_EQ(TimeoutClassSeconds(TimeoutClass::kSctpEstablished, Tunables{}),
            210u);
  EXPECT_EQ(Kernel(Facts(47, "")), TimeoutClass::kGre);
  EXPECT_EQ(Kernel(Facts(47, "", true, true)), TimeoutClass::kGreStream);
  EXPECT_EQ(TimeoutClassSeconds(TimeoutClass::kGreStream, Tunables{}), 180u);
  EXPECT_EQ(Kernel(Facts(132, "SHUTDOWN_SENT", true, true)),
            TimeoutClass::kSctpShutdownSent);
  EXPECT_EQ(Kernel(Facts(33, "")), TimeoutClass::kGeneric);
  EXPECT_STREQ(TimeoutClassSysctl(TimeoutClass::kGeneric),
               "nf_conntrack_generic_timeout");
  EXPECT_EQ(TimeoutClassSeconds(TimeoutClass::kGeneric, Tunables{}), 600u);
}

// §9.1: GRE is 30 s until a reply, then 180 s once ASSURED; a replied entry
// not yet ASSURED (only the reply seen) is still on the short timeout.
TEST(TimeoutClass, GreIsShortUntilAssured) {
  EXPECT_EQ(Kernel(Facts(47, "")), TimeoutClass::kGre);
  EXPECT_EQ(Kernel(Facts(47, "", false, true)), TimeoutClass::kGre);
  EXPECT_EQ(Kernel(Facts(47, "", true, true)), TimeoutClass::kGreStream);
  EXPECT_EQ(TimeoutClassSeconds(TimeoutClass::kGre, Tunables{}), 30u);
  EXPECT_STREQ(TimeoutClassSysctl(TimeoutClass::kGreStream),
               "nf_conntrack_gre_timeout_stream");
}

// Every class with a sysctl names one of 6.18's (§1.2), and its default
// seconds are that sysctl's default there.
TEST(TimeoutClass, EverySysctlIsTheKernelsWithItsDefault) {
  const std::map<std::string, uint32_t> kernel = {
      {"nf_conntrack_generic_timeout", 600},
      {"nf_conntrack_icmp_timeout", 30},
      {"nf_conntrack_icmpv6_timeout", 30},
      {"nf_conntrack_tcp_timeout_syn_sent", 120},
      {"nf_conntrack_tcp_timeout_syn_recv", 60},
      {"nf_conntrack_tcp_timeout_established", 432000},
      {"nf_conntrack_tcp_timeout_fin_wait", 120},
      {"nf_conntrack_tcp_timeout_close_wait", 60},
      {"nf_conntrack_tcp_timeout_last_ack", 30},
      {"nf_conntrack_tcp_timeout_time_wait", 120},
      {"nf_conntrack_tcp_timeout_close", 10},
      {"nf_conntrack_tcp_timeout_unacknowledged", 300},
      {"nf_conntrack_udp_timeout", 30},
      {"nf_conntrack_udp_timeout_stream", 120},
      {"nf_conntrack_sctp_timeout_closed", 10},
      {"nf_conntrack_sctp_timeout_cookie_wait", 3},
      {"nf_conntrack_sctp_timeout_cookie_echoed", 3},
      {"nf_conntrack_sctp_timeout_established", 210},
      {"nf_conntrack_sctp_timeout_shutdown_sent", 3},
      {"nf_conntrack_sctp_timeout_shutdown_recd", 3},
      {"nf_conntrack_sctp_timeout_shutdown_ack_sent", 3},
      {"nf_conntrack_sctp_timeout_heartbeat_sent", 30},
      {"nf_conntrack_gre_timeout", 30},
      {"nf_conntrack_gre_timeout_stream", 180},
  };
  for (int i = 0; i < kTimeoutClassCount; ++i) {
    const auto c = static_cast<TimeoutClass>(i);
    const std::string name = TimeoutClassSysctl(c);
    ASSERT_NE(TimeoutClassName(c), nullptr);
    if (name.empty()) continue;
    auto it = kernel.find(name);
    ASSERT_NE(it, kernel.end()) << name;
    EXPECT_EQ(TimeoutClassSeconds(c, Tunables{}), it->second) << name;
  }
}

}  // namespace
}  // namespace ctkit
