// The shared text helpers: what each returns at the edges (empty input,
// separators at either end, no '=', a whole of 0).
#include "core/text.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

namespace ctkit {
namespace {

using Parts = std::vector<std::string_view>;

TEST(Trim, BlanksAtBothEndsOnly) {
  EXPECT_EQ(Trim("  a b \t"), "a b");
  EXPECT_EQ(Trim("\r\nx\r\n"), "x");
  EXPECT_EQ(Trim(" \t "), "");
  EXPECT_EQ(Trim(""), "");
  EXPECT_EQ(Trim("a"), "a");
}

TEST(Split, KeepsEmptyPartsAndDoesNotTrim) {
  EXPECT_EQ(Split("a,b,c", ','), (Parts{"a", "b", "c"}));
  EXPECT_EQ(Split("a,,b", ','), (Parts{"a", "", "b"}));
  EXPECT_EQ(Split(" a , b", ','), (Parts{" a ", " b"}));
  EXPECT_EQ(Split("", ','), (Parts{""}));
  EXPECT_EQ(Split("a,", ','), (Parts{"a", ""}));
  EXPECT_EQ(Split(",a", ','), (Parts{"", "a"}));
  EXPECT_EQ(Split("l1\nl2\n", '\n'), (Parts{"l1", "l2", ""}));
}

TEST(SplitAssignment, AtTheFirstEquals) {
  auto a = SplitAssignment("nf_conntrack_max=65536");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->name, "nf_conntrack_max");
  EXPECT_EQ(a->value, "65536");
  auto b = SplitAssignment("k=v=w");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->name, "k");
  EXPECT_EQ(b->value, "v=w");
  auto c = SplitAssignment("=5");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->name, "");
  EXPECT_EQ(c->value, "5");
  auto d = SplitAssignment("k=");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->value, "");
  EXPECT_FALSE(SplitAssignment("no equals sign"));
  EXPECT_FALSE(SplitAssignment(""));
}

TEST(Percent, OfAWholeAndOfNothing) {
  EXPECT_DOUBLE_EQ(Percent(1, 4), 25.0);
  EXPECT_DOUBLE_EQ(Percent(3, 3), 100.0);
  EXPECT_DOUBLE_EQ(Percent(5, 4), 125.0);
  EXPECT_DOUBLE_EQ(Percent(7, 0), 0.0);
}

TEST(Text, WordsAreTheBlankSeparatedRuns) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(Words("cpu=0   \tfound=0 invalid=522"),
            (V{"cpu=0", "found=0", "invalid=522"}));
  EXPECT_EQ(Words(""), V{});
  EXPECT_EQ(Words(" \t "), V{});
  EXPECT_EQ(Words("one"), V{"one"});
}

TEST(Text, ToU64TakesWholeNumbersOnly) {
  EXPECT_EQ(ToU64(" 262144\n"), 262144u);  // a sysctl file's contents
  EXPECT_EQ(ToU64("0000001a", 16), 26u);   // /proc/net/stat's hex columns
  EXPECT_EQ(ToU64("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(ToU64("18446744073709551616"), std::nullopt);  // out of range
  EXPECT_EQ(ToU64("12k"), std::nullopt);
  EXPECT_EQ(ToU64("-1"), std::nullopt);
  EXPECT_EQ(ToU64(""), std::nullopt);
}

}  // namespace
}  // namespace ctkit
