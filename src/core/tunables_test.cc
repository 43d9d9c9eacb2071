// Tunables: the nf_conntrack sysctls by name (spec §1.2), the hash-size
// rules (§1.3/§1.4, §13(e)) and sysctl.conf-style files.
#include "ctkit/tunables.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "testing/engine_test_util.h"

namespace ctkit {
namespace {

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(Tunables, DefaultsAreTheKernels) {
  Tunables t;
  EXPECT_EQ(t.checksum, 1);
  EXPECT_EQ(t.generic_timeout, 600u);
  EXPECT_EQ(t.icmp_timeout, 30u);
  EXPECT_EQ(t.icmpv6_timeout, 30u);
  EXPECT_EQ(t.tcp_timeout_syn_sent, 120u);
  EXPECT_EQ(t.tcp_timeout_syn_recv, 60u);
  EXPECT_EQ(t.tcp_timeout_established, 432000u);
  EXPECT_EQ(t.tcp_timeout_fin_wait, 120u);
  EXPECT_EQ(t.tcp_timeout_close_wait, 60u);
  EXPECT_EQ(t.tcp_timeout_last_ack, 30u);
  EXPECT_EQ(t.tcp_timeout_time_wait, 120u);
  EXPECT_EQ(t.tcp_timeout_close, 10u);
  EXPECT_EQ(t.tcp_timeout_max_retrans, 300u);
  EXPECT_EQ(t.tcp_timeout_unacknowledged, 300u);
  EXPECT_EQ(t.tcp_loose, 1);
  EXPECT_EQ(t.tcp_be_liberal, 0);
  EXPECT_EQ(t.tcp_ignore_invalid_rst, 0);
  EXPECT_EQ(t.tcp_max_retrans, 3);
  EXPECT_EQ(t.udp_timeout, 30u);
  EXPECT_EQ(t.udp_timeout_stream, 120u);
  EXPECT_EQ(t.events, 2);
  EXPECT_EQ(t.acct, 0);
  EXPECT_EQ(t.timestamp, 0);
  EXPECT_EQ(t.expect_max, 4096u);
}

TEST(Tunables, SetByFullName) {
  Tunables t;
  ASSERT_TRUE(t.Set("net.netfilter.nf_conntrack_udp_timeout", "45"));
  EXPECT_EQ(t.udp_timeout, 45u);
  ASSERT_TRUE(t.Set("net.netfilter.nf_conntrack_max", "1000"));
  EXPECT_EQ(t.max, 1000u);
  ASSERT_TRUE(
      t.Set("net.netfilter.nf_conntrack_tcp_timeout_established", "3600"));
  EXPECT_EQ(t.tcp_timeout_established, 3600u);
}

TEST(Tunables, SetByShortNameAndAliases) {
  Tunables t;
  ASSERT_TRUE(t.Set("nf_conntrack_tcp_loose", "0"));
  EXPECT_EQ(t.tcp_loose, 0);
  ASSERT_TRUE(t.Set("nf_conntrack_buckets", "65536"));
  EXPECT_EQ(t.buckets, 65536u);
  // net.nf_conntrack_max is the kernel's second name for the max (§1.1).
  ASSERT_TRUE(t.Set("net.nf_conntrack_max", "2048"));
  EXPECT_EQ(t.max, 2048u);
  // sysctl(8) also accepts '/' separators; spaces around are trimmed.
  ASSERT_TRUE(t.Set("net/netfilter/nf_conntrack_icmp_timeout", " 12 "));
  EXPECT_EQ(t.icmp_timeout, 12u);
  // 0 is a valid max: no limit in 6.18 (§2.1).
  ASSERT_TRUE(t.Set("nf_conntrack_max", "0"));
  EXPECT_EQ(t.max, 0u);
}

// §1.2 / §13(e): there is no nf_conntrack_hashsize sysctl; the error says
// what to use instead.
TEST(Tunables, HashsizeIsRejectedWithExplanation) {
  Tunables t;
  auto r = t.Set("net.netfilter.nf_conntrack_hashsize", "65536");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(Contains(r.error().message, "nf_conntrack_buckets"))
      << r.error().message;
  EXPECT_TRUE(Contains(r.error().message, "hashsize")) << r.error().message;
  EXPECT_EQ(t.buckets, Tunables{}.buckets);  // unchanged
  EXPECT_FALSE(t.Set("nf_conntrack_hashsize", "65536"));
}

TEST(Tunables, UnknownNameIsAnError) {
  Tunables t;
  auto r = t.Set("net.netfilter.nf_conntrack_frobnicate", "1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(Contains(r.error().message, "nf_conntrack_frobnicate"))
      << r.error().message;
  // Sysctls that do not exist in 6.18 (§1.2).
  EXPECT_FALSE(t.Set("nf_conntrack_helper", "1"));
  EXPECT_FALSE(t.Set("nf_conntrack_dccp_timeout_open", "10"));
  EXPECT_FALSE(t.Set("nf_conntrack_tcp_timeout_syn_sent2", "10"));
  // Not a conntrack name at all.
  EXPECT_FALSE(t.Set("net.core.somaxconn", "10"));
}

TEST(Tunables, CountIsReadOnly) {
  Tunables t;
  auto r = t.Set("net.netfilter.nf_conntrack_count", "5");
  ASSERT_FALSE(r);
  EXPECT_TRUE(Contains(r.error().message, "read-only")) << r.error().message;
}

TEST(Tunables, OutOfRangeAndMalformedValues) {
  Tunables t;
  auto r = t.Set("nf_conntrack_tcp_loose", "2");  // u8 0..1
  ASSERT_FALSE(r);
  EXPECT_TRUE(Contains(r.error().message, "out of range")) << r.error().message;
  EXPECT_TRUE(Contains(r.error().message, "nf_conntrack_tcp_loose"))
      << r.error().message;
  EXPECT_EQ(t.tcp_loose, 1);  // unchanged
  EXPECT_FALSE(t.Set("nf_conntrack_checksum", "2"));
  EXPECT_FALSE(t.Set("nf_conntrack_events", "3"));
  EXPECT_FALSE(t.Set("nf_conntrack_tcp_max_retrans", "256"));
  EXPECT_TRUE(t.Set("nf_conntrack_tcp_max_retrans", "255"));
  // Timeouts are limited to INT_MAX jiffies (about 99 days at HZ=250).
  EXPECT_FALSE(t.Set("nf_conntrack_udp_timeout", "9000000"));
  // 0 buckets is refused (§1.4).
  EXPECT_FALSE(t.Set("nf_conntrack_buckets", "0"));
  EXPECT_FALSE(t.Set("nf_conntrack_udp_timeout", "-1"));
  EXPECT_FALSE(t.Set("nf_conntrack_udp_timeout", "ten"));
  EXPECT_FALSE(t.Set("nf_conntrack_udp_timeout", ""));
  EXPECT_FALSE(t.Set("nf_conntrack_udp_timeout", "10s"));
  EXPECT_EQ(t.udp_timeout, 30u);
}

// §1.3/§1.4: the bucket count is rounded up to a multiple of 512.
TEST(Tunables, NormalizeRoundsBucketsTo512) {
  auto norm = [](uint32_t b) {
    Tunables t;
    t.buckets = b;
    t.Normalize();
    return t.buckets;
  };
  EXPECT_EQ(norm(1), 512u);
  EXPECT_EQ(norm(0), 512u);
  EXPECT_EQ(norm(511), 512u);
  EXPECT_EQ(norm(512), 512u);
  EXPECT_EQ(norm(513), 1024u);
  EXPECT_EQ(norm(65536), 65536u);
  EXPECT_EQ(norm(100000), 100352u);
  EXPECT_EQ(norm(262144), 262144u);
  // Normalize leaves the max alone (a resize never changes it, §1.3).
  Tunables t;
  t.max = 1000;
  t.buckets = 1000;
  t.Normalize();
  EXPECT_EQ(t.max, 1000u);
}

// The engine applies the same normalisation.
TEST(Tunables, EngineRoundsBuckets) {
  Tunables t;
  t.max = 100;
  t.buckets = 100;
  auto e = Engine::Create(t, enginetest::TestOptions());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ((*e)->tunables().buckets, 512u);
  EXPECT_EQ((*e)->tunables().max, 100u);
}

class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    char name[] = "/tmp/ctkit_tunables_XXXXXX";
    int fd = mkstemp(name);
    EXPECT_GE(fd, 0);
    if (fd >= 0) close(fd);
    path_ = name;
    std::ofstream(path_) << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(Tunables, LoadFileWithComments) {
  TempFile f(
      "# conntrack settings\n"
      "; another comment style\n"
      "\n"
      "net.netfilter.nf_conntrack_max = 131072\n"
      "  nf_conntrack_udp_timeout=20  \n"
      "-net.netfilter.nf_conntrack_tcp_be_liberal = 1\n"
      "net.nf_conntrack_max=131073\r\n");
  Tunables t;
  auto r = t.LoadFile(f.path());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(t.max, 131073u);
  EXPECT_EQ(t.udp_timeout, 20u);
  EXPECT_EQ(t.tcp_be_liberal, 1);
}

TEST(Tunables, LoadFileErrorNamesFileAndLine) {
  TempFile f(
      "# ok\n"
      "nf_conntrack_udp_timeout = 20\n"
      "net.netfilter.nf_conntrack_hashsize = 65536\n"
      "nf_conntrack_icmp_timeout = 5\n");
  Tunables t;
  auto r = t.LoadFile(f.path());
  ASSERT_FALSE(r);
  EXPECT_TRUE(Contains(r.error().message, f.path() + ":3:"))
      << r.error().message;
  EXPECT_TRUE(Contains(r.error().message, "nf_conntrack_buckets"))
      << r.error().message;
}

TEST(Tunables, LoadFileLineWithoutEquals) {
  TempFile f("nf_conntrack_udp_timeout = 20\nnonsense line\n");
  Tunables t;
  auto r = t.LoadFile(f.path());
  ASSERT_FALSE(r);
  EXPECT_TRUE(Contains(r.error().message, f.path() + ":2:"))
      << r.error().message;
}

TEST(Tunables, LoadFileMissing) {
  Tunables t;
  auto r = t.LoadFile("/nonexistent/ctkit/sysctl.conf");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
}

// A real sysctl.d file, as Debian and Ubuntu hosts have them (Debian's
// commented /etc/sysctl.conf lines, Ubuntu's 10-network-security.conf and
// 10-kernel-hardening.conf keys, a VLAN interface in '/' form, a '-' key)
// plus conntrack settings: the conntrack keys are applied, the rest is
// skipped with one note, a bad value on a '-' key is a note (sysctl.d(5):
// errors of '-' keys are ignored), and an exact key wins over a glob
// whichever comes first (as systemd-sysctl 252 does, measured).
constexpr char kDebianSysctlD[] =
    "#\n"
    "# /etc/sysctl.conf - Configuration file for setting system variables\n"
    "# See /etc/sysctl.d/ for additional system variables.\n"
    "# See sysctl.conf (5) for information.\n"
    "#\n"
    "\n"
    "#kernel.domainname = example.com\n"
    "\n"
    "# Uncomment the following to stop low-level messages on console\n"
    "#kernel.printk = 3 4 1 3\n"
    "\n"
    "# Turn on Source Address Verification in all interfaces to\n"
    "# prevent some spoofing attacks\n"
    "net.ipv4.conf.default.rp_filter=2\n"
    "net.ipv4.conf.all.rp_filter=2\n"
    "net.ipv4.tcp_syncookies=1\n"
    "kernel.kptr_restrict = 1\n"
    "kernel.pid_max = 4194304\n"
    "fs.protected_symlinks = 1\n"
    "net/ipv4/conf/eth0.100/rp_filter = 0\n"
    "-net.ipv6.conf.all.disable_ipv6 = 1\n"
    "net.ipv4.conf.*.accept_redirects = 0\n"
    "\n"
    "# conntrack\n"
    "net.netfilter.nf_conntrack_tcp_timeout_time_wait = 60\n"
    "net.netfilter.nf_conntrack_max = 524288\n"
    "net/netfilter/nf_conntrack_tcp_timeout_established = 86400\n"
    "-net.netfilter.nf_conntrack_buckets = lots\n"
    "net.netfilter.nf_conntrack_tcp_timeout_*_wait = 30\n";

TEST(Tunables, RealSysctlDFileKeepsConntrackKeysAndNotesTheRestOnce) {
  TempFile f(kDebianSysctlD);
  Tunables t;
  std::vector<std::string> notes;
  auto r = t.LoadFile(f.path(), &notes);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(t.max, 524288u);
  EXPECT_EQ(t.tcp_timeout_established, 86400u);
  EXPECT_EQ(t.buckets, 262144u);  // the '-' line's bad value is ignored
  EXPECT_EQ(t.tcp_timeout_fin_wait, 30u);    // the glob
  EXPECT_EQ(t.tcp_timeout_close_wait, 30u);  // the glob
  EXPECT_EQ(t.tcp_timeout_time_wait, 60u);   // exact beats the later glob
  EXPECT_EQ(t.tcp_timeout_syn_sent, 120u);   // untouched
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_TRUE(Contains(notes[0], f.path() + ":28: ignored ('-' key)"))
      << notes[0];
  EXPECT_TRUE(Contains(notes[0], "'lots'")) << notes[0];
  EXPECT_EQ(notes[1].rfind("ignored 9 setting(s) outside nf_conntrack: "
                           "net.ipv4.conf.default.rp_filter (" +
                               f.path() + ":14)",
                           0),
            0u)
      << notes[1];
}

TEST(Tunables, DashKeyErrorsAreNotesOtherwiseErrorsNamingTheLine) {
  TempFile ok(
      "-net.netfilter.nf_conntrack_hashsize = 65536\n"
      "-nf_conntrack_count = 5\n");
  Tunables t;
  std::vector<std::string> notes;
  ASSERT_TRUE(t.LoadFile(ok.path(), &notes));
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_TRUE(Contains(notes[0], ok.path() + ":1:")) << notes[0];
  EXPECT_TRUE(Contains(notes[1], "read-only")) << notes[1];
  TempFile bad("kernel.pid_max = 10\nnet.netfilter.nf_conntrack_max = x\n");
  auto r = t.LoadFile(bad.path());
  ASSERT_FALSE(r);
  EXPECT_TRUE(Contains(r.error().message, bad.path() + ":2:"))
      << r.error().message;
}

TEST(Tunables, ExactKeyInOneFileBeatsAGlobInALaterOne) {
  TempFile a("net.netfilter.nf_conntrack_udp_timeout = 20\n");
  TempFile b("net.netfilter.nf_conntrack_udp_timeout* = 5\n");
  Tunables t;
  ASSERT_TRUE(t.LoadFiles({a.path(), b.path()}));
  EXPECT_EQ(t.udp_timeout, 20u);
  EXPECT_EQ(t.udp_timeout_stream, 5u);
}

TEST(Tunables, SysctlLinesNormaliseAsSystemdDoes) {
  auto l = ParseSysctlLine("  -net/ipv4/conf/eth0.100/rp_filter = 0 ");
  ASSERT_TRUE(l && *l);
  EXPECT_EQ((*l)->key, "net.ipv4.conf.eth0/100.rp_filter");
  EXPECT_EQ((*l)->value, "0");
  EXPECT_TRUE((*l)->ignore_errors);
  EXPECT_FALSE((*l)->glob);
  auto c = ParseSysctlLine("; comment");
  ASSERT_TRUE(c);
  EXPECT_FALSE(*c);
  EXPECT_FALSE(ParseSysctlLine("no equals sign"));
  EXPECT_TRUE(SysctlGlobMatches("net.netfilter.nf_conntrack_*",
                                "net.netfilter.nf_conntrack_max"));
  // A wildcard stays inside one component, as a /proc/sys path glob does.
  EXPECT_FALSE(SysctlGlobMatches("net.*", "net.netfilter.nf_conntrack_max"));
  EXPECT_TRUE(SysctlGlobMatches("net.*.nf_conntrack_max",
                                "net.netfilter.nf_conntrack_max"));
}

// List() round-trips through Set().
TEST(Tunables, CanonicalIsOneSpellingForEveryAcceptedOne) {
  // §1.2: net.netfilter.nf_conntrack_*, with '.' or '/' as sysctl(8)
  // accepts; §1.1: net.nf_conntrack_max is a second name for the max.
  EXPECT_EQ(Tunables::Canonical("net.netfilter.nf_conntrack_udp_timeout"),
            "nf_conntrack_udp_timeout");
  EXPECT_EQ(Tunables::Canonical("net/netfilter/nf_conntrack_udp_timeout"),
            "nf_conntrack_udp_timeout");
  EXPECT_EQ(Tunables::Canonical(" nf_conntrack_udp_timeout\t"),
            "nf_conntrack_udp_timeout");
  EXPECT_EQ(Tunables::Canonical("net.nf_conntrack_max"), "nf_conntrack_max");
  EXPECT_EQ(Tunables::Canonical("net/nf_conntrack_max"), "nf_conntrack_max");
  // Other names are left for the caller to reject.
  EXPECT_EQ(Tunables::Canonical("net.ipv4.ip_forward"), "net.ipv4.ip_forward");
}

TEST(Tunables, GetReadsAnySpelling) {
  Tunables t;
  ASSERT_TRUE(t.Set("nf_conntrack_udp_timeout", "45"));
  EXPECT_EQ(t.Get("nf_conntrack_udp_timeout"), 45u);
  EXPECT_EQ(t.Get("net.netfilter.nf_conntrack_udp_timeout"), 45u);
  EXPECT_EQ(t.Get("net/netfilter/nf_conntrack_udp_timeout"), 45u);
  // The kernel's defaults (§1.2), u8 settings included.
  EXPECT_EQ(t.Get("net.nf_conntrack_max"), 262144u);
  EXPECT_EQ(t.Get("nf_conntrack_tcp_timeout_established"), 432000u);
  EXPECT_EQ(t.Get("nf_conntrack_events"), 2u);
  EXPECT_EQ(t.Get("nf_conntrack_tcp_loose"), 1u);
  // Names Tunables does not hold.
  EXPECT_FALSE(t.Get("nf_conntrack_count"));
  EXPECT_FALSE(t.Get("nf_conntrack_hashsize"));
  EXPECT_FALSE(t.Get("net.ipv4.ip_forward"));
  EXPECT_FALSE(t.Get("nf_conntrack_"));
}

TEST(Tunables, ListRoundTrips) {
  Tunables t;
  t.max = 777;
  t.udp_timeout_stream = 99;
  t.tcp_loose = 0;
  Tunables u;
  for (const auto& [name, value] : t.List()) {
    EXPECT_TRUE(name.rfind("net.netfilter.nf_conntrack_", 0) == 0) << name;
    auto r = u.Set(name, value);
    EXPECT_TRUE(r) << name << ": " << r.error().message;
  }
  EXPECT_EQ(u.max, 777u);
  EXPECT_EQ(u.udp_timeout_stream, 99u);
  EXPECT_EQ(u.tcp_loose, 0);
}

// List(changed_only) leaves out every sysctl at the kernel's default, so
// what it gives is what a fresh namespace needs to run as `t` does.
TEST(Tunables, ListChangedOnlyNamesTheSettingsOffTheDefaults) {
  EXPECT_TRUE(Tunables{}.List(true).empty());
  Tunables t;
  t.max = 777;
  t.tcp_loose = 0;
  t.udp_timeout = 30;  // the default, set explicitly: not a change
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(t.List(true),
            (Pairs{{"net.netfilter.nf_conntrack_max", "777"},
                   {"net.netfilter.nf_conntrack_tcp_loose", "0"}}));
}

}  // namespace
}  // namespace ctkit
