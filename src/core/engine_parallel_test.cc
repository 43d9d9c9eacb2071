// ProcessBatch with worker threads against the same run on one thread: the
// verdict of every packet, the count after every packet, every statistic
// and counter, and the final table (in dump order) must be identical, on
// workloads that exercise the serial hand-overs: a SYN flood that fills a
// small table (early drop, table full), TCP sessions with retransmissions,
// GC runs as virtual time passes, a clock that steps back and leaps ahead.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ctkit/decode.h"
#include "ctkit/engine.h"
#include "gen/workloads.h"
#include "testing/engine_test_util.h"

namespace ctkit::enginetest {
namespace {

struct Capture {
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<PacketView> views;
  std::vector<uint64_t> ts;
};

Capture Generate(const WorkloadSpec& spec) {
  Capture c;
  auto done = GenerateWorkload(spec, [&](uint64_t ts, auto pkt) {
    c.bytes.emplace_back(pkt.begin(), pkt.end());
    c.ts.push_back(ts);
  });
  EXPECT_TRUE(done.has_value());
  for (const auto& b : c.bytes) {
    PacketView v{};
    EXPECT_EQ(DecodeIp(b.data(), static_cast<uint32_t>(b.size()), &v),
              DecodeStatus::kOk);
    c.views.push_back(v);
  }
  return c;
}

void Append(Capture* to, const Capture& from, uint64_t shift_ns) {
  for (size_t i = 0; i < from.bytes.size(); ++i) {
    to->bytes.push_back(from.bytes[i]);
    to->ts.push_back(from.ts[i] + shift_ns);
  }
  // Views point into `bytes`, which may have moved: decode them afresh.
  to->views.clear();
  for (const auto& b : to->bytes) {
    PacketView v{};
    DecodeIp(b.data(), static_cast<uint32_t>(b.size()), &v);
    to->views.push_back(v);
  }
}

struct Outcome {
  std::vector<Verdict> verdicts;
  std::vector<uint32_t> counts;
  Stats stats;
  EngineCounters counters;
  std::vector<std::string> table;
  uint32_t count = 0;
};

// Runs `c` through `e` in batches of `chunk` packets.
Outcome Collect(std::unique_ptr<Engine>* e, const Capture& c, size_t chunk) {
  Outcome r;
  size_t n = c.views.size();
  r.verdicts.resize(n);
  r.counts.resize(n);
  for (size_t a = 0; a < n; a += chunk) {
    size_t m = std::min(chunk, n - a);
    (*e)->ProcessBatch(&c.views[a], &c.ts[a], m, &r.verdicts[a], &r.counts[a]);
  }
  r.stats = (*e)->stats();
  r.counters = (*e)->counters();
  r.count = (*e)->count();
  (*e)->Visit(c.ts.back(), [&](const FlowInfo& f) {
    r.table.push_back(Describe(f) + " " + std::to_string(f.remaining_jiffies));
  });
  // Visit goes in pool order, which depends on which thread allocated an
  // entry; the table's contents may not.
  std::sort(r.table.begin(), r.table.end());
  std::string why;
  EXPECT_TRUE((*e)->CheckInvariants(&why)) << why;
  return r;
}

Outcome RunEngine(const Capture& c, const Tunables& t, unsigned threads,
                  size_t chunk) {
  EngineOptions o;
  o.threads = threads;
  o.huge_pages = false;
  o.hash_seed = kFixedHashSeed;  // the same chains on every run
  auto e = Engine::Create(t, o);
  EXPECT_TRUE(e.has_value());
  return Collect(&*e, c, chunk);
}

void ExpectSame(const Outcome& one, const Outcome& many, unsigned threads) {
  SCOPED_TRACE("threads=" + std::to_string(threads));
  ASSERT_EQ(one.verdicts.size(), many.verdicts.size());
  for (size_t i = 0; i < one.verdicts.size(); ++i) {
    ASSERT_EQ(one.verdicts[i], many.verdicts[i])
        << "packet " << i << " count " << one.counts[i] << " vs "
        << many.counts[i] << "; before " << (i ? one.counts[i - 1] : 0)
        << " vs " << (i ? many.counts[i - 1] : 0) << "; table_full "
        << one.counters.table_full << " vs " << many.counters.table_full
        << "; early_drop " << one.stats.early_drop << " vs "
        << many.stats.early_drop;
    ASSERT_EQ(one.counts[i], many.counts[i]) << "packet " << i;
  }
  EXPECT_EQ(one.count, many.count);
  EXPECT_EQ(std::memcmp(&one.stats, &many.stats, sizeof(Stats)), 0);
  EngineCounters a = one.counters, b = many.counters;
  a.parallel_packets = b.parallel_packets = 0;
  EXPECT_EQ(std::memcmp(&a, &b, sizeof(EngineCounters)), 0);
  EXPECT_EQ(one.table, many.table);
}

void CheckAllThreadCounts(const Capture& c, const Tunables& t) {
  Outcome one = RunEngine(c, t, 1, 4096);
  EXPECT_EQ(one.counters.parallel_packets, 0u);
  for (unsigned threads : {2u, 3u, 4u}) {
    Outcome many = RunEngine(c, t, threads, 20000);
    ExpectSame(one, many, threads);
    // Not vacuous: most packets took the parallel path.
    EXPECT_GT(many.counters.parallel_packets, c.views.size() / 2)
        << "threads=" << threads;
  }
}

TEST(EngineParallel, MixedTrafficMatchesOneThread) {
  Capture c = Generate({.kind = "mixed", .flows = 20000, .rate = 2000});
  Tunables t;
  CheckAllThreadCounts(c, t);
}

TEST(EngineParallel, TcpWithRetransmissionsMatchesOneThread) {
  Capture c = Generate({.kind = "tcp-lossy", .flows = 5000, .rate = 20000});
  Tunables t;
  t.max = 4096;  // fills now and then: serial stretches in between
  t.buckets = 1024;
  Outcome one = RunEngine(c, t, 1, 4096);
  EXPECT_GT(one.stats.drop + one.stats.early_drop, 0u);
  for (unsigned threads : {2u, 4u})
    ExpectSame(one, RunEngine(c, t, threads, 20000), threads);
}

TEST(EngineParallel, SynFloodIntoSmallTableMatchesOneThread) {
  // 40000 SYNs into a table of 30000: the first 29000 or so run in
  // parallel, the rest serially (early drop, then DROP with a log line).
  Capture c = Generate({.kind = "syn-flood", .flows = 40000, .rate = 1e6});
  Tunables t;
  t.max = 30000;
  Outcome one = RunEngine(c, t, 1, 4096);
  EXPECT_EQ(one.count, 30000u);
  EXPECT_GT(one.stats.early_drop + one.stats.drop, 0u);
  Outcome two = RunEngine(c, t, 2, 40000);
  ExpectSame(one, two, 2);
  EXPECT_GT(two.counters.parallel_packets, 20000u);
}

TEST(EngineParallel, ClockStepsAndGcMatchOneThread) {
  // Round-robin UDP (GC runs every second of virtual time reap nothing),
  // then the same traffic again 10 minutes later (everything expired: the
  // GC and lazy reaping delete), then 200 days later (a step CrossLongGap
  // handles), then a stretch whose clock steps back.
  Capture base = Generate({.kind = "udp-roundrobin",
                           .flows = 3000,
                           .rate = 50000,
                           .packets = 30000});
  Capture c;
  Append(&c, base, 0);
  Append(&c, base, 600ull * 1'000'000'000);
  Append(&c, base, 200ull * 86400 * 1'000'000'000);
  Append(&c, base, 200ull * 86400 * 1'000'000'000 - 5'000'000'000);
  Tunables t;
  CheckAllThreadCounts(c, t);
}

TEST(EngineParallel, EventsOrAdaptiveTimeoutsStaySerial) {
  Capture c = Generate({.kind = "dns-storm", .flows = 5000, .rate = 1e5});
  Tunables t;
  EngineOptions o;
  o.threads = 2;
  size_t events = 0;
  o.on_event = [&](const Event&) { ++events; };
  auto e = Engine::Create(t, o);
  ASSERT_TRUE(e.has_value());
  std::vector<Verdict> v(c.views.size());
  (*e)->ProcessBatch(c.views.data(), c.ts.data(), c.views.size(), v.data());
  EXPECT_EQ((*e)->counters().parallel_packets, 0u);
  EXPECT_EQ(events, 2 * 5000u);  // NEW and UPDATE (reply seen) per query
}

// Reset(t) leaves nothing of the story before it: the next story gives the
// verdicts, counts, counters and table of a fresh engine created with t,
// on one thread and on two (whose workers are kept).
TEST(EngineReset, AResetEngineRunsAsAFreshOne) {
  Capture flood = Generate({.kind = "syn-flood", .flows = 6000, .rate = 1e5});
  Capture story =
      Generate({.kind = "tcp-lossy", .flows = 2000, .rate = 20000, .seed = 5});
  Tunables before;
  before.max = 4096;
  before.buckets = 1024;
  Tunables after = before;
  after.max = 1500;  // fills: early drop and DROP
  after.acct = true;
  after.timestamp = true;
  after.tcp_loose = false;
  after.tcp_timeout_established = 30;
  for (unsigned threads : {1u, 2u}) {
    SCOPED_TRACE("threads=" + std::to_string(threads));
    EngineOptions o;
    o.threads = threads;
    o.huge_pages = false;
    o.hash_seed = kFixedHashSeed;  // compared with RunEngine, in table order
    auto e = Engine::Create(before, o);
    ASSERT_TRUE(e.has_value());
    Outcome first = Collect(&*e, flood, 4096);
    ASSERT_GT(first.count, 4000u);  // nearly full, with counters to forget
    ASSERT_TRUE((*e)->Reset(after).has_value());
    EXPECT_EQ((*e)->count(), 0u);
    EXPECT_EQ((*e)->tunables().max, 1500u);
    Outcome reset = Collect(&*e, story, 4096);
    Outcome fresh = RunEngine(story, after, threads, 4096);
    EXPECT_GT(fresh.stats.drop + fresh.stats.early_drop, 0u);
    ExpectSame(fresh, reset, threads);
  }
}

// Settings the table cannot hold are refused, and change nothing.
TEST(EngineReset, SettingsBeyondTheTableAreRefused) {
  Tunables t;
  t.max = 100;
  t.buckets = 512;
  auto e = Engine::Create(t, {});
  ASSERT_TRUE(e.has_value());
  Tunables bigger = t, unlimited = t, rehashed = t;
  bigger.max = 101;
  unlimited.max = 0;
  rehashed.buckets = 1024;
  for (const Tunables& bad : {bigger, unlimited, rehashed}) {
    auto r = (*e)->Reset(bad);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("nf_conntrack_"), std::string::npos)
        << r.error().message;
    EXPECT_EQ((*e)->tunables().max, 100u);
    EXPECT_EQ((*e)->tunables().buckets, 512u);
  }
  Tunables smaller = t;
  smaller.max = 1;
  smaller.buckets = 300;  // rounds to 512, as Create would
  EXPECT_TRUE((*e)->Reset(smaller).has_value());
  EXPECT_EQ((*e)->tunables().max, 1u);
}

}  // namespace
}  // namespace ctkit::enginetest
