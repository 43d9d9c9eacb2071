// The table as a whole: table full and early drop (spec §2), expiry, lazy
// reaping and the GC (§3), the chain-length limit (§4.4) and the counters
// that go with them (§5).
//
// Where the outcome depends on which buckets flows land in, the tests place
// flows with a BucketOracle (the engine's hash with the test's seed) or keep
// a small model of the table that applies the spec's rules, and compare the
// engine with it after every packet.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <vector>

#include "core/flow_table.h"
#include "testing/engine_test_util.h"

namespace ctkit {
namespace {

using namespace enginetest;

const Address kServer = Ipv4(192, 168, 1, 1);

// The n-th client flow: a distinct UDP tuple for every n < 2^24.
Endpoints ClientFlow(uint32_t n) {
  return Ep4(Ipv4(static_cast<uint8_t>(10), static_cast<uint8_t>(n >> 16),
                  static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)),
             static_cast<uint16_t>(1024 + (n % 50000)), kServer, 53);
}

// Makes UDP flows ASSURED (§7): requests at t0, replies 0.1 s later, and
// one more packet each more than 2 s after the first.
void MakeUdpStreams(Harness& h, const std::vector<Endpoints>& eps, double t0) {
  for (const Endpoints& ep : eps) ASSERT_EQ(h.Send(Udp(ep), t0), Verdict::kNew);
  for (const Endpoints& ep : eps) {
    ASSERT_EQ(h.Send(Udp(ep.Reversed()), t0 + 0.1), Verdict::kEstablished);
  }
  for (const Endpoints& ep : eps) {
    ASSERT_EQ(h.Send(Udp(ep), t0 + 2.5), Verdict::kEstablished);
    ASSERT_TRUE(h.Find(UdpTuple(ep))->assured);
  }
}

// Finds client flows (numbered from `from`) whose nodes satisfy `pred(orig
// bucket, reply bucket)`.
std::vector<Endpoints> PickFlows(
    const BucketOracle& oracle, size_t want, uint32_t from,
    const std::function<bool(uint32_t, uint32_t)>& pred) {
  std::vector<Endpoints> out;
  for (uint32_t n = from; out.size() < want && n < from + 2'000'000; ++n) {
    Endpoints ep = ClientFlow(n);
    Tuple t = UdpTuple(ep);
    if (pred(oracle.Of(t), oracle.Of(Reversed(t)))) out.push_back(ep);
  }
  EXPECT_EQ(out.size(), want);
  return out;
}

Tunables SmallTable(uint32_t max) {
  Tunables t;
  t.max = max;
  t.buckets = 512;
  return t;
}

// ---------------------------------------------------------------------------
// Early drop (§2.2).

// The new flow's own bucket is empty, the next one too; the third holds the
// original node of an unreplied flow: that flow is evicted (early_drop +1)
// and the new flow is accepted as NEW. Flows outside the 8 buckets are not
// touched.
TEST(EngineTable, EarlyDropEvictsFirstNonAssuredInWindow) {
  Harness h(SmallTable(4));
  BucketOracle oracle(512, h.seed());
  const Endpoints fresh = ClientFlow(0);
  const uint32_t start = oracle.Of(UdpTuple(fresh));
  auto outside = [&](uint32_t ob, uint32_t rb) {
    return !oracle.InWindow(ob, start) && !oracle.InWindow(rb, start);
  };
  std::vector<Endpoints> victim =
      PickFlows(oracle, 1, 1, [&](uint32_t ob, uint32_t rb) {
        return ob == (start + 2) % 512 && rb == ob;
      });
  std::vector<Endpoints> others = PickFlows(oracle, 3, 1, outside);
  ASSERT_EQ(victim.size() + others.size(), 4u);

  ASSERT_EQ(h.Send(Udp(victim[0]), 0.0), Verdict::kNew);
  for (const Endpoints& ep : others)
    ASSERT_EQ(h.Send(Udp(ep), 0.0), Verdict::kNew);
  ASSERT_EQ(h.count(), 4u);

  EXPECT_EQ(h.Send(Udp(fresh), 0.1), Verdict::kNew);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_TRUE(StatsAre(h.stats(), {.early_drop = 1}));
  EXPECT_TRUE(h.Gone(UdpTuple(victim[0])));
  for (const Endpoints& ep : others) EXPECT_TRUE(h.Find(UdpTuple(ep)));
  EXPECT_TRUE(
      h.FlowIs(UdpTuple(fresh), {nullptr, 30, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.counters().log_lines, 0u);
  EXPECT_EQ(h.counters().table_full, 0u);
}

// Every eligible entry in the first bucket that has any is deleted, not just
// one: two victims in the same bucket give early_drop +2. The scan stops
// there, so a third eligible flow further on survives.
TEST(EngineTable, EarlyDropTakesTheWholeChain) {
  Harness h(SmallTable(4));
  BucketOracle oracle(512, h.seed());
  const Endpoints fresh = ClientFlow(0);
  const uint32_t start = oracle.Of(UdpTuple(fresh));
  auto at = [&](uint32_t offset) {
    return [&, offset](uint32_t ob, uint32_t rb) {
      return ob == (start + offset) % 512 && rb == ob;
    };
  };
  std::vector<Endpoints> pair = PickFlows(oracle, 2, 1, at(3));
  std::vector<Endpoints> later = PickFlows(oracle, 1, 1, at(5));
  std::vector<Endpoints> far =
      PickFlows(oracle, 1, 1, [&](uint32_t ob, uint32_t rb) {
        return !oracle.InWindow(ob, start) && !oracle.InWindow(rb, start);
      });
  ASSERT_EQ(pair.size() + later.size() + far.size(), 4u);
  for (const auto* group : {&pair, &later, &far}) {
    for (const Endpoints& ep : *group) {
      ASSERT_EQ(h.Send(Udp(ep), 0.0), Verdict::kNew);
    }
  }
  ASSERT_EQ(h.count(), 4u);

  EXPECT_EQ(h.Send(Udp(fresh), 0.1), Verdict::kNew);
  EXPECT_TRUE(StatsAre(h.stats(), {.early_drop = 2}));
  EXPECT_EQ(h.count(), 3u);
  EXPECT_TRUE(h.Gone(UdpTuple(pair[0])));
  EXPECT_TRUE(h.Gone(UdpTuple(pair[1])));
  EXPECT_TRUE(h.Find(UdpTuple(later[0])));
  EXPECT_TRUE(h.Find(UdpTuple(far[0])));
}

// No eligible entry within the 8 buckets: the packet is dropped even though
// the table is full of droppable entries elsewhere (drop +1, one log line).
TEST(EngineTable, EarlyDropLooksOnlyAtEightBuckets) {
  Harness h(SmallTable(4));
  BucketOracle oracle(512, h.seed());
  const Endpoints fresh = ClientFlow(0);
  const uint32_t start = oracle.Of(UdpTuple(fresh));
  std::vector<Endpoints> far =
      PickFlows(oracle, 4, 1, [&](uint32_t ob, uint32_t rb) {
        return !oracle.InWindow(ob, start) && !oracle.InWindow(rb, start);
      });
  for (const Endpoints& ep : far)
    ASSERT_EQ(h.Send(Udp(ep), 0.0), Verdict::kNew);

  EXPECT_EQ(h.Send(Udp(fresh), 0.1), Verdict::kDrop);
  EXPECT_TRUE(StatsAre(h.stats(), {.drop = 1}));
  EXPECT_EQ(h.count(), 4u);
  EXPECT_TRUE(h.Gone(UdpTuple(fresh)));
  EXPECT_EQ(h.counters().log_lines, 1u);
  EXPECT_EQ(h.counters().table_full, 1u);
}

// The window's eighth bucket is still scanned: a victim there is dropped.
// (Both of a flow's nodes share its bucket — see BothDirectionsShareABucket
// — so the kernel's case of a victim whose reply node alone is in the window
// has its counterpart here in a victim anywhere in the window.)
TEST(EngineTable, EarlyDropReachesTheEighthBucket) {
  Harness h(SmallTable(2));
  BucketOracle oracle(512, h.seed());
  const Endpoints fresh = ClientFlow(0);
  const uint32_t start = oracle.Of(UdpTuple(fresh));
  std::vector<Endpoints> victim =
      PickFlows(oracle, 1, 1,
                [&](uint32_t ob, uint32_t) { return ob == (start + 7) % 512; });
  std::vector<Endpoints> far = PickFlows(
      oracle, 1, 1,
      [&](uint32_t ob, uint32_t) { return !oracle.InWindow(ob, start); });
  ASSERT_EQ(victim.size() + far.size(), 2u);
  ASSERT_EQ(h.Send(Udp(victim[0]), 0.0), Verdict::kNew);
  ASSERT_EQ(h.Send(Udp(far[0]), 0.0), Verdict::kNew);
  EXPECT_EQ(h.Send(Udp(fresh), 0.1), Verdict::kNew);
  EXPECT_TRUE(StatsAre(h.stats(), {.early_drop = 1}));
  EXPECT_TRUE(h.Gone(UdpTuple(victim[0])));
  EXPECT_TRUE(h.Find(UdpTuple(far[0])));
}

// A tuple and its inverse hash alike (ports swapped, ICMP echo request vs
// reply, IPv4 and IPv6), so a flow's two nodes share one bucket and so one
// shard; different flows still spread.
TEST(EngineTable, BothDirectionsShareABucket) {
  const uint64_t seed[2] = {1, 2};
  BucketOracle oracle(1u << 16, seed);
  std::vector<Tuple> flows;
  for (uint32_t n = 0; n < 200; ++n) flows.push_back(UdpTuple(ClientFlow(n)));
  Tuple echo{};
  echo.src = Ipv4(10, 0, 0, 1);
  echo.dst = Ipv4(10, 0, 0, 2);
  echo.l4_proto = 1;
  echo.src_port_or_icmp_id = 77;
  echo.dst_port_or_icmp_type_code = 8 << 8;
  flows.push_back(echo);
  Tuple v6 = UdpTuple(ClientFlow(5));
  v6.family = Family::kIPv6;
  v6.src.bytes[0] = 0xfd;
  v6.dst.bytes[15] = 9;
  flows.push_back(v6);
  std::set<uint32_t> buckets;
  for (const Tuple& t : flows) {
    Tuple inv;
    ASSERT_TRUE(InvertTuple(t, &inv));
    EXPECT_EQ(oracle.Of(t), oracle.Of(inv));
    buckets.insert(oracle.Of(t));
  }
  EXPECT_GT(buckets.size(), 190u);
}

// §2.2/§2.3: a table full of ASSURED entries cannot be relieved: every new
// flow is dropped (drop +1 each, early_drop unchanged). The log line is
// rate limited to 10 per 5 s.
TEST(EngineTable, AllAssuredTableDropsNewFlows) {
  Harness h(SmallTable(4));
  MakeUdpStreams(
      h, {ClientFlow(0), ClientFlow(1), ClientFlow(2), ClientFlow(3)}, 0.0);
  ASSERT_EQ(h.count(), 4u);

  EXPECT_EQ(h.Send(Udp(ClientFlow(100)), 3.0), Verdict::kDrop);
  EXPECT_TRUE(StatsAre(h.stats(), {.drop = 1}));
  EXPECT_EQ(h.counters().log_lines, 1u);
  EXPECT_EQ(h.count(), 4u);

  for (uint32_t n = 101; n < 112; ++n) {
    EXPECT_EQ(h.Send(Udp(ClientFlow(n)), 3.5), Verdict::kDrop);
  }
  EXPECT_TRUE(StatsAre(h.stats(), {.drop = 12}));
  EXPECT_EQ(h.counters().log_lines, 10u);
  EXPECT_EQ(h.counters().log_suppressed, 2u);
  EXPECT_EQ(h.count(), 4u);

  // A new 5 s window lets lines through again.
  EXPECT_EQ(h.Send(Udp(ClientFlow(200)), 9.0), Verdict::kDrop);
  EXPECT_EQ(h.counters().log_lines, 11u);
  EXPECT_TRUE(StatsAre(h.stats(), {.drop = 13}));

  // Existing flows still pass.
  EXPECT_EQ(h.Send(Udp(ClientFlow(0)), 9.1), Verdict::kEstablished);
}

// §2.1: max = 0 means no limit in 6.18.
TEST(EngineTable, MaxZeroMeansUnlimited) {
  Tunables t = SmallTable(0);
  EngineOptions o = TestOptions();
  o.unlimited_capacity = 4096;
  Harness h(t, o);
  for (uint32_t n = 0; n < 3000; ++n) {
    ASSERT_EQ(h.Send(Udp(ClientFlow(n)), 0.0), Verdict::kNew) << n;
  }
  EXPECT_EQ(h.count(), 3000u);
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// The documented table bytes per entry at the default 1:1 bucket ratio
// (docs/design.md, docs/performance.md): 94 for IPv4, 126 for IPv6 (the
// addresses in a side pool). Reports print FlowTable's figures, and the
// engine reserves room for max IPv6 entries.
TEST(EngineTable, BytesPerEntryAreTheDocumented94And126) {
  EXPECT_EQ(FlowTable::kIpv4EntryBytes, 94u);
  EXPECT_EQ(FlowTable::kIpv6EntryBytes, 126u);
  for (uint32_t max : {512u, 65536u}) {
    Tunables t = SmallTable(max);
    t.buckets = max;
    auto e = Engine::Create(t, TestOptions());
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ((*e)->memory_bytes(), uint64_t{max} * 126) << max;
  }
}

// §2.2: expired entries met by the early-drop scan are reaped but do not
// count as early drops, and do not make the allocation succeed: with no
// live non-ASSURED victim in the 8 buckets the packet is still dropped.
TEST(EngineTable, EarlyDropReapsExpiredWithoutCountingThem) {
  Harness h(SmallTable(2));
  BucketOracle oracle(512, h.seed());
  const Endpoints fresh = ClientFlow(0);
  const uint32_t start = oracle.Of(UdpTuple(fresh));
  // An unreplied flow with its original node in the window (but not in the
  // new flow's own bucket, which the lookup would walk first).
  std::vector<Endpoints> stale =
      PickFlows(oracle, 1, 1, [&](uint32_t ob, uint32_t rb) {
        return ob == (start + 1) % 512 && rb != start;
      });
  ASSERT_EQ(stale.size(), 1u);
  ASSERT_EQ(h.Send(Udp(stale[0]), 0.0), Verdict::kNew);
  MakeUdpStreams(h, {ClientFlow(5000)}, 0.0);  // ASSURED until 122.5 s
  ASSERT_EQ(h.count(), 2u);

  // At 40 s the unreplied flow has expired but is still counted.
  h.AdvanceTo(40.0);
  ASSERT_TRUE(h.Gone(UdpTuple(stale[0])));
  ASSERT_EQ(h.count(), 2u);
  ASSERT_EQ(h.counters().expired, 0u);

  EXPECT_EQ(h.Send(Udp(fresh), 40.0), Verdict::kDrop);
  EXPECT_TRUE(StatsAre(h.stats(), {.drop = 1}));
  EXPECT_EQ(h.counters().expired, 1u);
  EXPECT_EQ(h.count(), 1u);
  // Now there is room.
  EXPECT_EQ(h.Send(Udp(fresh), 40.1), Verdict::kNew);
  EXPECT_EQ(h.count(), 2u);
}

// ProcessBatch gives the same verdicts, table and counters as Process.
TEST(EngineTable, ProcessBatchMatchesProcess) {
  std::vector<Bytes> packets;
  std::vector<uint64_t> times;
  for (uint32_t n = 0; n < 300; ++n) {
    Endpoints ep = ClientFlow(n % 120);
    packets.push_back(n % 3 == 1 ? Udp(ep.Reversed()) : Udp(ep));
    times.push_back(AtNs(n * 0.05));
  }
  Harness one(SmallTable(64)), batch(SmallTable(64));
  std::vector<Verdict> want, got(packets.size());
  std::vector<PacketView> views(packets.size());
  for (size_t i = 0; i < packets.size(); ++i) {
    ASSERT_EQ(DecodeIp(packets[i].data(),
                       static_cast<uint32_t>(packets[i].size()), &views[i]),
              DecodeStatus::kOk);
    want.push_back(one.engine().Process(views[i], times[i]));
  }
  batch.engine().ProcessBatch(views.data(), times.data(), views.size(),
                              got.data());
  EXPECT_EQ(got, want);
  EXPECT_EQ(batch.count(), one.count());
  EXPECT_EQ(batch.stats().drop, one.stats().drop);
  EXPECT_EQ(batch.stats().early_drop, one.stats().early_drop);
  EXPECT_GT(one.stats().early_drop + one.stats().drop, 0u);
}

// A model of the table for the early-drop rules: which flows are live, the
// buckets of their two nodes, and whether they are ASSURED.
struct ModelFlow {
  Endpoints ep;
  uint32_t ob, rb;
  bool assured;
};

// Applies §2.1/§2.2 to the model for a new flow, returns the expected
// verdict and the number of entries early drop should evict.
Verdict ModelNewFlow(std::vector<ModelFlow>* live, const ModelFlow& fresh,
                     uint32_t max, uint32_t buckets, uint64_t* evicted) {
  *evicted = 0;
  if (live->size() + 1 <= max) {
    live->push_back(fresh);
    return Verdict::kNew;
  }
  for (uint32_t i = 0; i < 8; ++i) {
    uint32_t b = (fresh.ob + i) % buckets;
    auto eligible = [&](const ModelFlow& f) {
      return !f.assured && (f.ob == b || f.rb == b);
    };
    size_t before = live->size();
    live->erase(std::remove_if(live->begin(), live->end(), eligible),
                live->end());
    *evicted = before - live->size();
    if (*evicted > 0) {
      live->push_back(fresh);
      return Verdict::kNew;
    }
  }
  return Verdict::kDrop;
}

// Many new flows against a small table: after every packet the count is at
// most max, and the verdict, early_drop and drop follow the model exactly.
TEST(EngineTable, CountNeverExceedsMaxAndEarlyDropFollowsModel) {
  constexpr uint32_t kMax = 64;
  Harness h(SmallTable(kMax));
  BucketOracle oracle(512, h.seed());
  std::vector<ModelFlow> live;
  uint64_t want_early = 0, want_drop = 0;
  for (uint32_t n = 0; n < 4000; ++n) {
    Endpoints ep = ClientFlow(n);
    Tuple t = UdpTuple(ep);
    ModelFlow f{ep, oracle.Of(t), oracle.Of(Reversed(t)), false};
    uint64_t evicted = 0;
    Verdict want = ModelNewFlow(&live, f, kMax, 512, &evicted);
    want_early += evicted;
    if (want == Verdict::kDrop) ++want_drop;

    ASSERT_EQ(h.Send(Udp(ep), 0.0), want) << "flow " << n;
    ASSERT_LE(h.count(), kMax) << "flow " << n;
    ASSERT_EQ(h.count(), live.size()) << "flow " << n;
    ASSERT_TRUE(
        StatsAre(h.stats(), {.drop = want_drop, .early_drop = want_early}))
        << "flow " << n;
  }
  // Both outcomes happened in this run.
  EXPECT_GT(want_early, 0u);
  EXPECT_GT(want_drop, 0u);
  EXPECT_EQ(h.counters().table_full, want_drop);
  for (const ModelFlow& f : live) EXPECT_TRUE(h.Find(UdpTuple(f.ep)));
}

// With ASSURED streams mixed in, early drop only ever removes non-ASSURED
// entries: every stream survives a flood of new flows.
TEST(EngineTable, EarlyDropNeverTakesAssured) {
  constexpr uint32_t kMax = 200;
  Harness h(SmallTable(kMax));
  BucketOracle oracle(512, h.seed());
  std::vector<ModelFlow> live;
  auto model = [&](const Endpoints& ep, bool assured) {
    Tuple t = UdpTuple(ep);
    return ModelFlow{ep, oracle.Of(t), oracle.Of(Reversed(t)), assured};
  };
  // 100 streams: requests at 0, replies at 0.1, third packets at 2.5.
  for (uint32_t n = 0; n < 100; ++n) {
    ASSERT_EQ(h.Send(Udp(ClientFlow(n)), 0.0), Verdict::kNew);
    live.push_back(model(ClientFlow(n), true));
  }
  for (uint32_t n = 0; n < 100; ++n) {
    ASSERT_EQ(h.Send(Udp(ClientFlow(n).Reversed()), 0.1),
              Verdict::kEstablished);
  }
  for (uint32_t n = 0; n < 100; ++n) {
    ASSERT_EQ(h.Send(Udp(ClientFlow(n)), 2.5), Verdict::kEstablished);
    ASSERT_TRUE(h.Find(UdpTuple(ClientFlow(n)))->assured);
  }
  uint64_t want_early = 0, want_drop = 0;
  for (uint32_t n = 100; n < 3000; ++n) {
    uint64_t evicted = 0;
    Verdict want =
        ModelNewFlow(&live, model(ClientFlow(n), false), kMax, 512, &evicted);
    want_early += evicted;
    if (want == Verdict::kDrop) ++want_drop;
    ASSERT_EQ(h.Send(Udp(ClientFlow(n)), 3.0), want) << "flow " << n;
    ASSERT_LE(h.count(), kMax);
    ASSERT_EQ(h.count(), live.size());
  }
  EXPECT_TRUE(
      StatsAre(h.stats(), {.drop = want_drop, .early_drop = want_early}));
  EXPECT_GT(want_early, 0u);
  EXPECT_GT(want_drop, 0u);
  for (uint32_t n = 0; n < 100; ++n) {
    std::optional<FlowInfo> f = h.Find(UdpTuple(ClientFlow(n)));
    ASSERT_TRUE(f.has_value()) << "stream " << n << " was evicted";
    EXPECT_TRUE(f->assured);
  }
  // Nothing expired: every destroyed entry was an early drop.
  EXPECT_EQ(h.counters().destroyed, want_early);
}

// ---------------------------------------------------------------------------
// Chain-length limit (§4.4).

// 512 buckets, a large max and 512 * 90 new flows (about 180 nodes per chain
// if all were inserted): inserts start failing once a chain holds L+2 nodes
// for the random L in [50, 79]. A chain of <= 51 nodes never refuses, one of
// >= 81 always does. Failures count chaintoolong and insert_failed (not drop)
// and the packet is DROPped.
TEST(EngineTable, ChainTooLong) {
  Tunables t;
  t.max = 100000;
  t.buckets = 512;
  Harness h(t);
  BucketOracle oracle(512, h.seed());
  std::vector<uint32_t> len(512, 0);
  uint64_t drops = 0, accepted = 0;
  for (uint32_t n = 0; n < 512 * 90; ++n) {
    Endpoints ep = ClientFlow(n);
    Tuple tu = UdpTuple(ep);
    uint32_t ob = oracle.Of(tu), rb = oracle.Of(Reversed(tu));
    uint32_t longest = std::max(len[ob], len[rb]);
    Verdict v = h.Send(Udp(ep), 0.0);
    if (longest <= 51) {
      ASSERT_EQ(v, Verdict::kNew) << "flow " << n << ", chain " << longest;
    } else if (longest >= 81) {
      ASSERT_EQ(v, Verdict::kDrop) << "flow " << n << ", chain " << longest;
    } else {
      ASSERT_TRUE(v == Verdict::kNew || v == Verdict::kDrop);
    }
    if (v == Verdict::kNew) {
      ++accepted;
      ++len[ob];
      ++len[rb];
    } else {
      ++drops;
    }
  }
  EXPECT_GT(drops, 0u);
  EXPECT_TRUE(
      StatsAre(h.stats(), {.insert_failed = drops, .chaintoolong = drops}));
  EXPECT_EQ(h.counters().verdicts[static_cast<int>(Verdict::kDrop)], drops);
  EXPECT_EQ(h.count(), accepted);
  EXPECT_EQ(h.counters().table_full, 0u);
  // Before an insert both chains held at most L+1 <= 80 nodes; the insert
  // adds one node to each (two if they are the same bucket).
  EXPECT_LE(h.engine().longest_chain(), 82u);
  EXPECT_GE(h.engine().longest_chain(), 52u);
  EXPECT_EQ(h.engine().longest_chain(),
            *std::max_element(len.begin(), len.end()));
}

// ---------------------------------------------------------------------------
// Expiry, reaping and the GC (§3).

// An expired entry still counts until reaped. A lookup walking its bucket
// reaps it (here the packet of another flow hashing to the same bucket); an
// expired entry in another bucket keeps counting; a dump reaps it (§3.2).
TEST(EngineTable, LazyReapOnLookupInSameBucketAndOnDump) {
  Harness h(SmallTable(1000));
  BucketOracle oracle(512, h.seed());
  const Endpoints a = ClientFlow(0);
  const uint32_t bucket = oracle.Of(UdpTuple(a));
  std::vector<Endpoints> b = PickFlows(
      oracle, 1, 1, [&](uint32_t ob, uint32_t) { return ob == bucket; });
  std::vector<Endpoints> c = PickFlows(
      oracle, 1, 1,
      [&](uint32_t ob, uint32_t rb) { return ob != bucket && rb != bucket; });
  ASSERT_EQ(b.size() + c.size(), 2u);

  EXPECT_EQ(h.Send(Udp(a), 0.0), Verdict::kNew);
  EXPECT_EQ(h.Send(Udp(c[0]), 0.0), Verdict::kNew);
  EXPECT_EQ(h.count(), 2u);

  // Both expire at 30 s; nothing has reaped them yet.
  h.AdvanceTo(31.0);
  EXPECT_TRUE(h.Gone(UdpTuple(a)));
  EXPECT_TRUE(h.Gone(UdpTuple(c[0])));
  EXPECT_EQ(h.count(), 2u);

  EXPECT_EQ(h.Send(Udp(b[0]), 31.0), Verdict::kNew);
  EXPECT_EQ(h.count(), 2u);  // a reaped, b created, c still counted
  EXPECT_EQ(h.counters().expired, 1u);

  int seen = 0;
  h.engine().Dump(AtNs(31.0), [&](const FlowInfo& f) {
    ++seen;
    EXPECT_EQ(f.original, UdpTuple(b[0]));
  });
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.counters().expired, 2u);
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// A dump that reaps an expired entry goes on from where it was, as
// `conntrack -L` does: the live entries before the expired one in its
// chain are listed once, not again from the chain's head. Chains hold the
// newest entry first; four flows in one bucket give the chain
// L2, E2, L1, E1 (E expired, L live) at 31 s.
TEST(EngineTable, DumpListsEachEntryOnceWhileReaping) {
  Harness h(SmallTable(1000));
  BucketOracle oracle(512, h.seed());
  const Endpoints e1 = ClientFlow(0);
  const uint32_t bucket = oracle.Of(UdpTuple(e1));
  std::vector<Endpoints> same = PickFlows(
      oracle, 3, 1, [&](uint32_t ob, uint32_t) { return ob == bucket; });
  ASSERT_EQ(same.size(), 3u);
  const Endpoints l1 = same[0], e2 = same[1], l2 = same[2];
  ASSERT_EQ(h.Send(Udp(e1), 0.0), Verdict::kNew);
  ASSERT_EQ(h.Send(Udp(l1), 0.0), Verdict::kNew);
  ASSERT_EQ(h.Send(Udp(e2), 0.0), Verdict::kNew);
  ASSERT_EQ(h.Send(Udp(l1), 20.0), Verdict::kNew);  // refreshed: 30 s from 20
  ASSERT_EQ(h.Send(Udp(l2), 20.0), Verdict::kNew);
  ASSERT_EQ(h.count(), 4u);

  std::vector<Tuple> listed;
  h.engine().Dump(AtNs(31.0),
                  [&](const FlowInfo& f) { listed.push_back(f.original); });
  EXPECT_EQ(listed.size(), 2u);
  EXPECT_EQ(std::count(listed.begin(), listed.end(), UdpTuple(l1)), 1);
  EXPECT_EQ(std::count(listed.begin(), listed.end(), UdpTuple(l2)), 1);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.counters().expired, 2u);
}

// The GC reaps expired entries with no packet at all (§3.3). Its first run
// is 1 s after the start; the next one comes after the mean remaining
// lifetime, seeded with 100 virtual entries of 60 s: here about 57 s later.
// Until then the expired entries keep counting.
TEST(EngineTable, GcReapsWithoutPackets) {
  Harness h;
  for (uint32_t n = 0; n < 5; ++n) {
    ASSERT_EQ(h.Send(Udp(ClientFlow(n)), 0.0), Verdict::kNew);
  }
  h.AdvanceTo(30.0);
  for (uint32_t n = 0; n < 5; ++n) EXPECT_TRUE(h.Gone(UdpTuple(ClientFlow(n))));
  EXPECT_EQ(h.count(), 5u);
  h.AdvanceTo(50.0);
  EXPECT_EQ(h.count(), 5u);
  // The GC interval is at most 60 s, so by 30 + 61 s they are gone.
  h.AdvanceTo(91.0);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.counters().expired, 5u);
  EXPECT_TRUE(StatsAre(h.stats(), {}));
}

// §3.3 adaptive interval, exactly: the first run (1 s after the start)
// sees one generic entry (two nodes, 599 s left, clamped to 300 s). The
// running mean starts at 60 s over 100 virtual entries: 60 + (300-60)/101
// -> 62.376 s, then + (300-62.376)/102 -> 64.704 s (jiffy arithmetic:
// 15000 -> 15594 -> 16176), clamped to 60 s, minus the ~0 s the cycle took.
// So the next run is at exactly 61 s, and reaps a UDP entry that expires
// at exactly 61 s (created at 31 s, after the first run).
TEST(EngineTable, GcIntervalFollowsTheMean) {
  Harness h;
  const Tuple esp = GenericTuple(Family::kIPv4, Ipv4(10, 0, 0, 1), kServer, 50);
  ASSERT_EQ(h.Send(Generic(Family::kIPv4, esp.src, esp.dst, 50), 0.0),
            Verdict::kNew);
  ASSERT_EQ(h.Send(Udp(ClientFlow(1)), 31.0), Verdict::kNew);
  EXPECT_EQ(h.counters().gc_runs, 1u);
  h.AdvanceTo(60.996);
  EXPECT_EQ(h.counters().gc_runs, 1u);
  EXPECT_EQ(h.count(), 2u);
  h.AdvanceTo(61.0);
  EXPECT_EQ(h.counters().gc_runs, 2u);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.counters().expired, 1u);
  EXPECT_TRUE(h.Find(esp).has_value());
}

// §3.3 reap budget: one GC run reaps until more than 64000/HZ = 256 entries
// were reaped (so 257), then continues one jiffy later.
TEST(EngineTable, GcReapBudgetPerRun) {
  Tunables t;
  t.max = 4096;
  t.buckets = 512;
  Harness h(t);
  for (uint32_t n = 0; n < 1000; ++n) {
    ASSERT_EQ(h.Send(Udp(ClientFlow(n)), 0.0), Verdict::kNew);
  }
  // Step jiffy by jiffy from the expiry until the GC starts reaping.
  std::vector<uint32_t> reaped_per_step;
  uint32_t before = h.count();
  for (uint32_t j = 30 * kHzTest; j < 120 * kHzTest && h.count() > 0; ++j) {
    h.AdvanceTo(j / static_cast<double>(kHzTest));
    uint32_t now = h.count();
    if (now != before || !reaped_per_step.empty()) {
      reaped_per_step.push_back(before - now);
    }
    before = now;
  }
  EXPECT_EQ(reaped_per_step, (std::vector<uint32_t>{257, 257, 257, 229}));
  EXPECT_EQ(h.count(), 0u);
}

// Generic (ESP) tuples, never ASSURED and 600 s long, whose nodes both lie
// outside the eight buckets an early drop for a flow in `start` scans.
std::vector<Tuple> EspOutsideWindow(const BucketOracle& oracle, uint32_t start,
                                    size_t want) {
  std::vector<Tuple> esp;
  for (uint32_t n = 0; esp.size() < want && n < 1'000'000; ++n) {
    Address src =
        Ipv4(172, 16, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n));
    Tuple tu = GenericTuple(Family::kIPv4, src, kServer, 50);
    Tuple rev = GenericTuple(Family::kIPv4, kServer, src, 50);
    if (!oracle.InWindow(oracle.Of(tu), start) &&
        !oracle.InWindow(oracle.Of(rev), start)) {
      esp.push_back(tu);
    }
  }
  EXPECT_EQ(esp.size(), want);
  return esp;
}

// §3.3 early-drop mode: after a failed allocation-time early drop, the next
// GC run kills non-ASSURED entries and ASSURED TCP entries in closing
// states, without counting early_drop, as long as the count is at least
// max95 = max / 100 * 95 = 95 here. Of 100 entries, six can be killed (a
// TIME_WAIT connection and five ESP entries): all six go, leaving 94.
TEST(EngineTable, GcEarlyDropModeAfterFailedEarlyDrop) {
  for (bool trigger : {false, true}) {
    SCOPED_TRACE(trigger ? "with a failed early drop" : "control");
    Harness h(SmallTable(100));
    BucketOracle oracle(512, h.seed());
    const Endpoints fresh = ClientFlow(0);
    const uint32_t start = oracle.Of(UdpTuple(fresh));

    // An ASSURED TCP connection closed to TIME_WAIT (120 s from 0.4 s).
    const Endpoints c2s =
        Ep4(Ipv4(10, 200, 0, 1), 40000, Ipv4(10, 200, 0, 2), 80);
    const Endpoints s2c = c2s.Reversed();
    using namespace tcpflag;
    ASSERT_EQ(h.Send(Tcp(c2s, 1000, 0, kSyn), 0.0), Verdict::kNew);
    ASSERT_EQ(h.Send(Tcp(s2c, 5000, 1001, kSyn | kAck), 0.1),
              Verdict::kEstablished);
    ASSERT_EQ(h.Send(Tcp(c2s, 1001, 5001, kAck), 0.2), Verdict::kEstablished);
    ASSERT_EQ(h.Send(Tcp(c2s, 1001, 5001, kFin | kAck), 0.3),
              Verdict::kEstablished);
    ASSERT_EQ(h.Send(Tcp(s2c, 5001, 1002, kFin | kAck), 0.35),
              Verdict::kEstablished);
    ASSERT_EQ(h.Send(Tcp(c2s, 1002, 5002, kAck), 0.4), Verdict::kEstablished);
    ASSERT_TRUE(
        h.FlowIs(TcpTuple(c2s), {"TIME_WAIT", 120, kAssured, kReplied}));
    // 94 ASSURED UDP streams (120 s from 3.0 s): never killed.
    std::vector<Endpoints> streams;
    for (uint32_t n = 1; n <= 94; ++n) streams.push_back(ClientFlow(n));
    MakeUdpStreams(h, streams, 0.5);
    // Five generic (ESP) entries outside the fresh flow's window.
    const std::vector<Tuple> esp = EspOutsideWindow(oracle, start, 5);
    for (const Tuple& tu : esp) {
      ASSERT_EQ(h.Send(Generic(Family::kIPv4, tu.src, tu.dst, 50), 3.1),
                Verdict::kNew);
    }
    ASSERT_EQ(h.count(), 100u);

    if (trigger) {
      EXPECT_EQ(h.Send(Udp(fresh), 3.2), Verdict::kDrop);
      EXPECT_TRUE(StatsAre(h.stats(), {.drop = 1}));
    }
    // The GC runs at 1 s and then within 60 s: by 62 s it has run again.
    h.AdvanceTo(62.0);
    for (const Endpoints& ep : streams) {
      EXPECT_TRUE(h.Find(UdpTuple(ep)).has_value());
    }
    if (trigger) {
      EXPECT_EQ(h.count(), 94u);
      EXPECT_TRUE(h.Gone(TcpTuple(c2s)));
      for (const Tuple& tu : esp) EXPECT_TRUE(h.Gone(tu));
      EXPECT_EQ(h.counters().gc_early_drops, 6u);
      EXPECT_TRUE(StatsAre(h.stats(), {.drop = 1}));
    } else {
      EXPECT_EQ(h.count(), 100u);
      EXPECT_EQ(h.counters().gc_early_drops, 0u);
      EXPECT_TRUE(StatsAre(h.stats(), {}));
    }
  }
}

// §3.3, with a small max: max95 = max / 100 * 95 is 0 for any max below 100,
// and the kernel then skips the early-drop mode altogether, so a table of 10
// or 99 non-ASSURED entries stays full after a failed early drop. At 100 the
// mode applies and kills until the count is below 95 (measured on this
// kernel: 99 -> 99, 10 -> 10, 100 -> 94 at the GC's next run).
TEST(EngineTable, GcEarlyDropModeNeedsMaxOfAtLeast100) {
  struct Case {
    uint32_t max;
    uint32_t left;
  };
  for (const Case& c : {Case{10, 10}, Case{99, 99}, Case{100, 94}}) {
    SCOPED_TRACE(::testing::Message() << "max " << c.max);
    Harness h(SmallTable(c.max));
    BucketOracle oracle(512, h.seed());
    const Endpoints fresh = ClientFlow(0);
    const std::vector<Tuple> esp =
        EspOutsideWindow(oracle, oracle.Of(UdpTuple(fresh)), c.max);
    for (const Tuple& tu : esp) {
      ASSERT_EQ(h.Send(Generic(Family::kIPv4, tu.src, tu.dst, 50), 0.5),
                Verdict::kNew);
    }
    ASSERT_EQ(h.count(), c.max);
    EXPECT_EQ(h.Send(Udp(fresh), 3.0), Verdict::kDrop);
    h.AdvanceTo(62.0);
    EXPECT_EQ(h.count(), c.left);
    EXPECT_EQ(h.counters().gc_early_drops, c.max - c.left);
    EXPECT_TRUE(StatsAre(h.stats(), {.drop = 1}));
  }
}

// Capture clocks can step back; the engine treats that as time standing
// still (jiffies never decrease): a packet stamped earlier than the last one
// is processed at the last one's time.
TEST(EngineTable, TimeGoingBackwardsStandsStill) {
  Harness h;
  const Endpoints ep = ClientFlow(0);
  EXPECT_EQ(h.Send(Udp(ep), 10.0), Verdict::kNew);
  EXPECT_EQ(h.Send(Udp(ep.Reversed()), 5.0), Verdict::kEstablished);
  // Refreshed at 10 s (not 5 s): 30 s from 10 s.
  std::optional<FlowInfo> f = h.FindAt(UdpTuple(ep), 36.0);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->timeout_s, 4u);
  EXPECT_TRUE(f->seen_reply);
  EXPECT_TRUE(h.FindAt(UdpTuple(ep), 39.996).has_value());
  EXPECT_FALSE(h.FindAt(UdpTuple(ep), 40.0).has_value());
  // The 2-second rule measures from the first packet at 10 s: 12.1 s makes
  // a stream, even after the clock went back.
  EXPECT_EQ(h.Send(Udp(ep), 12.1), Verdict::kEstablished);
  EXPECT_TRUE(h.FlowIs(UdpTuple(ep), {nullptr, 120, kAssured, kReplied}));
}

// A timestamp far in the past does not resurrect expired entries either.
TEST(EngineTable, BackwardsClockDoesNotUnexpire) {
  Harness h;
  const Endpoints ep = ClientFlow(0);
  EXPECT_EQ(h.Send(Udp(ep), 0.0), Verdict::kNew);
  EXPECT_EQ(h.Send(Udp(ClientFlow(1)), 40.0), Verdict::kNew);
  // Stamped 5 s but processed at 40 s: the first flow has expired, so this
  // is a new flow, not a refresh.
  EXPECT_EQ(h.Send(Udp(ep), 5.0), Verdict::kNew);
  EXPECT_TRUE(h.FlowIs(UdpTuple(ep), {nullptr, 30, kNotAssured, kUnreplied}));
  EXPECT_EQ(h.counters().created, 3u);
}

}  // namespace
}  // namespace ctkit

namespace ctkit {
namespace {

// The opt-in adaptive policy (not Linux): with start 2 and end 6 entries, a
// refresh at count 4 gets half the timeout; at or past the end, none.
TEST(EngineAdaptive, TimeoutsShrinkLinearlyBetweenStartAndEnd) {
  Tunables t;
  t.max = 16;
  t.buckets = 512;
  EngineOptions opts;
  opts.adaptive_start = 2;
  opts.adaptive_end = 6;
  auto engine = Engine::Create(t, opts);
  ASSERT_TRUE(engine);
  std::vector<uint8_t> buf;
  auto send = [&](uint8_t host, uint64_t at_ns) {
    buf.clear();
    Endpoints ep{Family::kIPv4, Ipv4(10, 0, 0, host), Ipv4(10, 0, 1, 1), 1000,
                 53};
    BuildUdp(ep, 10, &buf);
    PacketView v{};
    EXPECT_EQ(DecodeIp(buf.data(), static_cast<uint32_t>(buf.size()), &v),
              DecodeStatus::kOk);
    return (*engine)->Process(v, at_ns);
  };
  auto timeout_of = [&](uint8_t host) {
    Tuple tu{};
    tu.src = Ipv4(10, 0, 0, host);
    tu.dst = Ipv4(10, 0, 1, 1);
    tu.src_port_or_icmp_id = 1000;
    tu.dst_port_or_icmp_type_code = 53;
    tu.l4_proto = ipproto::kUdp;
    auto f = (*engine)->Find(tu, 0);
    return f ? f->timeout_s : 9999u;
  };
  for (uint8_t h = 1; h <= 3; ++h) send(h, 0);
  // Flows 1 and 2 were created at counts 1 and 2 (each counts itself;
  // <= start): the full 30 s.
  EXPECT_EQ(timeout_of(1), 30u);
  EXPECT_EQ(timeout_of(2), 30u);
  // Flow 3 was refreshed with count 3 (it counts itself): 30 * 3/4.
  EXPECT_EQ(timeout_of(3), 22u);
  send(4, 0);  // count 4: 30 * 2/4 = 15
  EXPECT_EQ(timeout_of(4), 15u);
}

}  // namespace
}  // namespace ctkit
