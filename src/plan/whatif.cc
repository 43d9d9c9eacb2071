// What-if sweeps. An operator whose table fills wants to know which change
// would have stopped the drops and what it costs, before touching a host:
// we replay their capture once per candidate setting and put the answers
// side by side.
//
// Shape of the work: every variant is an independent, deterministic replay
// with its own engine, fed from one reading of the capture: RunReplays
// decodes each batch once and every variant's engine tracks it before the
// next is read. A variant's report depends only on its packets, so the
// result is byte-identical for any thread count. The composition census is
// off: the table here needs only counters and the peak.
//
// The baseline (the settings given with --sysctl, or the kernel defaults)
// comes first so every other row reads as a delta from "what you have now".
// The adaptive-timeout variant is ctkit's opt-in pf-style policy, not a
// Linux setting, so it is labelled as such and never named the cheapest.
//
// The recommendation is conservative. A baseline without loss stays the
// recommendation unless a variant saves a meaningful share of its memory
// (--min-saving, 10 %); no variant is recommended with a timeout below its
// safety floor or a hash too small for its max (plan/safety.h): a capture
// is a sample, and a setting tuned to the last byte of it fails on the
// next busier hour.
#include "plan/whatif.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <thread>

#include "core/text.h"
#include "plan/units.h"

namespace ctkit {
namespace {

bool SameSettings(const Tunables& a, const Tunables& b) {
  return a.List() == b.List();
}

// "44 chain-too-long drops", "2 table-full drops and 1974 early drops".
std::string Losses(const WhatifRow& row) {
  std::vector<std::string> parts;
  if (row.table_full_drops) {
    parts.push_back(fmt::format("{} table-full drops", row.table_full_drops));
  }
  if (row.chain_drops) {
    parts.push_back(fmt::format("{} chain-too-long drops", row.chain_drops));
  }
  if (row.early_drops) {
    parts.push_back(fmt::format("{} early drops", row.early_drops));
  }
  std::string s;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) s += i + 1 == parts.size() ? " and " : ", ";
    s += parts[i];
  }
  return s;
}

}  // namespace

std::string AxisLabel(const std::string& name) {
  constexpr std::string_view kPrefix = "nf_conntrack_";
  if (name.compare(0, kPrefix.size(), kPrefix) == 0) {
    return name.substr(kPrefix.size());
  }
  return name;
}

[[nodiscard]] Result<VaryAxis> ParseVary(std::string_view text,
                                         const Tunables& base) {
  auto kv = SplitAssignment(text);
  if (!kv) {
    return fail(Error::invalid_argument("--vary '" + std::string(text) +
                                        "': expected NAME=V1,V2,..."));
  }
  VaryAxis axis;
  axis.name = Tunables::Canonical(kv->name);
  for (std::string_view v : Split(kv->value, ',')) {
    v = Trim(v);
    if (v.empty()) {
      return fail(Error::invalid_argument("--vary '" + std::string(text) +
                                          "': empty value in the list"));
    }
    Tunables probe = base;
    auto r = probe.Set(axis.name, v);
    if (!r) {
      return fail(Error::invalid_argument("--vary " + std::string(text) + ": " +
                                          r.error().message));
    }
    std::string value(v);
    if (std::find(axis.values.begin(), axis.values.end(), value) ==
        axis.values.end()) {
      axis.values.push_back(value);
    }
  }
  return axis;
}

[[nodiscard]] Result<AdaptivePolicy> ParseAdaptive(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return fail(Error::invalid_argument("--adaptive '" + std::string(text) +
                                        "': " + why));
  };
  std::vector<std::string_view> parts = Split(text, ',');
  if (parts.size() != 2) return bad("expected START%,END% (e.g. 60%,120%)");
  uint32_t pct[2];
  for (int i = 0; i < 2; ++i) {
    std::string_view p = Trim(parts[static_cast<size_t>(i)]);
    if (!p.empty() && p.back() == '%') p.remove_suffix(1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), pct[i]);
    if (p.empty() || ec != std::errc() || end != p.data() + p.size()) {
      return bad("expected whole percentages of nf_conntrack_max");
    }
  }
  if (pct[0] >= pct[1]) return bad("START must be below END");
  if (pct[1] > 1000) return bad("END above 1000% of max");
  return AdaptivePolicy{pct[0], pct[1]};
}

[[nodiscard]] Result<std::vector<WhatifVariant>> ExpandVariants(
    const Tunables& base, const std::vector<VaryAxis>& axes,
    const std::vector<AdaptivePolicy>& adaptive) {
  std::vector<WhatifVariant> out;
  auto base_settings = [&] {
    std::vector<std::pair<std::string, std::string>> s;
    for (const VaryAxis& a : axes) {
      auto v = base.Get(a.name);
      s.emplace_back(a.name, v ? std::to_string(*v) : "?");
    }
    return s;
  };
  WhatifVariant b;
  b.label = "baseline";
  b.baseline = true;
  b.settings = base_settings();
  b.tunables = base;
  out.push_back(b);

  // Odometer over the axes, the last axis turning fastest.
  size_t total = axes.empty() ? 0 : 1;
  for (const VaryAxis& a : axes) total *= a.values.size();
  std::vector<size_t> digit(axes.size(), 0);
  for (size_t n = 0; n < total; ++n) {
    WhatifVariant v;
    v.tunables = base;
    for (size_t i = 0; i < axes.size(); ++i) {
      const std::string& value = axes[i].values[digit[i]];
      auto r = v.tunables.Set(axes[i].name, value);
      if (!r) return fail(r.error());  // ParseVary checked already
      v.settings.emplace_back(axes[i].name, value);
      if (!v.label.empty()) v.label += ' ';
      v.label += AxisLabel(axes[i].name) + "=" + value;
    }
    for (size_t i = axes.size(); i-- > 0;) {
      if (++digit[i] < axes[i].values.size()) break;
      digit[i] = 0;
    }
    if (SameSettings(v.tunables, base)) {
      // The baseline row already stands for this combination.
      out[0].label = "baseline (" + v.label + ")";
      continue;
    }
    out.push_back(std::move(v));
  }

  for (const AdaptivePolicy& p : adaptive) {
    if (base.max == 0) {
      return fail(Error::invalid_argument(
          "--adaptive needs a limit: nf_conntrack_max is 0 (no limit)"));
    }
    WhatifVariant v;
    v.label = fmt::format("baseline + adaptive {}%..{}% (NOT Linux)",
                          p.start_percent, p.end_percent);
    v.settings = base_settings();
    v.tunables = base;
    v.adaptive = p;
    v.adaptive_start_entries = static_cast<uint32_t>(
        static_cast<uint64_t>(base.max) * p.start_percent / 100);
    v.adaptive_end_entries = static_cast<uint32_t>(std::min<uint64_t>(
        static_cast<uint64_t>(base.max) * p.end_percent / 100, 0xffffffffu));
    if (v.adaptive_start_entries >= v.adaptive_end_entries) {
      return fail(Error::invalid_argument(fmt::format(
          "--adaptive {}%,{}%: with nf_conntrack_max={} both thresholds are "
          "{} entries",
          p.start_percent, p.end_percent, base.max, v.adaptive_start_entries)));
    }
    out.push_back(std::move(v));
  }
  return out;
}

[[nodiscard]] Result<WhatifResult> RunWhatif(
    const std::string& capture, const std::vector<VaryAxis>& axes,
    const std::vector<WhatifVariant>& variants, const WhatifOptions& opts) {
  // The capture is read and decoded once; every variant's engine tracks
  // each batch (RunReplays), so variants cost their engines' work, not a
  // reading each.
  std::vector<ReplayOptions> sets;
  for (const WhatifVariant& v : variants) {
    ReplayOptions ro;
    ro.tunables = v.tunables;
    ro.composition = false;
    ro.fine_curve = opts.fine_curve;
    ro.engine.adaptive_start = v.adaptive_start_entries;
    ro.engine.adaptive_end = v.adaptive_end_entries;
    sets.push_back(std::move(ro));
  }
  if (!sets.empty()) sets.front().on_progress = opts.on_progress;
  const unsigned threads =
      opts.threads != 0 ? opts.threads
                        : std::max(1u, std::thread::hardware_concurrency());
  auto replays = RunReplays([&capture] { return CaptureReader::Open(capture); },
                            capture, sets, threads);
  if (!replays) return fail(replays.error());
  WhatifResult res;
  res.capture = capture;
  res.axes = axes;
  for (size_t i = 0; i < variants.size(); ++i) {
    const ReplayReport& r = (*replays)[i];
    if (i == 0) {
      res.packets = r.packets_read;
      res.duration_ns = r.last_ts_ns - r.first_ts_ns;
      res.first_ts_ns = r.first_ts_ns;
      res.read_error = r.read_error;
    }
    WhatifRow row;
    row.variant = variants[i];
    row.max = r.max;
    row.buckets = r.buckets;
    row.table_full_drops = r.counters.table_full;
    if (r.first_drop_ts_ns) {
      row.first_drop_offset_ns = *r.first_drop_ts_ns - r.first_ts_ns;
    }
    row.chain_drops = r.stats.chaintoolong;
    for (const ShortCaptureWarning& w : r.warnings) {
      const LifetimeInfo info = DescribeLifetime(w.klass, variants[i].tunables);
      bool seen = std::any_of(
          res.warnings.begin(), res.warnings.end(),
          [&](const WhatifWarning& x) { return x.klass == info.name; });
      if (seen) continue;
      res.warnings.push_back(
          {info.name, i,
           fmt::format(
               "the capture ({:.1f} s) is too short for {} ({}): they held "
               "{:.0f} % of the entries at its end in variant #{}, whose "
               "table was still growing, so a longer run of this traffic "
               "holds more; a variant without drops here may drop then",
               static_cast<double>(r.last_ts_ns - r.first_ts_ns) * 1e-9,
               info.name, LifetimeSetting(info), 100.0 * w.share, i)});
    }
    row.peak = r.peak_count;
    row.peak_ts_ns = r.peak_ts_ns;
    row.peak_percent =
        r.max != 0 ? 100.0 * r.peak_count / static_cast<double>(r.max) : 0.0;
    row.early_drops = r.stats.early_drop;
    row.invalid = r.stats.invalid;
    row.curve = r.curve;
    row.kernel_memory_at_peak = r.kernel_memory_bytes;
    // The same per-entry cost as the peak estimate, for a full table.
    uint64_t bucket_bytes =
        static_cast<uint64_t>(r.buckets) * kKernelBucketBytes;
    uint64_t per_entry =
        r.peak_count != 0
            ? (r.kernel_memory_bytes - bucket_bytes) / r.peak_count
            : kKernelEntryBytes;
    row.kernel_memory_at_max =
        static_cast<uint64_t>(r.max != 0 ? r.max : r.peak_count) * per_entry +
        bucket_bytes;
    res.rows.push_back(std::move(row));
  }
  Recommend(&res, opts.min_saving, opts.floors);
  return res;
}

void Recommend(WhatifResult* r, double min_saving,
               const std::vector<TimeoutFloor>& floors) {
  r->min_saving = min_saving;
  r->floors = floors;
  r->cheapest_lossless.reset();
  r->recommended.reset();
  if (r->rows.empty()) return;
  const WhatifRow& base = r->rows[0];
  for (WhatifRow& row : r->rows) {
    row.unsafe = SafetyProblems(row.variant.tunables, floors);
    if (row.variant.adaptive) {
      row.unsafe.insert(row.unsafe.begin(), "not a Linux setting");
    }
    row.saving = base.kernel_memory_at_peak != 0
                     ? 1.0 - static_cast<double>(row.kernel_memory_at_peak) /
                                 static_cast<double>(base.kernel_memory_at_peak)
                     : 0.0;
  }
  const bool base_lossless = base.lossless();
  // 1e-9: a saving of exactly min_saving counts despite rounding.
  auto saves_enough = [&](const WhatifRow& row) {
    return row.saving + 1e-9 >= min_saving;
  };
  size_t lossless_unsafe = 0;
  for (size_t i = 1; i < r->rows.size(); ++i) {
    const WhatifRow& row = r->rows[i];
    if (!row.lossless()) continue;
    if (!row.unsafe.empty()) {
      ++lossless_unsafe;
      continue;
    }
    if (base_lossless && !saves_enough(row)) continue;
    if (!r->cheapest_lossless) {
      r->cheapest_lossless = i;
      continue;
    }
    const WhatifRow& best = r->rows[*r->cheapest_lossless];
    if (row.kernel_memory_at_peak < best.kernel_memory_at_peak ||
        (row.kernel_memory_at_peak == best.kernel_memory_at_peak &&
         row.kernel_memory_at_max < best.kernel_memory_at_max)) {
      r->cheapest_lossless = i;
    }
  }
  const std::string floors_note =
      lossless_unsafe == 0 ? ""
      : lossless_unsafe == 1
          ? " (1 variant without loss is not safe to run: see its row)"
          : fmt::format(
                " ({} variants without loss are not safe to run: see their "
                "rows)",
                lossless_unsafe);
  if (r->cheapest_lossless) {
    const size_t i = *r->cheapest_lossless;
    const WhatifRow& best = r->rows[i];
    r->recommended = i;
    r->recommendation =
        base_lossless
            ? fmt::format(
                  "#{} {}: no drops, no early drops, safe to run (safety "
                  "floors, hash size), and {:.0f} % less kernel memory at the "
                  "peak than "
                  "the baseline ({} instead of {}; at least {:.0f} % "
                  "required)",
                  i, best.variant.label, 100.0 * best.saving,
                  FormatBytes(best.kernel_memory_at_peak),
                  FormatBytes(base.kernel_memory_at_peak), 100.0 * min_saving)
            : fmt::format(
                  "#{} {}: the cheapest variant with no drops and no early "
                  "drops that is safe to run ({} at the peak, {} if "
                  "the table fills to max); the baseline had {}",
                  i, best.variant.label,
                  FormatBytes(best.kernel_memory_at_peak),
                  FormatBytes(best.kernel_memory_at_max), Losses(base));
  } else if (base_lossless) {
    r->recommended = 0;
    r->recommendation = fmt::format(
        "keep the baseline: it has no drops and no early drops, and no "
        "variant without loss saves at least {:.0f} % of its kernel memory "
        "at the peak and is safe to run{}",
        100.0 * min_saving, floors_note);
    for (const std::string& p : base.unsafe) {
      r->recommendation += "; but the baseline's " + p;
    }
  } else {
    r->recommendation = fmt::format(
        "none: the baseline had {}, and no Linux variant ran without drops "
        "or early drops that is safe to run{}; try larger "
        "nf_conntrack_max (and nf_conntrack_buckets) values or shorter "
        "timeouts",
        Losses(base), floors_note);
  }
}

}  // namespace ctkit
