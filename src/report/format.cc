// conntrack-tools' text formats, reproduced field by field from their
// output (spec §12, and measured: conntrack-tools 1.4.7 on 6.18,
// tests/formats/): the protocol name left-justified in 8 columns, the
// protocol number, the timeout, the TCP state, the original tuple,
// [UNREPLIED], the reply tuple, [ASSURED], mark and use. An event carries
// less than a dump, so `-E` lines leave out some of these. Matching them
// exactly lets users diff ctkit's table and events against the kernel's.
#include "report/format.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <cstring>

#include "proto/sctp.h"
#include "proto/tracker.h"

namespace ctkit {
namespace {

// Decimal digits of a byte, without a library call: a dump writes eight of
// these per line, millions of lines at a time.
void AppendByte(std::string* out, unsigned v) {
  if (v >= 100) out->push_back(static_cast<char>('0' + v / 100));
  if (v >= 10) out->push_back(static_cast<char>('0' + v / 10 % 10));
  out->push_back(static_cast<char>('0' + v % 10));
}

// Decimal digits of an unsigned number, as AppendByte: a dump line has
// about ten numbers, and fmt's general path costs more than the digits.
void AppendUint(std::string* out, uint64_t v) {
  char digits[20];
  char* end = digits + sizeof digits;
  char* p = end;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  out->append(p, static_cast<size_t>(end - p));
}

// A field and its value followed by a space: "sport=80 ".
void AppendField(std::string* out, const char* name, uint64_t v) {
  out->append(name);
  AppendUint(out, v);
  out->push_back(' ');
}

// A GRE key as conntrack -L prints it, lower-case hex: "srckey=0xabcd ".
void AppendHexField(std::string* out, const char* name, uint16_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out->append(name);
  out->append("0x");
  bool started = false;
  for (int shift = 12; shift >= 0; shift -= 4) {
    const int d = (v >> shift) & 0xf;
    if (d == 0 && !started && shift != 0) continue;
    started = true;
    out->push_back(kDigits[d]);
  }
  out->push_back(' ');
}

// The address as inet_ntop spells it (dotted quad; RFC 5952 for IPv6).
void AppendAddress(std::string* out, const Address& a, Family f) {
  if (f == Family::kIPv4) {
    for (int i = 0; i < 4; ++i) {
      if (i != 0) out->push_back('.');
      AppendByte(out, a.bytes[i]);
    }
    return;
  }
  char buf[INET6_ADDRSTRLEN];
  const char* r = inet_ntop(AF_INET6, a.bytes, buf, sizeof buf);
  out->append(r != nullptr ? r : "?");
}

void AppendTuple(std::string* out, const Tuple& t) {
  out->append("src=");
  AppendAddress(out, t.src, t.family);
  out->append(" dst=");
  AppendAddress(out, t.dst, t.family);
  out->push_back(' ');
  switch (t.l4_proto) {
    case ipproto::kTcp:
    case ipproto::kUdp:
    case ipproto::kUdpLite:
    case ipproto::kSctp:
      AppendField(out, "sport=", t.src_port_or_icmp_id);
      AppendField(out, "dport=", t.dst_port_or_icmp_type_code);
      break;
    case ipproto::kIcmp:
    case ipproto::kIcmpv6:
      AppendField(out, "type=", t.icmp_type());
      AppendField(out, "code=", t.icmp_code());
      AppendField(out, "id=", t.src_port_or_icmp_id);
      break;
    case ipproto::kGre:
      AppendHexField(out, "srckey=", t.src_port_or_icmp_id);
      AppendHexField(out, "dstkey=", t.dst_port_or_icmp_type_code);
      break;
    default:
      break;
  }
}

}  // namespace

std::string AddressToString(const Address& a, Family f) {
  std::string out;
  AppendAddress(&out, a, f);
  return out;
}

namespace {

// Which of the two layouts: the `-L` line (an entry as a dump carries it)
// or the `-E` line (as an event carries it).
struct LineShape {
  bool timeout = true;   // false: omitted (an event's timeout of 0)
  bool state = true;     // false: an UPDATE that did not change it
  bool counters = true;  // packets=/bytes= when accounting is on
  bool delta = true;     // delta-time= when timestamps are on
  bool mark_use = true;  // mark= and use=
};

// Appends the line to `out` (no newline): formatted in place, so a dump
// of millions of lines builds no string per field.
void AppendLine(std::string* out, const FlowInfo& f, uint32_t timeout_s,
                uint64_t now_ns, const LineShape& shape) {
  // The name left-justified in 8 columns ("{:<8}"), then the number.
  const char* name = ProtoName(f.original.l4_proto);
  const size_t name_len = std::strlen(name);
  out->append(name, name_len);
  if (name_len < 8) out->append(8 - name_len, ' ');
  out->push_back(' ');
  AppendUint(out, f.original.l4_proto);
  out->push_back(' ');
  if (shape.timeout) {
    AppendUint(out, timeout_s);
    out->push_back(' ');
  }
  if (f.state != nullptr && shape.state) {
    out->append(f.state);
    out->push_back(' ');
  }
  AppendTuple(out, f.original);
  // A zone for one direction is shown after that direction's tuple, a zone
  // for both once near the end (measured, kernel-model §4.6).
  const bool one_way_zone = f.zone.id != 0 && f.zone.dir_mask != 0;
  if (one_way_zone && f.zone.IdIn(0) != 0) {
    AppendField(out, "zone-orig=", f.zone.id);
  }
  bool counters = f.has_acct && shape.counters;
  if (counters) {
    AppendField(out, "packets=", f.packets[0]);
    AppendField(out, "bytes=", f.bytes[0]);
  }
  if (!f.seen_reply) out->append("[UNREPLIED] ");
  AppendTuple(out, f.reply);
  if (one_way_zone && f.zone.IdIn(1) != 0) {
    AppendField(out, "zone-reply=", f.zone.id);
  }
  if (counters) {
    AppendField(out, "packets=", f.packets[1]);
    AppendField(out, "bytes=", f.bytes[1]);
  }
  if (f.assured) out->append("[ASSURED] ");
  if (shape.mark_use) AppendField(out, "mark=", f.mark);
  if (f.zone.id != 0 && f.zone.dir_mask == 0) {
    AppendField(out, "zone=", f.zone.id);
  }
  if (shape.delta && f.has_timestamp && now_ns >= f.start_ns) {
    // conntrack subtracts whole seconds: stop's minus start's, not the
    // difference floored (1.9 s from x.9 to y.8 prints 1 or 2 as it falls).
    AppendField(out,
                "delta-time=", now_ns / 1000000000 - f.start_ns / 1000000000);
  }
  if (shape.mark_use) {
    out->append("use=");
    AppendUint(out, f.use);
  } else {
    out->pop_back();  // the last field's separator
  }
}

std::string FormatLine(const FlowInfo& f, uint32_t timeout_s, uint64_t now_ns,
                       const LineShape& shape) {
  std::string out;
  AppendLine(&out, f, timeout_s, now_ns, shape);
  return out;
}

}  // namespace

std::string FormatConntrackLine(const FlowInfo& f, uint32_t timeout_s,
                                uint64_t now_ns) {
  return FormatLine(f, timeout_s, now_ns, LineShape{});
}

void AppendConntrackLine(std::string* out, const FlowInfo& f,
                         uint32_t timeout_s, uint64_t now_ns) {
  AppendLine(out, f, timeout_s, now_ns, LineShape{});
}

std::string FormatEventLine(const Event& e, const EventLineOptions& o) {
  const char* label = e.type == EventType::kNew      ? "[NEW]"
                      : e.type == EventType::kUpdate ? "[UPDATE]"
                                                     : "[DESTROY]";
  // Measured with conntrack -E on 6.18 (docs/kernel-differences.md,
  // "Formats"): the kernel leaves out a zero timeout, sends the TCP state
  // on UPDATE only with the PROTOINFO bit, the counters and the stop time
  // only on DESTROY, and the mark only when it is set.
  bool destroy = e.type == EventType::kDestroy;
  LineShape shape;
  shape.timeout = e.flow.timeout_s != 0;
  shape.state = e.type != EventType::kUpdate || e.state_changed;
  shape.counters = destroy;
  shape.delta = destroy;
  shape.mark_use = false;
  // An expired entry's stop time is when it expired: the kernel takes the
  // overdue jiffies off the deletion time.
  uint64_t stop_ns = e.ts_ns;
  if (e.flow.remaining_jiffies < 0) {
    uint64_t overdue =
        static_cast<uint64_t>(-int64_t{e.flow.remaining_jiffies}) *
        (1000000000 / kHz);
    stop_ns = overdue < stop_ns ? stop_ns - overdue : 0;
  }
  std::string line = fmt::format(
      "{:>9} {}", label, FormatLine(e.flow, e.flow.timeout_s, stop_ns, shape));
  if (!o.timestamp) return line;
  // conntrack's "[%-.8ld.%-.6ld]\t": at least 8 and exactly 6 digits.
  return fmt::format("[{:08}.{:06}]\t{}", e.ts_ns / 1000000000,
                     e.ts_ns % 1000000000 / 1000, line);
}

std::string FormatStatsLine(const Stats& s) {
  return fmt::format(
      "cpu=0   \tfound={} invalid={} insert={} insert_failed={} drop={} "
      "early_drop={} error={} search_restart={} clash_resolve={} "
      "chaintoolong={} ",
      s.found, s.invalid, s.insert, s.insert_failed, s.drop, s.early_drop,
      s.error, s.search_restart, s.clash_resolve, s.chaintoolong);
}

}  // namespace ctkit
