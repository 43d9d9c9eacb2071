// Tests for the synthetic workloads: each generator's output is decoded
// back with the engine's own decoder and checked for the properties the
// consumers rely on: determinism per seed, ordered timestamps, exact counts,
// valid checksums, unique tuples and, for TCP, the exact seq/ack progression
// of a real session.
#include "gen/workloads.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "ctkit/decode.h"
#include "ctkit/packet.h"
#include "gen/packet_builder.h"
#include "net/byte_order.h"
#include "net/checksum.h"

namespace ctkit {
namespace {

struct Captured {
  uint64_t ts;
  std::vector<uint8_t> bytes;
};

std::vector<Captured> Generate(const WorkloadSpec& spec,
                               WorkloadStats* stats = nullptr) {
  std::vector<Captured> out;
  Result<WorkloadStats> r =
      GenerateWorkload(spec, [&](uint64_t ts, std::span<const uint8_t> p) {
        out.push_back({ts, std::vector<uint8_t>(p.begin(), p.end())});
      });
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  if (stats != nullptr && r) *stats = *r;
  return out;
}

WorkloadSpec Spec(std::string kind, uint64_t flows, uint64_t seed = 1) {
  WorkloadSpec spec;
  spec.kind = std::move(kind);
  spec.flows = flows;
  spec.seed = seed;
  return spec;
}

/// FNV-1a over every timestamp and packet byte, in order.
uint64_t StreamHash(const WorkloadSpec& spec) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](uint8_t b) { h = (h ^ b) * 0x100000001b3ull; };
  Result<WorkloadStats> r =
      GenerateWorkload(spec, [&](uint64_t ts, std::span<const uint8_t> p) {
        for (int i = 0; i < 8; ++i) mix(static_cast<uint8_t>(ts >> (8 * i)));
        for (uint8_t b : p) mix(b);
      });
  EXPECT_TRUE(r.has_value());
  return h;
}

PacketView Decode(const Captured& c) {
  PacketView v{};
  EXPECT_EQ(DecodeIp(c.bytes.data(), static_cast<uint32_t>(c.bytes.size()), &v),
            DecodeStatus::kOk);
  return v;
}

/// Decoded TCP segment fields.
struct Seg {
  uint64_t ts;
  std::string src;  // address bytes + port, for direction checks
  uint8_t flags;
  uint32_t seq;
  uint32_t ack;
  uint16_t window;
  uint32_t len;  // payload bytes
  const uint8_t* options;
  uint32_t options_len;
};

std::string Key(const Address& a, uint16_t port) {
  return std::string(reinterpret_cast<const char*>(a.bytes), 16) +
         std::to_string(port);
}

Seg DecodeTcp(const Captured& c, const PacketView& v) {
  const uint8_t* l4 = v.l4;
  const uint32_t hdr = (l4[12] >> 4) * 4u;
  return {c.ts,
          Key(v.src, LoadBe16(l4)),
          l4[13],
          LoadBe32(l4 + 4),
          LoadBe32(l4 + 8),
          LoadBe16(l4 + 14),
          v.l4_len - hdr,
          l4 + 20,
          hdr - 20};
}

/// Flow key independent of direction: the sorted pair of (addr, port).
std::string FlowKey(const PacketView& v) {
  uint16_t sport = 0, dport = 0;
  if (v.l4_proto == ipproto::kTcp || v.l4_proto == ipproto::kUdp) {
    sport = LoadBe16(v.l4);
    dport = LoadBe16(v.l4 + 2);
  }
  std::string a = Key(v.src, sport), b = Key(v.dst, dport);
  if (b < a) std::swap(a, b);
  return std::to_string(v.l4_proto) + a + b;
}

/// Every packet of every kind decodes with a valid checksum, in time order.
void CheckWellFormed(const WorkloadSpec& spec) {
  SCOPED_TRACE(spec.kind + (spec.ipv6 ? " v6" : " v4"));
  WorkloadStats stats;
  std::vector<Captured> pkts = Generate(spec, &stats);
  ASSERT_FALSE(pkts.empty());
  EXPECT_EQ(stats.packets, pkts.size());
  EXPECT_EQ(stats.first_ts_ns, spec.start_ns);
  EXPECT_EQ(stats.first_ts_ns, pkts.front().ts);
  EXPECT_EQ(stats.last_ts_ns, pkts.back().ts);
  uint64_t bytes = 0;
  for (size_t i = 0; i < pkts.size(); ++i) {
    bytes += pkts[i].bytes.size();
    if (i > 0) {
      ASSERT_LE(pkts[i - 1].ts, pkts[i].ts) << "packet " << i;
    }
    PacketView v = Decode(pkts[i]);
    ASSERT_EQ(v.family, spec.ipv6 ? Family::kIPv6 : Family::kIPv4);
    ASSERT_EQ(v.l4_caplen, v.l4_len);
    ASSERT_TRUE(L4ChecksumValid(v)) << "packet " << i;
  }
  EXPECT_EQ(stats.bytes, bytes);
}

TEST(Workloads, EveryKindIsWellFormedInBothFamilies) {
  for (const WorkloadKindInfo& kind : WorkloadKinds()) {
    for (bool v6 : {false, true}) {
      WorkloadSpec spec = Spec(std::string(kind.name), 300);
      spec.ipv6 = v6;
      CheckWellFormed(spec);
    }
  }
}

TEST(Workloads, SameSeedSameBytesOtherSeedOtherBytes) {
  for (const WorkloadKindInfo& kind : WorkloadKinds()) {
    SCOPED_TRACE(std::string(kind.name));
    WorkloadSpec a = Spec(std::string(kind.name), 200, 7);
    WorkloadSpec b = a;
    b.seed = 8;
    EXPECT_EQ(StreamHash(a), StreamHash(a));
    EXPECT_NE(StreamHash(a), StreamHash(b));
  }
}

TEST(Workloads, StartTimeShiftsOnlyTimestamps) {
  WorkloadSpec a = Spec("tcp-sessions", 50);
  WorkloadSpec b = a;
  b.start_ns = 5'000'000'000;
  std::vector<Captured> pa = Generate(a), pb = Generate(b);
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].ts - a.start_ns, pb[i].ts - b.start_ns);
    EXPECT_EQ(pa[i].bytes, pb[i].bytes);
  }
}

TEST(Workloads, UnknownKindListsTheValidOnes) {
  Result<WorkloadStats> r = GenerateWorkload(
      Spec("tcp-session", 10), [](uint64_t, std::span<const uint8_t>) {
        ADD_FAILURE() << "sink called for an invalid spec";
      });
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  for (const WorkloadKindInfo& kind : WorkloadKinds()) {
    EXPECT_NE(r.error().message.find(kind.name), std::string::npos)
        << r.error().message;
  }
}

TEST(Workloads, BadSizesAreRejected) {
  auto error = [](const WorkloadSpec& spec) {
    Result<void> r = ValidateWorkload(spec);
    return r ? std::string() : r.error().message;
  };
  EXPECT_EQ(error(Spec("dns-storm", 10)), "");
  EXPECT_NE(error(Spec("dns-storm", 0)), "");
  WorkloadSpec spec = Spec("dns-storm", 10);
  spec.rate = 0;
  EXPECT_NE(error(spec), "");
  spec.rate = -5;
  EXPECT_NE(error(spec), "");
  spec.rate = std::numeric_limits<double>::quiet_NaN();
  EXPECT_NE(error(spec), "");
  spec.rate = 100;
  spec.packets = 50;  // only meaningful for udp-roundrobin
  EXPECT_NE(error(spec), "");
  spec.kind = "udp-roundrobin";
  EXPECT_EQ(error(spec), "");
  spec.packets = 19;  // fewer than the 2 x 10 set-up packets
  EXPECT_NE(error(spec), "");
}

TEST(Workloads, StartTimeParsesSecondsAndFraction) {
  EXPECT_EQ(ParseStartTime("1700000000").value(), kDefaultWorkloadStartNs);
  EXPECT_EQ(ParseStartTime("0").value(), 0u);
  EXPECT_EQ(ParseStartTime("12.5").value(), 12'500'000'000u);
  EXPECT_EQ(ParseStartTime("1.000000001").value(), 1'000'000'001u);
  for (const char* bad : {"", ".5", "5.", "-1", "1e9", "12.3456789012",
                          "99999999999", "1.2.3", "abc"}) {
    EXPECT_FALSE(ParseStartTime(bad).has_value()) << bad;
  }
}

TEST(Workloads, TcpSessionsAreTenPacketsEach) {
  WorkloadStats stats;
  std::vector<Captured> pkts = Generate(Spec("tcp-sessions", 500), &stats);
  EXPECT_EQ(pkts.size(), 5000u);
  EXPECT_EQ(stats.flows, 500u);
  std::map<std::string, int> per_flow;
  for (const Captured& c : pkts) ++per_flow[FlowKey(Decode(c))];
  EXPECT_EQ(per_flow.size(), 500u);
  for (const auto& [key, n] : per_flow) EXPECT_EQ(n, 10);
}

/// Checks one session's segments against what a Linux client and server
/// exchange: handshake with options, request, response, ACK, FIN/ACK from
/// the client, ACK, FIN/ACK from the server, last ACK. Arithmetic is mod
/// 2^32, so wrapping ISNs are fine.
void CheckSession(const std::vector<Seg>& s) {
  using namespace tcpflag;
  ASSERT_EQ(s.size(), 10u);
  const std::string& client = s[0].src;
  const uint32_t c = s[0].seq;
  const uint32_t srv = s[1].seq;
  const uint32_t q = s[3].len;
  const uint32_t r = s[4].len;
  EXPECT_GT(q, 0u);
  EXPECT_GT(r, 0u);
  struct Want {
    bool from_client;
    uint8_t flags;
    uint32_t seq, ack, len;
  };
  const uint8_t ack = kAck, psh_ack = kPsh | kAck, fin_ack = kFin | kAck;
  const Want want[10] = {
      {true, kSyn, c, 0, 0},
      {false, kSyn | kAck, srv, c + 1, 0},
      {true, ack, c + 1, srv + 1, 0},
      {true, psh_ack, c + 1, srv + 1, q},
      {false, psh_ack, srv + 1, c + 1 + q, r},
      {true, ack, c + 1 + q, srv + 1 + r, 0},
      {true, fin_ack, c + 1 + q, srv + 1 + r, 0},
      {false, ack, srv + 1 + r, c + 2 + q, 0},
      {false, fin_ack, srv + 1 + r, c + 2 + q, 0},
      {true, ack, c + 2 + q, srv + 2 + r, 0},
  };
  for (size_t i = 0; i < 10; ++i) {
    SCOPED_TRACE("segment " + std::to_string(i));
    EXPECT_EQ(s[i].src == client, want[i].from_client);
    EXPECT_EQ(s[i].flags, want[i].flags);
    EXPECT_EQ(s[i].seq, want[i].seq);
    EXPECT_EQ(s[i].ack, want[i].ack);
    EXPECT_EQ(s[i].len, want[i].len);
    EXPECT_GT(s[i].window, 0);
    if (i > 0) {
      EXPECT_LT(s[i - 1].ts, s[i].ts);
    }
  }
  // Both SYNs: MSS 1460, SACK-permitted, window scale 7.
  for (size_t i = 0; i < 2; ++i) {
    SCOPED_TRACE("options of segment " + std::to_string(i));
    const uint8_t* o = s[i].options;
    bool mss = false, sack = false, wscale = false;
    for (uint32_t at = 0; at < s[i].options_len;) {
      const uint8_t kind = o[at];
      if (kind == 0) break;
      if (kind == 1) {
        ++at;
        continue;
      }
      const uint8_t len = o[at + 1];
      ASSERT_GE(len, 2);
      if (kind == 2) mss = LoadBe16(o + at + 2) == 1460;
      if (kind == 4) sack = true;
      if (kind == 3) wscale = o[at + 2] == 7;
      at += len;
    }
    EXPECT_TRUE(mss && sack && wscale);
  }
  for (size_t i = 2; i < 10; ++i) EXPECT_EQ(s[i].options_len, 0u);
}

std::map<std::string, std::vector<Seg>> TcpFlows(
    const std::vector<Captured>& pkts) {
  std::map<std::string, std::vector<Seg>> flows;
  for (const Captured& c : pkts) {
    PacketView v = Decode(c);
    if (v.l4_proto != ipproto::kTcp) continue;
    flows[FlowKey(v)].push_back(DecodeTcp(c, v));
  }
  return flows;
}

TEST(Workloads, TcpSessionsHaveExactSeqAckProgression) {
  std::vector<Captured> pkts = Generate(Spec("tcp-sessions", 300, 42));
  auto flows = TcpFlows(pkts);
  ASSERT_EQ(flows.size(), 300u);
  for (const auto& [key, segs] : flows) CheckSession(segs);
}

TEST(Workloads, TcpSessionsOverlapInTime) {
  // At 10000 sessions/s and tens of ms per session, many are open at once:
  // the second session's SYN comes before the first session ends.
  std::vector<Captured> pkts = Generate(Spec("tcp-sessions", 100));
  auto flows = TcpFlows(pkts);
  size_t overlapping = 0;
  uint64_t first_end = 0;
  for (const auto& [key, segs] : flows) {
    if (segs[0].ts == pkts[0].ts) first_end = segs.back().ts;
  }
  for (const auto& [key, segs] : flows) {
    if (segs[0].ts > pkts[0].ts && segs[0].ts < first_end) ++overlapping;
  }
  EXPECT_GT(overlapping, 10u);
}

TEST(Workloads, TcpLossyRetransmitsIdenticalSegmentsAndDuplicatesAcks) {
  WorkloadStats stats;
  std::vector<Captured> pkts = Generate(Spec("tcp-lossy", 400, 3), &stats);
  EXPECT_GT(pkts.size(), 4000u);
  EXPECT_EQ(stats.flows, 400u);
  auto flows = TcpFlows(pkts);
  ASSERT_EQ(flows.size(), 400u);
  size_t data_retx = 0, dup_acks = 0;
  for (const auto& [key, segs] : flows) {
    // Drop each segment identical to an earlier one of the flow; what is
    // left is exactly the clean session.
    std::set<std::tuple<std::string, uint8_t, uint32_t, uint32_t, uint32_t>>
        seen;
    std::vector<Seg> unique;
    for (const Seg& s : segs) {
      if (seen.insert({s.src, s.flags, s.seq, s.ack, s.len}).second) {
        unique.push_back(s);
      } else if (s.len > 0) {
        ++data_retx;
      } else {
        EXPECT_EQ(s.flags, tcpflag::kAck);
        ++dup_acks;
      }
    }
    CheckSession(unique);
    EXPECT_LE(segs.size(), 10u + 3 + 3);
  }
  EXPECT_GT(data_retx, 40u);
  EXPECT_GT(dup_acks, 20u);
}

TEST(Workloads, TcpLossyRetransmitsAfterAnRto) {
  std::vector<Captured> pkts = Generate(Spec("tcp-lossy", 200, 5));
  // A data segment's copies follow each other by at least the 200 ms
  // minimum RTO, and the wait doubles from one copy to the next.
  size_t copies = 0;
  for (const auto& [key, segs] : TcpFlows(pkts)) {
    std::map<std::tuple<std::string, uint32_t, uint32_t>, std::vector<uint64_t>>
        sent;  // (sender, seq, len) -> times
    for (const Seg& seg : segs) {
      if (seg.len > 0) sent[{seg.src, seg.seq, seg.len}].push_back(seg.ts);
    }
    for (const auto& [segment, times] : sent) {
      for (size_t i = 1; i < times.size(); ++i) {
        ++copies;
        EXPECT_GE(times[i] - times[i - 1], 200'000'000u);
        if (i > 1) {
          EXPECT_GT(times[i] - times[i - 1], times[i - 1] - times[i - 2]);
        }
      }
    }
  }
  EXPECT_GT(copies, 20u);
}

TEST(Workloads, DnsStormIsQueryAndReplyOnly) {
  WorkloadStats stats;
  std::vector<Captured> pkts = Generate(Spec("dns-storm", 1000), &stats);
  ASSERT_EQ(pkts.size(), 2000u);
  EXPECT_EQ(stats.flows, 1000u);
  std::map<std::string, std::vector<size_t>> flows;
  std::vector<PacketView> views;
  for (size_t i = 0; i < pkts.size(); ++i) {
    views.push_back(Decode(pkts[i]));
    ASSERT_EQ(views[i].l4_proto, ipproto::kUdp);
    flows[FlowKey(views[i])].push_back(i);
  }
  ASSERT_EQ(flows.size(), 1000u);
  for (const auto& [key, idx] : flows) {
    ASSERT_EQ(idx.size(), 2u);
    const PacketView& q = views[idx[0]];
    const PacketView& a = views[idx[1]];
    EXPECT_EQ(LoadBe16(q.l4 + 2), 53);
    EXPECT_EQ(q.src, a.dst);
    EXPECT_EQ(q.dst, a.src);
    EXPECT_EQ(LoadBe16(q.l4), LoadBe16(a.l4 + 2));
    EXPECT_EQ(LoadBe16(q.l4 + 2), LoadBe16(a.l4));
    const uint64_t rtt = pkts[idx[1]].ts - pkts[idx[0]].ts;
    EXPECT_GT(rtt, 0u);
    EXPECT_LE(rtt, 1'000'000u);
  }
}

TEST(Workloads, SynFloodIsUniqueSpoofedSynsToOneVictim) {
  std::vector<Captured> pkts = Generate(Spec("syn-flood", 2000));
  ASSERT_EQ(pkts.size(), 2000u);
  std::set<std::string> sources;
  for (const Captured& c : pkts) {
    PacketView v = Decode(c);
    ASSERT_EQ(v.l4_proto, ipproto::kTcp);
    EXPECT_EQ(v.dst, Ipv4(192, 0, 2, 10));
    EXPECT_EQ(LoadBe16(v.l4 + 2), 80);
    EXPECT_EQ(v.l4[13], tcpflag::kSyn);
    EXPECT_EQ(v.src.bytes[0], 10);
    sources.insert(Key(v.src, LoadBe16(v.l4)));
  }
  EXPECT_EQ(sources.size(), 2000u);
}

TEST(Workloads, ArrivalRateIsRoughlyTheRequestedRate) {
  WorkloadSpec spec = Spec("syn-flood", 10000);
  spec.rate = 1000;  // so 10000 SYNs span about 10 s
  WorkloadStats stats;
  Generate(spec, &stats);
  const double seconds =
      static_cast<double>(stats.last_ts_ns - stats.first_ts_ns) / 1e9;
  EXPECT_GT(seconds, 9.0);
  EXPECT_LT(seconds, 11.0);
}

TEST(Workloads, UdpRoundRobinSetsUpThenCyclesBothWays) {
  WorkloadSpec spec = Spec("udp-roundrobin", 100);
  spec.packets = 1000;
  WorkloadStats stats;
  std::vector<Captured> pkts = Generate(spec, &stats);
  ASSERT_EQ(pkts.size(), 1000u);
  EXPECT_EQ(stats.flows, 100u);
  // Set-up: each flow's first two packets are a request and its reply.
  std::map<std::string, std::string> first_src;  // flow -> client key
  std::vector<std::string> order;
  for (size_t i = 0; i < 200; ++i) {
    PacketView v = Decode(pkts[i]);
    const std::string key = FlowKey(v);
    auto [it, fresh] = first_src.emplace(key, Key(v.src, LoadBe16(v.l4)));
    if (fresh) {
      order.push_back(key);
    } else {
      EXPECT_NE(it->second, Key(v.src, LoadBe16(v.l4)));
    }
  }
  ASSERT_EQ(first_src.size(), 100u);
  // Steady state: packet i goes to flow (i mod 100), forward in even
  // rounds and reverse in odd ones; every flow was set up before.
  std::map<std::string, int> index_of;
  for (size_t i = 200; i < pkts.size(); ++i) {
    PacketView v = Decode(pkts[i]);
    const std::string key = FlowKey(v);
    ASSERT_TRUE(first_src.count(key)) << "packet " << i;
    const size_t n = i - 200;
    auto [it, fresh] = index_of.emplace(key, static_cast<int>(n % 100));
    EXPECT_EQ(it->second, static_cast<int>(n % 100));
    const bool forward = first_src[key] == Key(v.src, LoadBe16(v.l4));
    EXPECT_EQ(forward, (n / 100) % 2 == 0) << "packet " << i;
  }
  EXPECT_EQ(index_of.size(), 100u);
}

TEST(Workloads, MixedHasEveryIngredientAndAFloodInTheMiddle) {
  std::vector<Captured> pkts = Generate(Spec("mixed", 2000));
  size_t tcp = 0, udp = 0, echo = 0, icmp_error = 0, rst = 0, flood = 0;
  uint64_t flood_first = UINT64_MAX, flood_last = 0;
  std::vector<uint64_t> web_syns;
  for (const Captured& c : pkts) {
    PacketView v = Decode(c);
    if (v.l4_proto == ipproto::kTcp) {
      ++tcp;
      if (v.l4[13] & tcpflag::kRst) ++rst;
      if (v.dst == Ipv4(192, 0, 2, 10)) {
        ++flood;
        flood_first = std::min(flood_first, c.ts);
        flood_last = std::max(flood_last, c.ts);
      } else if (v.l4[13] == tcpflag::kSyn) {
        web_syns.push_back(c.ts);
      }
    } else if (v.l4_proto == ipproto::kUdp) {
      ++udp;
    } else if (v.l4_proto == ipproto::kIcmp) {
      (v.l4[0] == 0 || v.l4[0] == 8 ? echo : icmp_error) += 1;
    }
  }
  EXPECT_EQ(flood, 400u);  // a fifth of the flows
  EXPECT_GT(tcp, 5000u);
  EXPECT_GT(udp, 600u);
  EXPECT_GT(echo, 40u);
  EXPECT_GT(icmp_error, 0u);
  EXPECT_GT(rst, 0u);
  // The burst sits amid the web arrivals: plenty start before and after.
  auto before = std::count_if(web_syns.begin(), web_syns.end(),
                              [&](uint64_t t) { return t < flood_first; });
  auto after = std::count_if(web_syns.begin(), web_syns.end(),
                             [&](uint64_t t) { return t > flood_last; });
  EXPECT_GT(before, 300);
  EXPECT_GT(after, 300);
}

TEST(Workloads, Ipv6UsesTheDocumentationPrefix) {
  WorkloadSpec spec = Spec("mixed", 300);
  spec.ipv6 = true;
  for (const Captured& c : Generate(spec)) {
    PacketView v = Decode(c);
    EXPECT_EQ(std::memcmp(v.src.bytes, "\x20\x01\x0d\xb8", 4), 0);
    EXPECT_EQ(std::memcmp(v.dst.bytes, "\x20\x01\x0d\xb8", 4), 0);
  }
}

}  // namespace
}  // namespace ctkit
