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
#include "report/replay.h"

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

Result<TrafficMix> ParseMix(std::string_view text) {
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

Result<PlanResult> MakePlan(const PlanInput& in) {
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

namespace {

// The capture's classes against their lifetimes, and what the same traffic
// holds when it runs long enough to reach its steady state.
std::string RenderLoad(const CaptureLoad& l) {
  std::string out = fmt::format(
      "  capture: {:.1f} s, {} packets. Steady state per lifetime class: "
      "entries\n  coming to rest in the class per second (over the "
      "capture's "
      "busier half)\n  x (its lifetime + {:.0f} s, the kernel GC's interval: "
      "expired entries count\n  until it reaps them) for a class that lives "
      "longer than the capture,\n  else the entries at the end:\n",
      l.duration_s, l.packets, l.gc_lag_s);
  out += fmt::format("  {:<20} {:>8} {:>9}  {:<32} {:<20} {:>9}\n", "class",
                     "at end", "rest/s", "lifetime", "capture vs lifetime",
                     "steady");
  for (const ClassLoad& c : l.classes) {
    if (c.at_end == 0 && c.steady < 0.5 && !c.cannot_answer) continue;
    std::string life =
        c.info.sysctl[0] ? fmt::format("{} {} s", c.info.sysctl, c.info.seconds)
                         : fmt::format("fixed {} s", c.info.seconds);
    std::string vs =
        fmt::format("{:.1f} s {} {} s", l.duration_s,
                    c.shorter_than_lifetime ? "<" : ">=", c.info.seconds);
    std::string how;
    if (c.cannot_answer) {
      how = "cannot tell";
    } else if (c.info.connection_bound) {
      how = "open connections";
    } else if (c.shorter_than_lifetime &&
               c.steady > static_cast<double>(c.at_end)) {
      how = "extrapolated";
    } else {
      how = "measured";
    }
    out += fmt::format("  {:<20} {:>8} {:>9.1f}  {:<32} {:<20} {:>9.0f}  {}\n",
                       c.info.name, c.at_end, c.rest_rate, life, vs, c.steady,
                       how);
  }
  out += fmt::format("  {:<20} {:>8} {:>9}  {:<32} {:<20} {:>9.0f}\n", "total",
                     "", "", "", "", l.steady_total);
  if (!l.steady_traffic) {
    out += fmt::format(
        "  the traffic was not steady: {} new entries in the capture's first "
        "half, {} in\n  its second; the rates above are the busier half's.\n",
        l.new_entries[0], l.new_entries[1]);
  }
  for (const ClassLoad& c : l.classes) {
    if (!c.cannot_answer) continue;
    out += fmt::format(
        "  the capture cannot answer for {}: about {:.0f} connections opened "
        "in its\n  second half were still open at its end, and nothing in "
        "it says when they\n  close (up to {} s if they vanish); each "
        "second they stay open adds\n  about {:.1f} entries. The needed "
        "entries below are a lower bound.\n",
        c.info.name, c.unresolved, c.info.seconds, c.rest_rate);
  }
  if (l.duration_s <= 0 && l.cannot_answer) {
    out +=
        "  the capture spans no time, so it shows no rate: the needed "
        "entries below\n  are a lower bound.\n";
  }
  if (l.pool_exhausted) {
    out +=
        "  the replay ran out of entries (4194304 with no limit): the peak "
        "and steady\n  state are lower bounds.\n";
  }
  return out;
}

}  // namespace

std::string RenderPlanText(const PlanResult& p) {
  const PlanInput& in = p.input;
  std::string out = fmt::format(
      "plan: memory budget {}, {} CPU{}, host RAM {}; kernel cost {} B per "
      "entry{} + {} B per bucket\n",
      FormatBytes(in.budget_bytes), in.cpus, in.cpus == 1 ? "" : "s",
      FormatBytes(in.ram_bytes), p.entry_bytes,
      p.extensions ? " (256 B object + 128 B extensions)" : "",
      kKernelBucketBytes);
  if (p.modelled_concurrent) {
    out += fmt::format(
        "\nexpected load: {:g} new flows/s; entries = rate x lifetime "
        "(Little's law)\n",
        *in.rate);
    out += fmt::format("  {:<5} {:>6} {:>10}  {:<28} {:>12}\n", "class",
                       "share", "new/s", "lifetime", "entries");
    for (const LoadClass& c : p.classes) {
      if (c.share <= 0) continue;
      out +=
          fmt::format("  {:<5} {:>5.1f}% {:>10.1f}  {:<28} {:>12.0f}\n", c.name,
                      c.share * 100, c.rate, c.lifetime_from, c.concurrent);
    }
    out += fmt::format("  {:<5} {:>6} {:>10}  {:<28} {:>12.0f}\n", "total", "",
                       "", "", *p.modelled_concurrent);
    out +=
        "  (short TCP sessions; UDP request/reply flows that never become\n"
        "  streams; ICMP echo. Long-lived flows are not modelled: add\n"
        "  --capture to measure them)\n";
  }
  if (in.measured_peak) {
    out += fmt::format(
        "\nmeasured: {} entries at the peak replaying {} with "
        "no limit\n",
        *in.measured_peak, in.capture);
  }
  if (in.load) out += RenderLoad(*in.load);
  if (p.needed_entries) {
    out += fmt::format("needed: {} entries (x {:g} headroom)\n",
                       *p.needed_entries, in.headroom);
  }
  out += "\nrecommendation:\n";
  out +=
      fmt::format("  net.netfilter.nf_conntrack_max = {}\n", p.recommended.max);
  out += fmt::format("  net.netfilter.nf_conntrack_buckets = {}\n",
                     p.recommended.buckets);
  out += fmt::format("  ({})\n", p.reason);
  if (!p.fits) {
    out += fmt::format(
        "\nDOES NOT FIT: the load needs {} entries ({} when full)\n"
        "  but the budget {} holds {} entries.\n",
        p.needed_entries.value_or(0), FormatBytes(p.memory_needed),
        FormatBytes(in.budget_bytes), p.budget_max);
    out += fmt::format("  more memory: a budget of at least {} holds it.\n",
                       FormatBytes(p.memory_needed));
    if (p.timeouts_can_fit) {
      out += "  or shorter timeouts, which make it fit this budget:\n";
      for (const TimeoutChange& c : p.timeout_changes) {
        out += fmt::format("    {} = {}   (now {})\n", c.sysctl, c.to, c.from);
      }
    } else if (p.modelled_concurrent) {
      out += fmt::format(
          "  no timeout change fits it (none below its safety floor: "
          "TIME_WAIT {} s, UDP {} s, ICMP {} s): add memory or shed load.\n",
          FloorFor(in.floors, "nf_conntrack_tcp_timeout_time_wait"),
          FloorFor(in.floors, "nf_conntrack_udp_timeout"),
          FloorFor(in.floors, "nf_conntrack_icmp_timeout"));
    } else {
      out +=
          "  or shorter timeouts: compare them on the capture with `ctkit "
          "whatif CAPTURE --vary nf_conntrack_tcp_timeout_time_wait=...`.\n";
    }
  } else {
    out += "  timeouts: no change needed; the load fits at these lifetimes.\n";
  }

  size_t name_width = 7;
  for (const SizingRow& r : p.compare) {
    name_width = std::max(name_width, r.name.size());
  }
  out += "\ncomparison (memory when the table is full):\n";
  out += fmt::format("  {:<{}}  {:>10} {:>10} {:>12}  {:<11} {}\n", "setting",
                     name_width, "max", "buckets", "memory", "fits budget",
                     "holds load");
  for (const SizingRow& r : p.compare) {
    out += fmt::format("  {:<{}}  {:>10} {:>10} {:>12}  {:<11} {}\n", r.name,
                       name_width, r.size.max, r.size.buckets,
                       FormatBytes(r.memory_when_full),
                       r.fits_budget ? "yes" : "NO",
                       r.holds_load ? (*r.holds_load ? "yes" : "NO") : "-");
  }
  out +=
      "\nnotes:\n"
      "- nf_conntrack_buckets is writable in the initial network namespace\n"
      "  only (or /sys/module/nf_conntrack/parameters/hashsize); a runtime\n"
      "  resize leaves nf_conntrack_max unchanged. The boot parameter\n"
      "  nf_conntrack.hashsize=N sets max = 8 x N: set max after it.\n"
      "- kube-proxy sets max = max(32768 x CPUs, 131072) and raises the hash\n"
      "  to max/4 at every start (unless conntrack.maxPerCore is 0), and\n"
      "  sets tcp_timeout_established 86400 s, close_wait 3600 s.\n"
      "- Slab memory is taken only as entries exist; the hash table (8 B per\n"
      "  bucket) is allocated in full.\n";
  return out;
}

Json PlanToJson(const PlanResult& p) {
  const PlanInput& in = p.input;
  // Expected entries (rate x lifetime, a steady state) are means; an entry
  // count is a whole number, rounded as the text rounds it.
  auto entries = [](double n) -> uint64_t {
    return n > 0 ? static_cast<uint64_t>(std::llround(n)) : 0;
  };
  Json doc = StartJsonDocument(kPlanTool);
  doc["budget_bytes"] = in.budget_bytes;
  doc["cpus"] = in.cpus;
  doc["ram_bytes"] = in.ram_bytes;
  doc["entry_bytes"] = p.entry_bytes;
  doc["bucket_bytes"] = kKernelBucketBytes;
  doc["extensions"] = p.extensions;
  doc["headroom"] = in.headroom;
  if (p.modelled_concurrent) {
    Json classes = Json::array();
    for (const LoadClass& c : p.classes) {
      classes.push_back({{"class", c.name},
                         {"share_ratio", c.share},
                         {"new_per_second", c.rate},
                         {"lifetime_seconds", c.lifetime_s},
                         {"lifetime_from", c.lifetime_from},
                         {"entries", entries(c.concurrent)}});
    }
    doc["model"] = {{"new_per_second", *in.rate},
                    {"classes", classes},
                    {"entries", entries(*p.modelled_concurrent)}};
  } else {
    doc["model"] = nullptr;
  }
  if (in.measured_peak) {
    Json measured = {{"capture", in.capture}, {"peak", *in.measured_peak}};
    if (in.load) {
      const CaptureLoad& l = *in.load;
      Json classes = Json::array();
      for (const ClassLoad& c : l.classes) {
        classes.push_back(
            {{"class", c.info.name},
             {"sysctl", c.info.sysctl[0] ? std::string("net.netfilter."
                                                       "nf_conntrack_") +
                                               c.info.sysctl
                                         : std::string()},
             {"lifetime_seconds", c.info.seconds},
             {"connection_bound", c.info.connection_bound},
             {"entered", c.entered},
             {"left", c.left},
             {"ended", c.ended},
             {"at_end", c.at_end},
             {"rest_per_second", c.rest_rate},
             {"capture_shorter_than_lifetime", c.shorter_than_lifetime},
             {"extrapolated", c.shorter_than_lifetime &&
                                  c.steady > static_cast<double>(c.at_end)},
             {"active_at_end", c.active_at_end},
             {"idle_at_end", c.resting_at_end},
             {"cannot_answer", c.cannot_answer},
             {"steady_entries", entries(c.steady)}});
      }
      measured["duration_seconds"] = l.duration_s;
      measured["packets"] = l.packets;
      measured["classes"] = classes;
      measured["new_entries_by_half"] = {l.new_entries[0], l.new_entries[1]};
      measured["steady_traffic"] = l.steady_traffic;
      measured["gc_lag_seconds"] = l.gc_lag_s;
      measured["steady_entries"] = entries(l.steady_total);
      measured["cannot_answer"] = l.cannot_answer;
      measured["pool_exhausted"] = l.pool_exhausted;
    }
    doc["measured"] = measured;
  } else {
    doc["measured"] = nullptr;
  }
  doc["needed_entries"] =
      p.needed_entries ? Json(*p.needed_entries) : Json(nullptr);
  doc["needed_is_lower_bound"] = p.lower_bound;
  doc["budget_max"] = p.budget_max;
  doc["recommended"] = {{"nf_conntrack_max", p.recommended.max},
                        {"nf_conntrack_buckets", p.recommended.buckets},
                        {"reason", p.reason}};
  doc["fits"] = p.fits;
  doc["memory_needed_bytes"] = p.fits ? Json(nullptr) : Json(p.memory_needed);
  Json changes = Json::array();
  for (const TimeoutChange& c : p.timeout_changes) {
    changes.push_back({{"sysctl", c.sysctl}, {"from", c.from}, {"to", c.to}});
  }
  doc["timeout_changes"] = changes;
  doc["timeouts_can_fit"] = p.timeouts_can_fit;
  Json rows = Json::array();
  for (const SizingRow& r : p.compare) {
    rows.push_back(
        {{"name", r.name},
         {"nf_conntrack_max", r.size.max},
         {"nf_conntrack_buckets", r.size.buckets},
         {"memory_when_full_bytes", r.memory_when_full},
         {"fits_budget", r.fits_budget},
         {"holds_load", r.holds_load ? Json(*r.holds_load) : Json(nullptr)}});
  }
  doc["compare"] = rows;
  return doc;
}

}  // namespace ctkit
