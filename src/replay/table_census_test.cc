// The census (table_census.h) against the table itself: a replay's
// composition at the peak, kept from events as the packets went by, is what
// a walk of the table right after the peak's packet finds — counts by
// protocol, TCP state, lifetime class and flag, the entries already expired
// but not yet reaped, and the top sources, destinations and ports. The walk
// is of a second engine run up to the peak's packet, the way the report was
// taken before the census; the traffic fills a small table and lets entries
// expire, so that every part of the census moves both ways.
#include "replay/table_census.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "ctkit/capture.h"
#include "ctkit/decode.h"
#include "proto/tracker.h"
#include "replay/replay.h"
#include "report/lifetime.h"
#include "testing/workload_capture_test_util.h"

namespace ctkit {
namespace {

// The composition of `path`'s table right after packet `stop` (1-based), by
// walking a fresh engine's table there.
TableComposition WalkAt(const std::string& path, const Tunables& t,
                        uint64_t stop, uint64_t stop_ts, size_t top_n) {
  EngineOptions o;
  o.hash_seed = kFixedHashSeed;
  o.huge_pages = false;
  auto engine = Engine::Create(t, o);
  EXPECT_TRUE(engine.has_value());
  auto reader = CaptureReader::Open(path);
  EXPECT_TRUE(reader.has_value());
  CaptureRecord rec{};
  PacketView v{};
  for (uint64_t i = 1; i <= stop && (*reader)->Next(&rec); ++i) {
    if (DecodeFrame(rec.link_type, rec.data, rec.caplen, &v) ==
        DecodeStatus::kOk) {
      (*engine)->Process(v, rec.ts_ns);
    }
  }
  CompositionBuilder b;
  std::map<std::string, uint64_t> classes;
  uint64_t expired = 0;
  (*engine)->Visit(stop_ts, [&](const FlowInfo& f) {
    b.Add(SummaryEntryOf(f));
    std::string k = ProtoName(f.original.l4_proto);
    if (f.state != nullptr) k += std::string(" ") + f.state;
    k += f.assured ? " ASSURED" : f.seen_reply ? " replied" : " UNREPLIED";
    ++classes[k];
    if (f.remaining_jiffies <= 0) ++expired;
  });
  TableComposition c = b.Finish(top_n);
  c.by_class = RankTallies(classes, classes.size());
  c.expired_unreaped = expired;
  return c;
}

void ExpectSameTallies(const std::vector<Tally>& census,
                       const std::vector<Tally>& walk, const char* what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(census.size(), walk.size());
  for (size_t i = 0; i < census.size(); ++i) {
    EXPECT_EQ(census[i].key, walk[i].key);
    EXPECT_EQ(census[i].entries, walk[i].entries);
  }
}

// Stores the walk's composition (of the last run) in *last, for the
// story's own checks.
void ExpectCensusIsTheWalk(const WorkloadSpec& spec, const Tunables& t,
                           TableComposition* last) {
  const WorkloadCapture capture(spec);
  const std::string& path = capture.path();
  for (unsigned threads : {1u, 2u}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    ReplayOptions o;
    o.tunables = t;
    o.engine.threads = threads;
    o.engine.huge_pages = false;
    auto r = RunReplay(path, o);
    ASSERT_TRUE(r.has_value());
    ASSERT_TRUE(r->at_peak.has_value());
    ASSERT_GT(r->peak_index, 0u);
    const TableComposition& census = *r->at_peak;
    const TableComposition walk =
        WalkAt(path, t, r->peak_index, r->peak_ts_ns, o.top_n);
    EXPECT_EQ(census.total, r->peak_count);
    EXPECT_EQ(census.total, walk.total);
    EXPECT_EQ(census.ranked_at, census.total);  // a peak of at most 4096
    EXPECT_EQ(census.assured, walk.assured);
    EXPECT_EQ(census.unreplied, walk.unreplied);
    EXPECT_EQ(census.udp, walk.udp);
    EXPECT_EQ(census.unreplied_udp, walk.unreplied_udp);
    EXPECT_EQ(census.expired_unreaped, walk.expired_unreaped);
    ExpectSameTallies(census.by_protocol, walk.by_protocol, "protocol");
    ExpectSameTallies(census.by_tcp_state, walk.by_tcp_state, "tcp state");
    ExpectSameTallies(census.by_class, walk.by_class, "class");
    ExpectSameTallies(census.top_sources, walk.top_sources, "sources");
    ExpectSameTallies(census.top_destinations, walk.top_destinations,
                      "destinations");
    ExpectSameTallies(census.top_dports, walk.top_dports, "dports");
    *last = walk;
  }
}

TEST(TableCensus, AFillingTableAtItsPeakIsWhatAWalkThereFinds) {
  // Web, DNS, pings and refused connections with a SYN flood mid-way into
  // a table of 1500 whose UDP and TIME_WAIT entries expire within seconds.
  WorkloadSpec spec{"mixed", 6000, 3000, 0, 11};
  Tunables t;
  t.max = 1500;
  t.buckets = 1024;
  t.udp_timeout = 3;
  t.tcp_timeout_time_wait = 2;
  TableComposition walk;
  ExpectCensusIsTheWalk(spec, t, &walk);
  EXPECT_EQ(walk.total, 1500u);  // it did fill
  EXPECT_GE(walk.by_tcp_state.size(), 3u);
  EXPECT_GE(walk.by_protocol.size(), 3u);
}

TEST(TableCensus, ExpiredEntriesAtThePeakAreCountedWhereverTheyEnd) {
  // DNS pairs at 2000/s with a 1 s UDP timeout and a table of 4000: the
  // peak holds entries whose time is up and that no GC pass reached yet.
  WorkloadSpec spec{"dns-storm", 8000, 2000, 0, 5};
  Tunables t;
  t.max = 4000;
  t.buckets = 4096;
  t.udp_timeout = 1;
  t.udp_timeout_stream = 1;
  TableComposition walk;
  ExpectCensusIsTheWalk(spec, t, &walk);
  EXPECT_GT(walk.expired_unreaped, 0u);
}

TEST(TableCensus, ABigPeaksTopListsAreTakenJustBeforeIt) {
  // 20000 spoofed SYNs: a peak above 4096, so the rankings are copied as
  // the count grows by 1/128, and the report says at what count.
  const WorkloadCapture capture({"syn-flood", 20000, 100000, 0, 3});
  ReplayOptions o;
  o.engine.huge_pages = false;
  auto r = RunReplay(capture.path(), o);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->at_peak.has_value());
  const TableComposition& c = *r->at_peak;
  EXPECT_EQ(c.total, 20000u);
  EXPECT_LE(c.ranked_at, c.total);
  EXPECT_GE(c.ranked_at * 129, c.total * 128);
  // One victim holds every entry counted.
  ASSERT_FALSE(c.top_destinations.empty());
  EXPECT_EQ(c.top_destinations[0].key, "192.0.2.10");
  EXPECT_EQ(c.top_destinations[0].entries, c.ranked_at);
  EXPECT_EQ(c.unreplied, 20000u);
}

}  // namespace
}  // namespace ctkit
