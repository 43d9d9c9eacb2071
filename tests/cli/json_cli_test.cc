// Every JSON document ctkit prints follows one set of conventions (README,
// "JSON output"), checked here on the real binary's output for each
// command that prints one: replay, kernel-replay (root only), whatif, plan,
// doctor (on fixture trees), diff.
//
// - the first key is `schema_version` (1), the second `tool`;
// - the top-level keys come in the documented order, and two runs give the
//   same keys in the same order (byte-identical output where the document
//   describes no live moment);
// - keys are snake_case (maps keyed by a name ctkit prints elsewhere -- a
//   verdict, a reason, a sysctl -- keep that name) and none is a percent;
// - every `_ratio` is a number in [0, 1];
// - everything counted is a JSON integer: a number with a fraction is
//   allowed only under a key that names a real quantity (`_seconds`,
//   `_ratio`, `_per_second`, or one of a few named factors), and the known
//   counts of each document are checked to be present and integers.
#include <nlohmann/json.hpp>
#include <regex>

#include "testing/doctor_test_util.h"
#include "tests/cli/cli_test_util.h"

namespace ctkit::clitest {
namespace {

using OJson = nlohmann::ordered_json;

// What one document must look like beyond the common rules.
struct DocRules {
  std::string tool;
  /// Every top-level key that may appear, in the documented order.
  std::vector<std::string> top_order;
  /// Paths that must be present (at least one match) and hold integers.
  /// `a.b` an object's key, `*` any key, `[]` any array element.
  std::vector<std::string> counts;
  /// Paths that must be present and hold a `_ratio` (checked in [0, 1] by
  /// the common rules; listed so a ratio cannot silently go missing).
  std::vector<std::string> ratios;
  /// Objects keyed by names (verdicts, reasons, sysctls): their keys are
  /// data, not schema, and keep their own spelling.
  std::vector<std::string> name_maps;
};

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Keys under which a number may have a fraction: real quantities.
bool RealValued(const std::string& key) {
  static const std::vector<std::string> kNamed = {
      "speed",               // kernel-replay --speed, a factor
      "headroom",            // plan --headroom, a factor
      "saving_vs_baseline",  // whatif: 1 - variant/baseline, signed
      "start_of_max",        // whatif --adaptive levels, may exceed 1
      "end_of_max",
      "nodes_per_chain_when_full",  // doctor evidence: a mean
  };
  return EndsWith(key, "_seconds") || EndsWith(key, "_ratio") ||
         EndsWith(key, "_per_second") ||
         std::find(kNamed.begin(), kNamed.end(), key) != kNamed.end();
}

// Walks `v` (at `path`, under object key `key`) applying the common rules;
// collects each object's keys in order into `order`.
void Walk(const OJson& v, const std::string& path, const std::string& key,
          const DocRules& rules, std::vector<std::string>* order,
          std::vector<std::string>* errors) {
  static const std::regex kSnake("^[a-z][a-z0-9_]*$");
  static const std::regex kName("^[A-Za-z0-9][A-Za-z0-9_.:/-]*$");
  if (v.is_object()) {
    const bool name_map =
        std::find(rules.name_maps.begin(), rules.name_maps.end(), path) !=
        rules.name_maps.end();
    for (const auto& [k, child] : v.items()) {
      const std::string p = path.empty() ? k : path + "." + k;
      order->push_back(p);
      if (!std::regex_match(k, name_map ? kName : kSnake)) {
        errors->push_back(p + ": key is not " +
                          (name_map ? "a name" : "snake_case"));
      }
      if (EndsWith(k, "pct") || EndsWith(k, "percent")) {
        errors->push_back(p + ": a percentage (want a _ratio, 0..1)");
      }
      Walk(child, p, k, rules, order, errors);
    }
  } else if (v.is_array()) {
    for (const auto& e : v) Walk(e, path + "[]", key, rules, order, errors);
  } else if (v.is_number_float()) {
    if (!RealValued(key)) {
      errors->push_back(path + ": " + v.dump() +
                        " is not an integer, and its key names no real "
                        "quantity (_seconds, _ratio, _per_second)");
    }
    if (!std::isfinite(v.get<double>())) {
      errors->push_back(path + ": not finite");
    }
  }
  if (EndsWith(key, "_ratio") && !v.is_array()) {
    if (!v.is_null() &&
        (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1)) {
      errors->push_back(path + ": " + v.dump() + " is not a ratio in [0, 1]");
    }
  }
}

// Every value at `path` (see DocRules::counts).
void Resolve(const OJson& v, const std::string& path,
             std::vector<const OJson*>* out) {
  if (path.empty()) {
    out->push_back(&v);
    return;
  }
  if (path.rfind("[]", 0) == 0) {
    if (!v.is_array()) return;
    std::string rest = path.substr(2);
    if (!rest.empty() && rest[0] == '.') rest = rest.substr(1);
    for (const auto& e : v) Resolve(e, rest, out);
    return;
  }
  size_t end = path.find_first_of(".[");
  std::string head = path.substr(0, end);
  std::string rest = end == std::string::npos ? "" : path.substr(end);
  if (!rest.empty() && rest[0] == '.') rest = rest.substr(1);
  if (!v.is_object()) return;
  if (head == "*") {
    for (const auto& [k, child] : v.items()) Resolve(child, rest, out);
  } else if (v.contains(head)) {
    Resolve(v[head], rest, out);
  }
}

// Checks one printed document; returns the keys in order.
std::vector<std::string> CheckDocument(const std::string& text,
                                       const DocRules& rules) {
  std::vector<std::string> order;
  OJson j = OJson::parse(text, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << rules.tool << ": not JSON:\n"
                                 << text.substr(0, 2000);
  if (j.is_discarded()) return order;
  EXPECT_TRUE(j.is_object()) << rules.tool;
  if (!j.is_object() || j.empty()) return order;
  // schema_version first, then tool.
  auto it = j.items().begin();
  EXPECT_EQ(it.key(), "schema_version") << rules.tool;
  EXPECT_TRUE(it.value().is_number_integer() && it.value() == 1)
      << rules.tool << ": schema_version " << it.value().dump();
  if (j.size() >= 2) {
    ++it;
    EXPECT_EQ(it.key(), "tool") << rules.tool;
    EXPECT_EQ(it.value(), rules.tool);
  }
  // The top level in the documented order.
  size_t at = 0;
  for (const auto& [k, v] : j.items()) {
    auto pos = std::find(rules.top_order.begin() + static_cast<long>(at),
                         rules.top_order.end(), k);
    EXPECT_NE(pos, rules.top_order.end())
        << rules.tool << ": top-level key '" << k
        << "' is not documented, or out of the documented order";
    if (pos != rules.top_order.end()) {
      at = static_cast<size_t>(pos - rules.top_order.begin()) + 1;
    }
  }
  std::vector<std::string> errors;
  Walk(j, "", "", rules, &order, &errors);
  for (const std::string& c : rules.counts) {
    std::vector<const OJson*> found;
    Resolve(j, c, &found);
    if (found.empty()) errors.push_back(c + ": missing");
    for (const OJson* v : found) {
      if (!v->is_number_integer()) {
        errors.push_back(c + ": " + v->dump() + " is not an integer");
      }
    }
  }
  for (const std::string& r : rules.ratios) {
    std::vector<const OJson*> found;
    Resolve(j, r, &found);
    if (found.empty()) errors.push_back(r + ": missing");
    for (const OJson* v : found) {
      if (!v->is_number()) errors.push_back(r + ": " + v->dump());
    }
  }
  for (const std::string& e : errors) ADD_FAILURE() << rules.tool << ": " << e;
  return order;
}

const DocRules& ReplayRules() {
  static const DocRules r{
      "ctkit replay",
      {"schema_version", "tool", "capture", "capture_digest", "settings",
       "packets", "table", "stats", "at_peak", "diagnosis", "warnings",
       "timeline", "verdicts", "events", "entries", "error", "capture_dropped"},
      {"capture_digest.packets",
       "settings.*",
       "packets.read",
       "packets.decoded",
       "packets.invalid.*",
       "packets.verdicts.*",
       "packets.dropped_table_full",
       "packets.dropped_chain_too_long",
       "table.max",
       "table.buckets",
       "table.count",
       "table.peak_count",
       "table.peak_index",
       "table.created",
       "table.destroyed",
       "table.log_lines",
       "table.kernel_memory_bytes",
       "table.table_memory_bytes",
       "table.first_drop_index",
       "stats.*",
       "at_peak.entries",
       "at_peak.by_class[].entries",
       "at_peak.top_sources[].entries",
       "timeline[].count",
       "timeline[].new",
       "timeline[].drop",
       "entries[].protonum",
       "entries[].timeout",
       "entries[].mark",
       "entries[].original.sport",
       "events[].timeout"},
      {},
      {"settings", "packets.skipped", "packets.invalid", "packets.verdicts"}};
  return r;
}

const DocRules& KernelReplayRules() {
  static const DocRules r{
      "ctkit kernel-replay",
      {"schema_version", "tool", "generated_at", "hostname", "kernel_release",
       "oracle", "capture", "capture_digest", "speed", "settings", "packets",
       "table", "stats", "lost_logs", "verdicts", "entries", "error"},
      {"capture_digest.packets", "settings.*", "packets.read", "packets.sent",
       "packets.verdicts.*", "table.max", "table.buckets", "table.count",
       "stats.*", "lost_logs", "entries[].timeout", "entries[].protonum"},
      {},
      {"settings", "packets.skipped", "packets.verdicts"}};
  return r;
}

const DocRules& WhatifRules() {
  static const DocRules r{
      "ctkit whatif",
      {"schema_version", "tool", "capture", "packets", "duration_seconds",
       "vary", "variants", "cheapest_lossless", "recommended", "recommendation",
       "min_saving_ratio", "timeout_floors", "warnings", "read_error"},
      {"packets", "vary[].values[]", "variants[].index",
       "variants[].settings.*", "variants[].adaptive.start_entries",
       "variants[].max", "variants[].buckets", "variants[].table_full_drops",
       "variants[].chain_too_long_drops", "variants[].peak",
       "variants[].early_drops", "variants[].invalid",
       "variants[].kernel_memory_at_peak_bytes",
       "variants[].kernel_memory_at_max_bytes", "timeout_floors[].seconds"},
      {"min_saving_ratio", "variants[].peak_fill_ratio"},
      {}};
  return r;
}

const DocRules& PlanRules() {
  static const DocRules r{"ctkit plan",
                          {"schema_version",
                           "tool",
                           "budget_bytes",
                           "cpus",
                           "ram_bytes",
                           "entry_bytes",
                           "bucket_bytes",
                           "extensions",
                           "headroom",
                           "model",
                           "measured",
                           "needed_entries",
                           "needed_is_lower_bound",
                           "budget_max",
                           "recommended",
                           "fits",
                           "memory_needed_bytes",
                           "timeout_changes",
                           "timeouts_can_fit",
                           "compare"},
                          {"budget_bytes",
                           "cpus",
                           "ram_bytes",
                           "entry_bytes",
                           "bucket_bytes",
                           "model.entries",
                           "model.classes[].entries",
                           "measured.peak",
                           "measured.packets",
                           "measured.classes[].entered",
                           "measured.classes[].at_end",
                           "measured.classes[].lifetime_seconds",
                           "measured.classes[].steady_entries",
                           "measured.steady_entries",
                           "measured.new_entries_by_half[]",
                           "needed_entries",
                           "budget_max",
                           "recommended.nf_conntrack_max",
                           "recommended.nf_conntrack_buckets",
                           "compare[].nf_conntrack_max",
                           "compare[].memory_when_full_bytes"},
                          {"model.classes[].share_ratio"},
                          {}};
  return r;
}

const DocRules& DoctorRules() {
  static const DocRules r{
      "ctkit doctor",
      {"schema_version", "tool", "generated_at", "hostname", "kernel_release",
       "source", "status", "exit_code", "status_line", "thresholds", "host",
       "stats", "kernel_log", "table", "timeouts", "findings", "changes"},
      {"exit_code", "thresholds.warn_entries", "host.count", "host.max",
       "host.buckets", "host.sysctls.*", "host.mem_total_bytes",
       "host.mem_available_bytes", "stats.drop", "stats.insert_failed",
       "kernel_log.table_full_lines", "table.entries",
       "table.by_protocol[].entries", "timeouts[].entries",
       "timeouts[].value_seconds", "findings[].evidence.count",
       "findings[].evidence.max", "changes[].value"},
      {"thresholds.warn_fill_ratio", "thresholds.crit_fill_ratio",
       "host.fill_ratio", "findings[].evidence.fill_ratio"},
      {"host.sysctls"}};
  return r;
}

const DocRules& DiffRules() {
  static const DocRules r{
      "ctkit diff",
      {"schema_version", "tool", "agree", "total", "by_protocol",
       "stats_compared", "stats_agree", "disagreements"},
      {"total.packets", "total.verdicts_agree", "total.entries",
       "by_protocol.*.packets", "stats_compared", "stats_agree"},
      {},
      {"by_protocol"}};
  return r;
}

class JsonCli : public ::testing::Test {
 protected:
  RunResult Run(const std::vector<std::string>& args) {
    return RunCtkit(dir_, args);
  }
  // Runs `args` twice; both must succeed with `rc` and print one document
  // that follows `rules`, with the same keys in the same order.
  std::string Check(const std::vector<std::string>& args, const DocRules& rules,
                    int rc = 0, bool live = false) {
    RunResult a = Run(args);
    RunResult b = Run(args);
    EXPECT_TRUE(a.exited && a.exit_code == rc) << a.Describe();
    EXPECT_TRUE(b.exited && b.exit_code == rc) << b.Describe();
    std::vector<std::string> ka = CheckDocument(a.out, rules);
    std::vector<std::string> kb = CheckDocument(b.out, rules);
    EXPECT_EQ(ka, kb) << rules.tool << ": key order differs between runs";
    // A document of a pure function of its input is byte-identical.
    if (!live) {
      EXPECT_EQ(a.out, b.out) << rules.tool;
    }
    return a.out;
  }
  std::string Gen(const std::string& kind, const std::string& flows) {
    std::string path = dir_.File(kind + flows + ".pcap");
    RunResult r = Run({"gen", kind, "--flows", flows, "-o", path});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    return path;
  }
  TempDir dir_;
};

// A mixed capture under a small table: drops, an at-peak composition,
// invalid packets, a timeline, events, the table and the verdicts; then a
// SYN flood the capture is too short for (warnings) and an Ethernet capture
// with ARP frames (skipped packets).
TEST_F(JsonCli, ReplayFollowsTheConventions) {
  std::string pcap = Gen("mixed", "300");
  std::string out =
      Check({"replay", pcap, "--json", "--verdicts", "--dump", "--events",
             "--timeline", "50ms", "--sysctl", "nf_conntrack_max=128",
             "--sysctl", "nf_conntrack_buckets=64", "--no-progress"},
            ReplayRules());
  // The same document for any thread count.
  RunResult one =
      Run({"replay", pcap, "--json", "--verdicts", "--dump", "--events",
           "--timeline", "50ms", "--sysctl", "nf_conntrack_max=128", "--sysctl",
           "nf_conntrack_buckets=64", "--no-progress", "--threads", "1"});
  EXPECT_EQ(one.out, out);
  // The summary document alone (no lists) follows them too.
  DocRules flood = ReplayRules();
  flood.counts = {"settings.*",         "packets.read",
                  "table.count",        "stats.*",
                  "warnings[].entries", "warnings[].lifetime_seconds"};
  flood.ratios = {"warnings[].share_ratio"};
  std::string sf = dir_.File("sf.pcap");
  RunResult g =
      Run({"gen", "syn-flood", "--flows", "2000", "--rate", "1000", "-o", sf});
  ASSERT_EQ(g.exit_code, 0) << g.Describe();
  Check({"replay", sf, "--json", "--no-progress"}, flood);

  std::vector<uint8_t> arp = {
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00,
      0x01, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
      0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 10,   0,    0,    1,    0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 10,   0,    0,    2};
  Pkt udp{kT0 + kMs, {}};
  std::vector<uint8_t> ip;
  BuildUdp(V4(1, 2, 5353, 53), 20, &ip);
  WrapEthernet(ip, 0, &udp.bytes);
  std::string eth = dir_.File("eth.pcap");
  WritePcap(eth, {{kT0, arp}, udp}, /*link_type=*/1);
  DocRules skipped = ReplayRules();
  skipped.counts = {"packets.skipped.*", "packets.decoded"};
  Check({"replay", eth, "--json", "--verdicts", "--no-progress"}, skipped);
}

TEST_F(JsonCli, KernelReplayFollowsTheConventions) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
  std::string pcap = dir_.File("hs.pcap");
  WritePcap(pcap, Handshake(kT0, V4(1, 2, 40000, 80)));
  std::string out = Check({"kernel-replay", pcap, "--json", "--speed", "50"},
                          KernelReplayRules(), 0, /*live=*/true);
  OJson j = OJson::parse(out, nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_TRUE(
      std::regex_match(j.value("generated_at", ""),
                       std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << j["generated_at"];
  EXPECT_TRUE(j["kernel_release"].is_string());
  // --compare-kernel --json prints the comparison as `ctkit diff --json`
  // does: stdout holds JSON only.
  Check({"replay", pcap, "--compare-kernel", "--json", "--speed", "50",
         "--no-progress"},
        DiffRules(), 0, /*live=*/true);
}

TEST_F(JsonCli, WhatifFollowsTheConventions) {
  std::string pcap = Gen("mixed", "300");
  Check({"whatif", pcap, "--vary", "nf_conntrack_max=64,4096", "--adaptive",
         "60%,100%", "--json", "--no-progress"},
        WhatifRules());
}

TEST_F(JsonCli, PlanFollowsTheConventions) {
  std::string pcap = Gen("mixed", "300");
  Check({"plan", "--memory", "64M", "--ram", "8G", "--cpus", "4", "--rate",
         "5000", "--mix", "tcp=70,udp=25,icmp=5", "--capture", pcap, "--json"},
        PlanRules());
  // A budget the load does not fit: the timeouts to change.
  DocRules small = PlanRules();
  small.counts = {"memory_needed_bytes", "timeout_changes[].from",
                  "timeout_changes[].to"};
  small.ratios = {};
  Check({"plan", "--memory", "40M", "--ram", "8G", "--rate", "1000", "--json"},
        small);
}

TEST_F(JsonCli, DoctorFollowsTheConventions) {
  // max-too-low: every section (stats, kernel log, table, timeouts) and
  // changes; memory-pressure: kB and percent evidence.
  for (const char* overlay : {"max-too-low", "memory-pressure"}) {
    std::string root = dir_.File(std::string("root-") + overlay);
    std::filesystem::create_directories(root);
    doctortest::BuildTree(root, overlay);
    DocRules rules = DoctorRules();
    if (std::string(overlay) == "memory-pressure") {
      rules.counts = {"exit_code", "host.mem_total_bytes",
                      "findings[].evidence.mem_total_bytes",
                      "findings[].evidence.conntrack_memory_at_max_bytes"};
      rules.ratios = {"findings[].evidence.available_ratio"};
    }
    std::string out = Check({"doctor", "--root", root, "--json"}, rules,
                            /*rc=*/2, /*live=*/true);
    OJson j = OJson::parse(out, nullptr, false);
    ASSERT_TRUE(j.is_object());
    EXPECT_TRUE(
        std::regex_match(j.value("generated_at", ""),
                         std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
        << j["generated_at"];
  }
}

// A file name (or a kernel log line) that is not UTF-8 cannot be a JSON
// string as it is: its bad bytes are replaced (U+FFFD), rather than the
// whole document failing.
TEST_F(JsonCli, BytesThatAreNotUtf8AreReplaced) {
  std::string pcap = dir_.File("caf\xe9.pcap");
  WritePcap(pcap, Handshake(kT0, V4(1, 2, 40000, 80)));
  RunResult r = Run({"replay", pcap, "--json", "--no-progress"});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  OJson j = OJson::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["capture"], dir_.File("caf\xef\xbf\xbd.pcap"));
  EXPECT_EQ(j["packets"]["read"], 3);
}

TEST_F(JsonCli, DiffFollowsTheConventions) {
  std::string pcap = Gen("mixed", "50");
  std::string a = dir_.File("a.json");
  RunResult r =
      Run({"replay", pcap, "--json", "--verdicts", "--dump", "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  WriteFile(a, r.out);
  Check({"diff", "--json", a, a}, DiffRules());
}

}  // namespace
}  // namespace ctkit::clitest
