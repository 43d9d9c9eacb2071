// The recorder's clock: samples on its own thread at the interval, one per
// namespace the source gives, until it is destroyed; a sample too big for
// its slot keeps its counters and loses its extras.
#include "watch/history_recorder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace ctkit::watch {
namespace {

std::string TempPath(const char* name) {
  return ::testing::TempDir() + "/ctkit_recorder_" + std::to_string(getpid()) +
         "_" + name;
}

HistorySample Sample(const std::string& netns, uint64_t count) {
  HistorySample s;
  s.unix_s = 1796266800;
  s.netns = netns;
  s.count = count;
  s.max = 1000;
  return s;
}

TEST(HistoryRecorder, SamplesEveryNamespaceOnItsThreadUntilDestroyed) {
  const std::string path = TempPath("thread");
  std::remove(path.c_str());
  HistoryGeometry g;
  g.slot_count = 1000;
  g.interval_ms = 20;
  auto writer = HistoryWriter::Open(path, g);
  ASSERT_TRUE(writer.has_value()) << writer.error().message;
  std::atomic<uint64_t> rounds{0};
  {
    HistoryRecorder recorder(std::move(*writer), 0.02, [&rounds] {
      const uint64_t n = ++rounds;
      return std::vector<HistorySample>{Sample("a", n), Sample("b", n)};
    });
    recorder.Start();
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (recorder.counts().samples < 10 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_GE(recorder.counts().samples, 10u);
    EXPECT_EQ(recorder.counts().errors, 0u);
  }
  const uint64_t after = rounds.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_EQ(rounds.load(), after) << "the thread stopped with the recorder";

  std::vector<std::string> order;
  Result<HistoryReadReport> r = ReadHistory(
      path, [&](const HistorySample& s) { order.push_back(s.netns); });
  ASSERT_TRUE(r.has_value());
  ASSERT_GE(order.size(), 10u);
  EXPECT_EQ(order.size() % 2, 0u) << "a round writes every namespace";
  EXPECT_EQ(order[0], "a");
  EXPECT_EQ(order[1], "b");
  std::remove(path.c_str());
}

TEST(HistoryRecorder, AnOversizedSampleLosesItsExtrasNotItsCounters) {
  const std::string path = TempPath("errors");
  std::remove(path.c_str());
  HistoryGeometry g;
  g.slot_count = 10;
  g.interval_ms = 1000;
  auto writer = HistoryWriter::Open(path, g);
  ASSERT_TRUE(writer.has_value());
  HistoryRecorder recorder(std::move(*writer), 1, [] {
    HistorySample huge = Sample(std::string(200, 'n'), 1);
    // More unknown settings than a slot holds even without rankings.
    for (int i = 0; i < 200; ++i) {
      huge.settings["nf_conntrack_x" + std::to_string(i)] = 1;
    }
    return std::vector<HistorySample>{huge, Sample("ok", 2)};
  });
  recorder.RecordNow();
  EXPECT_EQ(recorder.counts().samples, 2u);
  EXPECT_EQ(recorder.counts().errors, 0u);
  std::vector<HistorySample> got;
  ASSERT_TRUE(ReadHistory(path, [&](const HistorySample& s) {
                got.push_back(s);
              }).has_value());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].count, 1u);
  EXPECT_TRUE(got[0].settings.empty()) << "unknown settings went first";
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ctkit::watch
