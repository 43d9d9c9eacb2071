// Each finding against the fixture trees of tests/doctor: the tree named
// after the finding must trigger it (WARNING or CRITICAL), and the healthy
// tree must not. Then the details an operator relies on: the exact fix
// commands, the runbook corrections, the exit status and the JSON.
#include "host/findings.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "host/doctor_report.h"
#include "host/doctor_test_util.h"
#include "host/host_view.h"

namespace ctkit {
namespace {

using doctortest::BuildTree;
using doctortest::TempTree;

struct DoctorRun {
  HostData data;
  Diagnosis diag;
};

DoctorRun Doctor(const std::string& overlay, const Thresholds& t = {}) {
  TempTree tree;
  BuildTree(tree.path(), overlay);
  auto view = NewRootHostView(tree.path());
  DoctorRun r;
  r.data = Collect(*view);
  r.diag = Diagnose(r.data, t);
  return r;
}

const Finding& Find(const Diagnosis& g, const std::string& id) {
  for (const auto& f : g.findings) {
    if (f.id == id) return f;
  }
  static Finding none;
  ADD_FAILURE() << "no finding " << id;
  return none;
}

bool Triggered(const Finding& f) {
  return f.severity == Severity::kWarning || f.severity == Severity::kCritical;
}

class EachFinding : public ::testing::TestWithParam<const char*> {};

TEST_P(EachFinding, FixtureTriggersIt) {
  DoctorRun r = Doctor(GetParam());
  const Finding& f = Find(r.diag, GetParam());
  EXPECT_TRUE(Triggered(f)) << f.title;
  EXPECT_FALSE(f.evidence.empty());
  EXPECT_FALSE(f.fix.empty()) << GetParam();
  EXPECT_NE(r.diag.status, Severity::kOk);
}

TEST_P(EachFinding, HealthyTreeDoesNot) {
  DoctorRun r = Doctor("");
  const Finding& f = Find(r.diag, GetParam());
  EXPECT_EQ(f.severity, Severity::kOk) << f.title;
}

INSTANTIATE_TEST_SUITE_P(
    Doctor, EachFinding,
    ::testing::Values("max-too-low", "tcp-loose", "tcp-max-retrans",
                      "hash-size", "udp-timeout", "memory-pressure",
                      "time-wait-majority", "unreplied-udp-majority",
                      "syn-sent-majority", "source-dominating",
                      "insert-failed-without-drop", "buckets-far-from-max"),
    [](const auto& p) {
      std::string s = p.param;
      for (char& c : s) c = c == '-' ? '_' : c;
      return s;
    });

TEST(Doctor, HealthyHostIsOkWithExitCodeZero) {
  DoctorRun r = Doctor("");
  EXPECT_EQ(r.diag.status, Severity::kOk);
  EXPECT_TRUE(r.diag.changes.empty());
  EXPECT_EQ(*r.data.count, 200u);
  EXPECT_EQ(r.data.stats->invalid, 5u);  // summed over the two CPU lines
  EXPECT_EQ(r.data.table->size(), 200u);
}

TEST(Doctor, TableFullIsCriticalWithCauseAndExactFix) {
  DoctorRun r = Doctor("max-too-low");
  const Finding& f = Find(r.diag, "max-too-low");
  EXPECT_EQ(f.severity, Severity::kCritical);
  EXPECT_EQ(r.data.stats->drop, 0x52u);
  EXPECT_EQ(r.data.kmsg->table_full_lines, 2u);
  EXPECT_EQ(r.data.kmsg->ratelimit_suppressed, 25u);
  // All ESTABLISHED and ASSURED: early drop cannot help.
  EXPECT_NE(f.detail.find("ASSURED"), std::string::npos) << f.detail;
  EXPECT_NE(f.detail.find("nf_conntrack_tcp_timeout_established"),
            std::string::npos);
  EXPECT_NE(f.fix.find("sysctl -w net.netfilter.nf_conntrack_max=262144"),
            std::string::npos)
      << f.fix;
  bool path_fix = false, links = false;
  for (const auto& c : f.corrections) {
    path_fix |= c.find("/proc/sys/net/netfilter/nf_conntrack_count") !=
                std::string::npos;
    links |= c.find("Too many links") != std::string::npos;
  }
  EXPECT_TRUE(path_fix);
  EXPECT_TRUE(links);
  ASSERT_FALSE(r.diag.changes.empty());
  EXPECT_EQ(r.diag.changes[0].name, "nf_conntrack_max");
  EXPECT_EQ(r.diag.changes[0].value, 262144u);
  EXPECT_TRUE(r.diag.changes[0].global);
}

TEST(Doctor, OldDropsWithoutFillAreOnlyAWarning) {
  TempTree tree;
  BuildTree(tree.path(), "");
  doctortest::WriteAll(
      tree.path() + "/proc/net/stat/nf_conntrack",
      "entries clashres found new invalid ignore delete chainlength insert "
      "insert_failed drop early_drop icmp_error expect_new expect_create "
      "expect_delete search_restart\n"
      "000000c8 00000000 00000000 00000000 00000000 00000000 00000000 "
      "00000000 00000000 00000000 00000009 00000003 00000000 00000000 "
      "00000000 00000000 00000000\n");
  auto view = NewRootHostView(tree.path());
  HostData d = Collect(*view);
  EXPECT_EQ(Find(Diagnose(d, {}), "max-too-low").severity, Severity::kWarning);
}

TEST(Doctor, FillThresholdsAreOptions) {
  Thresholds t;
  t.warn_fill_pct = 0.01;
  t.crit_fill_pct = 50;
  EXPECT_EQ(Find(Doctor("", t).diag, "max-too-low").severity,
            Severity::kWarning);
  t.crit_fill_pct = 0.05;
  EXPECT_EQ(Doctor("", t).diag.status, Severity::kCritical);
}

TEST(Doctor, MissingCountIsUnknown) {
  TempTree tree;
  BuildTree(tree.path(), "");
  std::filesystem::remove(tree.path() +
                          "/proc/sys/net/netfilter/nf_conntrack_count");
  std::filesystem::remove(tree.path() + "/proc/net/stat/nf_conntrack");
  auto view = NewRootHostView(tree.path());
  HostData d = Collect(*view);
  EXPECT_EQ(Diagnose(d, {}).status, Severity::kUnknown);
}

TEST(Doctor, HashSizeFixNamesRealKnobsNotAHashsizeSysctl) {
  DoctorRun r = Doctor("hash-size");
  const Finding& f = Find(r.diag, "hash-size");
  EXPECT_NE(f.fix.find("net.netfilter.nf_conntrack_buckets=1000448"),
            std::string::npos)
      << f.fix;
  EXPECT_NE(f.fix.find("/sys/module/nf_conntrack/parameters/hashsize"),
            std::string::npos);
  EXPECT_EQ(f.fix.find("nf_conntrack_hashsize="), std::string::npos);
  // 2 * 1,000,000 / 65536 nodes per chain when full.
  EXPECT_NEAR(f.evidence[2].value, 30.5, 0.1);
}

TEST(Doctor, MaxRetransAdviceIsToLowerItNotRaiseIt) {
  DoctorRun r = Doctor("tcp-max-retrans");
  const Finding& f = Find(r.diag, "tcp-max-retrans");
  ASSERT_EQ(f.changes.size(), 1u);
  EXPECT_EQ(f.changes[0].value, 3u);
  EXPECT_NE(f.corrections[0].find("live longer"), std::string::npos);
}

TEST(Doctor, TcpLooseOkFindingStillCorrectsTheRunbook) {
  DoctorRun r = Doctor("");
  const Finding& f = Find(r.diag, "tcp-loose");
  EXPECT_EQ(f.severity, Severity::kOk);
  EXPECT_NE(f.corrections[0].find("no-op"), std::string::npos);
}

TEST(Doctor, TimeoutsSayHowManyAShorterValueFrees) {
  DoctorRun r = Doctor("time-wait-majority");
  const TimeoutUse* tw = nullptr;
  for (const auto& u : r.diag.timeouts) {
    if (u.sysctl == "nf_conntrack_tcp_timeout_time_wait") tw = &u;
  }
  ASSERT_NE(tw, nullptr);
  EXPECT_EQ(tw->entries, 400u);
  ASSERT_EQ(tw->shorter.size(), 2u);
  EXPECT_EQ(tw->shorter[0].first, 60u);
  // Idle = 120 - remaining; the 400 entries' remaining times cycle 119..0.
  uint64_t expect = 0;
  for (int i = 0; i < 400; ++i) expect += (120 - (119 - i % 120)) >= 60;
  EXPECT_EQ(tw->shorter[0].second, expect);
}

TEST(Doctor, ChangesMergeLargestMaxAndSmallestTimeout) {
  DoctorRun r = Doctor("max-too-low");
  uint64_t n = 0;
  for (const auto& c : r.diag.changes) n += c.name == "nf_conntrack_max";
  EXPECT_EQ(n, 1u);
}

TEST(Doctor, JsonCarriesStatusFindingsAndTable) {
  DoctorRun r = Doctor("syn-sent-majority");
  auto j = nlohmann::json::parse(FormatDoctorJson(r.data, r.diag));
  EXPECT_EQ(j["status"], "WARNING");
  EXPECT_EQ(j["exit_code"], 1);
  EXPECT_EQ(j["findings"][0]["id"], "syn-sent-majority");
  EXPECT_EQ(j["table"]["entries"], 460);
  std::string text = FormatDoctorText(r.data, r.diag);
  EXPECT_EQ(text.rfind("ctkit doctor WARNING", 0), 0u) << text;
}

}  // namespace
}  // namespace ctkit
