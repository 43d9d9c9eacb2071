// The flight recorder's answers (see history_query.h).
#include "watch/history_query.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <memory>
#include <utility>

#include "ctkit/tunables.h"

namespace ctkit::watch {

struct HistoryAnalyzer::State {
  NamespaceHistory h;
  bool has_prev = false;
  double prev_s = 0;
  std::optional<Stats> prev_stats;
  std::map<std::string, uint64_t> prev_settings;
  bool prev_high = false, prev_full = false;
  std::optional<ThresholdInterval> open_high, open_full;
  bool has_peak = false;
  double scan_distance = std::numeric_limits<double>::infinity();
};

namespace {

// nf_conntrack_max and _buckets with the other settings: all are "what
// was in force".
std::map<std::string, uint64_t> SettingsOf(const HistorySample& s) {
  std::map<std::string, uint64_t> out = s.settings;
  if (s.max) out["nf_conntrack_max"] = *s.max;
  if (s.buckets) out["nf_conntrack_buckets"] = *s.buckets;
  return out;
}

void Close(std::optional<ThresholdInterval>* open,
           std::vector<ThresholdInterval>* list, uint64_t* total) {
  if (!*open) return;
  ++*total;
  if (list->size() < NamespaceHistory::kMaxIntervals) list->push_back(**open);
  open->reset();
}

void Track(std::optional<ThresholdInterval>* open, bool over, double t,
           uint64_t count, uint64_t drops, bool first_in_range,
           std::vector<ThresholdInterval>* list, uint64_t* total) {
  if (over) {
    if (!*open) {
      *open = ThresholdInterval{};
      (*open)->start = t;
      (*open)->from_before = first_in_range;
    }
    (*open)->end = t;
    (*open)->peak = std::max((*open)->peak, count);
    (*open)->drops += drops;
  } else if (*open) {
    (*open)->back_under = t;
    Close(open, list, total);
  }
}

// One counter's rise between two samples; true when it went down (reset).
bool Rise(uint64_t before, uint64_t now, double t, double dt, CounterRises* c,
          uint64_t* delta) {
  const bool reset = now < before;
  *delta = reset ? now : now - before;
  if (*delta == 0) return reset;
  c->total += *delta;
  if (!c->first) c->first = t;
  if (dt > 0) {
    const double rate = static_cast<double>(*delta) / dt;
    if (rate > c->peak_rate) {
      c->peak_rate = rate;
      c->peak_rate_at = t;
    }
  }
  return reset;
}

std::tm LocalTm(double unix_s) {
  const time_t t = static_cast<time_t>(std::floor(unix_s));
  std::tm tm{};
  localtime_r(&t, &tm);
  return tm;
}

// "HH:MM:SS" when `t` falls on `ref`'s local day, else the full time.
std::string TimeSince(double t, double ref) {
  const std::tm a = LocalTm(t), b = LocalTm(ref);
  if (a.tm_year == b.tm_year && a.tm_yday == b.tm_yday) {
    return fmt::format("{:02}:{:02}:{:02}", a.tm_hour, a.tm_min, a.tm_sec);
  }
  return FormatLocalTime(t);
}

std::string Percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "?";
  return fmt::format("{:.0f} %", 100.0 * static_cast<double>(part) /
                                     static_cast<double>(whole));
}

std::string Rate(double per_s) {
  return per_s >= 10 ? fmt::format("{:.0f}/s", per_s)
                     : fmt::format("{:.2g}/s", per_s);
}

std::string RankedList(const std::vector<HistoryRanked>& list, uint64_t total,
                       bool with_protocol) {
  std::string out;
  for (const HistoryRanked& k : list) {
    if (!out.empty()) out += ", ";
    std::string name = k.key;
    if (with_protocol && !k.protocol.empty()) {
      name = k.key.empty() ? k.protocol : k.protocol + "/" + k.key;
    }
    out +=
        fmt::format("{} {} ({})", name, k.entries, Percent(k.entries, total));
  }
  return out.empty() ? "-" : out;
}

void RenderIntervals(std::string* out, const char* what,
                     const std::vector<ThresholdInterval>& list,
                     uint64_t total) {
  for (const ThresholdInterval& i : list) {
    std::string line = fmt::format(
        "  {} {} {} to {} ({})", what, i.from_before ? "from before" : "from",
        FormatLocalTime(i.start), TimeSince(i.end, i.start),
        FormatSpan(i.end - i.start));
    if (i.back_under) {
      line += ", under again at " + TimeSince(*i.back_under, i.start);
    } else {
      line += ", still over at the last sample";
    }
    line += fmt::format("; peak {} entries", i.peak);
    if (i.drops > 0) line += fmt::format(", {} packets dropped", i.drops);
    *out += line + "\n";
  }
  if (total > list.size()) {
    *out += fmt::format("  ({} more such intervals not shown)\n",
                        total - list.size());
  }
}

nlohmann::json Json(const std::optional<double>& t) {
  return t ? nlohmann::json(*t) : nlohmann::json(nullptr);
}

nlohmann::json IntervalsJson(const std::vector<ThresholdInterval>& list,
                             uint64_t total, double seconds) {
  nlohmann::json j = {{"intervals_total", total}, {"seconds", seconds}};
  nlohmann::json arr = nlohmann::json::array();
  for (const ThresholdInterval& i : list) {
    arr.push_back({{"start", i.start},
                   {"end", i.end},
                   {"back_under", Json(i.back_under)},
                   {"from_before", i.from_before},
                   {"peak", i.peak},
                   {"drops", i.drops}});
  }
  j["intervals"] = std::move(arr);
  j["first_crossed"] =
      list.empty() ? nlohmann::json(nullptr) : nlohmann::json(list[0].start);
  return j;
}

nlohmann::json RisesJson(const CounterRises& c, double span) {
  return {{"total", c.total},
          {"first", Json(c.first)},
          {"peak_rate_per_s", c.peak_rate},
          {"peak_rate_at", c.peak_rate > 0 ? nlohmann::json(c.peak_rate_at)
                                           : nlohmann::json(nullptr)},
          {"rate_per_s", span > 0 ? static_cast<double>(c.total) / span : 0.0}};
}

nlohmann::json RankedJson(const std::vector<HistoryRanked>& list) {
  nlohmann::json arr = nlohmann::json::array();
  for (const HistoryRanked& k : list) {
    nlohmann::json e = {{"key", k.key}, {"entries", k.entries}};
    if (!k.protocol.empty()) e["protocol"] = k.protocol;
    arr.push_back(std::move(e));
  }
  return arr;
}

// Settings that differ from the kernel's defaults (nf_conntrack_max and
// _buckets are always shown: their defaults depend on the host's memory).
std::string SettingsLine(const std::map<std::string, uint64_t>& settings) {
  static const Tunables kDefaults;
  std::string always, differing;
  for (const char* name : {"nf_conntrack_max", "nf_conntrack_buckets"}) {
    auto it = settings.find(name);
    if (it == settings.end()) continue;
    always +=
        fmt::format("{}{} {}", always.empty() ? "" : ", ", name, it->second);
  }
  for (const auto& [name, value] : settings) {
    if (name == "nf_conntrack_max" || name == "nf_conntrack_buckets") {
      continue;
    }
    const std::optional<uint64_t> def = kDefaults.Get(name);
    if (def && *def == value) continue;
    differing +=
        fmt::format("{}{} {}", differing.empty() ? "" : ", ", name, value);
  }
  std::string out = always.empty() ? "limit not read" : always;
  out += differing.empty()
             ? "; every other setting read at the kernel's default"
             : "; not at the kernel's default: " + differing;
  return out;
}

std::string Value(const std::optional<uint64_t>& v) {
  return v ? std::to_string(*v) : "(not read)";
}

}  // namespace

HistoryAnalyzer::HistoryAnalyzer(HistoryQuery query, double interval_s)
    : query_(std::move(query)), interval_s_(interval_s) {
  answer_.query = query_;
}

HistoryAnalyzer::~HistoryAnalyzer() {
  for (auto& [label, state] : states_) delete state;
}

void HistoryAnalyzer::Add(const HistorySample& s) {
  ++answer_.samples_in_file;
  answer_.file_first_s =
      std::min(answer_.file_first_s.value_or(s.unix_s), s.unix_s);
  answer_.file_last_s =
      std::max(answer_.file_last_s.value_or(s.unix_s), s.unix_s);
  if (s.unix_s < query_.from || s.unix_s > query_.to) return;
  if (!query_.netns.empty() && s.netns != query_.netns) return;
  auto it = states_.find(s.netns);
  if (it == states_.end()) {
    if (states_.size() >= HistoryAnswer::kMaxNamespaces) {
      ++answer_.samples_left_out;
      return;
    }
    it = states_.emplace(s.netns, new State).first;
    it->second->h.netns = s.netns;
  }
  State& st = *it->second;
  NamespaceHistory& h = st.h;
  const bool first = !st.has_prev;
  const double dt = first ? 0 : s.unix_s - st.prev_s;
  const bool gap = !first && dt > 3 * interval_s_;
  if (gap) {
    ++h.gaps_total;
    if (h.gaps.size() < NamespaceHistory::kMaxGaps) {
      h.gaps.push_back({st.prev_s, s.unix_s});
    }
    // Nobody knows what the table did in a gap: it ends an interval.
    Close(&st.open_high, &h.high, &h.high_total);
    Close(&st.open_full, &h.full, &h.full_total);
  }
  if (first) h.first_s = s.unix_s;
  h.last_s = s.unix_s;
  ++h.samples;
  if (s.count) {
    if (!h.first_count) h.first_count = s.count;
    h.last_count = s.count;
  }

  // The counters' rises since the sample before.
  uint64_t drops = 0;
  if (st.prev_stats && s.stats) {
    uint64_t delta = 0;
    bool reset =
        Rise(st.prev_stats->drop, s.stats->drop, s.unix_s, dt, &h.drop, &drops);
    reset |= Rise(st.prev_stats->insert_failed, s.stats->insert_failed,
                  s.unix_s, dt, &h.insert_failed, &delta);
    reset |= Rise(st.prev_stats->early_drop, s.stats->early_drop, s.unix_s, dt,
                  &h.early_drop, &delta);
    if (reset) ++h.counter_resets;
  }
  if (s.stats) st.prev_stats = s.stats;

  // Against the limit (0 is no limit: never full).
  const bool limited = s.count && s.max && *s.max > 0;
  const bool full = (limited && *s.count >= *s.max) || drops > 0;
  const bool high = full || (limited && *s.count * 10 >= *s.max * 9);
  if (!first && !gap) {
    if (st.prev_high) h.seconds_high += dt;
    if (st.prev_full) h.seconds_full += dt;
  }
  const uint64_t count = s.count.value_or(0);
  Track(&st.open_high, high, s.unix_s, count, drops, first, &h.high,
        &h.high_total);
  Track(&st.open_full, full, s.unix_s, count, drops, first, &h.full,
        &h.full_total);
  st.prev_high = high;
  st.prev_full = full;

  // The peak, and the scan nearest it.
  if (s.count && (!st.has_peak || *s.count > h.peak_count)) {
    st.has_peak = true;
    h.peak_count = *s.count;
    h.peak_s = s.unix_s;
    h.max_at_peak = s.max;
    st.scan_distance = h.at_peak
                           ? std::fabs(h.at_peak->finished_unix - h.peak_s)
                           : std::numeric_limits<double>::infinity();
  }
  if (s.scan) {
    const double d = std::fabs(s.scan->finished_unix - h.peak_s);
    if (d < st.scan_distance) {
      st.scan_distance = d;
      h.at_peak = s.scan;
    }
  }

  // The settings in force, and their changes.
  std::map<std::string, uint64_t> now = SettingsOf(s);
  if (first) {
    h.settings_first = now;
  } else {
    auto note = [&](const std::string& name, std::optional<uint64_t> before,
                    std::optional<uint64_t> after) {
      ++h.changes_total;
      if (h.changes.size() < NamespaceHistory::kMaxChanges) {
        h.changes.push_back({s.unix_s, name, before, after});
      }
    };
    for (const auto& [name, value] : now) {
      auto p = st.prev_settings.find(name);
      if (p == st.prev_settings.end()) {
        note(name, std::nullopt, value);
      } else if (p->second != value) {
        note(name, p->second, value);
      }
    }
    for (const auto& [name, value] : st.prev_settings) {
      if (!now.count(name)) note(name, value, std::nullopt);
    }
  }
  h.settings_last = now;
  st.prev_settings = std::move(now);
  st.prev_s = s.unix_s;
  st.has_prev = true;
}

HistoryAnswer HistoryAnalyzer::Finish() {
  for (auto& [label, state] : states_) {
    State& st = *state;
    Close(&st.open_high, &st.h.high, &st.h.high_total);
    Close(&st.open_full, &st.h.full, &st.h.full_total);
    answer_.namespaces.push_back(std::move(st.h));
  }
  return std::move(answer_);
}

[[nodiscard]] Result<HistoryAnswer> QueryHistory(const std::string& path,
                                                 const HistoryQuery& query) {
  // The interval (what a gap is) is the header's.
  std::unique_ptr<HistoryAnalyzer> analyzer;
  Result<HistoryReadReport> read = ReadHistory(
      path, [&](const HistorySample& s) { analyzer->Add(s); },
      [&](const HistoryGeometry& g) {
        analyzer =
            std::make_unique<HistoryAnalyzer>(query, g.interval_ms / 1e3);
      });
  if (!read) return fail(read.error());
  HistoryAnswer a;
  if (analyzer) {
    a = analyzer->Finish();
  } else {
    a.query = query;
  }
  a.path = path;
  a.read = std::move(*read);
  return a;
}

std::string RenderHistory(const HistoryAnswer& a) {
  std::string out;
  const std::tm probe = LocalTm(a.file_last_s.value_or(0));
  out += fmt::format(
      "{}: {} sample(s){}; times are local ({}, UTC{:+03}:{:02})\n", a.path,
      a.samples_in_file,
      a.file_first_s ? " from " + FormatLocalTime(*a.file_first_s) + " to " +
                           TimeSince(*a.file_last_s, *a.file_first_s)
                     : std::string(),
      probe.tm_zone != nullptr ? probe.tm_zone : "?", probe.tm_gmtoff / 3600,
      std::abs(probe.tm_gmtoff % 3600) / 60);
  const HistoryReadReport& r = a.read;
  if (r.truncated_at) {
    out += fmt::format(
        "TRUNCATED: the file ends at offset {} (it should be {} bytes); "
        "the slots before that were read\n",
        *r.truncated_at, r.geometry.file_size());
  }
  if (r.bad_slots > 0) {
    out += fmt::format("CORRUPT: {} slot(s) skipped (torn or damaged):\n",
                       r.bad_slots);
  }
  for (const HistoryProblem& p : r.problems) {
    out += fmt::format("  offset {}: {}\n", p.offset, p.what);
  }
  if (r.bad_slots > r.problems.size()) {
    out +=
        fmt::format("  ({} more not shown)\n", r.bad_slots - r.problems.size());
  }
  const bool bounded = std::isfinite(a.query.from) || std::isfinite(a.query.to);
  if (a.namespaces.empty()) {
    out += bounded
               ? fmt::format(
                     "no samples between {} and {}\n",
                     std::isfinite(a.query.from) ? FormatLocalTime(a.query.from)
                                                 : std::string("the start"),
                     std::isfinite(a.query.to) ? FormatLocalTime(a.query.to)
                                               : std::string("the end"))
               : "no samples\n";
    return out;
  }
  for (const NamespaceHistory& h : a.namespaces) {
    out += fmt::format("\nnetns {}: {} sample(s) from {} to {}\n", h.netns,
                       h.samples, FormatLocalTime(h.first_s),
                       TimeSince(h.last_s, h.first_s));
    if (h.max_at_peak) {
      out += fmt::format("  peak: {} of {} entries ({}) at {}\n", h.peak_count,
                         *h.max_at_peak, Percent(h.peak_count, *h.max_at_peak),
                         FormatLocalTime(h.peak_s));
    } else if (h.last_count) {
      out += fmt::format("  peak: {} entries at {} (limit not read)\n",
                         h.peak_count, FormatLocalTime(h.peak_s));
    }
    if (h.high.empty()) {
      out += "  never at or over 90 % of the limit\n";
    } else {
      out += fmt::format("  first at or over 90 % at {}\n",
                         FormatLocalTime(h.high[0].start));
      RenderIntervals(&out, "at or over 90 %", h.high, h.high_total);
    }
    if (h.full.empty()) {
      out += "  never full\n";
    } else {
      out +=
          fmt::format("  first full at {}\n", FormatLocalTime(h.full[0].start));
      RenderIntervals(&out, "full", h.full, h.full_total);
      out += fmt::format("  full for {} in all\n", FormatSpan(h.seconds_full));
    }
    const double span = h.last_s - h.first_s;
    if (h.drop.total == 0 && h.insert_failed.total == 0 &&
        h.early_drop.total == 0) {
      out += "  drops: none (drop, insert_failed and early_drop unchanged)\n";
    } else {
      auto rises = [&](const char* name, const char* what,
                       const CounterRises& c) {
        if (c.total == 0) {
          out += fmt::format("  {}: 0\n", name);
          return;
        }
        out += fmt::format(
            "  {}: {} {}, first by {}, peak {} at {}, {} over the range\n",
            name, c.total, what, FormatLocalTime(*c.first), Rate(c.peak_rate),
            TimeSince(c.peak_rate_at, *c.first),
            Rate(span > 0 ? static_cast<double>(c.total) / span : 0));
      };
      rises("drop", "packets dropped (table full)", h.drop);
      rises("early_drop", "entries evicted to make room", h.early_drop);
      rises("insert_failed", "packets dropped on an insert clash",
            h.insert_failed);
    }
    if (h.counter_resets > 0) {
      out += fmt::format(
          "  the counters went down {} time(s) (a reboot or a wrap): the "
          "new values were counted as the rise\n",
          h.counter_resets);
    }
    if (h.at_peak) {
      const HistoryScan& c = *h.at_peak;
      out += fmt::format("  what held the table (scan at {}{}, {} entries):\n",
                         TimeSince(c.finished_unix, h.peak_s),
                         c.complete ? "" : ", partial", c.total);
      out += "    states: " + RankedList(c.states, c.total, true) + "\n";
      out += "    timeout classes: " + RankedList(c.classes, c.total, false) +
             "\n";
      out += "    sources: " + RankedList(c.sources, c.total, false) + "\n";
      out += "    destinations: " + RankedList(c.destinations, c.total, false) +
             "\n";
      out += "    ports: " + RankedList(c.ports, c.total, true) + "\n";
    } else {
      out += "  what held the table: no table scan in the range\n";
    }
    out += "  settings in force: " + SettingsLine(h.settings_first) + "\n";
    for (const SettingChange& c : h.changes) {
      out +=
          fmt::format("  changed at {}: {} {} -> {}\n", FormatLocalTime(c.at),
                      c.name, Value(c.before), Value(c.after));
    }
    if (h.changes_total > h.changes.size()) {
      out += fmt::format("  ({} more changes not shown)\n",
                         h.changes_total - h.changes.size());
    }
    for (const HistoryGap& g : h.gaps) {
      out += fmt::format("  no samples from {} to {} ({}): not recording\n",
                         FormatLocalTime(g.from), TimeSince(g.to, g.from),
                         FormatSpan(g.to - g.from));
    }
    if (h.gaps_total > h.gaps.size()) {
      out += fmt::format("  ({} more gaps not shown)\n",
                         h.gaps_total - h.gaps.size());
    }
  }
  if (a.samples_left_out > 0) {
    out += fmt::format(
        "\n({} samples of namespaces beyond the first {} left out; use "
        "--netns)\n",
        a.samples_left_out, HistoryAnswer::kMaxNamespaces);
  }
  return out;
}

nlohmann::json HistoryToJson(const HistoryAnswer& a) {
  const HistoryReadReport& r = a.read;
  nlohmann::json problems = nlohmann::json::array();
  for (const HistoryProblem& p : r.problems) {
    problems.push_back({{"offset", p.offset}, {"what", p.what}});
  }
  nlohmann::json j = {
      {"file", a.path},
      {"from", std::isfinite(a.query.from) ? nlohmann::json(a.query.from)
                                           : nlohmann::json(nullptr)},
      {"to", std::isfinite(a.query.to) ? nlohmann::json(a.query.to)
                                       : nlohmann::json(nullptr)},
      {"read",
       {{"slot_size", r.geometry.slot_size},
        {"slot_count", r.geometry.slot_count},
        {"interval_s", r.geometry.interval_ms / 1000.0},
        {"created", static_cast<double>(r.geometry.created_unix_ns) / 1e9},
        {"samples", r.samples},
        {"empty_slots", r.empty_slots},
        {"bad_slots", r.bad_slots},
        {"problems", std::move(problems)},
        {"truncated_at", r.truncated_at ? nlohmann::json(*r.truncated_at)
                                        : nlohmann::json(nullptr)},
        {"first", Json(a.file_first_s)},
        {"last", Json(a.file_last_s)}}},
      {"samples_left_out", a.samples_left_out}};
  nlohmann::json spaces = nlohmann::json::array();
  for (const NamespaceHistory& h : a.namespaces) {
    const double span = h.last_s - h.first_s;
    nlohmann::json n = {
        {"netns", h.netns},
        {"samples", h.samples},
        {"first", h.first_s},
        {"last", h.last_s},
        {"peak",
         {{"count", h.peak_count},
          {"at", h.peak_s},
          {"max", h.max_at_peak ? nlohmann::json(*h.max_at_peak)
                                : nlohmann::json(nullptr)}}},
        {"over_90_percent",
         IntervalsJson(h.high, h.high_total, h.seconds_high)},
        {"full", IntervalsJson(h.full, h.full_total, h.seconds_full)},
        {"drops",
         {{"drop", RisesJson(h.drop, span)},
          {"early_drop", RisesJson(h.early_drop, span)},
          {"insert_failed", RisesJson(h.insert_failed, span)},
          {"counter_resets", h.counter_resets}}}};
    if (h.at_peak) {
      const HistoryScan& c = *h.at_peak;
      n["at_peak"] = {{"scan_finished", c.finished_unix},
                      {"complete", c.complete},
                      {"total", c.total},
                      {"assured", c.assured},
                      {"unreplied", c.unreplied},
                      {"states", RankedJson(c.states)},
                      {"classes", RankedJson(c.classes)},
                      {"sources", RankedJson(c.sources)},
                      {"destinations", RankedJson(c.destinations)},
                      {"ports", RankedJson(c.ports)}};
    } else {
      n["at_peak"] = nullptr;
    }
    nlohmann::json changes = nlohmann::json::array();
    for (const SettingChange& c : h.changes) {
      changes.push_back({{"at", c.at},
                         {"name", c.name},
                         {"before", c.before ? nlohmann::json(*c.before)
                                             : nlohmann::json(nullptr)},
                         {"after", c.after ? nlohmann::json(*c.after)
                                           : nlohmann::json(nullptr)}});
    }
    nlohmann::json gaps = nlohmann::json::array();
    for (const HistoryGap& g : h.gaps) {
      gaps.push_back({{"from", g.from}, {"to", g.to}});
    }
    n["settings"] = {{"first", h.settings_first},
                     {"last", h.settings_last},
                     {"changes", std::move(changes)},
                     {"changes_total", h.changes_total}};
    n["gaps"] = std::move(gaps);
    n["gaps_total"] = h.gaps_total;
    spaces.push_back(std::move(n));
  }
  j["namespaces"] = std::move(spaces);
  return j;
}

std::vector<std::string> HistoryFindingLines(const HistoryAnswer& a) {
  std::vector<std::string> out;
  for (const NamespaceHistory& h : a.namespaces) {
    const std::string who =
        a.namespaces.size() > 1 ? "netns " + h.netns + ": " : std::string();
    if (h.full.empty()) {
      out.push_back(fmt::format(
          "{}the table was never full between {} and {}{}", who,
          FormatLocalTime(h.first_s), TimeSince(h.last_s, h.first_s),
          h.high.empty() ? " (never at 90 % either)"
                         : fmt::format(" (at or over 90 % from {} for {})",
                                       FormatLocalTime(h.high[0].start),
                                       FormatSpan(h.seconds_high))));
      continue;
    }
    for (const ThresholdInterval& i : h.full) {
      out.push_back(fmt::format(
          "{}the table was full from {}{} to {} ({}{}){}", who,
          i.from_before ? "before " : "", FormatLocalTime(i.start),
          TimeSince(i.end, i.start), FormatSpan(i.end - i.start),
          i.drops > 0 ? fmt::format(", {} packets dropped", i.drops) : "",
          i.back_under ? "" : "; still full at the last sample"));
    }
    if (h.full_total > h.full.size()) {
      out.push_back(fmt::format("{}and {} more times", who,
                                h.full_total - h.full.size()));
    }
  }
  return out;
}

std::string HistoryFindingText(const HistoryAnswer& a) {
  std::string out;
  for (const std::string& line : HistoryFindingLines(a)) {
    out += line + "\n";
  }
  return out;
}

[[nodiscard]] Result<double> ParseHistoryTime(const std::string& text,
                                              double now_unix_s) {
  auto bad = [&text] {
    return fail(Error::invalid_argument(
        "time \"" + text +
        "\": expected unix seconds, \"YYYY-MM-DD HH:MM[:SS]\", "
        "\"YYYY-MM-DD\" or \"HH:MM[:SS]\" (local time; a trailing Z for "
        "UTC)"));
  };
  std::string t(text);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) {
    t.pop_back();
  }
  if (t.empty()) return bad();
  if (std::all_of(t.begin(), t.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
      })) {
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (*end != '\0' || !std::isfinite(v)) return bad();
    return v;
  }
  bool utc = false;
  if (t.back() == 'Z' || t.back() == 'z') {
    utc = true;
    t.pop_back();
  }
  int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0;
  bool has_date = false;
  int used = 0;
  if (std::sscanf(t.c_str(), "%4d-%2d-%2d%n", &year, &mon, &day, &used) == 3 &&
      used == 10) {
    has_date = true;
    std::string rest = t.substr(10);
    if (!rest.empty()) {
      if (rest[0] != ' ' && rest[0] != 'T' && rest[0] != 't') return bad();
      t = rest.substr(1);
    } else {
      t.clear();
    }
  }
  if (!t.empty()) {
    used = 0;
    const int n = std::sscanf(t.c_str(), "%2d:%2d%n:%2d%n", &hour, &min, &used,
                              &sec, &used);
    if (n < 2 || static_cast<size_t>(used) != t.size()) return bad();
  } else if (!has_date) {
    return bad();
  }
  if (hour > 23 || min > 59 || sec > 60) return bad();
  std::tm tm{};
  if (has_date) {
    if (mon < 1 || mon > 12 || day < 1 || day > 31) return bad();
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
  } else {
    const time_t now = static_cast<time_t>(now_unix_s);
    if (utc) {
      gmtime_r(&now, &tm);
    } else {
      localtime_r(&now, &tm);
    }
  }
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  tm.tm_isdst = -1;
  auto convert = [utc](std::tm x) {
    return static_cast<double>(utc ? timegm(&x) : mktime(&x));
  };
  double v = convert(tm);
  if (!has_date && v > now_unix_s) {
    // "03:12" at 01:00 is last night's.
    tm.tm_mday -= 1;
    v = convert(tm);
  }
  return v;
}

std::string FormatLocalTime(double unix_s) {
  const std::tm tm = LocalTm(unix_s);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
}

std::string FormatSpan(double seconds) {
  const auto s = static_cast<uint64_t>(std::llround(std::max(0.0, seconds)));
  if (s < 60) return fmt::format("{} s", s);
  if (s < 3600) {
    return s % 60 ? fmt::format("{} min {} s", s / 60, s % 60)
                  : fmt::format("{} min", s / 60);
  }
  if (s < 86400) {
    return (s % 3600) / 60
               ? fmt::format("{} h {} min", s / 3600, (s % 3600) / 60)
               : fmt::format("{} h", s / 3600);
  }
  return fmt::format("{} d {} h", s / 86400, (s % 86400) / 3600);
}

}  // namespace ctkit::watch
