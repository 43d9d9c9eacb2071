// conntrack-tools' formats. Every expected line is one conntrack-tools
// 1.4.7 printed on this 6.18 kernel (tests/formats/*.E.txt, *.L.txt,
// *.S.txt, recorded by tests/formats/record.sh), with the entry rebuilt
// field by field.
#include "report/format.h"

#include <gtest/gtest.h>

#include "gen/packet_builder.h"
#include "testing/engine_test_util.h"

namespace ctkit {
namespace {

constexpr uint64_t kSec = 1'000'000'000ull;

Tuple PortTuple(Address src, uint16_t sport, Address dst, uint16_t dport,
                uint8_t proto) {
  Tuple t;
  t.family = Family::kIPv4;
  t.src = src;
  t.dst = dst;
  t.src_port_or_icmp_id = sport;
  t.dst_port_or_icmp_type_code = dport;
  t.l4_proto = proto;
  return t;
}

FlowInfo Tcp41000() {
  FlowInfo f;
  f.original = PortTuple(Ipv4(10, 1, 0, 2), 41000, Ipv4(10, 2, 0, 2), 8080,
                         ipproto::kTcp);
  f.reply = enginetest::Reversed(f.original);
  return f;
}

FlowInfo Generic253() {
  FlowInfo f;
  f.original = PortTuple(Ipv4(10, 1, 0, 2), 0, Ipv4(10, 2, 0, 2), 0, 253);
  f.reply = enginetest::Reversed(f.original);
  return f;
}

Event Ev(EventType type, const FlowInfo& f, uint64_t ts_ns,
         bool state_changed = false) {
  Event e{type, ts_ns, f};
  e.state_changed = state_changed;
  return e;
}

TEST(ConntrackFormat, ListLineHasMarkAndUse) {
  FlowInfo f = Tcp41000();
  f.state = "TIME_WAIT";
  f.seen_reply = true;
  f.assured = true;
  EXPECT_EQ(FormatConntrackLine(f, 107, 0),
            "tcp      6 107 TIME_WAIT src=10.1.0.2 dst=10.2.0.2 sport=41000 "
            "dport=8080 src=10.2.0.2 dst=10.1.0.2 sport=8080 dport=41000 "
            "[ASSURED] mark=0 use=1");
}

// GRE keys as conntrack-tools 1.4.7 printed a PPTP-style entry on this
// kernel (kernel-model §9.1): lower-case hex, no leading zeros.
TEST(ConntrackFormat, GreKeysInHex) {
  FlowInfo f;
  f.original = PortTuple(Ipv4(127, 0, 0, 1), 0, Ipv4(127, 0, 0, 3), 0xabcd,
                         ipproto::kGre);
  f.reply = enginetest::Reversed(f.original);
  EXPECT_EQ(FormatConntrackLine(f, 29, 0),
            "gre      47 29 src=127.0.0.1 dst=127.0.0.3 srckey=0x0 "
            "dstkey=0xabcd [UNREPLIED] src=127.0.0.3 dst=127.0.0.1 "
            "srckey=0xabcd dstkey=0x0 mark=0 use=1");
}

// Zones as conntrack-tools 1.4.7 printed them on this kernel
// (kernel-model §4.6): `ct zone set 5` as zone= after mark,
// `ct original zone set 6` after the original tuple, `ct reply zone set 7`
// after the reply tuple.
TEST(ConntrackFormat, ZonesWhereConntrackPutsThem) {
  FlowInfo f;
  f.original = PortTuple(Ipv4(127, 0, 0, 1), 37194, Ipv4(127, 0, 0, 2), 9999,
                         ipproto::kUdp);
  f.reply = enginetest::Reversed(f.original);
  f.zone = Zone{5, 0};
  EXPECT_EQ(FormatConntrackLine(f, 29, 0),
            "udp      17 29 src=127.0.0.1 dst=127.0.0.2 sport=37194 dport=9999 "
            "[UNREPLIED] src=127.0.0.2 dst=127.0.0.1 sport=9999 dport=37194 "
            "mark=0 zone=5 use=1");
  f.original.dst = f.reply.src = Ipv4(127, 0, 0, 3);
  f.zone = Zone{6, Zone::kOriginalOnly};
  EXPECT_EQ(FormatConntrackLine(f, 29, 0),
            "udp      17 29 src=127.0.0.1 dst=127.0.0.3 sport=37194 dport=9999 "
            "zone-orig=6 [UNREPLIED] src=127.0.0.3 dst=127.0.0.1 sport=9999 "
            "dport=37194 mark=0 use=1");
  f.original.dst = f.reply.src = Ipv4(127, 0, 0, 4);
  f.zone = Zone{7, Zone::kReplyOnly};
  EXPECT_EQ(FormatConntrackLine(f, 29, 0),
            "udp      17 29 src=127.0.0.1 dst=127.0.0.4 sport=37194 dport=9999 "
            "[UNREPLIED] src=127.0.0.4 dst=127.0.0.1 sport=9999 dport=37194 "
            "zone-reply=7 mark=0 use=1");
}

// An SCTP entry as conntrack -L 1.4.7 printed it on 6.18 (an association
// sent over loopback in a namespace; kernel-model §9.2): the state after
// the timeout and ports in both tuples, like TCP; no verification tags.
TEST(ConntrackFormat, SctpLineHasStateAndPorts) {
  FlowInfo f;
  f.original =
      PortTuple(Ipv4(127, 0, 0, 1), 40003, Ipv4(127, 0, 0, 2), 2905, 132);
  f.reply = enginetest::Reversed(f.original);
  f.state = "SHUTDOWN_SENT";
  f.seen_reply = true;
  f.assured = true;
  EXPECT_EQ(FormatConntrackLine(f, 2, 0),
            "sctp     132 2 SHUTDOWN_SENT src=127.0.0.1 dst=127.0.0.2 "
            "sport=40003 dport=2905 src=127.0.0.2 dst=127.0.0.1 sport=2905 "
            "dport=40003 [ASSURED] mark=0 use=1");
}

TEST(ConntrackFormat, EventLineHasNoMarkNorUse) {
  FlowInfo f = Tcp41000();
  f.state = "SYN_SENT";
  f.timeout_s = 120;
  EXPECT_EQ(FormatEventLine(Ev(EventType::kNew, f, 0)),
            "    [NEW] tcp      6 120 SYN_SENT src=10.1.0.2 dst=10.2.0.2 "
            "sport=41000 dport=8080 [UNREPLIED] src=10.2.0.2 dst=10.1.0.2 "
            "sport=8080 dport=41000");
  f.state = "TIME_WAIT";
  f.timeout_s = 119;
  f.seen_reply = f.assured = true;
  EXPECT_EQ(FormatEventLine(Ev(EventType::kDestroy, f, 0)),
            "[DESTROY] tcp      6 119 TIME_WAIT src=10.1.0.2 dst=10.2.0.2 "
            "sport=41000 dport=8080 src=10.2.0.2 dst=10.1.0.2 sport=8080 "
            "dport=41000 [ASSURED]");
}

TEST(ConntrackFormat, UpdateShowsTheStateOnlyWhenItChanged) {
  FlowInfo f = Tcp41000();
  f.state = "ESTABLISHED";
  f.timeout_s = 300;
  f.seen_reply = true;
  EXPECT_EQ(FormatEventLine(Ev(EventType::kUpdate, f, 0, false)),
            " [UPDATE] tcp      6 300 src=10.1.0.2 dst=10.2.0.2 sport=41000 "
            "dport=8080 src=10.2.0.2 dst=10.1.0.2 sport=8080 dport=41000");
  f.state = "CLOSE";
  f.timeout_s = 10;
  f.assured = true;
  EXPECT_EQ(FormatEventLine(Ev(EventType::kUpdate, f, 0, true)),
            " [UPDATE] tcp      6 10 CLOSE src=10.1.0.2 dst=10.2.0.2 "
            "sport=41000 dport=8080 src=10.2.0.2 dst=10.1.0.2 sport=8080 "
            "dport=41000 [ASSURED]");
}

TEST(ConntrackFormat, ExpiredDestroyHasNoTimeout) {
  FlowInfo f = Generic253();
  f.timeout_s = 0;
  f.remaining_jiffies = -375;
  EXPECT_EQ(FormatEventLine(Ev(EventType::kDestroy, f, 0)),
            "[DESTROY] unknown  253 src=10.1.0.2 dst=10.2.0.2 [UNREPLIED] "
            "src=10.2.0.2 dst=10.1.0.2");
}

// With nf_conntrack_acct=1 and nf_conntrack_timestamp=1 only DESTROY
// carries the counters and delta-time; NEW and UPDATE look as without.
TEST(ConntrackFormat, CountersAndDeltaTimeOnlyOnDestroy) {
  FlowInfo f = Tcp41000();
  f.state = "SYN_SENT";
  f.timeout_s = 120;
  f.has_acct = true;
  f.packets[0] = 1;
  f.bytes[0] = 60;
  f.has_timestamp = true;
  f.start_ns = 1796213177 * kSec + 352029000;
  EXPECT_EQ(FormatEventLine(Ev(EventType::kNew, f, f.start_ns)),
            "    [NEW] tcp      6 120 SYN_SENT src=10.1.0.2 dst=10.2.0.2 "
            "sport=41000 dport=8080 [UNREPLIED] src=10.2.0.2 dst=10.1.0.2 "
            "sport=8080 dport=41000");
  f.state = "TIME_WAIT";
  f.timeout_s = 119;
  f.seen_reply = f.assured = true;
  f.packets[0] = f.packets[1] = 5;
  f.bytes[0] = f.bytes[1] = 273;
  // 0.2 s after the start, across a whole second: conntrack subtracts the
  // whole seconds (1796213178 - 1796213177).
  EXPECT_EQ(
      FormatEventLine(Ev(EventType::kDestroy, f, 1796213178 * kSec + 5581000)),
      "[DESTROY] tcp      6 119 TIME_WAIT src=10.1.0.2 dst=10.2.0.2 "
      "sport=41000 dport=8080 packets=5 bytes=273 src=10.2.0.2 "
      "dst=10.1.0.2 sport=8080 dport=41000 packets=5 bytes=273 "
      "[ASSURED] delta-time=1");
}

// An entry deleted after it expired stops when it expired: created at
// x.011 s with a 2 s timeout, reaped 3.5 s later, delta-time=2 (not 3).
TEST(ConntrackFormat, ExpiredDestroyStopsAtItsExpiry) {
  FlowInfo f = Generic253();
  f.has_acct = true;
  f.packets[0] = 1;
  f.bytes[0] = 27;
  f.has_timestamp = true;
  f.start_ns = 1796213186 * kSec + 11149000;
  f.remaining_jiffies = -375;  // 1.5 s overdue
  EXPECT_EQ(FormatEventLine(
                Ev(EventType::kDestroy, f, f.start_ns + 3500 * 1000000ull)),
            "[DESTROY] unknown  253 src=10.1.0.2 dst=10.2.0.2 packets=1 "
            "bytes=27 [UNREPLIED] src=10.2.0.2 dst=10.1.0.2 packets=0 "
            "bytes=0 delta-time=2");
}

TEST(ConntrackFormat, ListDeltaTimeSubtractsWholeSeconds) {
  FlowInfo f = Generic253();
  f.has_timestamp = true;
  f.start_ns = 37 * kSec + 900000000;
  EXPECT_EQ(FormatConntrackLine(f, 1, 38 * kSec + 100000000),
            "unknown  253 1 src=10.1.0.2 dst=10.2.0.2 [UNREPLIED] "
            "src=10.2.0.2 dst=10.1.0.2 mark=0 delta-time=1 use=1");
}

// conntrack -E -o timestamp: "[%-.8ld.%-.6ld]\t", at least 8 digits of
// seconds and 6 of microseconds, zero-padded.
TEST(ConntrackFormat, EventTimestampPrefix) {
  FlowInfo f = Generic253();
  f.timeout_s = 2;
  EventLineOptions o;
  o.timestamp = true;
  EXPECT_EQ(
      FormatEventLine(Ev(EventType::kNew, f, 1796212186 * kSec + 19722999), o),
      "[1796212186.019722]\t    [NEW] unknown  253 2 src=10.1.0.2 "
      "dst=10.2.0.2 [UNREPLIED] src=10.2.0.2 dst=10.1.0.2");
  EXPECT_EQ(
      FormatEventLine(Ev(EventType::kNew, f, 5 * kSec + 1000), o).substr(0, 19),
      "[00000005.000001]\t ");
}

// One line per CPU in the tool's layout, ending in a space; ctkit prints
// the sums on cpu=0's line.
TEST(ConntrackFormat, StatsLine) {
  Stats s;
  s.invalid = 2;
  s.error = 1;
  EXPECT_EQ(FormatStatsLine(s),
            "cpu=0   \tfound=0 invalid=2 insert=0 insert_failed=0 drop=0 "
            "early_drop=0 error=1 search_restart=0 clash_resolve=0 "
            "chaintoolong=0 ");
}

}  // namespace
}  // namespace ctkit
