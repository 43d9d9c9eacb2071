// The composition at the peak of an input read only once (PeakFollower)
// must be the one a second pass over a file gives, whatever the follower's
// buffer budget (0: compose and catch up after every batch), the thread
// count, and however the peak moves: a table that grows and shrinks (short
// timeouts), one that fills (the peak reaches max and freezes), one that
// never holds an entry.
#include "replay/peak_follower.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "ctkit/capture.h"
#include "replay/replay.h"
#include "testing/workload_capture_test_util.h"

namespace ctkit {
namespace {

// A file reader that says it cannot be read again, as stdin and live
// captures say.
class OnceReader final : public CaptureReader {
 public:
  explicit OnceReader(std::unique_ptr<CaptureReader> r) : r_(std::move(r)) {}
  bool Next(CaptureRecord* rec) override { return r_->Next(rec); }
  const std::optional<Error>& error() const override { return r_->error(); }
  uint64_t records_read() const override { return r_->records_read(); }
  uint64_t offset() const override { return r_->offset(); }
  uint64_t file_size() const override { return 0; }
  double fraction_read() const override { return -1; }
  bool reopenable() const override { return false; }

 private:
  std::unique_ptr<CaptureReader> r_;
};

void ExpectSameTallies(const std::vector<Tally>& a, const std::vector<Tally>& b,
                       const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].key, b[i].key) << what << " #" << i;
    EXPECT_EQ(a[i].entries, b[i].entries) << what << " #" << i;
  }
}

void ExpectSameComposition(const TableComposition& a,
                           const TableComposition& b) {
  EXPECT_EQ(a.total, b.total);
  EXPECT_EQ(a.assured, b.assured);
  EXPECT_EQ(a.unreplied, b.unreplied);
  EXPECT_EQ(a.expired_unreaped, b.expired_unreaped);
  ExpectSameTallies(a.by_protocol, b.by_protocol, "protocol");
  ExpectSameTallies(a.by_tcp_state, b.by_tcp_state, "tcp state");
  ExpectSameTallies(a.by_class, b.by_class, "class");
  EXPECT_EQ(a.by_class_kind, b.by_class_kind);
  ExpectSameTallies(a.top_sources, b.top_sources, "sources");
  ExpectSameTallies(a.top_destinations, b.top_destinations, "destinations");
  ExpectSameTallies(a.top_dports, b.top_dports, "dports");
}

struct Case {
  const char* name;
  const char* kind;
  uint64_t flows;
  double rate;
  std::vector<std::pair<std::string, std::string>> sysctls;
};

void CheckAgainstSecondPass(const Case& c) {
  SCOPED_TRACE(c.name);
  WorkloadSpec spec;
  spec.kind = c.kind;
  spec.flows = c.flows;
  spec.rate = c.rate;
  spec.seed = 7;
  const WorkloadCapture capture(spec);
  const std::string& path = capture.path();
  ReplayOptions base;
  // A small table keeps each composition's walk (one per batch with a zero
  // budget) cheap.
  ASSERT_TRUE(base.tunables.Set("nf_conntrack_buckets", "1024").has_value());
  ASSERT_TRUE(base.tunables.Set("nf_conntrack_max", "16384").has_value());
  for (const auto& [k, v] : c.sysctls) {
    ASSERT_TRUE(base.tunables.Set(k, v).has_value()) << k;
  }
  base.engine.min_parallel_stretch = 64;  // drive the threads with few packets
  for (unsigned threads : {1u, 3u}) {
    base.engine.threads = threads;
    auto file = RunReplay(path, base);
    ASSERT_TRUE(file.has_value()) << file.error().message;
    for (size_t budget : {size_t{0}, size_t{4096}, size_t{64} << 20}) {
      SCOPED_TRACE("threads " + std::to_string(threads) + ", budget " +
                   std::to_string(budget));
      ReplayOptions o = base;
      o.follow_budget_bytes = budget;
      auto once = RunReplay(
          [&]() -> Result<std::unique_ptr<CaptureReader>> {
            auto r = CaptureReader::Open(path);
            if (!r) return fail(r.error());
            return std::make_unique<OnceReader>(std::move(*r));
          },
          path, o);
      ASSERT_TRUE(once.has_value()) << once.error().message;
      EXPECT_EQ(once->peak_count, file->peak_count);
      EXPECT_EQ(once->peak_index, file->peak_index);
      ASSERT_EQ(once->at_peak.has_value(), file->at_peak.has_value());
      if (file->at_peak) ExpectSameComposition(*once->at_peak, *file->at_peak);
    }
  }
  std::remove(path.c_str());
}

TEST(PeakFollower, GrowingAndShrinkingTableMatchesSecondPass) {
  // Short timeouts: the count rises and falls, and the peak moves several
  // times, some of them after long stretches below it.
  CheckAgainstSecondPass({"mixed short timeouts",
                          "mixed",
                          1500,
                          300,
                          {{"nf_conntrack_udp_timeout", "2"},
                           {"nf_conntrack_icmp_timeout", "1"},
                           {"nf_conntrack_tcp_timeout_time_wait", "1"},
                           {"nf_conntrack_tcp_timeout_syn_sent", "3"}}});
}

TEST(PeakFollower, FullTableMatchesSecondPass) {
  // The table fills: the peak reaches max, after which it cannot move.
  CheckAgainstSecondPass({"syn flood into a small table",
                          "syn-flood",
                          5000,
                          20000,
                          {{"nf_conntrack_max", "700"}}});
}

TEST(PeakFollower, TcpSessionsMatchSecondPass) {
  CheckAgainstSecondPass({"tcp sessions", "tcp-sessions", 1000, 5000, {}});
}

}  // namespace
}  // namespace ctkit
