// The replay driver itself (RunReplay's pump): however it cuts the capture
// into batches (32 packets with one thread, 16384 with read-ahead, one at a
// time with a timeline), whether a second thread reads ahead, and however
// many engine threads run, every packet's verdict and the report's figures
// are the ones the kernel model gives for the packets the test wrote; the
// table at the end is the one right after the last packet, with no time
// added; a capture cut short ends the report at the last whole record and
// names the offset of the broken one.
//
// Expected values: a UDP packet of a flow not in the table is NEW and
// creates an entry; the reply direction of a known flow is ESTABLISHED and
// creates none; an unreplied UDP entry lives nf_conntrack_udp_timeout
// (30 s, 7500 jiffies at HZ 250) from its packet (docs/kernel-model.md §7).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "ctkit/engine.h"
#include "gen/packet_builder.h"
#include "gen/pcap_writer.h"
#include "replay/replay.h"
#include "report/replay_output.h"
#include "testing/workload_capture_test_util.h"

namespace ctkit {
namespace {

constexpr uint64_t kStartNs = 1700000000ull * 1000000000ull;

struct Packet {
  uint64_t ts_ns;
  Endpoints ep;
};

// Query i from 10.0.(i>>8).(i&255):(1024+i) to 10.1.0.1:53.
Endpoints Query(uint32_t i) {
  Endpoints ep;
  ep.src =
      Ipv4(10, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i & 255));
  ep.dst = Ipv4(10, 1, 0, 1);
  ep.sport = static_cast<uint16_t>(1024 + (i % 60000));
  ep.dport = 53;
  return ep;
}

// Writes `packets` as a raw-IP pcap (UDP, no payload: 28-byte records).
std::string WriteCapture(const std::string& name,
                         const std::vector<Packet>& packets) {
  std::string path = ::testing::TempDir() + "/replay_driver_" + name + "_" +
                     std::to_string(getpid()) + ".pcap";
  auto w = PcapWriter::Create(path, 101);
  EXPECT_TRUE(w.has_value());
  std::vector<uint8_t> buf;
  for (const Packet& p : packets) {
    buf.clear();
    BuildUdp(p.ep, 0, &buf);
    EXPECT_TRUE((*w)->Write(p.ts_ns, buf).has_value());
  }
  EXPECT_TRUE((*w)->Close().has_value());
  return path;
}

// n packets alternating query i, reply i (i = 0, 1, ...), 1 us apart.
std::vector<Packet> QueriesAndReplies(uint32_t n) {
  std::vector<Packet> v;
  for (uint32_t k = 0; k < n; ++k) {
    Endpoints ep = Query(k / 2);
    v.push_back({kStartNs + 1000ull * k, k % 2 ? ep.Reversed() : ep});
  }
  return v;
}

// How RunReplay is asked to run: the batch size and read-ahead follow from
// these (replay.cc's PumpPlan).
struct Mode {
  const char* name;
  unsigned threads;
  uint64_t timeline_ns;
};
const Mode kModes[] = {
    {"one thread, batches of 32", 1, 0},
    {"read-ahead, batches of 16384", 2, 0},
    {"read-ahead, two engine threads", 3, 0},
    {"timeline, one packet at a time", 2, 1000000},
};

ReplayOptions OptionsFor(const Mode& m) {
  ReplayOptions o;
  o.engine.threads = m.threads;
  o.timeline_interval_ns = m.timeline_ns;
  o.composition = false;
  return o;
}

class ReplayDriverBatching : public ::testing::TestWithParam<uint32_t> {};

TEST_P(ReplayDriverBatching, EveryModeGivesTheModelsVerdictsAndFigures) {
  const uint32_t n = GetParam();
  const std::string path =
      WriteCapture("batch" + std::to_string(n), QueriesAndReplies(n));
  const uint64_t queries = (n + 1) / 2;
  for (const Mode& m : kModes) {
    SCOPED_TRACE(m.name);
    ReplayOptions o = OptionsFor(m);
    std::vector<uint64_t> indices;
    std::vector<Verdict> verdicts;
    o.on_packet = [&](uint64_t index, const PacketOutcome& out) {
      indices.push_back(index);
      EXPECT_FALSE(out.skipped) << "packet " << index;
      verdicts.push_back(out.verdict);
    };
    auto r = RunReplay(path, o);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_FALSE(r->read_error.has_value());
    ASSERT_EQ(indices.size(), n);
    size_t wrong = 0;
    for (uint32_t k = 0; k < n; ++k) {
      EXPECT_EQ(indices[k], k + 1u);
      const Verdict want = k % 2 ? Verdict::kEstablished : Verdict::kNew;
      if (verdicts[k] != want && ++wrong <= 3) {
        ADD_FAILURE() << "packet " << k + 1 << ": verdict "
                      << static_cast<int>(verdicts[k]) << ", want "
                      << static_cast<int>(want);
      }
    }
    EXPECT_EQ(wrong, 0u);
    EXPECT_EQ(r->packets_read, n);
    EXPECT_EQ(r->decoded, n);
    EXPECT_EQ(r->first_ts_ns, kStartNs);
    EXPECT_EQ(r->last_ts_ns, kStartNs + 1000ull * (n - 1));
    EXPECT_EQ(r->counters.created, queries);
    EXPECT_EQ(r->counters.verdicts[static_cast<int>(Verdict::kNew)], queries);
    EXPECT_EQ(r->counters.verdicts[static_cast<int>(Verdict::kEstablished)],
              n / 2);
    EXPECT_EQ(r->final_count, queries);
    EXPECT_EQ(r->peak_count, queries);
    // The peak is first reached by the last query: packet 2q-1.
    EXPECT_EQ(r->peak_index, 2 * queries - 1);
    EXPECT_EQ(r->peak_ts_ns, kStartNs + 1000ull * (2 * queries - 2));
    EXPECT_FALSE(r->first_drop_index.has_value());
    uint64_t at_end = 0;
    for (uint64_t c : r->at_end_by_class) at_end += c;
    EXPECT_EQ(at_end, queries);
  }
  std::remove(path.c_str());
}

// Around each batch size: a batch that ends exactly at the capture's end,
// one packet short of it, one past it, and a capture of a single packet.
INSTANTIATE_TEST_SUITE_P(Sizes, ReplayDriverBatching,
                         ::testing::Values(1u, 31u, 32u, 33u, 64u, 65u, 16383u,
                                           16384u, 16385u, 32769u));

// The table at the end is the one right after the last packet: the driver
// adds no time. An unreplied UDP entry made at 0 s with 30 s to live still
// has one jiffy left at 29.999 s (jiffy 7499 of 7500), so it is live at the
// end; one more jiffy would have expired it.
TEST(ReplayDriver, TheTableAtTheEndIsTakenAtTheLastPacketsTime) {
  const uint64_t last = kStartNs + 29999000000ull;
  const std::string path =
      WriteCapture("end", {{kStartNs, Query(0)}, {last, Query(1)}});
  for (const Mode& m : kModes) {
    SCOPED_TRACE(m.name);
    std::unique_ptr<Engine> engine;
    auto r = RunReplay(path, OptionsFor(m), &engine);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->final_count, 2u);
    uint64_t at_end = 0;
    for (uint64_t c : r->at_end_by_class) at_end += c;
    EXPECT_EQ(at_end, 2u);
    ASSERT_NE(engine, nullptr);
    std::vector<int32_t> remaining;
    std::vector<uint32_t> dump_timeouts;
    engine->Visit(r->last_ts_ns, [&](const FlowInfo& f) {
      remaining.push_back(f.remaining_jiffies);
      dump_timeouts.push_back(DumpTimeoutSeconds(f));
    });
    std::sort(remaining.begin(), remaining.end());
    std::sort(dump_timeouts.begin(), dump_timeouts.end());
    // Query 0: 1 jiffy left; query 1: all 7500. conntrack -L, a jiffy
    // later at least, shows 0 s and 29 s.
    EXPECT_EQ(remaining, (std::vector<int32_t>{1, 7500}));
    EXPECT_EQ(dump_timeouts, (std::vector<uint32_t>{0, 29}));
  }
  std::remove(path.c_str());
}

// A capture whose last record is cut short: the report covers the whole
// records before it, in every mode (the error can arrive in the middle of a
// read-ahead batch), and the error names the file and the broken record's
// offset: 24 bytes of file header, then 16 + 28 bytes per record.
TEST(ReplayDriver, ATruncatedCaptureEndsAtTheLastWholeRecordWithItsOffset) {
  constexpr uint32_t kPackets = 40;
  const std::string path = WriteCapture("trunc", QueriesAndReplies(kPackets));
  {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
    ASSERT_EQ(bytes.size(), 24u + kPackets * (16u + 28u));
    bytes.resize(bytes.size() - 10);  // into the last record's data
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  const uint64_t whole = kPackets - 1;
  const std::string want = path + ": truncated capture at offset " +
                           std::to_string(24 + whole * 44) + " after " +
                           std::to_string(whole) + " records";
  for (const Mode& m : kModes) {
    SCOPED_TRACE(m.name);
    ReplayOptions o = OptionsFor(m);
    uint64_t seen = 0;
    o.on_packet = [&](uint64_t, const PacketOutcome&) { ++seen; };
    auto r = RunReplay(path, o);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    ASSERT_TRUE(r->read_error.has_value());
    EXPECT_EQ(r->read_error->code, ErrorCode::kCorrupt);
    EXPECT_EQ(r->read_error->message.substr(0, want.size()), want)
        << r->read_error->message;
    EXPECT_EQ(r->packets_read, whole);
    EXPECT_EQ(seen, whole);
    // Packets 1..39: 20 queries (NEW), 19 replies.
    EXPECT_EQ(r->counters.created, 20u);
    EXPECT_EQ(r->final_count, 20u);
  }
  std::remove(path.c_str());
}

// whatif's shape: one reading of the capture feeds several engines under
// different settings, on one to three threads; each report is the one a
// replay of its own would give (the same JSON document), whichever thread
// tracked it. The settings make the table fill, drop and early-drop in some
// sets and not in others, and one set runs the adaptive-timeout policy.
TEST(RunReplays, OneReadingGivesEachSetTheReportOfItsOwnReplay) {
  const WorkloadCapture capture({"mixed", 6000, 3000, 0, 17});
  std::vector<ReplayOptions> sets;
  for (uint32_t max : {500u, 1500u, 8000u}) {
    ReplayOptions o;
    o.tunables.max = max;
    o.tunables.buckets = 1024;
    o.tunables.udp_timeout = max == 1500 ? 5 : 30;
    o.composition = false;
    o.engine.huge_pages = false;
    sets.push_back(o);
  }
  sets.back().engine.adaptive_start = 600;
  sets.back().engine.adaptive_end = 1200;
  std::vector<std::string> alone;
  for (const ReplayOptions& o : sets) {
    auto r = RunReplay(capture.path(), o);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    alone.push_back(
        ReplayToJson(*r, o.tunables, nullptr, nullptr, nullptr).dump());
  }
  // The sets differ, or the test would prove little.
  EXPECT_NE(alone[0], alone[1]);
  EXPECT_NE(alone[1], alone[2]);
  for (unsigned threads : {1u, 2u, 3u}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    auto all = RunReplays([&] { return CaptureReader::Open(capture.path()); },
                          capture.path(), sets, threads);
    ASSERT_TRUE(all.has_value()) << all.error().message;
    ASSERT_EQ(all->size(), sets.size());
    for (size_t i = 0; i < sets.size(); ++i) {
      EXPECT_EQ(
          ReplayToJson((*all)[i], sets[i].tunables, nullptr, nullptr, nullptr)
              .dump(),
          alone[i])
          << "set " << i;
    }
  }
}

TEST(RunReplays, ATimelineCannotShareBatches) {
  const WorkloadCapture capture({"dns-storm", 100, 1000, 0, 1});
  ReplayOptions o;
  o.timeline_interval_ns = 1000000000;
  auto all = RunReplays([&] { return CaptureReader::Open(capture.path()); },
                        capture.path(), {o}, 1);
  ASSERT_FALSE(all.has_value());
  EXPECT_EQ(all.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace ctkit

namespace ctkit {
namespace {

// The curve the HTML report draws (ReplayReport::curve). 20000 queries
// without replies, 1 ms apart: each makes an unreplied UDP entry with 30 s
// to live, so none expires inside the 20 s capture and after packet k
// (0-based) the table holds k + 1 entries, all of the class "udp
// UNREPLIED" (docs/kernel-model.md §7). In every mode the curve is in time
// order, at most 512 points, each the table right after a packet, and its
// last point is the table after the last packet; with fine_curve on
// several threads the points are at most 2048 packets apart.
TEST(ReplayDriver, TheCurveFollowsTheTableInBoundedPoints) {
  constexpr uint32_t kQueries = 20000;
  std::vector<Packet> packets;
  for (uint32_t k = 0; k < kQueries; ++k) {
    packets.push_back({kStartNs + 1000000ull * k, Query(k)});
  }
  const std::string path = WriteCapture("curve", packets);
  for (const Mode& m : kModes) {
    SCOPED_TRACE(m.name);
    ReplayOptions o = OptionsFor(m);
    o.composition = true;
    o.fine_curve = true;
    auto r = RunReplay(path, o);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    const auto& curve = r->curve;
    ASSERT_FALSE(curve.empty());
    EXPECT_LE(curve.size(), ReplayReport::kMaxCurvePoints);
    EXPECT_GE(curve.size(), kQueries / 2048);
    uint64_t prev_t = 0;
    uint64_t prev_packets = 0;
    for (const CurvePoint& p : curve) {
      ASSERT_GE(p.t_ns, kStartNs);
      EXPECT_GT(p.t_ns, prev_t);
      const uint64_t packets_by_then = (p.t_ns - kStartNs) / 1000000ull + 1;
      EXPECT_EQ(p.count, packets_by_then);
      EXPECT_EQ(p.created, packets_by_then);
      EXPECT_EQ(p.destroyed, 0u);
      EXPECT_EQ(p.drop, 0u);
      EXPECT_EQ(p.by_class[static_cast<size_t>(LifetimeKind::kUdpUnreplied)],
                p.count);
      EXPECT_LE(packets_by_then - prev_packets, 2048u);
      prev_t = p.t_ns;
      prev_packets = packets_by_then;
    }
    EXPECT_EQ(curve.back().t_ns, r->last_ts_ns);
    EXPECT_EQ(curve.back().count, kQueries);
  }
  std::remove(path.c_str());
}

// Fragments go through reassembly before the engine, as the kernel's
// defragmentation runs before conntrack (docs/kernel-model.md §14; the
// probes behind tests/fidelity/s-frag-udp4): of a 1200-byte query in three
// fragments only the last shows a verdict, the others are held; the entry
// counts one packet of 1228 bytes (accounting on), the answer 1 of 28.
// The second query's fragments arrive last-first and complete on the
// middle one; a third datagram never gets its last fragment and is still
// held at the end. Every batching mode gives the same.
TEST(ReplayDriverFragments, OnlyTheCompletingFragmentCarriesTheDatagram) {
  const Endpoints ep{Family::kIPv4, Ipv4(10, 1, 0, 2), Ipv4(10, 2, 0, 2), 5000,
                     53};
  std::vector<uint8_t> query, answer;
  BuildUdp(ep, 1200, &query);
  BuildUdp(ep.Reversed(), 0, &answer);
  std::vector<std::vector<uint8_t>> pkts;
  auto frag = [&](uint32_t from, uint32_t to, uint32_t id) {
    std::vector<uint8_t> f;
    EXPECT_GT(BuildFragment(query, from, to, id, &f), 0u);
    pkts.push_back(f);
  };
  frag(0, 488, 1);
  frag(488, 976, 1);
  frag(976, 1208, 1);
  pkts.push_back(answer);
  frag(976, 1208, 2);
  frag(0, 488, 2);
  frag(488, 976, 2);
  frag(0, 488, 3);
  frag(488, 976, 3);
  const std::string path = ::testing::TempDir() + "/replay_driver_frag_" +
                           std::to_string(getpid()) + ".pcap";
  {
    auto w = PcapWriter::Create(path, 101);
    ASSERT_TRUE(w.has_value());
    for (size_t i = 0; i < pkts.size(); ++i) {
      ASSERT_TRUE((*w)->Write(kStartNs + 1000000ull * i, pkts[i]).has_value());
    }
    ASSERT_TRUE((*w)->Close().has_value());
  }
  const std::vector<std::string> want = {
      "SKIP fragment-held", "SKIP fragment-held", "NEW",
      "ESTABLISHED",        "SKIP fragment-held", "SKIP fragment-held",
      "ESTABLISHED",        "SKIP fragment-held", "SKIP fragment-held"};
  for (const Mode& m : kModes) {
    SCOPED_TRACE(m.name);
    ReplayOptions o = OptionsFor(m);
    o.tunables.acct = 1;
    std::vector<std::string> got;
    o.on_packet = [&](uint64_t, const PacketOutcome& out) {
      got.push_back(OutcomeName(out));
    };
    std::unique_ptr<Engine> engine;
    auto r = RunReplay(path, o, &engine);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(got, want);
    EXPECT_EQ(r->decoded, 3u);
    EXPECT_EQ(r->defrag.fragments, 8u);
    EXPECT_EQ(r->defrag.datagrams, 2u);
    EXPECT_EQ(r->defrag.held_fragments, 2u);
    int entries = 0;
    engine->Dump(r->last_ts_ns, [&](const FlowInfo& f) {
      ++entries;
      EXPECT_EQ(f.packets[0], 2u);
      EXPECT_EQ(f.bytes[0], 2u * 1228u);
      EXPECT_EQ(f.packets[1], 1u);
      EXPECT_EQ(f.bytes[1], 28u);
    });
    EXPECT_EQ(entries, 1);
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ctkit
