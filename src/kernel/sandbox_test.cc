// The sandbox leaves the host as it found it: namespaces, links, nftables
// and sysctls are compared before and after a kernel replay that succeeds,
// one that fails midway at each stage, and one that changes a global
// sysctl with --allow-global. Root only (skipped with a message otherwise).
#include "kernel/sandbox.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "kernel/exec.h"
#include "kernel/kernel_replay.h"

namespace ctkit {
namespace {

std::string HostState() {
  std::string s;
  for (const auto& argv :
       std::vector<std::vector<std::string>>{{"ip", "-o", "link"},
                                             {"ip", "netns", "list"},
                                             {"nft", "list", "ruleset"},
                                             {"ip", "route"}}) {
    auto r = RunCommand(argv);
    s += r ? *r : r.error().message;
  }
  if (DIR* d = opendir("/proc/sys/net/netfilter")) {
    while (dirent* e = readdir(d)) {
      std::ifstream in(std::string("/proc/sys/net/netfilter/") + e->d_name);
      std::string v;
      if (in >> v) s += std::string(e->d_name) + "=" + v + "\n";
    }
    closedir(d);
  }
  s += std::to_string(access("/run/netns", F_OK));
  return s;
}

class SandboxHost : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    before_ = HostState();
  }
  void TearDown() override {
    if (!before_.empty()) {
      EXPECT_EQ(HostState(), before_);
    }
  }
  std::string before_;
};

TEST_F(SandboxHost, CreateAndDestroyLeavesNothing) {
  auto sb = Sandbox::Create({});
  ASSERT_TRUE(sb) << sb.error().message;
}

TEST_F(SandboxHost, GlobalSysctlNeedsAllowGlobalAndIsRestored) {
  SandboxOptions o;
  o.sysctls = {{"nf_conntrack_max", "1000"}};
  EXPECT_FALSE(Sandbox::Create(o));
  o.allow_global = true;
  auto sb = Sandbox::Create(o);
  ASSERT_TRUE(sb) << sb.error().message;
  std::ifstream in("/proc/sys/net/netfilter/nf_conntrack_max");
  std::string v;
  in >> v;
  EXPECT_EQ(v, "1000");
}

TEST_F(SandboxHost, FailingMidwayLeavesNothing) {
  const char* path = "/tmp/ctkit_sandbox_test.pcap";
  // A tiny capture: one UDP exchange.
  auto w = RunCommand({"bash", "-c",
                       "printf '\\xd4\\xc3\\xb2\\xa1\\x02\\x00\\x04\\x00"
                       "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
                       "\\xff\\xff\\x00\\x00\\x65\\x00\\x00\\x00' > " +
                           std::string(path)});
  ASSERT_TRUE(w) << w.error().message;
  for (const char* stage : {"sandbox", "routes", "inject"}) {
    KernelReplayOptions o;
    o.fail_after = stage;
    o.sysctls = {{"nf_conntrack_max", "2000"},
                 {"nf_conntrack_udp_timeout", "17"}};
    o.allow_global = true;
    auto r = RunKernelReplay(path, o);
    EXPECT_FALSE(r) << stage;
    EXPECT_EQ(HostState(), before_) << "after failing at " << stage;
  }
  KernelReplayOptions ok;
  auto r = RunKernelReplay(path, ok);
  EXPECT_TRUE(r) << r.error().message;
  unlink(path);
}

}  // namespace
}  // namespace ctkit
