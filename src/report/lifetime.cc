// Lifetime classes (see lifetime.h). The mapping follows the trackers'
// timeout selection (spec §6.6, §7, §8, §9): TCP by state (ESTABLISHED also
// by whether it is ASSURED yet), UDP by whether a reply was seen and whether
// the flow became a stream (ASSURED), ICMP and generic by protocol.
#include "report/lifetime.h"

#include <fmt/format.h>

#include <cstring>

namespace ctkit {

LifetimeKind LifetimeKindOf(const FlowInfo& f) {
  switch (f.original.l4_proto) {
    case ipproto::kTcp: {
      const char* s = f.state != nullptr ? f.state : "";
      auto is = [&](const char* name) { return std::strcmp(s, name) == 0; };
      if (is("SYN_SENT")) return LifetimeKind::kTcpSynSent;
      if (is("SYN_RECV")) return LifetimeKind::kTcpSynRecv;
      if (is("FIN_WAIT")) return LifetimeKind::kTcpFinWait;
      if (is("CLOSE_WAIT")) return LifetimeKind::kTcpCloseWait;
      if (is("LAST_ACK")) return LifetimeKind::kTcpLastAck;
      if (is("TIME_WAIT")) return LifetimeKind::kTcpTimeWait;
      if (is("CLOSE")) return LifetimeKind::kTcpClose;
      if (is("SYN_SENT2")) return LifetimeKind::kTcpSynSent2;
      // The tracker caps an ESTABLISHED entry at the unacknowledged timeout
      // until a reply has confirmed it, which makes it ASSURED.
      return f.assured ? LifetimeKind::kTcpEstablished
                       : LifetimeKind::kTcpEstablishedUnassured;
    }
    case ipproto::kUdp:
    case ipproto::kUdpLite:
      if (f.assured) return LifetimeKind::kUdpStream;
      return f.seen_reply ? LifetimeKind::kUdpReplied
                          : LifetimeKind::kUdpUnreplied;
    case ipproto::kIcmp:
      return LifetimeKind::kIcmp;
    case ipproto::kIcmpv6:
      return LifetimeKind::kIcmpv6;
    default:
      return LifetimeKind::kGeneric;
  }
}

LifetimeInfo DescribeLifetime(LifetimeKind c, const Tunables& t) {
  switch (c) {
    case LifetimeKind::kTcpSynSent:
      return {"tcp SYN_SENT", "tcp_timeout_syn_sent", t.tcp_timeout_syn_sent,
              false};
    case LifetimeKind::kTcpSynRecv:
      return {"tcp SYN_RECV", "tcp_timeout_syn_recv", t.tcp_timeout_syn_recv,
              false};
    case LifetimeKind::kTcpEstablished:
      return {"tcp ESTABLISHED", "tcp_timeout_established",
              t.tcp_timeout_established, true};
    case LifetimeKind::kTcpEstablishedUnassured:
      return {"tcp ESTABLISHED (not ASSURED)", "tcp_timeout_unacknowledged",
              t.tcp_timeout_unacknowledged, false};
    case LifetimeKind::kTcpFinWait:
      return {"tcp FIN_WAIT", "tcp_timeout_fin_wait", t.tcp_timeout_fin_wait,
              false};
    case LifetimeKind::kTcpCloseWait:
      return {"tcp CLOSE_WAIT", "tcp_timeout_close_wait",
              t.tcp_timeout_close_wait, false};
    case LifetimeKind::kTcpLastAck:
      return {"tcp LAST_ACK", "tcp_timeout_last_ack", t.tcp_timeout_last_ack,
              false};
    case LifetimeKind::kTcpTimeWait:
      return {"tcp TIME_WAIT", "tcp_timeout_time_wait", t.tcp_timeout_time_wait,
              false};
    case LifetimeKind::kTcpClose:
      return {"tcp CLOSE", "tcp_timeout_close", t.tcp_timeout_close, false};
    case LifetimeKind::kTcpSynSent2:
      return {"tcp SYN_SENT2", "", 120, false};
    case LifetimeKind::kUdpUnreplied:
      return {"udp UNREPLIED", "udp_timeout", t.udp_timeout, false};
    case LifetimeKind::kUdpReplied:
      return {"udp replied", "udp_timeout", t.udp_timeout, false};
    case LifetimeKind::kUdpStream:
      return {"udp stream (ASSURED)", "udp_timeout_stream",
              t.udp_timeout_stream, false};
    case LifetimeKind::kIcmp:
      return {"icmp", "icmp_timeout", t.icmp_timeout, false};
    case LifetimeKind::kIcmpv6:
      return {"icmpv6", "icmpv6_timeout", t.icmpv6_timeout, false};
    case LifetimeKind::kGeneric:
      break;
  }
  return {"other protocols", "generic_timeout", t.generic_timeout, false};
}

std::string LifetimeSetting(const LifetimeInfo& info) {
  if (info.sysctl[0] == '\0') return fmt::format("{} s (fixed)", info.seconds);
  return fmt::format("net.netfilter.nf_conntrack_{} = {} s", info.sysctl,
                     info.seconds);
}

}  // namespace ctkit
