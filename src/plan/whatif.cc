// What-if sweeps. An operator whose table fills wants to know which change
// would have stopped the drops and what it costs, before touching a host:
// we replay their capture once per candidate setting and put the answers
// side by side.
//
// Shape of the work: every variant is an independent, deterministic replay
// (own Engine, own reader), so the sweep is a plain work queue over a vector
// of variants; a worker writes only its own slot, and the output is built
// from the slots in variant order afterwards. That makes the result
// byte-identical for any thread count. The composition pass is skipped: the
// table here needs only counters and the peak, and the second pass would
// double the cost.
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
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <thread>

#include "core/text.h"
#include "core/thread_annotations.h"
#include "plan/units.h"

namespace ctkit {
namespace {

bool SameSettings(const Tunables& a, const Tunables& b) {
  return a.List() == b.List();
}

// "nf_conntrack_tcp_timeout_time_wait" -> "tcp_timeout_time_wait".
std::string ShortName(const std::string& name) {
  constexpr std::string_view kPrefix = "nf_conntrack_";
  if (name.compare(0, kPrefix.size(), kPrefix) == 0) {
    return name.substr(kPrefix.size());
  }
  return name;
}

// Word-wraps one paragraph at 78 columns, continuation lines indented.
std::string Wrap(const std::string& text) {
  std::string out, line;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t sp = text.find(' ', pos);
    if (sp == std::string::npos) sp = text.size();
    std::string word = text.substr(pos, sp - pos);
    pos = sp + 1;
    if (!line.empty() && line.size() + 1 + word.size() > 78) {
      out += line + "\n";
      line = "  ";
    }
    if (!line.empty() && line != "  ") line += ' ';
    line += word;
  }
  if (!line.empty()) out += line + "\n";
  return out;
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

std::string FormatOffset(uint64_t ns) {
  return fmt::format("+{:.3f}s", static_cast<double>(ns) * 1e-9);
}

}  // namespace

Result<VaryAxis> ParseVary(std::string_view text, const Tunables& base) {
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

Result<AdaptivePolicy> ParseAdaptive(std::string_view text) {
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

Result<std::vector<WhatifVariant>> ExpandVariants(
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
      v.label += ShortName(axes[i].name) + "=" + value;
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

Result<WhatifResult> RunWhatif(const std::string& capture,
                               const std::vector<VaryAxis>& axes,
                               const std::vector<WhatifVariant>& variants,
                               const WhatifOptions& opts) {
  std::vector<std::optional<Result<ReplayReport>>> reports(variants.size());
  // Variants run side by side, one per thread; threads left over (fewer
  // variants than threads) go to each variant's engine.
  unsigned all = opts.threads != 0
                     ? opts.threads
                     : std::max(1u, std::thread::hardware_concurrency());
  unsigned threads = static_cast<unsigned>(
      std::min<size_t>(all, std::max<size_t>(variants.size(), 1)));
  const unsigned engine_threads = std::max(1u, all / threads);
  std::atomic<size_t> next{0};
  // Variants finished, reported in order of finishing, one report at a time.
  struct Progress {
    Mutex mu;
    size_t done CTKIT_GUARDED_BY(mu) = 0;
  } progress;
  auto work = [&] {
    while (true) {
      size_t i = next.fetch_add(1);
      if (i >= variants.size()) return;
      const WhatifVariant& v = variants[i];
      ReplayOptions ro;
      ro.tunables = v.tunables;
      ro.composition = false;
      ro.engine.adaptive_start = v.adaptive_start_entries;
      ro.engine.adaptive_end = v.adaptive_end_entries;
      ro.engine.threads = engine_threads;
      reports[i] = RunReplay(capture, ro);
      if (opts.on_progress) {
        MutexLock lock(&progress.mu);
        opts.on_progress(++progress.done, variants.size());
      }
    }
  };

  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();

  WhatifResult res;
  res.capture = capture;
  res.axes = axes;
  for (size_t i = 0; i < variants.size(); ++i) {
    Result<ReplayReport>& rep = *reports[i];
    if (!rep) return fail(rep.error());
    const ReplayReport& r = *rep;
    if (i == 0) {
      res.packets = r.packets_read;
      res.duration_ns = r.last_ts_ns - r.first_ts_ns;
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
    row.peak_percent =
        r.max != 0 ? 100.0 * r.peak_count / static_cast<double>(r.max) : 0.0;
    row.early_drops = r.stats.early_drop;
    row.invalid = r.stats.invalid;
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

std::string RenderWhatifText(const WhatifResult& r) {
  // The chain-drop column only when some variant has them: they are rare
  // and need a hash far too small for the entries.
  const bool any_chain =
      std::any_of(r.rows.begin(), r.rows.end(),
                  [](const WhatifRow& w) { return w.chain_drops != 0; });
  std::vector<std::string> header = {"#"};
  for (const VaryAxis& a : r.axes) header.push_back(ShortName(a.name));
  header.push_back("drops");
  header.push_back("first drop");
  if (any_chain) header.push_back("chain drops");
  for (const char* h :
       {"peak", "% max", "early drops", "invalid", "kernel mem @peak", ""}) {
    header.push_back(h);
  }
  std::vector<std::vector<std::string>> cells;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const WhatifRow& row = r.rows[i];
    std::vector<std::string> c = {std::to_string(i)};
    for (const auto& [name, value] : row.variant.settings) c.push_back(value);
    c.push_back(std::to_string(row.table_full_drops));
    c.push_back(row.first_drop_offset_ns
                    ? FormatOffset(*row.first_drop_offset_ns)
                    : "-");
    if (any_chain) c.push_back(std::to_string(row.chain_drops));
    c.push_back(std::to_string(row.peak));
    c.push_back(row.max != 0 ? fmt::format("{:.1f}%", row.peak_percent)
                             : "no limit");
    c.push_back(std::to_string(row.early_drops));
    c.push_back(std::to_string(row.invalid));
    c.push_back(FormatBytes(row.kernel_memory_at_peak));
    std::string note;
    if (row.variant.baseline) note = "baseline";
    if (row.variant.adaptive) {
      note = fmt::format("adaptive {}%..{}% of max: NOT a Linux setting",
                         row.variant.adaptive->start_percent,
                         row.variant.adaptive->end_percent);
    }
    if (r.cheapest_lossless == i) {
      note += note.empty() ? "" : ", ";
      note += "<- cheapest with no drops";
    } else if (i == 0 && r.recommended == 0) {
      note += " <- recommended: no drops";
    } else if (row.lossless() && !row.variant.adaptive && !row.unsafe.empty()) {
      note += note.empty() ? "" : ", ";
      note += "no loss, but " + row.unsafe[0];
    }
    c.push_back(note);
    cells.push_back(std::move(c));
  }
  std::vector<size_t> width(header.size());
  for (size_t j = 0; j < header.size(); ++j) width[j] = header[j].size();
  for (const auto& c : cells) {
    for (size_t j = 0; j < c.size(); ++j)
      width[j] = std::max(width[j], c[j].size());
  }
  auto line = [&](const std::vector<std::string>& c) {
    std::string l;
    for (size_t j = 0; j < c.size(); ++j) {
      bool last = j + 1 == c.size();
      if (j > 0) l += "  ";
      // Settings and metrics are numbers: right-aligned; the note is text.
      if (last) {
        l += c[j];
      } else {
        l += std::string(width[j] - c[j].size(), ' ') + c[j];
      }
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    return l + "\n";
  };

  std::string out = fmt::format(
      "what-if: {} ({} packets, {:.1f} s of traffic), {} variants\n\n",
      r.capture, r.packets, static_cast<double>(r.duration_ns) * 1e-9,
      r.rows.size());
  out += line(header);
  for (const auto& c : cells) out += line(c);
  out += "\n";
  std::string notes;
  notes +=
      "drops: packets dropped because the table was full (the kernel's "
      "`drop`); early drops: unassured entries evicted to make room "
      "(docs/kernel-model.md §2.2); both lose connections.\n";
  if (any_chain) {
    notes +=
        "chain drops: packets dropped because their hash chain was too long "
        "(the kernel's `chaintoolong`, docs/kernel-model.md §4.4), not because "
        "the table was "
        "full: nf_conntrack_buckets is too small for the entries; raise it "
        "(raising nf_conntrack_max does not help).\n";
  }
  notes += fmt::format(
      "kernel mem: entries at the peak x {} B (+{} B each with acct, "
      "timestamp or an event listener) + buckets x {} B (docs/kernel-model.md "
      "§10).\n",
      kKernelEntryBytes, kKernelExtensionBytes, kKernelBucketBytes);
  bool varies_max = false, varies_buckets = false;
  for (const VaryAxis& a : r.axes) {
    varies_max |= a.name == "nf_conntrack_max";
    varies_buckets |= a.name == "nf_conntrack_buckets";
  }
  if (varies_max && !varies_buckets && !r.rows.empty()) {
    notes += fmt::format(
        "buckets stay at {} in every variant: raising nf_conntrack_max does "
        "not resize the hash table (vary nf_conntrack_buckets too to see "
        "its cost).\n",
        r.rows[0].buckets);
  }
  // A timeout no shorter than the capture cannot end any entry inside it.
  const double seconds = static_cast<double>(r.duration_ns) * 1e-9;
  for (const VaryAxis& a : r.axes) {
    if (a.name.find("timeout") == std::string::npos) continue;
    bool all_long = std::all_of(
        a.values.begin(), a.values.end(),
        [&](const std::string& v) { return std::atof(v.c_str()) >= seconds; });
    if (all_long) {
      notes += fmt::format(
          "{}: every value is at least the capture's {:.1f} s, so no entry "
          "reaches it inside the capture and these variants cannot differ; "
          "replay a longer capture to compare them.\n",
          a.name, seconds);
    }
  }
  notes += "recommendation: " + r.recommendation + ".\n";
  if (!r.rows.empty() && r.rows[0].lossless()) {
    notes += fmt::format(
        "a variant of a baseline without loss is marked only if it saves at "
        "least {:.0f} % of the baseline's kernel memory at the peak "
        "(--min-saving): a smaller nf_conntrack_max alone saves nothing "
        "there, it only lowers the ceiling.\n",
        100.0 * r.min_saving);
  }
  std::string floors;
  for (const TimeoutFloor& f : r.floors) {
    bool varied =
        std::any_of(r.axes.begin(), r.axes.end(),
                    [&](const VaryAxis& a) { return a.name == f.sysctl; });
    if (!varied) continue;
    floors += fmt::format("{}{} >= {} s ({})", floors.empty() ? "" : "; ",
                          ShortName(f.sysctl), f.seconds, f.reason);
  }
  if (!floors.empty()) {
    notes +=
        "safety floors (--timeout-floor NAME=SECONDS to change): " + floors +
        ".\n";
  }
  for (const WhatifWarning& w : r.warnings) {
    notes += "warning: " + w.message + ".\n";
  }
  bool any_adaptive = std::any_of(
      r.rows.begin(), r.rows.end(),
      [](const WhatifRow& w) { return w.variant.adaptive.has_value(); });
  if (any_adaptive) {
    notes +=
        "adaptive: NOT a Linux feature. ctkit's opt-in pf-style policy for "
        "userspace dataplanes built on ctkit: above START% of max every "
        "timeout a packet sets is scaled down linearly, reaching 0 at END%. "
        "No sysctl does this, so it is never the recommendation.\n";
  }
  size_t from = 0;
  while (from < notes.size()) {
    size_t nl = notes.find('\n', from);
    out += Wrap(notes.substr(from, nl - from));
    from = nl + 1;
  }
  return out;
}

Json WhatifToJson(const WhatifResult& r) {
  // Every value --vary takes has passed Tunables::Set: a decimal integer.
  auto number = [](const std::string& v) -> uint64_t { return std::stoull(v); };
  Json doc = StartJsonDocument(kWhatifTool);
  doc["capture"] = r.capture;
  doc["packets"] = r.packets;
  doc["duration_seconds"] = static_cast<double>(r.duration_ns) * 1e-9;
  Json axes = Json::array();
  for (const VaryAxis& a : r.axes) {
    Json values = Json::array();
    for (const std::string& v : a.values) values.push_back(number(v));
    axes.push_back({{"name", a.name}, {"values", values}});
  }
  doc["vary"] = axes;
  Json rows = Json::array();
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const WhatifRow& row = r.rows[i];
    Json j = Json::object();
    j["index"] = i;
    j["label"] = row.variant.label;
    j["baseline"] = row.variant.baseline;
    Json settings = Json::object();
    for (const auto& [name, value] : row.variant.settings) {
      settings[name] = number(value);
    }
    j["settings"] = settings;
    if (row.variant.adaptive) {
      // Fill levels as multiples of max: END may lie above it (up to 10x).
      j["adaptive"] = {
          {"linux", false},
          {"note",
           "not a Linux feature: ctkit's opt-in pf-style adaptive timeouts"},
          {"start_of_max", row.variant.adaptive->start_percent / 100.0},
          {"end_of_max", row.variant.adaptive->end_percent / 100.0},
          {"start_entries", row.variant.adaptive_start_entries},
          {"end_entries", row.variant.adaptive_end_entries}};
    } else {
      j["adaptive"] = nullptr;
    }
    j["max"] = row.max;
    j["buckets"] = row.buckets;
    j["table_full_drops"] = row.table_full_drops;
    j["chain_too_long_drops"] = row.chain_drops;
    j["first_drop_seconds"] =
        row.first_drop_offset_ns
            ? Json(static_cast<double>(*row.first_drop_offset_ns) * 1e-9)
            : Json(nullptr);
    j["peak"] = row.peak;
    j["peak_fill_ratio"] =
        row.max != 0 ? Json(Ratio(row.peak, row.max)) : Json(nullptr);
    j["early_drops"] = row.early_drops;
    j["invalid"] = row.invalid;
    j["kernel_memory_at_peak_bytes"] = row.kernel_memory_at_peak;
    j["kernel_memory_at_max_bytes"] = row.kernel_memory_at_max;
    j["lossless"] = row.lossless();
    // 1 - memory/baseline's at the peak: negative when it costs more, so a
    // signed fraction rather than a _ratio (which is 0..1).
    j["saving_vs_baseline"] = row.saving;
    j["unsafe"] = row.unsafe;
    j["cheapest_lossless"] = r.cheapest_lossless == i;
    j["recommended"] = r.recommended == i;
    rows.push_back(std::move(j));
  }
  doc["variants"] = rows;
  doc["cheapest_lossless"] =
      r.cheapest_lossless ? Json(*r.cheapest_lossless) : Json(nullptr);
  doc["recommended"] = r.recommended ? Json(*r.recommended) : Json(nullptr);
  doc["recommendation"] = r.recommendation;
  doc["min_saving_ratio"] = r.min_saving;
  Json floors = Json::array();
  for (const TimeoutFloor& f : r.floors) {
    floors.push_back(
        {{"sysctl", f.sysctl}, {"seconds", f.seconds}, {"reason", f.reason}});
  }
  doc["timeout_floors"] = floors;
  Json warnings = Json::array();
  for (const WhatifWarning& w : r.warnings) {
    warnings.push_back(
        {{"class", w.klass}, {"variant", w.variant}, {"message", w.message}});
  }
  doc["warnings"] = warnings;
  if (r.read_error) doc["read_error"] = r.read_error->message;
  return doc;
}

}  // namespace ctkit
