// A scan of a table given as conntrack -L lines, and of the doctor's
// fixture trees through the periodic scan: the families carry the counts
// the lines state, a failed scan says so without inventing zeros, and the
// cache holds only the namespaces of the last round.
#include "watch/table_scan.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "testing/doctor_test_util.h"
#include "testing/metrics_test_util.h"
#include "watch/periodic_scan.h"

namespace ctkit::watch {
namespace {

using watchtest::Series;

constexpr char kLines[] =
    "tcp      6 117 TIME_WAIT src=10.0.0.1 dst=192.0.2.1 sport=1 dport=80 "
    "src=192.0.2.1 dst=10.0.0.1 sport=80 dport=1 [ASSURED] mark=0 use=1\n"
    "tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=192.0.2.1 sport=2 "
    "dport=443 src=192.0.2.1 dst=10.0.0.1 sport=443 dport=2 [ASSURED] mark=0 "
    "use=1\n"
    "udp      17 28 src=2001:db8::1 dst=2001:db8::53 sport=3 dport=53 "
    "[UNREPLIED] src=2001:db8::53 dst=2001:db8::1 sport=53 dport=3 mark=0 "
    "use=1\n"
    "this line is not an entry\n"
    "icmp     1 29 src=10.0.0.2 dst=192.0.2.1 type=8 code=0 id=7 [UNREPLIED] "
    "src=192.0.2.1 dst=10.0.0.2 type=0 code=0 id=7 mark=0 use=1";

TEST(TableScan, ConntrackLinesBecomeTheAttributionFamilies) {
  const TableScan scan = ScanTableText(kLines, ScanLimits{}, 1, 2);
  EXPECT_TRUE(scan.complete);
  EXPECT_TRUE(scan.error.empty());
  auto s = Series(ScanFamilies(scan, "blue"));
  EXPECT_EQ(s["conntrack_scan_entries{netns=blue,}"], 4);
  EXPECT_EQ(
      s["conntrack_entries_by_state{netns=blue,protocol=tcp,state=TIME_WAIT,}"],
      1);
  EXPECT_EQ(s["conntrack_entries_by_state{netns=blue,protocol=udp,state=,}"],
            1);
  EXPECT_EQ(s["conntrack_entries_by_flag{netns=blue,flag=ASSURED,}"], 2);
  EXPECT_EQ(s["conntrack_entries_by_flag{netns=blue,flag=UNREPLIED,}"], 2);
  EXPECT_EQ(s["conntrack_top_source_entries{netns=blue,source=10.0.0.1,}"], 2);
  EXPECT_EQ(s["conntrack_top_source_entries{netns=blue,source=2001:db8::1,}"],
            1);
  EXPECT_EQ(s["conntrack_top_destination_port_entries{netns=blue,protocol=udp,"
              "port=53,}"],
            1);
  // ICMP has no port: three entries are ranked by port, none left over.
  EXPECT_EQ(s["conntrack_top_destination_port_entries{netns=blue,protocol="
              "other,port=other,}"],
            0);
  // TIME_WAIT's 117 s left: within le=120, not le=60.
  const std::string tw =
      "conntrack_entry_remaining_lifetime_seconds_bucket{netns=blue,"
      "sysctl=nf_conntrack_tcp_timeout_time_wait,";
  EXPECT_EQ(s[tw + "le=60,}"], 0);
  EXPECT_EQ(s[tw + "le=120,}"], 1);
  EXPECT_EQ(s[tw + "le=+Inf,}"], 1);
  EXPECT_EQ(s["conntrack_entry_remaining_lifetime_seconds_sum{netns=blue,"
              "sysctl=nf_conntrack_icmp_timeout,}"],
            29);
  EXPECT_EQ(s["conntrack_scan_complete{netns=blue,}"], 1);
}

TEST(TableScan, AFailedScanGivesItsTimeNotZeroCounts) {
  TableScan failed;
  failed.error = "ctnetlink: permission denied";
  auto s = Series(ScanFamilies(failed, "blue"));
  EXPECT_EQ(s.count("conntrack_scan_entries{netns=blue,}"), 0u);
  EXPECT_EQ(s.count("conntrack_entries_by_flag{netns=blue,flag=ASSURED,}"), 0u);
  EXPECT_EQ(s.count("conntrack_scan_duration_seconds{netns=blue,}"), 1u);
}

TEST(PeriodicScan, ServesTheLastRoundOfEachTargetAndCountsFailures) {
  const std::string healthy = (doctortest::FixtureDir() / "healthy").string();
  std::vector<ScanTarget> targets = {{"a", "", healthy},
                                     {"b", "", "/nonexistent/tree"}};
  PeriodicScan scan(3600, ScanLimits{}, [&] { return targets; });
  scan.RunOnce();
  auto s = Series(scan.Families());
  // healthy/ holds 200 entries (its conntrack-L.txt).
  EXPECT_EQ(s["conntrack_scan_entries{netns=a,}"], 200);
  EXPECT_EQ(s.count("conntrack_scan_entries{netns=b,}"), 0u);
  EXPECT_EQ(s["conntrack_scan_errors_total{}"], 1);
  // "a" is gone by the next round: its series go with it.
  targets = {{"b", "", "/nonexistent/tree"}};
  scan.RunOnce();
  s = Series(scan.Families());
  EXPECT_EQ(s.count("conntrack_scan_entries{netns=a,}"), 0u);
  EXPECT_EQ(s["conntrack_scan_errors_total{}"], 2);
}

TEST(PeriodicScan, TheThreadScansAtOnceAndStopsWhenDestroyed) {
  const std::string healthy = (doctortest::FixtureDir() / "healthy").string();
  auto scan = std::make_unique<PeriodicScan>(3600, ScanLimits{}, [&] {
    return std::vector<ScanTarget>{{"a", "", healthy}};
  });
  scan->Start();
  for (int i = 0; i < 2000; ++i) {
    if (Series(scan->Families()).count("conntrack_scan_entries{netns=a,}"))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(Series(scan->Families())["conntrack_scan_entries{netns=a,}"], 200);
  scan.reset();  // joins: the hour's wait ends at once
}

}  // namespace
}  // namespace ctkit::watch
