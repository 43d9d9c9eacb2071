// Capacity planning for `ctkit plan`.
//
// The load model is Little's law: entries in the table = arrival rate x
// how long each entry lives. What decides an entry's life is its class:
//  - TCP, short sessions: the session itself, then TIME_WAIT
//    (nf_conntrack_tcp_timeout_time_wait, 120 s). A closed connection's
//    entry is ASSURED, so early drop cannot evict it (§2.2): TIME_WAIT is
//    what fills tables on busy web front ends.
//  - UDP request/reply (DNS-like): never a stream (§7), so
//    nf_conntrack_udp_timeout, 30 s.
//  - ICMP echo: nf_conntrack_icmp_timeout, 30 s.
// Long-lived flows (ESTABLISHED TCP, UDP streams) are outside the model: a
// replayed capture measures them (the peak with no limit), and its steady
// state per lifetime class (capture_load.h), which a capture shorter than
// the lifetimes that bound its table would otherwise understate. The
// largest, times a headroom, is what the table must hold.
//
// Memory follows the kernel, not ctkit's own table: a 256 B slab object per
// entry, +128 B when entries carry extensions, 8 B per bucket (§10), with
// buckets = max (the kernel's own 1:1 ratio). Slab memory is used only as
// entries exist, so "memory when full" is the ceiling a setting allows.
//
// When the load does not fit, we say by how much, and which timeouts
// (TIME_WAIT first, then the UDP/ICMP ones, none below its safety floor,
// plan/safety.h) would make it fit in the budget instead.
#include "plan/sizing.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "core/text.h"
#include "plan/units.h"
#include "replay/replay.h"

namespace ctkit {
namespace {

// Entries rounded up to the plan's granularity: a multiple of 512, at least
// 512 (0 would mean "no limit" to the kernel).
uint64_t PlanEntries(uint64_t n) {
  return std::max<uint64_t>(KernelRoundBuckets(n), kSmallestTable);
}

// Seconds an entry of each class lives under timeouts (tw, udp, icmp).
double LifetimeSum(const PlanInput& in, double tw, double udp, double icmp) {
  return in.mix.tcp * (in.tcp_session_s + tw) + in.mix.udp * udp +
         in.mix.icmp * icmp;
}

}  // namespace

TableSize KubeProxySizing(uint64_t cpus, uint64_t current_buckets) {
  uint64_t max = std::max<uint64_t>(32768 * cpus, 131072);
  uint64_t buckets = current_buckets;
  if (buckets < max / 4) buckets = KernelRoundBuckets(max / 4);
  return {max, buckets};
}

[[nodiscard]] Result<TrafficMix> ParseMix(std::string_view text) {
  double v[3] = {-1, -1, -1};
  const char* names[3] = {"tcp", "udp", "icmp"};
  for (std::string_view part_view : Split(text, ',')) {
    const std::string part(part_view);
    auto bad = [&](const std::string& why) {
      return fail(Error::invalid_argument(
          fmt::format("--mix '{}': '{}': {}", text, part, why)));
    };
    auto kv = SplitAssignment(part);
    if (!kv) return bad("expected CLASS=SHARE");
    const std::string_view name = kv->name;
    int k = -1;
    for (int i = 0; i < 3; ++i) {
      if (name == names[i]) k = i;
    }
    if (k < 0) return bad("unknown class (use tcp, udp, icmp)");
    if (v[k] >= 0) return bad("class given twice");
    std::string num(kv->value);
    if (!num.empty() && num.back() == '%') num.pop_back();
    char* end = nullptr;
    double share = std::strtod(num.c_str(), &end);
    if (num.empty() || *end != '\0' || !std::isfinite(share)) {
      return bad("not a number");
    }
    if (share < 0) return bad("negative");
    v[k] = share;
  }
  double sum = 0;
  for (double& x : v) {
    if (x < 0) x = 0;
    sum += x;
  }
  if (sum <= 0) {
    return fail(Error::invalid_argument("--mix '" + std::string(text) +
                                        "': all shares are zero"));
  }
  return TrafficMix{v[0] / sum, v[1] / sum, v[2] / sum};
}

uint64_t SmallestBudget(bool extensions) {
  return KernelTableBytes(kSmallestTable, kSmallestTable, extensions);
}

[[nodiscard]] Result<PlanResult> MakePlan(const PlanInput& in) {
  if (in.budget_bytes == 0) {
    return fail(Error::invalid_argument("the memory budget must be > 0"));
  }
  const Tunables& tun = in.tunables;
  const bool ext =
      in.extensions || tun.acct || tun.timestamp || tun.events == 1;
  if (in.budget_bytes < SmallestBudget(ext)) {
    return fail(Error::invalid_argument(fmt::format(
        "--memory {}: too small for any table. The smallest is "
        "nf_conntrack_max = {} with nf_conntrack_buckets = {} (the kernel "
        "rounds buckets up to a multiple of 512; 0 would mean no limit), "
        "which takes {} ({} x {} B + {} x {} B): give at least that",
        FormatBytes(in.budget_bytes), kSmallestTable, kSmallestTable,
        FormatBytes(SmallestBudget(ext)), kSmallestTable, KernelEntryBytes(ext),
        kSmallestTable, kKernelBucketBytes)));
  }
  if (in.rate && !(std::isfinite(*in.rate) && *in.rate > 0)) {
    return fail(Error::invalid_argument(
        "--rate must be a positive number of new flows per second"));
  }
  if (!(in.headroom >= 1.0) || !std::isfinite(in.headroom)) {
    return fail(Error::invalid_argument("--headroom must be at least 1"));
  }
  PlanResult p;
  p.input = in;
  const Tunables& t = in.tunables;
  p.extensions = ext;
  p.entry_bytes = KernelEntryBytes(p.extensions);
  const uint64_t per_entry = p.entry_bytes + kKernelBucketBytes;
  p.budget_max = in.budget_bytes / per_entry / kKernelBucketRounding *
                 kKernelBucketRounding;
  p.kernel_default = KernelDefaultSizing(in.ram_bytes);

  if (in.rate) {
    const double r = *in.rate;
    p.classes = {
        {"tcp", in.mix.tcp, r * in.mix.tcp,
         in.tcp_session_s + t.tcp_timeout_time_wait,
         in.tcp_session_s > 0
             ? fmt::format("session {:g} s + TIME_WAIT {} s", in.tcp_session_s,
                           t.tcp_timeout_time_wait)
             : fmt::format("TIME_WAIT {} s", t.tcp_timeout_time_wait),
         0},
        {"udp", in.mix.udp, r * in.mix.udp, static_cast<double>(t.udp_timeout),
         fmt::format("udp_timeout {} s", t.udp_timeout), 0},
        {"icmp", in.mix.icmp, r * in.mix.icmp,
         static_cast<double>(t.icmp_timeout),
         fmt::format("icmp_timeout {} s", t.icmp_timeout), 0},
    };
    double total = 0;
    for (LoadClass& c : p.classes) {
      c.concurrent = c.rate * c.lifetime_s;
      total += c.concurrent;
    }
    p.modelled_concurrent = total;
  }
  std::optional<double> base;
  if (p.modelled_concurrent) base = *p.modelled_concurrent;
  if (in.measured_peak) {
    base = std::max(base.value_or(0.0), static_cast<double>(*in.measured_peak));
  }
  if (in.load) {
    base = std::max(base.value_or(0.0), in.load->steady_total);
    p.lower_bound = in.load->cannot_answer || in.load->pool_exhausted;
  }
  if (base) {
    p.needed_entries = static_cast<uint64_t>(std::ceil(*base * in.headroom));
  }

  const uint64_t default_full = KernelTableBytes(
      p.kernel_default.max, p.kernel_default.buckets, p.extensions);
  if (!p.needed_entries) {
    p.recommended = {p.budget_max, p.budget_max};
    p.reason =
        "no load given (--rate or --capture): the largest table the budget "
        "holds, buckets 1:1 as the kernel sizes them";
  } else if (*p.needed_entries <= p.kernel_default.max &&
             default_full <= in.budget_bytes) {
    p.recommended = p.kernel_default;
    p.reason =
        p.lower_bound
            ? fmt::format(
                  "the kernel's default for {} of RAM holds what the capture "
                  "shows with headroom and fits the budget, but the capture "
                  "cannot answer for all of its traffic (see above): this "
                  "is a lower bound",
                  FormatBytes(in.ram_bytes))
            : fmt::format(
                  "the kernel's default for {} of RAM already holds the "
                  "load with headroom and fits the budget: keep it",
                  FormatBytes(in.ram_bytes));
  } else if (PlanEntries(*p.needed_entries) <= p.budget_max) {
    uint64_t m = PlanEntries(*p.needed_entries);
    p.recommended = {m, m};
    p.reason = fmt::format(
        "the expected entries x {:g} headroom, rounded up to 512, buckets "
        "1:1{}",
        in.headroom,
        p.lower_bound ? "; a lower bound: the capture cannot answer for all "
                        "of its traffic (see above)"
                      : "");
  } else {
    p.fits = false;
    p.recommended = {p.budget_max, p.budget_max};
    uint64_t m = PlanEntries(*p.needed_entries);
    p.memory_needed = KernelTableBytes(m, m, p.extensions);
    p.reason =
        "the budget cannot hold the expected load; this is the largest "
        "table it holds";
    // Which timeouts would make the modelled load fit? Only when the model
    // is what drives the need (a measured peak has unknown lifetimes).
    bool model_drives =
        p.modelled_concurrent &&
        (!in.measured_peak ||
         *p.modelled_concurrent >= static_cast<double>(*in.measured_peak));
    if (model_drives && p.budget_max > 0) {
      const double target_s =
          static_cast<double>(p.budget_max) / in.headroom / *in.rate;
      const double tw = t.tcp_timeout_time_wait, udp = t.udp_timeout,
                   icmp = t.icmp_timeout;
      const double tw_floor =
          FloorFor(in.floors, "nf_conntrack_tcp_timeout_time_wait");
      const double udp_floor = FloorFor(in.floors, "nf_conntrack_udp_timeout");
      const double icmp_floor =
          FloorFor(in.floors, "nf_conntrack_icmp_timeout");
      auto fits_with = [&](double a, double b, double c) {
        return LifetimeSum(in, a, b, c) <= target_s;
      };
      std::vector<TimeoutChange> ch;
      if (in.mix.tcp > 0) {
        double want = std::floor(
            (target_s - in.mix.udp * udp - in.mix.icmp * icmp) / in.mix.tcp -
            in.tcp_session_s);
        if (want >= std::max(tw_floor, 1.0) && want < tw &&
            fits_with(want, udp, icmp)) {
          ch.push_back({"net.netfilter.nf_conntrack_tcp_timeout_time_wait",
                        t.tcp_timeout_time_wait, static_cast<uint32_t>(want)});
        }
      }
      if (ch.empty() && in.mix.udp + in.mix.icmp > 0) {
        double tw2 = std::min<double>(tw, tw_floor);
        double x =
            std::floor((target_s - in.mix.tcp * (in.tcp_session_s + tw2)) /
                       (in.mix.udp + in.mix.icmp));
        double udp2 = std::min(udp, x), icmp2 = std::min(icmp, x);
        const double x_floor = std::max({1.0, in.mix.udp > 0 ? udp_floor : 0.0,
                                         in.mix.icmp > 0 ? icmp_floor : 0.0});
        if (x >= x_floor && fits_with(tw2, udp2, icmp2)) {
          if (in.mix.tcp > 0 && tw2 < tw) {
            ch.push_back({"net.netfilter.nf_conntrack_tcp_timeout_time_wait",
                          t.tcp_timeout_time_wait, static_cast<uint32_t>(tw2)});
          }
          if (in.mix.udp > 0 && udp2 < udp) {
            ch.push_back({"net.netfilter.nf_conntrack_udp_timeout",
                          t.udp_timeout, static_cast<uint32_t>(udp2)});
          }
          if (in.mix.icmp > 0 && icmp2 < icmp) {
            ch.push_back({"net.netfilter.nf_conntrack_icmp_timeout",
                          t.icmp_timeout, static_cast<uint32_t>(icmp2)});
          }
        }
      }
      p.timeouts_can_fit = !ch.empty();
      p.timeout_changes = std::move(ch);
    }
  }

  auto row = [&](std::string name, TableSize s) {
    SizingRow r;
    r.name = std::move(name);
    r.size = s;
    r.memory_when_full = KernelTableBytes(s.max, s.buckets, p.extensions);
    r.fits_budget = r.memory_when_full <= in.budget_bytes;
    if (p.needed_entries) r.holds_load = s.max >= *p.needed_entries;
    return r;
  };
  p.compare.push_back(row("recommended", p.recommended));
  p.compare.push_back(
      row(fmt::format("kernel default ({} RAM)", FormatBytes(in.ram_bytes)),
          p.kernel_default));
  p.compare.push_back(row(
      fmt::format("kube-proxy ({} CPU{})", in.cpus, in.cpus == 1 ? "" : "s"),
      KubeProxySizing(in.cpus, p.kernel_default.buckets)));
  p.compare.push_back(row("budget limit", {p.budget_max, p.budget_max}));
  return p;
}

}  // namespace ctkit
