// The fill forecast on growth stories with known answers.
#include "watch/forecast.h"

#include <gtest/gtest.h>

namespace ctkit::watch {
namespace {

// A sample from the stories' integer arithmetic.
void AddAt(FillForecast* f, int t, int64_t count) {
  f->Add(t, static_cast<uint64_t>(count));
}

TEST(FillForecast, SteadyGrowthGivesTheTimeLeftAtThatRate) {
  // 100 entries a second from 10000, sampled every 15 s for 10 minutes:
  // at t = 600 the count is 70000, so 30000 more take 300 s.
  FillForecast f(900);
  for (int t = 0; t <= 600; t += 15) AddAt(&f, t, 10000 + 100 * t);
  ASSERT_TRUE(f.SecondsUntil(100000).has_value());
  EXPECT_NEAR(*f.SecondsUntil(100000), 300.0, 1e-6);
}

TEST(FillForecast, NoAnswerWhileFlatOrShrinking) {
  FillForecast flat(900);
  for (int t = 0; t <= 600; t += 15) AddAt(&flat, t, 5000);
  EXPECT_FALSE(flat.SecondsUntil(100000).has_value());
  FillForecast shrinking(900);
  for (int t = 0; t <= 600; t += 15) AddAt(&shrinking, t, 50000 - 10 * t);
  EXPECT_FALSE(shrinking.SecondsUntil(100000).has_value());
}

TEST(FillForecast, NoAnswerFromTooFewOrTooCloseSamples) {
  FillForecast f(900);
  EXPECT_FALSE(f.SecondsUntil(100).has_value());
  f.Add(0, 10);
  EXPECT_FALSE(f.SecondsUntil(100).has_value());
  f.Add(30, 20);  // 30 s of a 900 s window: under a tenth
  EXPECT_FALSE(f.SecondsUntil(100).has_value());
  f.Add(90, 40);
  EXPECT_TRUE(f.SecondsUntil(100).has_value());
}

TEST(FillForecast, AFullTableIsFullNow) {
  FillForecast f(900);
  f.Add(0, 100);
  f.Add(200, 262144);
  ASSERT_TRUE(f.SecondsUntil(262144).has_value());
  EXPECT_EQ(*f.SecondsUntil(262144), 0.0);
}

TEST(FillForecast, OnlyTheWindowCounts) {
  // Shrinking for an hour, then growing 10/s for the last 15 minutes: the
  // 900 s window sees only the growth.
  FillForecast f(900);
  for (int t = 0; t < 3600; t += 10) AddAt(&f, t, 90000 - 10 * t);
  for (int t = 3600; t <= 4500; t += 10) AddAt(&f, t, 54000 + 10 * (t - 3600));
  ASSERT_TRUE(f.SecondsUntil(100000).has_value());
  // At t = 4500: 63000, 37000 left at 10/s.
  EXPECT_NEAR(*f.SecondsUntil(100000), 3700.0, 1e-6);
}

TEST(FillForecast, KeepsAtMostItsSamplesAndIgnoresTimeGoingBack) {
  // One sample a second, 2 entries a second until t = 3975, then 1: the
  // 2000 s window would hold both slopes, the cap keeps only the newest
  // 1024 samples (t = 3976..4999: 1 a second, still a tenth of the window).
  FillForecast f(2000);
  for (int t = 0; t < 5000; ++t) {
    AddAt(&f, t, t < 3976 ? 2 * t : 2 * 3975 + (t - 3975));
  }
  f.Add(10, 999999);  // earlier than the newest: ignored
  // 7950 + 1024 = 8974 at t = 4999, 1 per second.
  ASSERT_TRUE(f.SecondsUntil(9974).has_value());
  EXPECT_NEAR(*f.SecondsUntil(9974), 1000.0, 1e-6);
}

}  // namespace
}  // namespace ctkit::watch
