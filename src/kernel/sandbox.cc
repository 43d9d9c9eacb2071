// Building and tearing down the kernel-replay topology (see sandbox.h).
//
// The namespaces are unnamed and held only by file descriptors, so nothing
// appears in /run/netns and the kernel removes them, with their veth links,
// nftables tables and per-namespace sysctls, as soon as the process lets go
// of them -- even when it is killed. The one piece of host state a run can
// change is a global conntrack sysctl (nf_conntrack_max, _buckets,
// _expect_max: writable only in the initial netns, spec §1.1), and only with
// --allow-global; the old values are saved first and written back by the
// destructor, which also runs after SIGINT/SIGTERM/SIGHUP because
// SignalGuard turns those into a flag the caller polls. Against SIGKILL
// (which no destructor sees) the old values are journalled before the first
// write, and every Create restores a journal its dead owner left behind
// (global_journal.h).
//
// The router logs every packet's ct state to NFLOG with a prefix naming the
// state, in a prerouting chain right after conntrack's lookup (priority
// -150 > -200): a packet that never reaches it was dropped by conntrack
// itself (table full). Logging in the forward chain instead would call DROP
// every packet the router does not forward for reasons of its own (TTL 1,
// link-local multicast such as neighbour discovery), which conntrack still
// saw and classified; its own output is dropped in a hook that runs before
// conntrack (priority -300), so it adds no entries, ICMP errors or
// neighbour traffic of its own.
#include "kernel/sandbox.h"

#include <fmt/format.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "core/kernel_sizing.h"
#include "kernel/exec.h"
#include "report/format.h"

namespace ctkit {

std::atomic<int> g_stop_signal{0};

namespace {

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

void OnStopSignal(int sig) { g_stop_signal.store(sig); }

const char* const kLinkName[2] = {"ra", "rb"};
const char* const kSideLink = "s0";

std::string Mac(const uint8_t* m) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1],
                     m[2], m[3], m[4], m[5]);
}

// "net.netfilter.nf_conntrack_x" for "nf_conntrack_x" or the full name.
std::string FullName(const std::string& name) {
  if (name.rfind("net.", 0) == 0) return name;
  return "net.netfilter." + name;
}

std::string ProcPath(const std::string& full) {
  std::string p = "/proc/sys/" + full;
  for (size_t i = 10; i < p.size(); ++i) {
    if (p[i] == '.') p[i] = '/';
  }
  return p;
}

}  // namespace

struct SignalGuard::Saved {
  struct sigaction old[3];
};

SignalGuard::SignalGuard() : saved_(std::make_unique<Saved>()) {
  g_stop_signal.store(0);
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: sleeps and reads return EINTR
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &sa, &saved_->old[i]);
}

SignalGuard::~SignalGuard() {
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &saved_->old[i], nullptr);
}

Sandbox::Sandbox(SandboxOptions opts) : opts_(std::move(opts)) {}

Sandbox::~Sandbox() { Teardown(); }

void Sandbox::Teardown() noexcept {
  for (int& s : sock_) {
    if (s >= 0) close(s);
    s = -1;
  }
  // Closing the last descriptor frees each namespace with its links and
  // tables.
  for (auto& n : ns_) n.reset();
  bool restored = true;
  for (auto it = saved_global_.rbegin(); it != saved_global_.rend(); ++it) {
    auto w = WriteProcValue(it->first, it->second);
    if (!w) {
      restored = false;
      std::fprintf(stderr, "ctkit: error: could not restore %s to %s\n",
                   it->first.c_str(), it->second.c_str());
    }
  }
  GlobalJournal journal(opts_.journal_dir);
  if (journaled_ && !restored) {
    std::fprintf(stderr,
                 "ctkit: error: the old values stay in %s; `ctkit "
                 "kernel-replay --restore` writes them back\n",
                 journal.path().c_str());
  } else if (journaled_) {
    if (auto r = journal.Remove(); !r) {
      std::fprintf(stderr, "ctkit: error: %s\n", r.error().message.c_str());
    }
  }
  journaled_ = false;
  saved_global_.clear();
}

Result<std::unique_ptr<Sandbox>> Sandbox::Create(const SandboxOptions& opts) {
  if (geteuid() != 0) {
    return fail(Error::unsupported(
        "kernel-replay needs root (it creates network namespaces)"));
  }
  if (access("/proc/sys/net/netfilter/nf_conntrack_max", F_OK) != 0) {
    return fail(
        Error::unsupported("this kernel has no conntrack (no "
                           "/proc/sys/net/netfilter/nf_conntrack_max)"));
  }
  // Globals a killed run left changed go back first: the host's own values
  // are what this run must save and later restore.
  GlobalJournal journal(opts.journal_dir);
  auto recovered = journal.RecoverStale();
  if (!recovered) return fail(recovered.error());
  if (!recovered->empty() && opts.notice) opts.notice(*recovered);
  std::unique_ptr<Sandbox> sb(new Sandbox(opts));
  auto r = sb->Build();
  if (!r) return fail(r.error());  // sb's destructor undoes what was done
  return sb;
}

Result<void> Sandbox::Build() {
  // Sort the settings before touching anything.
  std::vector<std::pair<std::string, std::string>> local, global;
  for (const auto& [name, value] : opts_.sysctls) {
    std::string full = FullName(name);
    if (IsGlobalSysctl(full)) {
      if (!opts_.allow_global) {
        return fail(Error::invalid_argument(fmt::format(
            "{} is global on this kernel (writable only in the initial "
            "network namespace, shared by the whole host); pass "
            "--allow-global to change it for the duration of the run",
            full)));
      }
      global.emplace_back(full == "net.nf_conntrack_max"
                              ? "net.netfilter.nf_conntrack_max"
                              : full,
                          value);
    } else {
      local.emplace_back(full, value);
    }
  }
  for (auto& n : ns_) {
    auto c = Netns::Create();
    if (!c) return fail(c.error());
    n = std::move(*c);
  }
  const Netns& router = *ns_[0];
  // Side stacks: no IPv6 (no RS/ND/MLD of their own), no addresses.
  for (int s = 1; s <= 2; ++s) {
    auto r =
        ns_[s]->Run({"sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
                     "net.ipv6.conf.default.disable_ipv6=1"});
    if (!r) return fail(r.error());
  }
  auto rs = router.Run(
      {"sysctl", "-q", "-w", "net.ipv4.ip_forward=1",
       "net.ipv6.conf.all.forwarding=1", "net.ipv4.conf.all.rp_filter=0",
       "net.ipv4.conf.default.rp_filter=0",
       "net.ipv4.conf.all.send_redirects=0",
       "net.ipv4.conf.default.send_redirects=0",
       "net.ipv4.conf.all.accept_local=1", "net.ipv6.conf.default.accept_ra=0",
       "net.ipv6.conf.default.accept_dad=0",
       "net.ipv6.conf.default.addr_gen_mode=1"});
  if (!rs) return fail(rs.error());
  for (int s = 0; s < 2; ++s) {
    auto r = router.Run({"ip", "link", "add", kLinkName[s], "address",
                         Mac(kRouterMac[s]), "mtu", "65535", "type", "veth",
                         "peer", "name", kSideLink, "address", Mac(kSideMac[s]),
                         "mtu", "65535", "netns", ns_[s + 1]->path()});
    if (!r) return fail(r.error());
    auto up = router.Run({"ip", "link", "set", kLinkName[s], "up"});
    if (!up) return fail(up.error());
    auto sup = ns_[s + 1]->Run({"ip", "link", "set", kSideLink, "up"});
    if (!sup) return fail(sup.error());
  }
  auto lo = router.Run({"ip", "link", "set", "lo", "up"});
  if (!lo) return fail(lo.error());
  // The ruleset: log each forwarded packet's ct state (this also turns the
  // conntrack hooks on in this namespace, spec §1.6); drop the router's own
  // output before conntrack sees it.
  std::string rules =
      "table inet ctkit {\n chain local_out {\n"
      "  type filter hook output priority -300; policy drop;\n"
      " }\n chain forward_log {\n"
      "  type filter hook prerouting priority -150; policy accept;\n";
  for (const char* st :
       {"invalid", "untracked", "new", "established", "related"}) {
    std::string upper = st;
    for (char& c : upper) c = static_cast<char>(std::toupper(c));
    rules +=
        fmt::format("  ct state {} log prefix \"{}\" group {} snaplen 128\n",
                    st, upper, opts_.nflog_group);
  }
  rules += " }\n";
  if (!opts_.pre_conntrack_rules.empty()) {
    rules +=
        " chain pre_conntrack {\n"
        "  type filter hook prerouting priority -300; policy accept;\n";
    for (const std::string& line : opts_.pre_conntrack_rules) {
      rules += "  " + line + "\n";
    }
    rules += " }\n";
  }
  rules += "}\n";
  auto nft = router.Run({"nft", "-f", "-"}, rules);
  if (!nft) return fail(nft.error());
  // Settings: per-namespace ones inside the router, global ones (saved
  // first) in the initial namespace.
  if (!local.empty()) {
    std::vector<std::string> argv = {"sysctl", "-q", "-w"};
    for (const auto& [k, v] : local)
      argv.push_back(std::string(k).append("=").append(v));
    auto r = router.Run(argv);
    if (!r) return fail(r.error());
  }
  // Every old value is read and journalled before the first is changed, so
  // a run killed at any point leaves a journal that undoes all it did.
  if (!global.empty()) {
    std::vector<std::pair<std::string, std::string>> old_values;
    for (const auto& [k, v] : global) {
      std::string path = ProcPath(k);
      auto old = ReadProcValue(path);
      if (!old) return fail(old.error());
      old_values.emplace_back(path, *old);
    }
    GlobalJournal journal(opts_.journal_dir);
    if (auto j = journal.Record(old_values); !j) return fail(j.error());
    journaled_ = true;
    saved_global_ = old_values;
    for (size_t i = 0; i < global.size(); ++i) {
      auto w = WriteProcValue(old_values[i].first, global[i].second);
      if (!w) return fail(w.error());
      if (opts_.notice) {
        opts_.notice(fmt::format(
            "--allow-global: {} is {} (was {}) for every network namespace "
            "on this host, containers included, until this run ends",
            global[i].first, global[i].second, old_values[i].second));
      }
    }
  }
  // One raw packet socket per side link.
  for (int s = 0; s < 2; ++s) {
    auto in = ns_[s + 1]->Enter();
    if (!in) return fail(in.error());
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return fail(Error::io(
          fmt::format("cannot open a packet socket: {}", strerror(errno))));
    }
    sock_[s] = fd;
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = static_cast<int>(if_nametoindex(kSideLink));
    if (sll.sll_ifindex == 0 ||
        bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
      return fail(Error::io(
          fmt::format("cannot bind the packet socket: {}", strerror(errno))));
    }
  }
  if (g_stop_signal.load() != 0) {
    return fail(Error::io("interrupted while building the sandbox"));
  }
  return {};
}

Result<void> Sandbox::AddAddresses(
    const std::vector<std::pair<Address, Family>>& addrs,
    const std::vector<Side>& sides) {
  std::string batch;
  for (size_t i = 0; i < addrs.size(); ++i) {
    const auto& [a, fam] = addrs[i];
    int s = static_cast<int>(sides[i]);
    std::string ip = AddressToString(a, fam);
    const char* plen = fam == Family::kIPv4 ? "/32" : "/128";
    batch += fmt::format("route replace {}{} dev {}\n", ip, plen, kLinkName[s]);
    batch += fmt::format("neigh replace {} lladdr {} dev {} nud permanent\n",
                         ip, Mac(kSideMac[s]), kLinkName[s]);
  }
  if (batch.empty()) return {};
  auto r = ns_[0]->Run({"ip", "-batch", "-"}, batch);
  if (!r) return fail(r.error());
  return {};
}

Result<std::string> Sandbox::ReadRouterSysctl(const std::string& name) const {
  auto r = ns_[0]->Run({"sysctl", "-n", FullName(name)});
  if (!r) return fail(r.error());
  std::string v = *r;
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  return v;
}

}  // namespace ctkit
