// Each finding against the fixture trees of tests/doctor: the tree named
// after the finding must trigger it (WARNING or CRITICAL), and the healthy
// tree must not. Then the details an operator relies on: the exact fix
// commands, the runbook corrections, the exit status and the JSON.
#include "host/findings.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "host/doctor_report.h"
#include "host/host_view.h"
#include "testing/doctor_test_util.h"

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
  EXPECT_EQ(r.data.table->composition.total, 200u);
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

// The max doctor advises stays within a quarter of RAM at the kernel's
// documented cost of an entry, the 256-byte slab object
// (docs/kernel-model.md §10): 64 MiB of RAM allows 16 MiB / 256 B = 65536.
TEST(Doctor, AdvisedMaxIsCappedAtAQuarterOfRamAtTheSlabObjectSize) {
  DoctorRun r = Doctor("max-too-low");
  r.data.mem_total_kb = 64 * 1024;
  Diagnosis g = Diagnose(r.data, {});
  const Finding& f = Find(g, "max-too-low");
  EXPECT_NE(f.fix.find("sysctl -w net.netfilter.nf_conntrack_max=65536 "
                       "(capped at a quarter of RAM"),
            std::string::npos)
      << f.fix;
  ASSERT_EQ(f.changes.size(), 1u);
  EXPECT_EQ(f.changes[0].name, "nf_conntrack_max");
  EXPECT_EQ(f.changes[0].value, 65536u);
  // 65536 entries x 256 B.
  EXPECT_NE(f.fix.find("memory when full: 16.0 MiB"), std::string::npos);
}

// Drops since boot with room now and no table-full line within the window:
// the counters are history (doctor reads them once and cannot date them),
// not a WARNING that lasts until the next reboot.
TEST(Doctor, OldDropsWithRoomAndNoRecentLogLineAreHistory) {
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
  Diagnosis g = Diagnose(d, {});
  const Finding& f = Find(g, "max-too-low");
  EXPECT_EQ(f.severity, Severity::kOk) << f.title;
  EXPECT_NE(f.detail.find("drop 9 and early_drop 3"), std::string::npos)
      << f.detail;
  EXPECT_EQ(g.status, Severity::kOk);
  // Without the kernel log nothing can date them: they still warn.
  std::filesystem::remove(tree.path() + "/dev/kmsg");
  HostData d2 = Collect(*NewRootHostView(tree.path()));
  EXPECT_EQ(Find(Diagnose(d2, {}), "max-too-low").severity, Severity::kWarning);
}

// This namespace's table-full lines from 23.7 h ago (uptime 86400 s, lines
// at 1000 s) are outside the default 1 h window: OK, said as history. A
// window that reaches them makes them a WARNING again.
TEST(Doctor, TableFullLinesOlderThanTheWindowAreHistory) {
  DoctorRun r = Doctor("old-table-full");
  ASSERT_TRUE(r.data.kmsg);
  EXPECT_EQ(r.data.kmsg->table_full_by_netns.at(0).lines, 2u);
  const Finding& f = Find(r.diag, "max-too-low");
  EXPECT_EQ(f.severity, Severity::kOk) << f.title;
  EXPECT_NE(f.detail.find("the last 23.7 h ago"), std::string::npos)
      << f.detail;
  EXPECT_NE(f.detail.find("history"), std::string::npos) << f.detail;
  EXPECT_EQ(r.diag.status, Severity::kOk);
  Thresholds day;
  day.recent_log_s = 86400;
  const DoctorRun r2 = Doctor("old-table-full", day);
  const Finding& f2 = Find(r2.diag, "max-too-low");
  EXPECT_EQ(f2.severity, Severity::kWarning) << f2.title;
  EXPECT_NE(f2.title.find("23.7 h ago"), std::string::npos) << f2.title;
}

// "table full in netns N" lines of another namespace (N is not this one's
// inode) are that namespace's problem: reported, named, but no WARNING here.
TEST(Doctor, OtherNamespacesTableFullLinesAreNotThisTablesProblem) {
  DoctorRun r = Doctor("other-netns-full");
  EXPECT_EQ(r.data.kmsg->table_full_lines, 2u);
  EXPECT_EQ(r.data.kmsg->table_full_by_netns.at(4026532318u).lines, 2u);
  const Finding& f = Find(r.diag, "max-too-low");
  EXPECT_EQ(f.severity, Severity::kOk) << f.title;
  EXPECT_EQ(r.diag.status, Severity::kOk);
  EXPECT_NE(f.detail.find("other network namespaces"), std::string::npos)
      << f.detail;
  EXPECT_NE(f.detail.find("netns 4026532318 (ctkit doctor --netns blue): 2 "
                          "line(s), the last 10 s ago"),
            std::string::npos)
      << f.detail;
}

// Read from inside that namespace (not the initial one: no
// /proc/sys/net/nf_conntrack_max; its inode in ctkit/netns), the same lines
// are this table's: recent, so a WARNING even with room now; a line of the
// initial namespace is someone else's.
TEST(Doctor, TableFullLinesOfThisNamespaceAreMatchedByInode) {
  TempTree tree;
  BuildTree(tree.path(), "other-netns-full");
  std::filesystem::remove(tree.path() + "/proc/sys/net/nf_conntrack_max");
  doctortest::WriteAll(tree.path() + "/ctkit/netns", "net:[4026532318]\n");
  doctortest::WriteAll(
      tree.path() + "/dev/kmsg",
      doctortest::ReadAll(tree.path() + "/dev/kmsg") +
          "4,4,86395000000,-;nf_conntrack: nf_conntrack: table full, "
          "dropping packet\n");
  HostData d = Collect(*NewRootHostView(tree.path()));
  EXPECT_FALSE(d.init_netns);
  ASSERT_TRUE(d.netns_inode);
  EXPECT_EQ(*d.netns_inode, 4026532318u);
  Diagnosis g = Diagnose(d, {});
  const Finding& f = Find(g, "max-too-low");
  EXPECT_EQ(f.severity, Severity::kWarning) << f.title;
  EXPECT_NE(f.title.find("10 s ago"), std::string::npos) << f.title;
  EXPECT_NE(f.detail.find("This namespace logged 2 'table full' line(s)"),
            std::string::npos)
      << f.detail;
  EXPECT_NE(f.detail.find("the initial namespace: 1 line(s)"),
            std::string::npos)
      << f.detail;
  // Without the inode, nothing can be attributed to this namespace.
  std::filesystem::remove(tree.path() + "/ctkit/netns");
  HostData d2 = Collect(*NewRootHostView(tree.path()));
  const Diagnosis g2 = Diagnose(d2, {});
  const Finding& f2 = Find(g2, "max-too-low");
  EXPECT_EQ(f2.severity, Severity::kOk) << f2.title;
  EXPECT_NE(f2.detail.find("could not be read"), std::string::npos)
      << f2.detail;
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

// A shorter timeout frees nothing at once: an entry keeps its expiry until
// its next packet re-arms it. What is true now: how many entries have more
// than the shorter value left (they get it only at their next packet), and
// how many have been idle at least that long.
TEST(Doctor, ShorterTimeoutsSayWhatIsTrueNotWhatWouldBeFreedNow) {
  DoctorRun r = Doctor("time-wait-majority");
  const TimeoutUse* tw = nullptr;
  for (const auto& u : r.diag.timeouts) {
    if (u.sysctl == "nf_conntrack_tcp_timeout_time_wait") tw = &u;
  }
  ASSERT_NE(tw, nullptr);
  EXPECT_EQ(tw->entries, 400u);
  EXPECT_EQ(tw->max_left_s, 119u);
  ASSERT_EQ(tw->shorter.size(), 2u);
  EXPECT_EQ(tw->shorter[0].value_s, 60u);
  // make_fixtures.py: the 400 entries have 119 - i % 120 s left of 120.
  uint64_t more_left = 0, idle = 0;
  for (int i = 0; i < 400; ++i) {
    uint64_t left = 119 - static_cast<uint64_t>(i % 120);
    more_left += left > 60;
    idle += 120 - left >= 60;
  }
  EXPECT_EQ(tw->shorter[0].more_left, more_left);
  EXPECT_EQ(tw->shorter[0].idle_at_least, idle);
  std::string text = FormatDoctorText(r.data, r.diag);
  EXPECT_EQ(text.find("would free now"), std::string::npos) << text;
  EXPECT_EQ(text.find(" s frees "), std::string::npos) << text;
  EXPECT_NE(text.find(fmt::format(
                "60 s: {} have more than 60 s left (they get 60 s only at "
                "their next packet)",
                more_left)),
            std::string::npos)
      << text;
  auto j = nlohmann::json::parse(FormatDoctorJson(r.data, r.diag, 0));
  bool found = false;
  for (const auto& t : j["timeouts"]) {
    if (t["sysctl"] != "nf_conntrack_tcp_timeout_time_wait") continue;
    found = true;
    EXPECT_FALSE(t["shorter"][0].contains("frees"));
    EXPECT_EQ(t["shorter"][0]["entries_with_more_left"], more_left);
  }
  EXPECT_TRUE(found);
}

// Which timeout sysctl governs an entry doctor reads from the kernel: the
// timeout classes of proto/timeout_class.h with the kernel's trackers.
TableEntry TableLine(const char* line) {
  auto e = ParseTableLine(line);
  EXPECT_TRUE(e.has_value()) << line;
  return e.value_or(TableEntry{});
}

const TimeoutUse* UseOf(const Diagnosis& g, const std::string& sysctl) {
  for (const auto& u : g.timeouts) {
    if (u.sysctl == sysctl) return &u;
  }
  return nullptr;
}

Diagnosis DiagnoseTable(const std::vector<TableEntry>& table) {
  HostData d;
  TableDigestBuilder b(
      [&d](const std::string& name) { return d.SysctlOrDefault(name); });
  for (const TableEntry& t : table) {
    std::optional<SummaryEntry> e = SummaryEntryOf(t);
    EXPECT_TRUE(e.has_value()) << t.src << " " << t.dst;
    if (e) b.Add(*e);
  }
  d.table = b.Finish();
  return Diagnose(d, Thresholds{});
}

// kernel-model §1.2: SYN_SENT2 was never a sysctl (6.18 here has no
// nf_conntrack_tcp_timeout_syn_sent2). Measured on 6.18: the entry keeps
// what was left of SYN_SENT's timeout until a packet re-arms it, then with
// a fixed 120 s (EngineTcp.SynSent2KeepsSynSentsTimeUntilAPacketReArmsIt),
// so no sysctl change reaches it, and the timeouts doctor lists, which are
// the ones a change would shorten, leave it out.
TEST(DoctorTimeouts, SynSent2IsGovernedByNoSysctl) {
  const TableEntry e = TableLine(
      "tcp      6 117 SYN_SENT2 src=10.1.0.2 dst=10.2.0.2 sport=40080 "
      "dport=5001 src=10.2.0.2 dst=10.1.0.2 sport=5001 dport=40080 mark=0 "
      "use=1");
  EXPECT_EQ(TimeoutSysctlFor(e), "");
  const Diagnosis g = DiagnoseTable({e});
  EXPECT_EQ(UseOf(g, "nf_conntrack_tcp_timeout_syn_sent"), nullptr);
  EXPECT_TRUE(g.timeouts.empty());
}

// A TCP or SCTP entry whose state names no class says nothing of the
// timeout that governs it: NONE exists only before a first packet was
// handled (kernel-model §6.1; the kernel's NONE slot has no sysctl), and
// the kernel's trackers always print a state for their entries, so an
// absent one is not SYN_SENT's (nor generic's for SCTP, whose entries the
// kernel's SCTP tracker keeps, §9).
TEST(DoctorTimeouts, AnEntryWithoutAKnownStateIsGovernedByNoSysctl) {
  const TableEntry none = TableLine(
      "tcp      6 50 NONE src=10.1.0.2 dst=10.2.0.2 sport=40080 dport=80 "
      "[UNREPLIED] src=10.2.0.2 dst=10.1.0.2 sport=80 dport=40080 mark=0 "
      "use=1");
  const TableEntry absent = TableLine(
      "tcp      6 50 src=10.1.0.2 dst=10.2.0.2 sport=40081 dport=80 "
      "[UNREPLIED] src=10.2.0.2 dst=10.1.0.2 sport=80 dport=40081 mark=0 "
      "use=1");
  const TableEntry sctp = TableLine(
      "sctp     132 50 src=10.1.0.2 dst=10.2.0.2 sport=40082 dport=80 "
      "[UNREPLIED] src=10.2.0.2 dst=10.1.0.2 sport=80 dport=40082 mark=0 "
      "use=1");
  for (const TableEntry& e : {none, absent, sctp}) {
    EXPECT_EQ(TimeoutSysctlFor(e), "") << e.proto << " " << e.state;
  }
  EXPECT_TRUE(DiagnoseTable({none, absent, sctp}).timeouts.empty());
}

// kernel-model §6.4 step 6: an ESTABLISHED entry no reply has confirmed
// (a mid-stream pickup) has its timeout capped at
// nf_conntrack_tcp_timeout_unacknowledged until it becomes ASSURED. The
// lines are the kernel's own, measured on 6.18
// (tests/fidelity/s-tcp-pickup-loose.kernel.json): 299 s left, not 5 days.
TEST(DoctorTimeouts, EstablishedBeforeAssuredIsGovernedByUnacknowledged) {
  const TableEntry pickup = TableLine(
      "tcp      6 299 ESTABLISHED src=10.1.0.2 dst=10.2.0.2 sport=40111 "
      "dport=80 [UNREPLIED] src=10.2.0.2 dst=10.1.0.2 sport=80 dport=40111 "
      "mark=0 use=1");
  const TableEntry assured = TableLine(
      "tcp      6 431999 ESTABLISHED src=10.1.0.2 dst=10.2.0.2 sport=40110 "
      "dport=80 src=10.2.0.2 dst=10.1.0.2 sport=80 dport=40110 [ASSURED] "
      "mark=0 use=1");
  EXPECT_EQ(TimeoutSysctlFor(pickup),
            "nf_conntrack_tcp_timeout_unacknowledged");
  EXPECT_EQ(TimeoutSysctlFor(assured), "nf_conntrack_tcp_timeout_established");
  const Diagnosis g = DiagnoseTable({pickup, assured});
  const TimeoutUse* unack = UseOf(g, "nf_conntrack_tcp_timeout_unacknowledged");
  ASSERT_NE(unack, nullptr);
  EXPECT_EQ(unack->entries, 1u);
  EXPECT_EQ(unack->value_s, 300u);
  EXPECT_EQ(unack->unknown_idle, 0u);  // idle 1 s: 300 - 299
  const TimeoutUse* est = UseOf(g, "nf_conntrack_tcp_timeout_established");
  ASSERT_NE(est, nullptr);
  EXPECT_EQ(est->entries, 1u);
  EXPECT_EQ(est->unknown_idle, 0u);
}

// kernel-model §9: the kernel tracks SCTP by state and GRE by reply and
// ASSURED (ctkit's engine tracks both as generic, but doctor reads the
// kernel's table); DCCP has no tracker in 6.18 and is generic.
TEST(DoctorTimeouts, SctpAndGreHaveTheKernelsOwnTimeouts) {
  EXPECT_EQ(TimeoutSysctlFor(TableLine(
                "sctp     132 205 ESTABLISHED src=10.1.0.2 dst=10.2.0.2 "
                "sport=40082 dport=80 src=10.2.0.2 dst=10.1.0.2 sport=80 "
                "dport=40082 [ASSURED] mark=0 use=1")),
            "nf_conntrack_sctp_timeout_established");
  EXPECT_EQ(TimeoutSysctlFor(TableLine(
                "gre      47 179 src=10.1.0.2 dst=10.2.0.2 srckey=0x0 "
                "dstkey=0x0 src=10.2.0.2 dst=10.1.0.2 srckey=0x0 dstkey=0x0 "
                "[ASSURED] mark=0 use=1")),
            "nf_conntrack_gre_timeout_stream");
  EXPECT_EQ(TimeoutSysctlFor(TableLine(
                "gre      47 29 src=10.1.0.2 dst=10.2.0.2 srckey=0x0 "
                "dstkey=0x0 [UNREPLIED] src=10.2.0.2 dst=10.1.0.2 srckey=0x0 "
                "dstkey=0x0 mark=0 use=1")),
            "nf_conntrack_gre_timeout");
  EXPECT_EQ(TimeoutSysctlFor(TableLine(
                "unknown  33 599 src=10.1.0.2 dst=10.2.0.2 [UNREPLIED] "
                "src=10.2.0.2 dst=10.1.0.2 mark=0 use=1")),
            "nf_conntrack_generic_timeout");
}

// Not root: the table, the kernel log and slabinfo are refused. The report
// must not be OK: UNKNOWN, "run as root" on the status line, and the
// ctnetlink refusal named as a permission error.
class DenyingView : public HostView {
 public:
  DenyingView(HostView* base, std::map<std::string, std::string> deny)
      : base_(base), deny_(std::move(deny)) {}
  [[nodiscard]] Result<std::string> Read(const std::string& path) override {
    auto it = deny_.find(path);
    if (it != deny_.end()) return fail(Error::permission(it->second));
    return base_->Read(path);
  }
  [[nodiscard]] Result<std::vector<std::string>> List(
      const std::string& path) override {
    return base_->List(path);
  }
  std::string Describe() const override { return "live host"; }

 private:
  HostView* base_;
  std::map<std::string, std::string> deny_;
};

TEST(Doctor, UnreadableSourcesAreUnknownWithRunAsRootNeverOk) {
  TempTree tree;
  BuildTree(tree.path(), "");
  auto root = NewRootHostView(tree.path());
  // What a non-root read of the live host gets (measured as nobody).
  DenyingView view(
      root.get(),
      {{kTablePath,
        "no table: ctnetlink: permission denied (EPERM): reading conntrack "
        "over netlink needs CAP_NET_ADMIN; run as root; cannot open "
        "/proc/net/nf_conntrack: Permission denied"},
       {kKmsgPath, "cannot open /dev/kmsg: Operation not permitted"},
       {"/proc/slabinfo", "cannot open /proc/slabinfo: Permission denied"}});
  HostData d = Collect(view);
  EXPECT_EQ(d.denied.size(), 3u);
  Diagnosis g = Diagnose(d, {});
  EXPECT_EQ(g.status, Severity::kUnknown);
  EXPECT_EQ(static_cast<int>(g.status), 3);
  std::string line = FormatStatusLine(d, g);
  EXPECT_EQ(line.rfind("CONNTRACK UNKNOWN - ", 0), 0u) << line;
  EXPECT_NE(line.find("run as root"), std::string::npos) << line;
  const Finding& f = Find(g, "permission-denied");
  EXPECT_EQ(f.severity, Severity::kUnknown);
  EXPECT_NE(f.detail.find("ctnetlink: permission denied (EPERM)"),
            std::string::npos)
      << f.detail;
  // What was read still counts: a full table stays CRITICAL.
  doctortest::WriteAll(
      tree.path() + "/proc/sys/net/netfilter/nf_conntrack_count", "262144\n");
  HostData full = Collect(view);
  EXPECT_EQ(Diagnose(full, {}).status, Severity::kCritical);
}

// The first line is a monitoring plugin's: status, summary, then perfdata
// whose entries thresholds are the largest counts that do not alert
// (floor(max * pct / 100)), and the kernel's counters as counters.
TEST(Doctor, StatusLineCarriesNagiosPerfdata) {
  DoctorRun r = Doctor("max-too-low");
  std::string line = FormatStatusLine(r.data, r.diag);
  EXPECT_EQ(line.rfind("CONNTRACK CRITICAL - 100.0% used (1000/1000); ", 0), 0u)
      << line;
  // drop: 0x40 + 0x12 over the two CPU lines of the fixture.
  const std::string perf =
      " | entries=1000;800;950;0;1000 drop=82c early_drop=0c "
      "insert_failed=0c chaintoolong=0c";
  ASSERT_GE(line.size(), perf.size());
  EXPECT_EQ(line.substr(line.size() - perf.size()), perf) << line;
  EXPECT_EQ(line.find('|'), line.rfind('|'));  // one separator only
  std::string text = FormatDoctorText(r.data, r.diag);
  EXPECT_EQ(text.substr(0, text.find('\n')), line);
  // 80 % and 95 % of 262144 are 209715.2 and 249036.8.
  DoctorRun h = Doctor("");
  EXPECT_NE(FormatStatusLine(h.data, h.diag)
                .find("| entries=200;209715;249036;0;262144 drop=0c"),
            std::string::npos);
  // The boundary: 800 of 1000 is not above 80 %, 801 is.
  Thresholds t;
  TempTree tree;
  BuildTree(tree.path(), "max-too-low");
  for (const char* f : {"/proc/net/stat/nf_conntrack", "/dev/kmsg"}) {
    doctortest::WriteAll(
        tree.path() + f,
        doctortest::ReadAll(doctortest::FixtureDir() / "healthy" / (f + 1)));
  }
  for (auto [count, sev] : {std::pair<int, Severity>{800, Severity::kOk},
                            {801, Severity::kWarning}}) {
    doctortest::WriteAll(
        tree.path() + "/proc/sys/net/netfilter/nf_conntrack_count",
        std::to_string(count) + "\n");
    HostData d = Collect(*NewRootHostView(tree.path()));
    EXPECT_EQ(Find(Diagnose(d, t), "max-too-low").severity, sev) << count;
  }
}

TEST(Doctor, ChangesMergeLargestMaxAndSmallestTimeout) {
  DoctorRun r = Doctor("max-too-low");
  uint64_t n = 0;
  for (const auto& c : r.diag.changes) n += c.name == "nf_conntrack_max";
  EXPECT_EQ(n, 1u);
}

TEST(Doctor, JsonCarriesStatusFindingsAndTable) {
  DoctorRun r = Doctor("syn-sent-majority");
  auto j = nlohmann::json::parse(FormatDoctorJson(r.data, r.diag, 0));
  EXPECT_EQ(j["status"], "WARNING");
  EXPECT_EQ(j["exit_code"], 1);
  EXPECT_EQ(j["findings"][0]["id"], "syn-sent-majority");
  EXPECT_EQ(j["table"]["entries"], 460);
  std::string text = FormatDoctorText(r.data, r.diag);
  EXPECT_EQ(text.rfind("CONNTRACK WARNING - ", 0), 0u) << text;
}

// The JSON puts units in key names: /proc/meminfo's kB (KiB) as bytes,
// percentages as 0..1 ratios; counts and sysctls stay integers, and a
// sysctl keeps its name. The figures are the fixture's
// (memory-pressure/proc/meminfo: MemTotal 24684096 kB, MemAvailable
// 800000 kB; healthy/: 200 of 262144 entries).
TEST(Doctor, JsonEvidenceNamesItsUnits) {
  DoctorRun r = Doctor("memory-pressure");
  auto j = nlohmann::json::parse(FormatDoctorJson(r.data, r.diag, 0));
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["tool"], "ctkit doctor");
  EXPECT_EQ(j["generated_at"], "1970-01-01T00:00:00Z");
  EXPECT_EQ(j["host"]["mem_total_bytes"], 24684096ull * 1024);
  EXPECT_EQ(j["host"]["fill_ratio"], 200.0 / 262144);
  EXPECT_TRUE(j["host"]["sysctls"]["nf_conntrack_max"].is_number_unsigned());
  EXPECT_EQ(j["host"]["sysctls"]["nf_conntrack_max"], 262144);
  EXPECT_EQ(j["thresholds"]["warn_fill_ratio"], 0.8);
  EXPECT_EQ(j["thresholds"]["warn_entries"], 209715);  // floor(262144 x 0.8)
  bool memory = false, udp = false;
  for (const auto& f : j["findings"]) {
    const auto& ev = f["evidence"];
    if (f["id"] == "memory-pressure") {
      memory = true;
      EXPECT_EQ(ev["mem_total_bytes"], 24684096ull * 1024);
      EXPECT_EQ(ev["mem_available_bytes"], 800000ull * 1024);
      EXPECT_NEAR(ev["available_ratio"].get<double>(), 800000.0 / 24684096.0,
                  1e-12);
      EXPECT_FALSE(ev.contains("MemTotal"));
    }
    if (f["id"] == "udp-timeout") {
      udp = true;
      EXPECT_TRUE(ev["nf_conntrack_udp_timeout"].is_number_unsigned());
      EXPECT_EQ(ev["nf_conntrack_udp_timeout"], 30);
    }
    if (f["id"] == "max-too-low") {
      EXPECT_TRUE(ev["count"].is_number_unsigned()) << ev;
      EXPECT_EQ(ev["count"], 200);
    }
  }
  EXPECT_TRUE(memory && udp);
}

}  // namespace
}  // namespace ctkit
