// --sysctl-file takes the sysctl.d files a host really has: a Debian
// /etc/sysctl.conf (read at boot through /etc/sysctl.d/99-sysctl.conf) with
// net.ipv4.* and kernel.* keys next to the conntrack ones. The conntrack
// keys are applied, the others skipped with one note on stderr, and a
// '-' key's bad value is a note (sysctl.d(5)); the run succeeds.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/cli/cli_test_util.h"

namespace ctkit::clitest {
namespace {

TEST(SysctlFileCli, RealSysctlDFileIsReadWithOneNoteForOtherKeys) {
  TempDir dir;
  const std::string conf = dir.File("99-sysctl.conf");
  WriteFile(conf,
            "#\n"
            "# /etc/sysctl.conf - Configuration file for setting system "
            "variables\n"
            "#kernel.domainname = example.com\n"
            "net.ipv4.conf.default.rp_filter=1\n"
            "net.ipv4.conf.all.rp_filter=1\n"
            "net.ipv4.ip_forward=1\n"
            "kernel.panic = 10\n"
            "vm.swappiness = 10\n"
            "net.core.somaxconn = 4096\n"
            "-net.netfilter.nf_conntrack_helper = 0\n"
            "net/netfilter/nf_conntrack_max = 4096\n"
            "net.netfilter.nf_conntrack_udp_timeout = 10\n");
  const std::string pcap = dir.File("in.pcap");
  WritePcap(pcap, {Udp(kT0, V4(1, 2, 5353, 53), 20)});
  RunResult r = RunCtkit(
      dir, {"replay", "--dump", "--json", "--sysctl-file", conf, pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["settings"]["net.netfilter.nf_conntrack_max"], 4096);
  EXPECT_EQ(j["settings"]["net.netfilter.nf_conntrack_udp_timeout"], 10);
  ASSERT_EQ(j["entries"].size(), 1u);
  EXPECT_EQ(j["entries"][0]["timeout"], 9);
  // nf_conntrack_helper was removed from the kernel: the '-' makes it a
  // note naming the line; the six other keys are one note.
  auto lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  EXPECT_TRUE(StartsWith(lines[0], "ctkit: note: " + conf + ":10: ignored"))
      << r.err;
  EXPECT_TRUE(StartsWith(lines[1],
                         "ctkit: note: ignored 6 setting(s) outside "
                         "nf_conntrack: net.ipv4.conf.default.rp_filter (" +
                             conf + ":4)"))
      << r.err;
}

}  // namespace
}  // namespace ctkit::clitest
