// Micro-benchmarks (Google Benchmark) for the pieces of the per-packet path:
// the keyed tuple hash, an engine lookup of an established flow, the TCP
// tracker's per-segment step, and the UDP path end to end. Whole-workload
// figures come from `ctkit bench`; these isolate one step each.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "core/flow_table.h"
#include "ctkit/decode.h"
#include "ctkit/engine.h"
#include "gen/packet_builder.h"
#include "proto/tcp.h"
#include "proto/tracker.h"

namespace ctkit {
namespace {

PacketView Decode(const std::vector<uint8_t>& bytes) {
  PacketView v{};
  DecodeIp(bytes.data(), static_cast<uint32_t>(bytes.size()), &v);
  return v;
}

void BM_TupleHashIpv4(benchmark::State& state) {
  auto table = FlowTable::Create(1024, 1024, 1, 2, false);
  Tuple t{};
  t.src = Ipv4(10, 0, 0, 1);
  t.dst = Ipv4(192, 0, 2, 1);
  t.dst_port_or_icmp_type_code = 443;
  t.l4_proto = ipproto::kTcp;
  uint16_t port = 0;
  for (auto _ : state) {
    t.src_port_or_icmp_id = ++port;
    benchmark::DoNotOptimize((*table)->Hash(t));
  }
}
BENCHMARK(BM_TupleHashIpv4);

void BM_TupleHashIpv6(benchmark::State& state) {
  auto table = FlowTable::Create(1024, 1024, 1, 2, false);
  Tuple t{};
  t.family = Family::kIPv6;
  t.src.bytes[0] = 0x20;
  t.dst.bytes[15] = 1;
  t.l4_proto = ipproto::kTcp;
  uint16_t port = 0;
  for (auto _ : state) {
    t.src_port_or_icmp_id = ++port;
    benchmark::DoNotOptimize((*table)->Hash(t));
  }
}
BENCHMARK(BM_TupleHashIpv6);

// One established UDP flow looked up and refreshed again and again: the
// engine's per-packet cost with everything in cache.
void BM_EngineEstablishedUdpHit(benchmark::State& state) {
  Tunables t;
  t.checksum = 0;
  EngineOptions o;
  o.hash_seed = kFixedHashSeed;  // the same table on every run
  auto engine = Engine::Create(t, o);
  std::vector<uint8_t> fwd, rev;
  Endpoints ep{Family::kIPv4, Ipv4(10, 0, 0, 1), Ipv4(10, 0, 0, 2), 1234, 53};
  BuildUdp(ep, 32, &fwd);
  BuildUdp(ep.Reversed(), 32, &rev);
  PacketView f = Decode(fwd), r = Decode(rev);
  uint64_t now = 1'000'000'000;
  (*engine)->Process(f, now);
  (*engine)->Process(r, now);
  for (auto _ : state) {
    now += 1000;
    benchmark::DoNotOptimize((*engine)->Process(f, now));
  }
}
BENCHMARK(BM_EngineEstablishedUdpHit);

// The TCP tracker alone on an established connection's data segments.
void BM_TcpTrackEstablishedSegment(benchmark::State& state) {
  Tunables tun;
  tun.checksum = 0;
  ProtoConfig cfg = ProtoConfig::FromTunables(tun);
  Endpoints ep{Family::kIPv4, Ipv4(10, 0, 0, 1), Ipv4(10, 0, 0, 2), 40000, 80};
  TcpConn conn{};
  std::vector<uint8_t> b;
  TcpOptions opts;
  opts.wscale = 7;
  opts.sack_perm = true;
  auto step = [&](const Endpoints& e, uint32_t seq, uint32_t ack, uint8_t flags,
                  uint32_t len, const TcpOptions& o, bool is_new,
                  bool reply_seen, Direction dir) {
    b.clear();
    BuildTcp(e, seq, ack, flags, 65535, len, o, &b);
    PacketView v = Decode(b);
    return TcpTrackSegment(
        &conn, v, TrackContext{dir, is_new, reply_seen, false, 0, 0}, cfg.tcp);
  };
  step(ep, 100, 0, tcpflag::kSyn, 0, opts, true, false, Direction::kOriginal);
  step(ep.Reversed(), 500, 101, tcpflag::kSyn | tcpflag::kAck, 0, opts, false,
       false, Direction::kReply);
  step(ep, 101, 501, tcpflag::kAck, 0, {}, false, true, Direction::kOriginal);
  // The measured segment: 100 bytes of data, acknowledged state unchanged.
  b.clear();
  BuildTcp(ep, 101, 501, tcpflag::kAck | tcpflag::kPsh, 65535, 100, {}, &b);
  PacketView data = Decode(b);
  TcpConn saved = conn;
  for (auto _ : state) {
    conn = saved;
    benchmark::DoNotOptimize(TcpTrackSegment(
        &conn, data,
        TrackContext{Direction::kOriginal, false, true, true, 1000, 0},
        cfg.tcp));
  }
}
BENCHMARK(BM_TcpTrackEstablishedSegment);

}  // namespace
}  // namespace ctkit
