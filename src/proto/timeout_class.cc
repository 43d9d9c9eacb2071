// Timeout classes (see timeout_class.h).
#include "proto/timeout_class.h"

#include <cctype>

#include "ctkit/packet.h"

namespace ctkit {
namespace {

struct ClassRow {
  const char* name;
  const char* sysctl;
};

// Indexed by TimeoutClass.
constexpr ClassRow kRows[kTimeoutClassCount] = {
    {"tcp SYN_SENT", "nf_conntrack_tcp_timeout_syn_sent"},
    {"tcp SYN_RECV", "nf_conntrack_tcp_timeout_syn_recv"},
    {"tcp ESTABLISHED", "nf_conntrack_tcp_timeout_established"},
    {"tcp ESTABLISHED (not ASSURED)",
     "nf_conntrack_tcp_timeout_unacknowledged"},
    {"tcp FIN_WAIT", "nf_conntrack_tcp_timeout_fin_wait"},
    {"tcp CLOSE_WAIT", "nf_conntrack_tcp_timeout_close_wait"},
    {"tcp LAST_ACK", "nf_conntrack_tcp_timeout_last_ack"},
    {"tcp TIME_WAIT", "nf_conntrack_tcp_timeout_time_wait"},
    {"tcp CLOSE", "nf_conntrack_tcp_timeout_close"},
    {"tcp SYN_SENT2", ""},
    {"udp UNREPLIED", "nf_conntrack_udp_timeout"},
    {"udp replied", "nf_conntrack_udp_timeout"},
    {"udp stream (ASSURED)", "nf_conntrack_udp_timeout_stream"},
    {"icmp", "nf_conntrack_icmp_timeout"},
    {"icmpv6", "nf_conntrack_icmpv6_timeout"},
    {"other protocols", "nf_conntrack_generic_timeout"},
    {"sctp CLOSED", "nf_conntrack_sctp_timeout_closed"},
    {"sctp COOKIE_WAIT", "nf_conntrack_sctp_timeout_cookie_wait"},
    {"sctp COOKIE_ECHOED", "nf_conntrack_sctp_timeout_cookie_echoed"},
    {"sctp ESTABLISHED", "nf_conntrack_sctp_timeout_established"},
    {"sctp SHUTDOWN_SENT", "nf_conntrack_sctp_timeout_shutdown_sent"},
    {"sctp SHUTDOWN_RECD", "nf_conntrack_sctp_timeout_shutdown_recd"},
    {"sctp SHUTDOWN_ACK_SENT", "nf_conntrack_sctp_timeout_shutdown_ack_sent"},
    {"sctp HEARTBEAT_SENT", "nf_conntrack_sctp_timeout_heartbeat_sent"},
    {"gre", "nf_conntrack_gre_timeout"},
    {"gre stream (ASSURED)", "nf_conntrack_gre_timeout_stream"},
    {"unknown state", ""},
};

bool Is(std::string_view state, std::string_view name) {
  if (state.size() != name.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(state[i])) != name[i]) {
      return false;
    }
  }
  return true;
}

TimeoutClass TcpClass(const EntryFacts& e) {
  const std::string_view s = e.state;
  if (Is(s, "SYN_SENT")) return TimeoutClass::kTcpSynSent;
  if (Is(s, "SYN_RECV")) return TimeoutClass::kTcpSynRecv;
  if (Is(s, "ESTABLISHED")) {
    // Until a reply confirms it (which makes it ASSURED) the tracker caps
    // an ESTABLISHED entry at the unacknowledged timeout (§6.4 step 6).
    return e.assured ? TimeoutClass::kTcpEstablished
                     : TimeoutClass::kTcpEstablishedUnassured;
  }
  if (Is(s, "FIN_WAIT")) return TimeoutClass::kTcpFinWait;
  if (Is(s, "CLOSE_WAIT")) return TimeoutClass::kTcpCloseWait;
  if (Is(s, "LAST_ACK")) return TimeoutClass::kTcpLastAck;
  if (Is(s, "TIME_WAIT")) return TimeoutClass::kTcpTimeWait;
  if (Is(s, "CLOSE")) return TimeoutClass::kTcpClose;
  if (Is(s, "SYN_SENT2")) return TimeoutClass::kTcpSynSent2;
  return TimeoutClass::kUnknown;
}

TimeoutClass SctpClass(std::string_view s) {
  if (Is(s, "CLOSED")) return TimeoutClass::kSctpClosed;
  if (Is(s, "COOKIE_WAIT")) return TimeoutClass::kSctpCookieWait;
  if (Is(s, "COOKIE_ECHOED")) return TimeoutClass::kSctpCookieEchoed;
  if (Is(s, "ESTABLISHED")) return TimeoutClass::kSctpEstablished;
  if (Is(s, "SHUTDOWN_SENT")) return TimeoutClass::kSctpShutdownSent;
  if (Is(s, "SHUTDOWN_RECD")) return TimeoutClass::kSctpShutdownRecd;
  if (Is(s, "SHUTDOWN_ACK_SENT")) return TimeoutClass::kSctpShutdownAckSent;
  if (Is(s, "HEARTBEAT_SENT")) return TimeoutClass::kSctpHeartbeatSent;
  return TimeoutClass::kUnknown;
}

}  // namespace

TimeoutClass TimeoutClassOf(const EntryFacts& e) noexcept {
  switch (e.l4_proto) {
    case ipproto::kTcp:
      return TcpClass(e);
    case ipproto::kUdp:
    case ipproto::kUdpLite:
      if (e.assured) return TimeoutClass::kUdpStream;
      return e.seen_reply ? TimeoutClass::kUdpReplied
                          : TimeoutClass::kUdpUnreplied;
    case ipproto::kIcmp:
      return TimeoutClass::kIcmp;
    case ipproto::kIcmpv6:
      return TimeoutClass::kIcmpv6;
    case ipproto::kSctp:
      return SctpClass(e.state);
    case ipproto::kGre:
      return e.assured ? TimeoutClass::kGreStream : TimeoutClass::kGre;
    default:
      return TimeoutClass::kGeneric;
  }
}

const char* TimeoutClassName(TimeoutClass c) noexcept {
  return kRows[static_cast<int>(c)].name;
}

const char* TimeoutClassSysctl(TimeoutClass c) noexcept {
  return kRows[static_cast<int>(c)].sysctl;
}

uint32_t TimeoutClassSeconds(TimeoutClass c, const Tunables& t) noexcept {
  switch (c) {
    case TimeoutClass::kTcpSynSent:
      return t.tcp_timeout_syn_sent;
    case TimeoutClass::kTcpSynRecv:
      return t.tcp_timeout_syn_recv;
    case TimeoutClass::kTcpEstablished:
      return t.tcp_timeout_established;
    case TimeoutClass::kTcpEstablishedUnassured:
      return t.tcp_timeout_unacknowledged;
    case TimeoutClass::kTcpFinWait:
      return t.tcp_timeout_fin_wait;
    case TimeoutClass::kTcpCloseWait:
      return t.tcp_timeout_close_wait;
    case TimeoutClass::kTcpLastAck:
      return t.tcp_timeout_last_ack;
    case TimeoutClass::kTcpTimeWait:
      return t.tcp_timeout_time_wait;
    case TimeoutClass::kTcpClose:
      return t.tcp_timeout_close;
    case TimeoutClass::kTcpSynSent2:
      return kTcpSynSent2Seconds;
    case TimeoutClass::kUdpUnreplied:
    case TimeoutClass::kUdpReplied:
      return t.udp_timeout;
    case TimeoutClass::kUdpStream:
      return t.udp_timeout_stream;
    case TimeoutClass::kIcmp:
      return t.icmp_timeout;
    case TimeoutClass::kIcmpv6:
      return t.icmpv6_timeout;
    case TimeoutClass::kGeneric:
      return t.generic_timeout;
    case TimeoutClass::kSctpClosed:
      return t.sctp_timeout_closed;
    case TimeoutClass::kSctpCookieWait:
      return t.sctp_timeout_cookie_wait;
    case TimeoutClass::kSctpCookieEchoed:
      return t.sctp_timeout_cookie_echoed;
    case TimeoutClass::kSctpEstablished:
      return t.sctp_timeout_established;
    case TimeoutClass::kSctpShutdownSent:
      return t.sctp_timeout_shutdown_sent;
    case TimeoutClass::kSctpShutdownRecd:
      return t.sctp_timeout_shutdown_recd;
    case TimeoutClass::kSctpShutdownAckSent:
      return t.sctp_timeout_shutdown_ack_sent;
    case TimeoutClass::kSctpHeartbeatSent:
      return t.sctp_timeout_heartbeat_sent;
    case TimeoutClass::kGre:
      return t.gre_timeout;
    case TimeoutClass::kGreStream:
      return t.gre_timeout_stream;
    case TimeoutClass::kUnknown:
      break;
  }
  return 0;
}

}  // namespace ctkit
