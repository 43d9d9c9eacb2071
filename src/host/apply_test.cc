// --apply then --rollback under a temporary root must leave every file,
// directory and permission byte-identical; --collect's archive must extract
// (with tar) into a tree that gives the same report.
#include "host/apply.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "host/doctor_report.h"
#include "host/sysctl_d.h"
#include "host/tar_writer.h"
#include "testing/doctor_test_util.h"

namespace ctkit {
namespace {

using doctortest::BuildTree;
using doctortest::ReadAll;
using doctortest::Snapshot;
using doctortest::TempTree;
using doctortest::WriteAll;

Diagnosis Diag(const std::string& root, HostData* d) {
  auto view = NewRootHostView(root);
  *d = Collect(*view);
  return Diagnose(*d, {});
}

TEST(Apply, ThenRollbackLeavesTheTreeByteIdentical) {
  TempTree tree;
  BuildTree(tree.path(), "max-too-low");
  doctortest::fs::copy(doctortest::FixtureDir() / "tcp-max-retrans",
                       tree.path(),
                       doctortest::fs::copy_options::recursive |
                           doctortest::fs::copy_options::overwrite_existing);
  // An existing sysctl.d file with our name and odd bytes, kept exactly.
  WriteAll(tree.path() + kSysctlConf, "# mine\nnet.netfilter.x = 1\r\n\n");
  auto before = Snapshot(tree.path());
  HostData d;
  Diagnosis g = Diag(tree.path(), &d);
  ASSERT_GE(g.changes.size(), 2u);
  ApplyOptions o;
  o.runtime_root = o.persist_root = tree.path();
  auto plan = PlanApply(g.changes, d, o);
  ASSERT_TRUE(plan) << plan.error().message;
  std::string shown = DescribePlan(*plan);
  EXPECT_NE(shown.find("/proc/sys/net/netfilter/nf_conntrack_max: 1000 -> "
                       "262144"),
            std::string::npos)
      << shown;
  ASSERT_TRUE(ExecuteApply(*plan, o));
  EXPECT_EQ(ReadAll(tree.path() + "/proc/sys/net/netfilter/nf_conntrack_max"),
            "262144\n");
  EXPECT_EQ(ReadAll(tree.path() +
                    "/proc/sys/net/netfilter/nf_conntrack_tcp_max_retrans"),
            "3\n");
  std::string conf = ReadAll(tree.path() + kSysctlConf);
  EXPECT_NE(conf.find("net.netfilter.nf_conntrack_max = 262144"),
            std::string::npos);
  EXPECT_NE(conf.find("net.netfilter.x = 1"), std::string::npos);
  // A second apply before rollback is refused.
  EXPECT_FALSE(PlanApply(g.changes, d, o));
  auto done = Rollback(o);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(Snapshot(tree.path()), before);
  EXPECT_FALSE(Rollback(o));  // nothing left to roll back
}

TEST(Apply, CreatedFilesAndDirectoriesAreRemovedOnRollback) {
  TempTree tree;
  BuildTree(tree.path(), "hash-size");
  auto before = Snapshot(tree.path());
  HostData d;
  Diagnosis g = Diag(tree.path(), &d);
  ApplyOptions o;
  o.runtime_root = o.persist_root = tree.path();
  auto plan = PlanApply(g.changes, d, o);
  ASSERT_TRUE(plan);
  ASSERT_TRUE(ExecuteApply(*plan, o));
  EXPECT_EQ(ReadAll(tree.path() + kHashsizeParam), "1000448\n");
  // Built in (no initstate): the hash size persists as buckets in sysctl.d,
  // with a warning that modprobe.d would not apply.
  EXPECT_NE(ReadAll(tree.path() + kSysctlConf)
                .find("net.netfilter.nf_conntrack_buckets = 1000448"),
            std::string::npos);
  bool warned = false;
  for (const auto& w : plan->warnings)
    warned |= w.find("built into") != std::string::npos;
  EXPECT_TRUE(warned);
  ASSERT_TRUE(Rollback(o));
  EXPECT_EQ(Snapshot(tree.path()), before);
}

TEST(Apply, ModuleHashsizeGoesToModprobeD) {
  TempTree tree;
  BuildTree(tree.path(), "hash-size");
  WriteAll(tree.path() + "/sys/module/nf_conntrack/initstate", "live\n");
  auto before = Snapshot(tree.path());
  HostData d;
  Diagnosis g = Diag(tree.path(), &d);
  ApplyOptions o;
  o.runtime_root = o.persist_root = tree.path();
  auto plan = PlanApply(g.changes, d, o);
  ASSERT_TRUE(plan);
  ASSERT_TRUE(ExecuteApply(*plan, o));
  EXPECT_NE(ReadAll(tree.path() + kModprobeConf)
                .find("options nf_conntrack hashsize=1000448"),
            std::string::npos);
  ASSERT_TRUE(Rollback(o));
  EXPECT_EQ(Snapshot(tree.path()), before);
}

TEST(Apply, WarnsThatKubeProxyWouldUndoMax) {
  TempTree tree;
  BuildTree(tree.path(), "max-too-low");
  doctortest::fs::copy(doctortest::FixtureDir() / "kube-proxy", tree.path(),
                       doctortest::fs::copy_options::recursive |
                           doctortest::fs::copy_options::overwrite_existing);
  HostData d;
  Diagnosis g = Diag(tree.path(), &d);
  EXPECT_TRUE(d.kube_proxy_running);
  ApplyOptions o;
  o.runtime_root = o.persist_root = tree.path();
  auto plan = PlanApply(g.changes, d, o);
  ASSERT_TRUE(plan);
  bool warned = false;
  for (const auto& w : plan->warnings)
    warned |= w.find("kube-proxy") != std::string::npos;
  EXPECT_TRUE(warned) << DescribePlan(*plan);
}

std::string Joined(const ApplyPlan& p) {
  std::string s;
  for (const auto& n : p.notes) s += "note: " + n + "\n";
  for (const auto& w : p.warnings) s += "warning: " + w + "\n";
  return s;
}

size_t Count(const std::string& s, const std::string& part) {
  size_t n = 0;
  for (size_t at = s.find(part); at != std::string::npos;
       at = s.find(part, at + 1))
    ++n;
  return n;
}

// Debian's /etc/sysctl.d/99-sysctl.conf is a link to /etc/sysctl.conf, so
// the runbook's "edit /etc/sysctl.conf" lands in a file read at boot under
// the name 99-sysctl.conf. The written file sorts after it and after the
// vendor file, so it wins at boot; each of those files is named once, and
// none is said to win.
TEST(Apply, EarlierFilesAreNamedOnceAndTheWrittenFileSortsLast) {
  TempTree tree;
  BuildTree(tree.path(), "max-too-low");
  WriteAll(tree.path() + "/etc/sysctl.conf",
           "#kernel.domainname = example.com\n"
           "net.netfilter.nf_conntrack_max = 1000\n");
  doctortest::fs::create_directories(tree.path() + "/etc/sysctl.d");
  doctortest::fs::create_symlink("../sysctl.conf",
                                 tree.path() + "/etc/sysctl.d/99-sysctl.conf");
  WriteAll(tree.path() + "/usr/lib/sysctl.d/50-vendor.conf",
           "net/netfilter/nf_conntrack_max=5000\n");
  HostData d;
  Diagnosis g = Diag(tree.path(), &d);
  ApplyOptions o;
  o.runtime_root = o.persist_root = tree.path();
  auto plan = PlanApply(g.changes, d, o);
  ASSERT_TRUE(plan) << plan.error().message;
  std::string said = Joined(*plan);
  EXPECT_EQ(said.find("wins at boot"), std::string::npos) << said;
  EXPECT_EQ(Count(said, "sets net.netfilter.nf_conntrack_max = 1000"), 1u)
      << said;
  EXPECT_EQ(Count(said,
                  "/etc/sysctl.d/99-sysctl.conf (a link to "
                  "/etc/sysctl.conf):2 sets"),
            1u)
      << said;
  EXPECT_EQ(Count(said, "/usr/lib/sysctl.d/50-vendor.conf:1 sets"), 1u) << said;
  // procps `sysctl --system` reads /etc/sysctl.conf again at its end.
  EXPECT_NE(said.find("sysctl --system"), std::string::npos) << said;
  // Our file sorts after both in the boot order.
  std::string ours = std::string(kSysctlConf).substr(14);
  EXPECT_GT(ours, std::string("99-sysctl.conf"));
  EXPECT_GT(ours, std::string("50-vendor.conf"));
  ASSERT_TRUE(ExecuteApply(*plan, o));
  auto files = BootSysctlFiles(tree.path());
  ASSERT_FALSE(files.empty());
  EXPECT_EQ(files.back().path, kSysctlConf);
  ASSERT_TRUE(Rollback(o));
}

// A file that sorts after ours and sets the same key by its exact name
// (any spelling: '-', '/', the net.nf_conntrack_max alias) would win at
// boot: --apply stops before writing anything and names it. Globs and a
// same-named file in /usr/lib (masked by ours) do not stop it.
TEST(Apply, LaterFileThatWouldWinAtBootStopsTheApply) {
  for (const char* line : {"-net/netfilter/nf_conntrack_max = 1000",
                           "net.nf_conntrack_max=1000"}) {
    TempTree tree;
    BuildTree(tree.path(), "max-too-low");
    WriteAll(tree.path() + "/etc/sysctl.d/zz-local.conf",
             std::string("# local\n") + line + "\n");
    auto before = Snapshot(tree.path());
    HostData d;
    Diagnosis g = Diag(tree.path(), &d);
    ApplyOptions o;
    o.runtime_root = o.persist_root = tree.path();
    auto plan = PlanApply(g.changes, d, o);
    ASSERT_FALSE(plan) << line;
    EXPECT_NE(plan.error().message.find("/etc/sysctl.d/zz-local.conf:2 sets"),
              std::string::npos)
        << plan.error().message;
    EXPECT_NE(plan.error().message.find("= 1000"), std::string::npos);
    EXPECT_EQ(Snapshot(tree.path()), before);
    // --runtime-only writes no file, so nothing can win over it.
    o.persistent = false;
    EXPECT_TRUE(PlanApply(g.changes, d, o));
  }
  TempTree tree;
  BuildTree(tree.path(), "max-too-low");
  WriteAll(tree.path() + "/etc/sysctl.d/zz-glob.conf",
           "net.netfilter.nf_conntrack_m* = 1000\n");
  WriteAll(tree.path() + "/usr/lib" + std::string(kSysctlConf).substr(4),
           "net.netfilter.nf_conntrack_max = 1000\n");
  HostData d;
  Diagnosis g = Diag(tree.path(), &d);
  ApplyOptions o;
  o.runtime_root = o.persist_root = tree.path();
  auto plan = PlanApply(g.changes, d, o);
  EXPECT_TRUE(plan) << plan.error().message;
}

// A loadable nf_conntrack (initstate present) must be loaded before
// systemd-sysctl applies net.netfilter.*: --apply adds a modules-load.d
// file, and --rollback removes it and the directory it created.
TEST(Apply, ModuleKernelGetsAModulesLoadDFile) {
  TempTree tree;
  BuildTree(tree.path(), "max-too-low");
  WriteAll(tree.path() + "/sys/module/nf_conntrack/initstate", "live\n");
  auto before = Snapshot(tree.path());
  HostData d;
  Diagnosis g = Diag(tree.path(), &d);
  ASSERT_TRUE(d.builtin.has_value());
  EXPECT_FALSE(*d.builtin);
  ApplyOptions o;
  o.runtime_root = o.persist_root = tree.path();
  auto plan = PlanApply(g.changes, d, o);
  ASSERT_TRUE(plan) << plan.error().message;
  ASSERT_TRUE(ExecuteApply(*plan, o));
  std::string conf = ReadAll(tree.path() + kModulesLoadConf);
  EXPECT_NE(conf.find("\nnf_conntrack\n"), std::string::npos) << conf;
  EXPECT_EQ(ModuleLoadedAtBootBy(tree.path(), "nf_conntrack"),
            kModulesLoadConf);
  ASSERT_TRUE(Rollback(o));
  EXPECT_EQ(Snapshot(tree.path()), before);

  // Already loaded at boot (Debian: modules.conf links to /etc/modules).
  WriteAll(tree.path() + "/etc/modules", "# /etc/modules\nnf-conntrack\n");
  doctortest::fs::create_directories(tree.path() + "/etc/modules-load.d");
  doctortest::fs::create_symlink(
      "../modules", tree.path() + "/etc/modules-load.d/modules.conf");
  plan = PlanApply(g.changes, d, o);
  ASSERT_TRUE(plan);
  for (const auto& w : plan->writes) EXPECT_NE(w.display, kModulesLoadConf);
  EXPECT_NE(Joined(*plan).find("loaded at boot by "
                               "/etc/modules-load.d/modules.conf (a link to "
                               "/etc/modules)"),
            std::string::npos)
      << Joined(*plan);
}

TEST(Collect, ArchiveExtractsToATreeWithTheSameReport) {
  TempTree tree, out;
  BuildTree(tree.path(), "max-too-low");
  auto base = NewRootHostView(tree.path());
  RecordingHostView rec(base.get());
  HostData d1 = Collect(rec);
  std::string report1 = FormatDoctorText(d1, Diagnose(d1, {}));
  std::string archive = out.path() + "/c.tar.gz";
  ASSERT_TRUE(WriteTarGz(archive, rec.files(), 1700000000));
  std::string cmd = "tar -xzf " + archive + " -C " + out.path();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto again = NewRootHostView(out.path());
  HostData d2 = Collect(*again);
  std::string report2 = FormatDoctorText(d2, Diagnose(d2, {}));
  // Only the source line (the second) differs.
  auto without_source = [](const std::string& r) {
    size_t a = r.find("\n  source: ");
    return r.substr(0, a) + r.substr(r.find('\n', a + 1));
  };
  EXPECT_EQ(without_source(report1), without_source(report2));
  EXPECT_NE(report1.find("\n  source: "), std::string::npos);
}

TEST(Tar, LongPathsUsePrefixAndLargeFilesComeBackWhole) {
  TempTree out;
  std::map<std::string, std::string> files;
  std::string deep = "/a/" + std::string(120, 'd') + "/file";
  files[deep] = std::string(200000, 'x');
  files["/b/noise"].reserve(300000);
  for (uint32_t i = 0; files["/b/noise"].size() < 300000; ++i) {
    files["/b/noise"] += std::to_string(i * 2654435761u);
  }
  std::string archive = out.path() + "/t.tar.gz";
  ASSERT_TRUE(WriteTarGz(archive, files, 0));
  // Compressed: the 200 kB run of one byte costs next to nothing.
  EXPECT_LT(ReadAll(archive).size(), 300000u);
  ASSERT_EQ(std::system(("tar -xzf " + archive + " -C " + out.path()).c_str()),
            0);
  EXPECT_EQ(ReadAll(out.path() + deep), files[deep]);
  EXPECT_EQ(ReadAll(out.path() + "/b/noise"), files["/b/noise"]);
}

TEST(Parse, KmsgAndDmesgLinesAndTheNetnsVariant) {
  auto k = SummarizeKernelLog(
      "4,10,5000000,-;nf_conntrack: nf_conntrack: table full in netns "
      "4026532290, dropping packet\n"
      "[ 7.250000] nf_conntrack: nf_conntrack: table full, dropping packet\n"
      "4,11,6000000,-;Too many links\n");
  EXPECT_EQ(k.table_full_lines, 2u);
  EXPECT_EQ(k.table_full_netns_lines, 1u);
  EXPECT_DOUBLE_EQ(k.last_table_full_s, 7.25);
}

TEST(Parse, ProcNetNfConntrackLines) {
  auto e = ParseTableLine(
      "ipv4     2 tcp      6 431999 ESTABLISHED src=127.0.0.1 dst=127.0.0.1 "
      "sport=51910 dport=8080 src=127.0.0.1 dst=127.0.0.1 sport=8080 "
      "dport=51910 [ASSURED] mark=0 zone=0 use=2");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, "ESTABLISHED");
  EXPECT_EQ(e->timeout_s, 431999u);
  EXPECT_EQ(e->sport, 51910);
  EXPECT_TRUE(e->assured);
  EXPECT_FALSE(ParseTableLine("garbage"));
}

TEST(Parse, ConntrackSAndBadStatFiles) {
  uint32_t cpus = 0;
  auto s = ParseConntrackS(
      "cpu=0   \tfound=0 invalid=4 insert=0 insert_failed=1 drop=2 "
      "early_drop=3 error=0 search_restart=0 clash_resolve=0 chaintoolong=1\n"
      "cpu=1   \tfound=0 invalid=1 insert=0 insert_failed=0 drop=5 "
      "early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=0\n",
      &cpus);
  ASSERT_TRUE(s);
  EXPECT_EQ(cpus, 2u);
  EXPECT_EQ(s->drop, 7u);
  EXPECT_FALSE(ParseProcStat(
      "entries drop early_drop insert_failed\nzz 1 2 3\n", nullptr, nullptr));
}

}  // namespace
}  // namespace ctkit
