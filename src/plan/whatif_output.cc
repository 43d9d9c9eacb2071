// The what-if sweep's output: the comparison table with its notes for a
// terminal, and the same as one JSON document. The sweep itself (variants,
// replays, the recommendation) is whatif.cc.
#include "plan/whatif_output.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/text.h"
#include "plan/units.h"

namespace ctkit {
namespace {

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

std::string FormatOffset(uint64_t ns) {
  return fmt::format("+{:.3f}s", static_cast<double>(ns) * 1e-9);
}
}  // namespace

std::string RenderWhatifText(const WhatifResult& r) {
  // The chain-drop column only when some variant has them: they are rare
  // and need a hash far too small for the entries.
  const bool any_chain =
      std::any_of(r.rows.begin(), r.rows.end(),
                  [](const WhatifRow& w) { return w.chain_drops != 0; });
  std::vector<std::string> header = {"#"};
  for (const VaryAxis& a : r.axes) header.push_back(AxisLabel(a.name));
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
                          AxisLabel(f.sysctl), f.seconds, f.reason);
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