// conntrack-tools' text formats, reproduced field by field from their
// documented output (spec §12): the protocol name left-justified in 8
// columns, the protocol number, the timeout, the TCP state, the original
// tuple, [UNREPLIED], the reply tuple, [ASSURED], mark and use. Matching
// them exactly lets users diff ctkit's table against the kernel's.
#include "report/format.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include "proto/tracker.h"

namespace ctkit {
namespace {

void AppendTuple(std::string* out, const Tuple& t) {
  *out += fmt::format("src={} dst={} ", AddressToString(t.src, t.family),
                      AddressToString(t.dst, t.family));
  switch (t.l4_proto) {
    case ipproto::kTcp:
    case ipproto::kUdp:
    case ipproto::kUdpLite:
      *out += fmt::format("sport={} dport={} ", t.src_port_or_icmp_id,
                          t.dst_port_or_icmp_type_code);
      break;
    case ipproto::kIcmp:
    case ipproto::kIcmpv6:
      *out += fmt::format("type={} code={} id={} ", t.icmp_type(),
                          t.icmp_code(), t.src_port_or_icmp_id);
      break;
    default:
      break;
  }
}

}  // namespace

std::string AddressToString(const Address& a, Family f) {
  char buf[INET6_ADDRSTRLEN];
  const char* r = inet_ntop(f == Family::kIPv4 ? AF_INET : AF_INET6, a.bytes,
                            buf, sizeof buf);
  return r != nullptr ? std::string(r) : std::string("?");
}

std::string FormatConntrackLine(const FlowInfo& f, uint32_t timeout_s,
                                uint64_t now_ns) {
  std::string out = fmt::format("{:<8} {} {} ", ProtoName(f.original.l4_proto),
                                f.original.l4_proto, timeout_s);
  if (f.state != nullptr) out += fmt::format("{} ", f.state);
  AppendTuple(&out, f.original);
  if (f.has_acct) {
    out += fmt::format("packets={} bytes={} ", f.packets[0], f.bytes[0]);
  }
  if (!f.seen_reply) out += "[UNREPLIED] ";
  AppendTuple(&out, f.reply);
  if (f.has_acct) {
    out += fmt::format("packets={} bytes={} ", f.packets[1], f.bytes[1]);
  }
  if (f.assured) out += "[ASSURED] ";
  out += fmt::format("mark={} ", f.mark);
  if (f.has_timestamp && now_ns >= f.start_ns) {
    out += fmt::format("delta-time={} ", (now_ns - f.start_ns) / 1000000000);
  }
  out += fmt::format("use={}", f.use);
  return out;
}

std::string FormatEventLine(const Event& e) {
  const char* label = e.type == EventType::kNew      ? "[NEW]"
                      : e.type == EventType::kUpdate ? "[UPDATE]"
                                                     : "[DESTROY]";
  return fmt::format("{:>9} {}", label,
                     FormatConntrackLine(e.flow, e.flow.timeout_s, e.ts_ns));
}

std::string FormatStatsLine(const Stats& s) {
  return fmt::format(
      "cpu=0   \tfound={} invalid={} insert={} insert_failed={} drop={} "
      "early_drop={} error={} search_restart={} clash_resolve={} "
      "chaintoolong={}",
      s.found, s.invalid, s.insert, s.insert_failed, s.drop, s.early_drop,
      s.error, s.search_restart, s.clash_resolve, s.chaintoolong);
}

}  // namespace ctkit
