// FlowTable's walking helpers: the scan for the next non-empty bucket that
// every whole-table walk steps with, and the kept-length check the
// invariant walk relies on.
#include "core/flow_table.h"

#include <gtest/gtest.h>

namespace ctkit {
namespace {

std::unique_ptr<FlowTable> SmallTable() {
  auto t = FlowTable::Create(/*capacity=*/16, /*buckets=*/512, 1, 2,
                             /*huge_pages=*/false);
  EXPECT_TRUE(t.has_value());
  return t ? std::move(*t) : nullptr;
}

// Links both nodes of a fresh flow into `bucket`, as a confirmed entry is.
uint32_t LinkFlow(FlowTable* t, uint32_t bucket) {
  uint32_t index = t->Alloc();
  t->LinkHead(bucket, NodeId(index, Direction::kOriginal));
  t->LinkHead(bucket, NodeId(index, Direction::kReply));
  return index;
}

TEST(FlowTableWalk, UsedBucketFromStepsOverEmptyBuckets) {
  auto t = SmallTable();
  ASSERT_NE(t, nullptr);
  // An empty table: no bucket is used, from anywhere.
  EXPECT_EQ(t->UsedBucketFrom(0), 512u);
  EXPECT_EQ(t->UsedBucketFrom(511), 512u);
  EXPECT_EQ(t->UsedBucketFrom(512), 512u);

  LinkFlow(t.get(), 0);
  LinkFlow(t.get(), 7);
  LinkFlow(t.get(), 511);
  EXPECT_EQ(t->UsedBucketFrom(0), 0u);  // a used bucket is its own answer
  EXPECT_EQ(t->UsedBucketFrom(1), 7u);
  EXPECT_EQ(t->UsedBucketFrom(8), 511u);
  EXPECT_EQ(t->UsedBucketFrom(511), 511u);

  // Walking with it visits exactly the used buckets, in order.
  std::vector<uint32_t> visited;
  for (uint32_t b = t->UsedBucketFrom(0); b < t->buckets();
       b = t->UsedBucketFrom(b + 1)) {
    visited.push_back(b);
  }
  EXPECT_EQ(visited, (std::vector<uint32_t>{0, 7, 511}));
}

TEST(FlowTableWalk, KeptLengthsMatchChainsUntilAChainIsCut) {
  auto t = SmallTable();
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->FirstBucketWithWrongLength(), 512u);  // empty: all zero

  LinkFlow(t.get(), 3);
  uint32_t second = LinkFlow(t.get(), 3);
  LinkFlow(t.get(), 40);
  EXPECT_EQ(t->ChainLength(3), 4u);
  EXPECT_EQ(t->FirstBucketWithWrongLength(), 512u);

  // Cut bucket 3's chain after the second flow's nodes (it was linked
  // last, so its two nodes are the head): the table still keeps 4.
  t->At(second).next[static_cast<int>(Direction::kOriginal)] = kNil;
  EXPECT_EQ(t->FirstBucketWithWrongLength(), 3u);
}

TEST(FlowTableWalk, ALoopingChainDoesNotHangTheLengthCheck) {
  auto t = SmallTable();
  ASSERT_NE(t, nullptr);
  uint32_t index = LinkFlow(t.get(), 9);
  // The original node (the tail) points back at the head: a loop.
  t->At(index).next[static_cast<int>(Direction::kOriginal)] =
      NodeId(index, Direction::kReply);
  EXPECT_EQ(t->FirstBucketWithWrongLength(), 9u);
}

}  // namespace
}  // namespace ctkit
