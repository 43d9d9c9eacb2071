// Sandbox: a private network topology in which the real kernel's conntrack
// sees a capture's packets as a router would, isolated from the host.
//
//   side A netns            router netns (conntrack on)        side B netns
//   [a0] <--veth--> [ra]    forward chain logs ct state    [rb] <--veth--> [b0]
//
// The router forwards between ra and rb (rp_filter off, no redirects, its
// own output dropped before conntrack); each capture address gets a /32 or
// /128 route and a permanent neighbour entry on one side. The side stacks
// have no addresses and IPv6 disabled, so they never answer.
#ifndef CTKIT_KERNEL_SANDBOX_H_
#define CTKIT_KERNEL_SANDBOX_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ctkit/packet.h"
#include "ctkit/result.h"
#include "kernel/exec.h"
#include "kernel/global_journal.h"

namespace ctkit {

/// Set by SIGINT/SIGTERM/SIGHUP while a SignalGuard lives.
extern std::atomic<int> g_stop_signal;

/// Catches SIGINT, SIGTERM and SIGHUP (recording the signal in
/// g_stop_signal) so that long operations can stop and clean up; restores
/// the previous handlers when destroyed.
class SignalGuard {
 public:
  SignalGuard();
  ~SignalGuard();
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  struct Saved;
  std::unique_ptr<Saved> saved_;
};

struct SandboxOptions {
  /// Per-namespace conntrack sysctls for the router: (name, value), names
  /// as `net.netfilter.nf_conntrack_x` or `nf_conntrack_x`.
  std::vector<std::pair<std::string, std::string>> sysctls;
  /// nft rule lines for a chain that runs before conntrack in the router
  /// (prerouting, priority -300), e.g. to set zones (ZoneMap::NftRules).
  std::vector<std::string> pre_conntrack_rules;
  /// Allows writing the global nf_conntrack_max / nf_conntrack_buckets /
  /// nf_conntrack_expect_max in the initial netns (restored afterwards).
  bool allow_global = false;
  /// NFLOG group the forward chain logs to.
  uint16_t nflog_group = 4242;
  /// Where the old values of changed globals are journalled (see
  /// global_journal.h).
  std::string journal_dir = GlobalJournal::kDefaultDir;
  /// Told (one line, no prefix) when globals left changed by a killed run
  /// were restored, and when this run changes a global for the host.
  std::function<void(const std::string&)> notice;
};

enum class Side : uint8_t { kA = 0, kB = 1 };

class Sandbox {
 public:
  /// Builds the topology. Fails (having undone everything) without root,
  /// without conntrack, or when a command fails. First restores globals
  /// that a killed run left changed (GlobalJournal::RecoverStale).
  [[nodiscard]] static Result<std::unique_ptr<Sandbox>> Create(
      const SandboxOptions& opts);
  /// Tears everything down (namespaces, links, tables go with the
  /// namespaces) and restores global sysctls.
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  /// Routes `addrs` (each with its side) through the router: one `ip -batch`
  /// run for all.
  [[nodiscard]] Result<void> AddAddresses(
      const std::vector<std::pair<Address, Family>>& addrs,
      const std::vector<Side>& sides);

  /// A raw AF_PACKET socket on the side's link (owned by the sandbox).
  int packet_socket(Side s) const { return sock_[static_cast<int>(s)]; }
  /// The router's MAC on the link towards side s.
  const uint8_t* router_mac(Side s) const {
    return kRouterMac[static_cast<int>(s)];
  }
  const uint8_t* side_mac(Side s) const {
    return kSideMac[static_cast<int>(s)];
  }
  /// The router namespace (enter it to open ctnetlink or nflog sockets).
  const Netns& router() const { return *ns_[0]; }
  uint16_t nflog_group() const { return opts_.nflog_group; }

  /// Reads a sysctl (full dotted name) in the router namespace.
  [[nodiscard]] Result<std::string> ReadRouterSysctl(
      const std::string& name) const;

  static constexpr uint8_t kRouterMac[2][6] = {{2, 0x63, 0x74, 0, 0, 1},
                                               {2, 0x63, 0x74, 0, 0, 2}};
  static constexpr uint8_t kSideMac[2][6] = {{2, 0x63, 0x74, 0, 1, 1},
                                             {2, 0x63, 0x74, 0, 1, 2}};

 private:
  explicit Sandbox(SandboxOptions opts);
  [[nodiscard]] Result<void> Build();
  void Teardown() noexcept;

  SandboxOptions opts_;
  std::unique_ptr<Netns> ns_[3];  // router, side A, side B
  // Global sysctls changed in the init netns: (path, old value).
  std::vector<std::pair<std::string, std::string>> saved_global_;
  // Set once saved_global_ is in the journal.
  bool journaled_ = false;
  int sock_[2] = {-1, -1};
};

}  // namespace ctkit

#endif  // CTKIT_KERNEL_SANDBOX_H_
