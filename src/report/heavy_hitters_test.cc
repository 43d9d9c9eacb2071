// The Space-Saving summary's promises (heavy_hitters.h), checked against
// counts kept by hand: exact while the keys fit, and past that every
// reported count within [true, true + error] with error <= N / capacity,
// and every key above N / capacity present.
#include "report/heavy_hitters.h"

#include <gtest/gtest.h>

#include <map>

namespace ctkit {
namespace {

HitterKey Key(uint32_t n) {
  HitterKey k;
  k.bytes[0] = 4;
  k.bytes[1] = static_cast<uint8_t>(n >> 24);
  k.bytes[2] = static_cast<uint8_t>(n >> 16);
  k.bytes[3] = static_cast<uint8_t>(n >> 8);
  k.bytes[4] = static_cast<uint8_t>(n);
  return k;
}

TEST(HeavyHitters, CountsExactlyWhileTheKeysFit) {
  HeavyHitters hh(8, 1, 2);
  // 5 of key 3, 2 of key 1, 2 of key 2, 1 of key 7: four keys, capacity 8.
  for (uint32_t k : {3u, 1u, 3u, 2u, 3u, 7u, 1u, 3u, 2u, 3u}) hh.Add(Key(k));
  const std::vector<Hitter> top = hh.Top(3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].key, Key(3));
  EXPECT_EQ(top[0].count, 5u);
  // The tie between 1 and 2 goes in key order.
  EXPECT_EQ(top[1].key, Key(1));
  EXPECT_EQ(top[2].key, Key(2));
  EXPECT_EQ(top[2].count, 2u);
  for (const Hitter& h : hh.Top(10)) EXPECT_EQ(h.error, 0u);
  EXPECT_EQ(hh.Top(10).size(), 4u);
  EXPECT_EQ(hh.total(), 10u);
}

TEST(HeavyHitters, KeepsTheHeavyKeysAmongManyLightOnes) {
  // Two heavy sources among 20,000 one-entry sources, 64 counters: the
  // light keys keep evicting each other, the heavy ones stay.
  HeavyHitters hh(64, 11, 12);
  std::map<uint32_t, uint64_t> truth;
  uint32_t light = 1000;
  for (int round = 0; round < 2000; ++round) {
    for (int i = 0; i < 10; ++i) {
      hh.Add(Key(light));
      ++truth[light++];
    }
    hh.Add(Key(1));
    ++truth[1];
    if (round % 2 == 0) {
      hh.Add(Key(2));
      ++truth[2];
    }
  }
  const uint64_t n = hh.total();
  EXPECT_EQ(n, 2000u * 10 + 2000 + 1000);
  const std::vector<Hitter> top = hh.Top(2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].key, Key(1));
  EXPECT_EQ(top[1].key, Key(2));
  for (const Hitter& h : hh.Top(64)) {
    uint32_t id = (uint32_t{h.key.bytes[1]} << 24) |
                  (uint32_t{h.key.bytes[2]} << 16) |
                  (uint32_t{h.key.bytes[3]} << 8) | h.key.bytes[4];
    const uint64_t t = truth[id];
    EXPECT_GE(h.count, t) << id;
    EXPECT_LE(h.count - h.error, t) << id;
    EXPECT_LE(h.error, n / 64) << id;
  }
}

TEST(HeavyHitters, TheHashKeyDoesNotChangeTheResult) {
  HeavyHitters a(16, 1, 2), b(16, 0xdeadbeef, 0x12345678);
  for (uint32_t i = 0; i < 5000; ++i) {
    const uint32_t k = (i * 2654435761u) % 97;  // 97 keys, 16 counters
    a.Add(Key(k));
    b.Add(Key(k));
  }
  const auto ta = a.Top(16), tb = b.Top(16);
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i) {
    EXPECT_EQ(ta[i].key, tb[i].key);
    EXPECT_EQ(ta[i].count, tb[i].count);
    EXPECT_EQ(ta[i].error, tb[i].error);
  }
}

TEST(HeavyHitters, FindsEveryKeyAfterManyEvictions) {
  // Keys cycling through a full summary: each eviction rewrites the index,
  // and a key counted twice in a row must be found, not added again.
  HeavyHitters hh(4, 5, 6);
  for (uint32_t i = 0; i < 1000; ++i) {
    hh.Add(Key(i));
    hh.Add(Key(i));
  }
  const auto top = hh.Top(4);
  ASSERT_EQ(top.size(), 4u);
  // Every key held was added twice in a row after taking a counter: 2 of
  // its count are certain, the rest inherited. The last key is held.
  bool last_held = false;
  for (const Hitter& h : top) {
    EXPECT_EQ(h.count - h.error, 2u);
    last_held = last_held || h.key == Key(999);
  }
  EXPECT_TRUE(last_held);
  EXPECT_EQ(hh.total(), 2000u);
}

}  // namespace
}  // namespace ctkit

namespace ctkit {
namespace {

HitterKey LiveKey(uint32_t n) {
  HitterKey k;
  k.bytes[0] = 6;
  k.bytes[1] = static_cast<uint8_t>(n);
  return k;
}

// A table's live entries come and go: while no more than `capacity` keys
// hold entries at once, the counts are exact however many keys came and
// went, because a counter that falls to 0 is the one a new key takes.
TEST(HeavyHittersRemove, StaysExactWhileTheLiveKeysFit) {
  HeavyHitters hh(2, 1, 2);
  hh.Add(LiveKey(1));
  hh.Add(LiveKey(1));
  hh.Add(LiveKey(2));
  hh.Remove(LiveKey(2));  // key 2 holds nothing now
  hh.Add(LiveKey(3));     // a third key, but only two live: takes 2's counter
  hh.Add(LiveKey(3));
  hh.Remove(LiveKey(1));
  const std::vector<Hitter> top = hh.Top(5);
  ASSERT_EQ(top.size(), 2u);  // key 2 is gone, not listed at 0
  EXPECT_EQ(top[0].key, LiveKey(3));
  EXPECT_EQ(top[0].count, 2u);
  EXPECT_EQ(top[0].error, 0u);
  EXPECT_EQ(top[1].key, LiveKey(1));
  EXPECT_EQ(top[1].count, 1u);
  EXPECT_EQ(top[1].error, 0u);
  EXPECT_EQ(hh.total(), 3u);
}

TEST(HeavyHittersRemove, TheNthLargestAndTheCopyOfWhatCanRank) {
  HeavyHitters hh(8, 1, 2);
  // Key k added k times, for k = 1..5.
  for (uint32_t k = 1; k <= 5; ++k) {
    for (uint32_t i = 0; i < k; ++i) hh.Add(LiveKey(k));
  }
  EXPECT_EQ(hh.NthLargestCount(1), 5u);
  EXPECT_EQ(hh.NthLargestCount(2), 4u);
  EXPECT_EQ(hh.NthLargestCount(5), 1u);
  EXPECT_EQ(hh.NthLargestCount(6), 0u);  // only five keys
  std::vector<Hitter> copy;
  hh.CopyCountsAtLeast(hh.NthLargestCount(2), &copy);
  ASSERT_EQ(copy.size(), 2u);
  for (const Hitter& h : copy) EXPECT_GE(h.count, 4u);
  // Taking entries back below the others changes the order.
  for (int i = 0; i < 4; ++i) hh.Remove(LiveKey(5));
  EXPECT_EQ(hh.NthLargestCount(1), 4u);
  EXPECT_EQ(hh.Top(1)[0].key, LiveKey(4));
}

}  // namespace
}  // namespace ctkit
