// `ctkit plan`'s output: the plan for a terminal (the load, the settings,
// what they cost, the timeouts that would make a load fit) and as one JSON
// document. The sizing itself is sizing.cc.
#include "plan/sizing_output.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/text.h"
#include "plan/units.h"

namespace ctkit {

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
