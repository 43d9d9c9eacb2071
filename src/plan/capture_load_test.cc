// A capture's load per lifetime class: the steady-state estimate from
// counts worked by hand with Little's law (entries = rate x lifetime), the
// spec's lifetimes (§6.6 SYN_SENT and TIME_WAIT 120 s, §7 UDP) and its GC
// interval (§3.3: the mean remaining lifetime, clamped to [1 s, 60 s]);
// then whole replays of generated captures whose rates the generator fixes.
#include "plan/capture_load.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <span>
#include <string>

#include "testing/workload_capture_test_util.h"

namespace ctkit {
namespace {

ClassLoad Class(LifetimeKind kind) {
  ClassLoad c;
  c.kind = kind;
  c.info = DescribeLifetime(kind, Tunables{});
  return c;
}

TEST(EstimateSteadyState, IdleEntriesExtrapolateToRateTimesLifetimeAndGcLag) {
  // 10 s of sessions closing at 100/s: 1000 TIME_WAIT entries, all idle
  // since they entered, half of them in each half of the capture.
  CaptureLoad l;
  l.duration_s = 10;
  l.packets = 10000;
  l.new_entries[0] = l.new_entries[1] = 500;
  ClassLoad tw = Class(LifetimeKind::kTcpTimeWait);
  tw.entered = tw.at_end = tw.resting_at_end = 1000;
  tw.idle_by_half[0] = tw.idle_by_half[1] = 500;
  l.classes.push_back(tw);
  EstimateSteadyState(&l);
  const ClassLoad& c = l.classes[0];
  EXPECT_TRUE(c.shorter_than_lifetime);
  EXPECT_DOUBLE_EQ(c.rest_rate, 100.0);  // 500 entries in 5 s
  // The GC meets idle entries with 60 s left on average: a 60 s interval.
  EXPECT_DOUBLE_EQ(l.gc_lag_s, 60.0);
  // 100/s x (120 s + 60 s).
  EXPECT_DOUBLE_EQ(c.steady, 18000.0);
  EXPECT_DOUBLE_EQ(l.steady_total, 18000.0);
  EXPECT_FALSE(l.cannot_answer);
  EXPECT_TRUE(l.steady_traffic);
}

TEST(EstimateSteadyState, EntriesThatUsuallyMoveOnDoNotCountAsResting) {
  // SYN_SENT: 990 of 1000 were answered and moved on; the 10 waiting at
  // the end will most likely move on too (f = 1), so they add no rate.
  CaptureLoad l;
  l.duration_s = 10;
  ClassLoad syn = Class(LifetimeKind::kTcpSynSent);
  syn.entered = 1000;
  syn.left = 990;
  syn.at_end = syn.resting_at_end = 10;
  syn.idle_by_half[1] = 10;
  l.classes.push_back(syn);
  EstimateSteadyState(&l);
  EXPECT_DOUBLE_EQ(l.classes[0].rest_rate, 0.0);
  EXPECT_DOUBLE_EQ(l.classes[0].steady, 10.0);
}

TEST(EstimateSteadyState, ActiveEntriesAreConcurrencyNotArrivals) {
  // 1000 UDP streams set up once and still flowing: the table holds them,
  // and none has started its 120 s countdown.
  CaptureLoad l;
  l.duration_s = 18;
  ClassLoad s = Class(LifetimeKind::kUdpStream);
  s.entered = s.at_end = s.active_at_end = 1000;
  l.classes.push_back(s);
  EstimateSteadyState(&l);
  EXPECT_DOUBLE_EQ(l.classes[0].steady, 1000.0);
  // Refreshed entries are met with their whole 120 s left.
  EXPECT_DOUBLE_EQ(l.gc_lag_s, 60.0);
}

TEST(EstimateSteadyState, AClassTheCaptureSpansIsMeasured) {
  CaptureLoad l;
  l.duration_s = 300;
  ClassLoad tw = Class(LifetimeKind::kTcpTimeWait);
  tw.entered = 30000;
  tw.ended = 18000;
  tw.at_end = tw.resting_at_end = 12000;
  tw.expired_by_half[0] = 15000;
  tw.expired_by_half[1] = 3000;
  tw.idle_by_half[1] = 12000;
  l.classes.push_back(tw);
  EstimateSteadyState(&l);
  EXPECT_FALSE(l.classes[0].shorter_than_lifetime);
  EXPECT_DOUBLE_EQ(l.classes[0].rest_rate, 100.0);  // 15000 in 150 s
  EXPECT_DOUBLE_EQ(l.classes[0].steady, 12000.0);
}

TEST(EstimateSteadyState, UdpLagIsHalfItsLifetime) {
  // Only 30 s UDP entries, idle: met with 15 s left on average.
  CaptureLoad l;
  l.duration_s = 10;
  ClassLoad u = Class(LifetimeKind::kUdpReplied);
  u.entered = u.at_end = u.resting_at_end = 1000;
  u.idle_by_half[0] = u.idle_by_half[1] = 500;
  l.classes.push_back(u);
  EstimateSteadyState(&l);
  EXPECT_DOUBLE_EQ(l.gc_lag_s, 15.0);
  EXPECT_DOUBLE_EQ(l.classes[0].steady, 100.0 * (30 + 15));
}

TEST(EstimateSteadyState, ConnectionsOpenedLateAndStillOpenCannotBeAnswered) {
  // 500 connections opened over 10 s, none closed: whether they stay open
  // for minutes or days is not in the capture.
  CaptureLoad l;
  l.duration_s = 10;
  ClassLoad e = Class(LifetimeKind::kTcpEstablished);
  e.entered = e.at_end = 500;
  e.at_end_late = 250;
  l.classes.push_back(e);
  EstimateSteadyState(&l);
  EXPECT_TRUE(l.classes[0].cannot_answer);
  EXPECT_TRUE(l.cannot_answer);
  EXPECT_DOUBLE_EQ(l.classes[0].steady, 500.0);

  // Short sessions: 4990 of 5000 closed; the 10 open at the end are the
  // sessions in flight.
  CaptureLoad s;
  s.duration_s = 10;
  ClassLoad e2 = Class(LifetimeKind::kTcpEstablished);
  e2.entered = 5000;
  e2.left = 4990;
  e2.at_end = 10;
  e2.at_end_late = 10;
  s.classes.push_back(e2);
  EstimateSteadyState(&s);
  EXPECT_FALSE(s.cannot_answer);
  EXPECT_DOUBLE_EQ(s.classes[0].steady, 10.0);
}

TEST(EstimateSteadyState, UnsteadyTrafficTakesTheBusierHalf) {
  // New flows stopped halfway: the second half shows no rate, the first
  // does.
  CaptureLoad l;
  l.duration_s = 20;
  l.new_entries[0] = 1000;
  l.new_entries[1] = 0;
  ClassLoad tw = Class(LifetimeKind::kTcpTimeWait);
  tw.entered = tw.at_end = tw.resting_at_end = 1000;
  tw.idle_by_half[0] = 1000;
  l.classes.push_back(tw);
  EstimateSteadyState(&l);
  EXPECT_FALSE(l.steady_traffic);
  EXPECT_DOUBLE_EQ(l.classes[0].rest_rate, 100.0);  // 1000 in 10 s
}

const ClassLoad* Find(const CaptureLoad& l, LifetimeKind k) {
  for (const ClassLoad& c : l.classes) {
    if (c.kind == k) return &c;
  }
  return nullptr;
}

// 3000 unanswered SYNs at 10000/s: 0.3 s of a flood whose entries live
// 120 s (SYN_SENT). The same flood run for minutes holds 10000/s x (120 s
// + the GC's 60 s interval) = 1.8 M entries just before a GC pass.
TEST(MeasureCapture, SynFloodShorterThanItsLifetimeIsExtrapolated) {
  WorkloadSpec spec;
  spec.kind = "syn-flood";
  spec.flows = 3000;
  spec.rate = 10000;
  spec.seed = 7;
  WorkloadCapture cap(spec);
  auto l = MeasureCapture(cap.path(), Tunables{});
  ASSERT_TRUE(l.has_value()) << l.error().message;
  EXPECT_EQ(l->peak, 3000u);
  const ClassLoad* syn = Find(*l, LifetimeKind::kTcpSynSent);
  ASSERT_NE(syn, nullptr);
  EXPECT_EQ(syn->at_end, 3000u);
  EXPECT_EQ(syn->resting_at_end, 3000u);
  EXPECT_TRUE(syn->shorter_than_lifetime);
  EXPECT_NEAR(syn->rest_rate, 10000, 1000);  // Poisson arrivals
  EXPECT_DOUBLE_EQ(l->gc_lag_s, 60.0);
  EXPECT_NEAR(l->steady_total, 1.8e6, 1.8e5);
}

// Sessions of 10 packets at 100/s for 10 s: each ends in TIME_WAIT (120 s).
TEST(MeasureCapture, TcpSessionsExtrapolateTheirTimeWait) {
  WorkloadSpec spec;
  spec.kind = "tcp-sessions";
  spec.flows = 1000;
  spec.rate = 100;
  spec.seed = 3;
  WorkloadCapture cap(spec);
  auto l = MeasureCapture(cap.path(), Tunables{});
  ASSERT_TRUE(l.has_value()) << l.error().message;
  const ClassLoad* tw = Find(*l, LifetimeKind::kTcpTimeWait);
  ASSERT_NE(tw, nullptr);
  EXPECT_GE(tw->at_end, 990u);
  EXPECT_NEAR(tw->rest_rate, 100, 15);
  EXPECT_NEAR(tw->steady, 100 * 180, 100 * 180 * 0.15);
  const ClassLoad* est = Find(*l, LifetimeKind::kTcpEstablished);
  ASSERT_NE(est, nullptr);
  EXPECT_FALSE(est->cannot_answer);  // every session closed
  EXPECT_FALSE(l->cannot_answer);
}

// UDP flows set up once, then traffic round-robin over them: the table
// holds the flows, whatever the stream timeout.
TEST(MeasureCapture, StreamsSetUpOnceAreNotExtrapolated) {
  WorkloadSpec spec;
  spec.kind = "udp-roundrobin";
  spec.flows = 500;
  spec.rate = 100;
  spec.seed = 3;
  WorkloadCapture cap(spec);
  auto l = MeasureCapture(cap.path(), Tunables{});
  ASSERT_TRUE(l.has_value()) << l.error().message;
  EXPECT_EQ(l->peak, 500u);
  EXPECT_GE(l->steady_total, 500.0);
  EXPECT_LE(l->steady_total, 600.0);
}

TEST(MeasureCapture, MissingCaptureFails) {
  auto l = MeasureCapture("/nonexistent/x.pcap", Tunables{});
  ASSERT_FALSE(l.has_value());
  EXPECT_NE(l.error().message.find("/nonexistent/x.pcap"), std::string::npos);
}

}  // namespace
}  // namespace ctkit
