// Shared helpers for the engine scenario tests (engine_*_test.cc).
//
// A scenario is a story told with real packets: each test builds IP packets
// with the packet builder, feeds them to an Engine at explicit times and,
// after each step, checks the verdict, the entry (state, timeout in whole
// seconds, ASSURED, [UNREPLIED]), the count and the kernel counters. The
// expected values come from the kernel model (docs/kernel-model.md), never
// from running the engine.
//
// Time: tests speak in seconds since the start of the story. The harness maps
// them onto a nanosecond clock and the engine turns that into jiffies
// (HZ = 250, one jiffy = 4 ms). Right after a refresh with timeout T the entry
// shows exactly T seconds, because no time has passed since.
//
// The bucket oracle reproduces the engine's bucket choice (same hash seed,
// same bucket count) so that table tests can place flows in or out of the
// eight buckets an early drop scans, and can predict chain lengths.
#ifndef CTKIT_TESTING_ENGINE_TEST_UTIL_H_
#define CTKIT_TESTING_ENGINE_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "core/flow_table.h"
#include "ctkit/decode.h"
#include "ctkit/engine.h"
#include "ctkit/stats.h"
#include "ctkit/tunables.h"
#include "ctkit/tuple.h"
#include "gen/packet_builder.h"

namespace ctkit {

// Readable verdicts in gtest failure messages.
inline void PrintTo(Verdict v, std::ostream* os) { *os << VerdictName(v); }

namespace enginetest {

using Bytes = std::vector<uint8_t>;

inline constexpr uint64_t kNsPerSecond = 1'000'000'000ull;
/// Where second 0 of a story sits on the engine's nanosecond clock; any
/// non-zero origin works, this one makes accidental "time 0" visible.
inline constexpr uint64_t kOriginNs = 1'700'000'000ull * kNsPerSecond;
inline constexpr uint32_t kHzTest = 250;

/// For FlowWant readability.
inline constexpr bool kAssured = true;
inline constexpr bool kNotAssured = false;
inline constexpr bool kReplied = true;
inline constexpr bool kUnreplied = false;

// ---------------------------------------------------------------------------
// Addresses and endpoints.

inline Address V6(const char* text) {
  Family f = Family::kIPv6;
  std::optional<Address> a = ParseAddress(text, &f);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(Address{});
}

inline Endpoints Ep4(Address src, uint16_t sport, Address dst, uint16_t dport) {
  return Endpoints{Family::kIPv4, src, dst, sport, dport};
}

inline Endpoints Ep6(Address src, uint16_t sport, Address dst, uint16_t dport) {
  return Endpoints{Family::kIPv6, src, dst, sport, dport};
}

// ---------------------------------------------------------------------------
// Packets. Each returns one complete IP packet (no link header).

inline Bytes Tcp(const Endpoints& ep, uint32_t seq, uint32_t ack, uint8_t flags,
                 uint32_t payload_len = 0, uint16_t window = 65535,
                 const TcpOptions& opts = {}) {
  Bytes out;
  BuildTcp(ep, seq, ack, flags, window, payload_len, opts, &out);
  return out;
}

inline Bytes Udp(const Endpoints& ep, uint32_t payload_len = 16,
                 uint8_t proto = ipproto::kUdp) {
  Bytes out;
  BuildUdp(ep, payload_len, &out, proto);
  return out;
}

inline Bytes Echo(Family family, const Address& src, const Address& dst,
                  bool request, uint16_t id, uint16_t seq = 1) {
  Bytes out;
  BuildIcmpEcho(family, src, dst, request, id, seq, &out);
  return out;
}

inline Bytes Icmp(Family family, const Address& src, const Address& dst,
                  uint8_t type, uint8_t code, uint32_t rest = 0,
                  uint32_t payload_len = 0, uint8_t hop_limit = 64) {
  Bytes payload(payload_len, 0);
  Bytes out;
  BuildIcmp(family, src, dst, type, code, rest, payload, &out, hop_limit);
  return out;
}

inline Bytes IcmpError(Family family, const Address& src, const Address& dst,
                       uint8_t type, uint8_t code, const Bytes& quoted) {
  Bytes out;
  BuildIcmpError(family, src, dst, type, code, quoted, &out);
  return out;
}

inline Bytes Generic(Family family, const Address& src, const Address& dst,
                     uint8_t proto, uint32_t payload_len = 8) {
  Bytes out;
  BuildGeneric(family, src, dst, proto, payload_len, &out);
  return out;
}

/// A GRE packet (gen/packet_builder.h's BuildGre).
inline Bytes Gre(Family family, const Address& src, const Address& dst,
                 uint8_t version = 0, uint16_t call_id = 0,
                 uint16_t protocol = 0x880b) {
  Bytes out;
  BuildGre(family, src, dst, version, protocol, call_id, &out);
  return out;
}

/// Offset of the L4 header in a packet made by the builder (no options, no
/// extension headers).
inline size_t L4Offset(const Bytes& ip) {
  return (!ip.empty() && (ip[0] >> 4) == 6) ? 40 : 20;
}

// ---------------------------------------------------------------------------
// Tuples, as the engine stores them (host order; ICMP id in the source
// "port", type<<8|code in the destination one; generic protocols have zero
// ports).

inline Tuple PortTuple(const Endpoints& ep, uint8_t proto) {
  Tuple t;
  t.src = ep.src;
  t.dst = ep.dst;
  t.src_port_or_icmp_id = ep.sport;
  t.dst_port_or_icmp_type_code = ep.dport;
  t.l4_proto = proto;
  t.family = ep.family;
  return t;
}
inline Tuple TcpTuple(const Endpoints& ep) {
  return PortTuple(ep, ipproto::kTcp);
}
inline Tuple UdpTuple(const Endpoints& ep, uint8_t proto = ipproto::kUdp) {
  return PortTuple(ep, proto);
}

inline Tuple IcmpTuple(Family family, const Address& src, const Address& dst,
                       uint16_t id, uint8_t type, uint8_t code = 0) {
  Tuple t;
  t.src = src;
  t.dst = dst;
  t.src_port_or_icmp_id = id;
  t.dst_port_or_icmp_type_code = static_cast<uint16_t>((type << 8) | code);
  t.l4_proto = family == Family::kIPv4 ? ipproto::kIcmp : ipproto::kIcmpv6;
  t.family = family;
  return t;
}

inline Tuple GenericTuple(Family family, const Address& src, const Address& dst,
                          uint8_t proto) {
  Tuple t;
  t.src = src;
  t.dst = dst;
  t.l4_proto = proto;
  t.family = family;
  return t;
}

/// A GRE tuple: srckey and dstkey in the port slots.
inline Tuple GreTuple(Family family, const Address& src, const Address& dst,
                      uint16_t srckey = 0, uint16_t dstkey = 0) {
  Tuple t = GenericTuple(family, src, dst, ipproto::kGre);
  t.src_port_or_icmp_id = srckey;
  t.dst_port_or_icmp_type_code = dstkey;
  return t;
}

/// The reply tuple of a port-based tuple (no NAT: addresses and ports
/// swapped).
inline Tuple Reversed(const Tuple& t) {
  Tuple r = t;
  r.src = t.dst;
  r.dst = t.src;
  r.src_port_or_icmp_id = t.dst_port_or_icmp_type_code;
  r.dst_port_or_icmp_type_code = t.src_port_or_icmp_id;
  return r;
}

// ---------------------------------------------------------------------------
// Expectations.

/// What an entry should look like at the harness's current time.
struct FlowWant {
  const char* state;  ///< TCP state name, or nullptr for stateless protocols
  uint32_t timeout_s;
  bool assured;
  bool seen_reply;
};

/// The kernel counters a scenario checks; every one not named must be 0.
/// insert and found stay 0 on the packet path (spec §5.3).
struct StatsWant {
  uint64_t invalid = 0;
  uint64_t drop = 0;
  uint64_t early_drop = 0;
  uint64_t error = 0;
  uint64_t insert_failed = 0;
  uint64_t chaintoolong = 0;
};

inline ::testing::AssertionResult StatsAre(const Stats& s, const StatsWant& w) {
  std::string diff;
  auto check = [&](const char* name, uint64_t got, uint64_t want) {
    if (got != want) {
      diff += std::string(" ") + name + "=" + std::to_string(got) + " (want " +
              std::to_string(want) + ")";
    }
  };
  check("invalid", s.invalid, w.invalid);
  check("drop", s.drop, w.drop);
  check("early_drop", s.early_drop, w.early_drop);
  check("error", s.error, w.error);
  check("insert_failed", s.insert_failed, w.insert_failed);
  check("chaintoolong", s.chaintoolong, w.chaintoolong);
  check("insert", s.insert, 0);
  check("found", s.found, 0);
  check("clash_resolve", s.clash_resolve, 0);
  check("search_restart", s.search_restart, 0);
  if (diff.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "stats differ:" << diff;
}

inline std::string Describe(const FlowInfo& f) {
  return std::string("state=") + (f.state ? f.state : "(none)") +
         " timeout_s=" + std::to_string(f.timeout_s) +
         " remaining_jiffies=" + std::to_string(f.remaining_jiffies) +
         (f.assured ? " [ASSURED]" : "") + (f.seen_reply ? "" : " [UNREPLIED]");
}

// ---------------------------------------------------------------------------
// The harness: one Engine and a clock the test advances explicitly.

/// Test defaults: the kernel's defaults, without huge pages, and the fixed
/// hash key (tests place flows in buckets and compare dumps).
inline EngineOptions TestOptions() {
  EngineOptions o;
  o.huge_pages = false;
  o.hash_seed = kFixedHashSeed;
  return o;
}

inline uint64_t AtNs(double seconds) {
  return kOriginNs + static_cast<uint64_t>(std::llround(seconds * 1e9));
}

class Harness {
 public:
  explicit Harness(const Tunables& t = Tunables{},
                   EngineOptions opts = TestOptions()) {
    auto e = Engine::Create(t, std::move(opts));
    EXPECT_TRUE(e.has_value()) << (e ? "" : e.error().message);
    if (!e) return;
    engine_ = std::move(*e);
    seed_[0] = engine_->hash_seed().k0;  // the key in use, given or drawn
    seed_[1] = engine_->hash_seed().k1;
  }

  /// Decodes `ip` and gives it to the engine at `at_s` seconds, in `zone`.
  Verdict Send(const Bytes& ip, double at_s, Zone zone = {}) {
    PacketView view{};
    DecodeStatus st =
        DecodeIp(ip.data(), static_cast<uint32_t>(ip.size()), &view);
    EXPECT_EQ(st, DecodeStatus::kOk) << DecodeStatusName(st);
    view.zone = zone;
    now_ns_ = AtNs(at_s);
    return engine_->Process(view, now_ns_);
  }

  /// Runs the GC up to `at_s` without a packet.
  void AdvanceTo(double at_s) {
    now_ns_ = AtNs(at_s);
    engine_->AdvanceTo(now_ns_);
  }

  /// The entry of `t` (either direction) at the time of the last step.
  std::optional<FlowInfo> Find(const Tuple& t, Zone zone = {}) const {
    return engine_->Find(t, now_ns_, zone);
  }
  std::optional<FlowInfo> FindAt(const Tuple& t, double at_s) const {
    return engine_->Find(t, AtNs(at_s));
  }

  ::testing::AssertionResult FlowIs(const Tuple& t, const FlowWant& w) const {
    std::optional<FlowInfo> f = Find(t);
    if (!f) return ::testing::AssertionFailure() << "no live entry";
    bool state_ok = (w.state == nullptr) ? f->state == nullptr
                                         : (f->state != nullptr &&
                                            std::string(f->state) == w.state);
    if (state_ok && f->timeout_s == w.timeout_s && f->assured == w.assured &&
        f->seen_reply == w.seen_reply) {
      return ::testing::AssertionSuccess();
    }
    FlowInfo want;
    want.state = w.state;
    want.timeout_s = w.timeout_s;
    want.assured = w.assured;
    want.seen_reply = w.seen_reply;
    return ::testing::AssertionFailure()
           << "got " << Describe(*f) << "; want " << Describe(want);
  }

  ::testing::AssertionResult Gone(const Tuple& t) const {
    std::optional<FlowInfo> f = Find(t);
    if (!f) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "entry still live: " << Describe(*f);
  }

  uint32_t count() const { return engine_->count(); }
  const Stats& stats() const { return engine_->stats(); }
  const EngineCounters& counters() const { return engine_->counters(); }
  Engine& engine() { return *engine_; }
  uint64_t now_ns() const { return now_ns_; }
  const uint64_t* seed() const { return seed_; }

 private:
  std::unique_ptr<Engine> engine_;
  uint64_t now_ns_ = kOriginNs;
  uint64_t seed_[2] = {0, 0};
};

/// The bucket an engine with this seed and bucket count (already a multiple
/// of 512) puts a tuple's node into. White-box on purpose: the kernel's key
/// is secret, ours is an EngineOptions field, so tests can place flows.
class BucketOracle {
 public:
  BucketOracle(uint32_t buckets, const uint64_t seed[2]) {
    auto t = FlowTable::Create(1, buckets, seed[0], seed[1], false);
    EXPECT_TRUE(t.has_value());
    if (t) table_ = std::move(*t);
  }
  uint32_t Of(const Tuple& t) const { return table_->Bucket(table_->Hash(t)); }
  uint32_t buckets() const { return table_->buckets(); }
  /// True when bucket b is one of the 8 an early drop starting at `start`
  /// scans (wrapping modulo the table size).
  bool InWindow(uint32_t b, uint32_t start) const {
    return (b + buckets() - start) % buckets() < 8;
  }

 private:
  std::unique_ptr<FlowTable> table_;
};

}  // namespace enginetest
}  // namespace ctkit

#endif  // CTKIT_TESTING_ENGINE_TEST_UTIL_H_
