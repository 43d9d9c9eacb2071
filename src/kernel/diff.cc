// DiffReplays: the comparison behind `ctkit diff` and `ctkit replay
// --compare-kernel`. Entries are matched by their original tuple; for each
// disagreement the report names the packet after which the two sides
// differ: for a verdict, that packet; for an entry, the first packet of its
// flow whose verdict differs, else the flow's last packet (the table is only
// read at the end, so the exact moment the states parted is not known; the
// flow's last packet bounds it). Packets are mapped to flows by reading the
// capture named in the documents, which also gives the per-protocol split.
#include "kernel/diff.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/text.h"
#include "ctkit/capture.h"
#include "ctkit/decode.h"
#include "kernel/kernel_replay_output.h"
#include "proto/tracker.h"
#include "report/capture_digest.h"
#include "report/format.h"

namespace ctkit {
namespace {

struct PacketInfo {
  std::string proto;  // "tcp", ..., or "skip"
  std::string flow;   // direction-free flow key, "" if unknown
};

uint16_t Be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

std::string FlowKey(const std::string& proto, std::string a, std::string b) {
  if (b < a) std::swap(a, b);
  return proto + " " + a + " " + b;
}

// The flow key of a packet, matching EntryFlowKey for its entry.
PacketInfo Classify(uint32_t link_type, const uint8_t* data, uint32_t caplen) {
  PacketView v{};
  if (DecodeFrame(link_type, data, caplen, &v) != DecodeStatus::kOk) {
    return {"skip", ""};
  }
  PacketInfo pi{ProtoName(v.l4_proto), ""};
  std::string s = AddressToString(v.src, v.family);
  std::string d = AddressToString(v.dst, v.family);
  uint8_t p = v.l4_proto;
  if ((p == ipproto::kTcp || p == ipproto::kUdp || p == ipproto::kUdpLite ||
       p == ipproto::kSctp) &&
      v.l4_caplen >= 4) {
    pi.flow = FlowKey(pi.proto, s + "/" + std::to_string(Be16(v.l4)),
                      d + "/" + std::to_string(Be16(v.l4 + 2)));
  } else if ((p == ipproto::kIcmp || p == ipproto::kIcmpv6) &&
             v.l4_caplen >= 8) {
    uint8_t t = v.l4[0];
    bool echo =
        p == ipproto::kIcmp ? (t == 8 || t == 0) : (t == 128 || t == 129);
    if (echo) {
      pi.flow = FlowKey(pi.proto + "/" + std::to_string(Be16(v.l4 + 4)), s, d);
    }
  } else if (p != ipproto::kIcmp && p != ipproto::kIcmpv6) {
    // Generic: every protocol without a tracker is "unknown"; the number
    // tells them apart.
    pi.flow = FlowKey(pi.proto + "#" + std::to_string(p), s, d);
  }
  return pi;
}

std::string EntryFlowKey(const nlohmann::json& e) {
  std::string proto = e.value("protocol", "");
  const auto& o = e["original"];
  std::string s = o.value("src", ""), d = o.value("dst", "");
  if (o.contains("sport")) {
    return FlowKey(proto, s + "/" + std::to_string(o["sport"].get<int>()),
                   d + "/" + std::to_string(o["dport"].get<int>()));
  }
  if (o.contains("id")) {
    return FlowKey(proto + "/" + std::to_string(o["id"].get<int>()), s, d);
  }
  return FlowKey(proto + "#" + std::to_string(e.value("protonum", 0)), s, d);
}

// Identity of an entry: its original tuple (the protocol number too: all
// protocols without a tracker share the name "unknown").
std::string EntryId(const nlohmann::json& e) {
  std::string k = e.value("family", "") + " " + e.value("protocol", "") + " " +
                  std::to_string(e.value("protonum", 0)) + " " +
                  e["original"].dump();
  // The zone is part of an entry's identity: equal tuples in two zones are
  // two entries.
  if (e.contains("zone")) {
    k += " zone " + std::to_string(e["zone"].get<int>()) + " " +
         e.value("zone_dir", "both");
  }
  return k;
}

std::string EntryName(const nlohmann::json& e) {
  const auto& o = e["original"];
  std::string proto = e.value("protocol", "?");
  if (proto == "unknown") {
    proto += " " + std::to_string(e.value("protonum", 0));
  }
  std::string n =
      proto + " " + o.value("src", "") + " -> " + o.value("dst", "");
  if (o.contains("sport")) {
    n = fmt::format("{} {}:{} -> {}:{}", e.value("protocol", "?"),
                    o.value("src", ""), o["sport"].get<int>(),
                    o.value("dst", ""), o["dport"].get<int>());
  } else if (o.contains("id")) {
    n +=
        fmt::format(" id={} type={}", o["id"].get<int>(), o["type"].get<int>());
  } else if (o.contains("srckey")) {
    n += fmt::format(" srckey=0x{:x} dstkey=0x{:x}", o["srckey"].get<int>(),
                     o["dstkey"].get<int>());
  }
  if (e.contains("zone")) {
    n += fmt::format(" zone={}", e["zone"].get<int>());
    if (e.contains("zone_dir")) n += "/" + e.value("zone_dir", "");
  }
  return n;
}

std::string Flags(const nlohmann::json& e) {
  std::string f;
  if (e.value("assured", false)) f += "ASSURED";
  if (e.value("unreplied", false)) f += f.empty() ? "UNREPLIED" : "+UNREPLIED";
  return f.empty() ? "-" : f;
}

std::string Pct(uint64_t n, uint64_t d) {
  if (d == 0) return "-";
  return fmt::format("{:.1f} %", Percent(n, d));
}

// What a document that is not a replay result seems to be, for the error.
std::string Guess(const nlohmann::json& j) {
  if (j.contains("variants")) return " (it looks like a ctkit whatif result)";
  if (j.contains("findings")) return " (it looks like a ctkit doctor result)";
  if (j.contains("budget_bytes")) return " (it looks like a ctkit plan result)";
  if (j.contains("disagreements")) {
    return " (it looks like a ctkit diff result)";
  }
  if (j.is_object() && j.empty()) return " (it is empty)";
  return "";
}

[[nodiscard]] Result<void> CheckOne(const nlohmann::json& j,
                                    const std::string& name) {
  const std::string made =
      "diff compares `ctkit replay CAPTURE --json --verdicts --dump` with "
      "`ctkit kernel-replay CAPTURE --json`";
  auto bad = [&](const std::string& what) {
    return fail(Error::invalid_argument(name + ": " + what));
  };
  if (!j.is_object() || !j.contains("tool") || !j["tool"].is_string()) {
    return bad(
        "not a replay result: no \"tool\" naming ctkit replay or "
        "ctkit kernel-replay" +
        Guess(j) + "; " + made);
  }
  const std::string tool = j["tool"].get<std::string>();
  if (tool != kReplayTool && tool != kKernelReplayTool) {
    return bad("a " + tool + " result, not a replay result; " + made);
  }
  const std::string how = tool == kReplayTool
                              ? "run ctkit replay with --json --verdicts --dump"
                              : "ctkit kernel-replay --json writes them";
  // The version says how to read the rest: a document of another version
  // (or of none, from before the documents were versioned) may name or
  // mean its fields differently.
  if (!j.contains("schema_version")) {
    return bad(fmt::format(
        "no \"schema_version\": written before ctkit's JSON documents were "
        "versioned; this ctkit reads schema_version {} ({})",
        kJsonSchemaVersion,
        tool == kReplayTool ? "run ctkit replay --json --verdicts --dump again"
                            : "run ctkit kernel-replay --json again"));
  }
  if (!j["schema_version"].is_number_integer() ||
      j["schema_version"].get<int64_t>() != kJsonSchemaVersion) {
    return bad(fmt::format("schema_version {}, but this ctkit reads {}",
                           j["schema_version"].dump(), kJsonSchemaVersion));
  }
  if (!j.contains("verdicts") || !j["verdicts"].is_array()) {
    return bad("no \"verdicts\" (" + how + ")");
  }
  for (const auto& v : j["verdicts"]) {
    if (!v.is_string()) return bad("a verdict that is not a string");
  }
  if (!j.contains("entries") || !j["entries"].is_array()) {
    return bad("no \"entries\" (" + how + ")");
  }
  for (const auto& e : j["entries"]) {
    if (!e.is_object() || !e.contains("original") ||
        !e["original"].is_object() || !e.contains("reply") ||
        !e["reply"].is_object()) {
      return bad("an entry without its \"original\" and \"reply\" tuples");
    }
  }
  const nlohmann::json* d =
      j.contains("capture_digest") ? &j["capture_digest"] : nullptr;
  if (d == nullptr || !d->is_object() || !d->contains("packets") ||
      !(*d)["packets"].is_number_unsigned() || !d->contains("records_sha256") ||
      !(*d)["records_sha256"].is_string()) {
    return bad(
        "no \"capture_digest\" (packets and records_sha256), so it cannot be "
        "checked to be a result of the same capture; " +
        how);
  }
  uint64_t packets = (*d)["packets"].get<uint64_t>();
  if (j["verdicts"].size() != packets) {
    return bad(fmt::format("{} verdicts for the {} packets it read",
                           j["verdicts"].size(), packets));
  }
  return {};
}

// The capture's digest as the documents state it ("" when absent).
std::string DigestOf(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("capture_digest")) return "";
  const auto& d = j["capture_digest"];
  if (!d.is_object() || !d.contains("records_sha256") ||
      !d["records_sha256"].is_string()) {
    return "";
  }
  return d["records_sha256"].get<std::string>();
}

}  // namespace

[[nodiscard]] Result<void> CheckDiffInputs(const nlohmann::json& a,
                                           const std::string& name_a,
                                           const nlohmann::json& b,
                                           const std::string& name_b) {
  if (auto r = CheckOne(a, name_a); !r) return r;
  if (auto r = CheckOne(b, name_b); !r) return r;
  const auto& da = a["capture_digest"];
  const auto& db = b["capture_digest"];
  if (da["packets"] != db["packets"] ||
      da["records_sha256"] != db["records_sha256"]) {
    auto desc = [](const nlohmann::json& j, const nlohmann::json& d) {
      return fmt::format("{} ({} packets, records sha256 {})",
                         j.value("capture", std::string("?")),
                         d["packets"].get<uint64_t>(),
                         d["records_sha256"].get<std::string>());
    };
    return fail(Error::invalid_argument(
        fmt::format("{} and {} are results of different captures: {} vs {}",
                    name_a, name_b, desc(a, da), desc(b, db))));
  }
  return {};
}

[[nodiscard]] Result<DiffResult> DiffReplays(const nlohmann::json& a,
                                             const nlohmann::json& b,
                                             const DiffOptions& opts) {
  if (!a.is_object() || !b.is_object()) {
    return fail(
        Error::corrupt("diff: both inputs must be replay JSON objects"));
  }
  DiffResult r;
  // Packets -> protocol and flow, from the capture if it can be read.
  std::vector<PacketInfo> info;
  std::string cap = a.value("capture", b.value("capture", ""));
  // "-" was standard input (and "interface X" a live capture): not a file.
  if (!cap.empty() && cap != "-") {
    if (auto rd = CaptureReader::Open(cap)) {
      CaptureRecord rec{};
      CaptureDigest digest;
      while ((*rd)->Next(&rec)) {
        digest.Add(rec);
        info.push_back(Classify(rec.link_type, rec.data, rec.caplen));
      }
      // A file that no longer holds the packets the results were made of
      // would put them in the wrong flows.
      std::string stated = DigestOf(a);
      if (!stated.empty() && stated != digest.Hex()) info.clear();
    }
  }
  std::map<std::string, uint64_t> first_diff, last_packet;
  const nlohmann::json empty = nlohmann::json::array();
  const auto& va = a.contains("verdicts") ? a["verdicts"] : empty;
  const auto& vb = b.contains("verdicts") ? b["verdicts"] : empty;
  size_t n = std::max(va.size(), vb.size());
  for (size_t i = 0; i < n; ++i) {
    std::string pa = i < va.size() ? va[i].get<std::string>() : "(none)";
    std::string pb = i < vb.size() ? vb[i].get<std::string>() : "(none)";
    PacketInfo pi = i < info.size() ? info[i] : PacketInfo{"all", ""};
    if (pa.rfind("SKIP", 0) == 0 && pb.rfind("SKIP", 0) == 0) pi.proto = "skip";
    ProtoAgreement& pr = r.by_proto[pi.proto];
    ++pr.packets;
    ++r.total.packets;
    if (!pi.flow.empty()) last_packet[pi.flow] = i + 1;
    if (pa == pb) {
      ++pr.verdicts_agree;
      ++r.total.verdicts_agree;
    } else {
      r.disagreements.push_back(fmt::format("packet {} ({}): verdict {} vs {}",
                                            i + 1, pi.proto, pa, pb));
      if (!pi.flow.empty()) first_diff.emplace(pi.flow, i + 1);
    }
  }
  // Entries, matched by original tuple.
  std::map<std::string, const nlohmann::json*> ea, eb;
  if (a.contains("entries")) {
    for (const auto& e : a["entries"]) ea[EntryId(e)] = &e;
  }
  if (b.contains("entries")) {
    for (const auto& e : b["entries"]) eb[EntryId(e)] = &e;
  }
  std::set<std::string> ids;
  for (const auto& [k, e] : ea) ids.insert(k);
  for (const auto& [k, e] : eb) ids.insert(k);
  auto after = [&](const nlohmann::json& e) -> std::string {
    std::string fk = EntryFlowKey(e);
    if (auto it = first_diff.find(fk); it != first_diff.end()) {
      return fmt::format(" (verdicts differ from packet {})", it->second);
    }
    if (auto it = last_packet.find(fk); it != last_packet.end()) {
      return fmt::format(" (after packet {}, the flow's last)", it->second);
    }
    return "";
  };
  for (const std::string& id : ids) {
    auto ia = ea.find(id);
    auto ib = eb.find(id);
    const nlohmann::json& any = ia != ea.end() ? *ia->second : *ib->second;
    std::string proto = any.value("protocol", "?");
    ProtoAgreement& pr = r.by_proto[proto];
    ++pr.entries;
    ++r.total.entries;
    if (ia == ea.end() || ib == eb.end()) {
      r.disagreements.push_back(
          fmt::format("entry {}: only in {}{}", EntryName(any),
                      ia == ea.end() ? "the second" : "the first", after(any)));
      continue;
    }
    const nlohmann::json& x = *ia->second;
    const nlohmann::json& y = *ib->second;
    std::vector<std::string> why;
    std::string sx = x.value("state", ""), sy = y.value("state", "");
    if (sx == sy) {
      ++pr.state_agree, ++r.total.state_agree;
    } else {
      why.push_back(fmt::format("state {} vs {}", sx, sy));
    }
    if (Flags(x) == Flags(y)) {
      ++pr.flags_agree, ++r.total.flags_agree;
    } else {
      why.push_back(fmt::format("flags {} vs {}", Flags(x), Flags(y)));
    }
    int64_t tx = x.value("timeout", int64_t{0}),
            ty = y.value("timeout", int64_t{0});
    if (std::llabs(tx - ty) <= static_cast<int64_t>(opts.timeout_tolerance_s)) {
      ++pr.timeout_agree, ++r.total.timeout_agree;
    } else {
      why.push_back(fmt::format("timeout {} vs {}", tx, ty));
    }
    if (x.value("mark", 0) != y.value("mark", 0)) {
      why.push_back(
          fmt::format("mark {} vs {}", x.value("mark", 0), y.value("mark", 0)));
    }
    if (x["reply"] != y["reply"]) {
      why.push_back(fmt::format("reply tuple {} vs {}", x["reply"].dump(),
                                y["reply"].dump()));
    }
    if (!why.empty()) {
      std::string w;
      for (const auto& s : why) w += (w.empty() ? "" : ", ") + s;
      r.disagreements.push_back(
          fmt::format("entry {}: {}{}", EntryName(x), w, after(x)));
    }
  }
  if (opts.stats && a.contains("stats") && b.contains("stats")) {
    for (const auto& [k, v] : a["stats"].items()) {
      if (!b["stats"].contains(k)) continue;
      ++r.stats_compared;
      if (b["stats"][k] == v) {
        ++r.stats_agree;
      } else {
        r.disagreements.push_back(fmt::format("counter {}: {} vs {}", k,
                                              v.dump(), b["stats"][k].dump()));
      }
    }
  }
  return r;
}

std::string RenderDiff(const DiffResult& d, const std::string& name_a,
                       const std::string& name_b) {
  std::string out = fmt::format("comparing {} with {}\n", name_a, name_b);
  out += fmt::format("{:<8} {:>8} {:>10} {:>8} {:>8} {:>8} {:>8}\n", "proto",
                     "packets", "verdicts", "entries", "state", "flags",
                     "timeout");
  auto row = [&](const std::string& name, const ProtoAgreement& p) {
    out += fmt::format("{:<8} {:>8} {:>10} {:>8} {:>8} {:>8} {:>8}\n", name,
                       p.packets, Pct(p.verdicts_agree, p.packets), p.entries,
                       Pct(p.state_agree, p.entries),
                       Pct(p.flags_agree, p.entries),
                       Pct(p.timeout_agree, p.entries));
  };
  for (const auto& [k, p] : d.by_proto) row(k, p);
  row("total", d.total);
  if (d.stats_compared != 0) {
    out += fmt::format("counters: {} of {} agree\n", d.stats_agree,
                       d.stats_compared);
  }
  if (d.agree()) {
    out += "agree\n";
  } else {
    out += fmt::format("{} disagreement(s):\n", d.disagreements.size());
    for (const auto& l : d.disagreements) out += "  " + l + "\n";
  }
  return out;
}

Json DiffToJson(const DiffResult& d) {
  auto pj = [](const ProtoAgreement& p) {
    return Json{
        {"packets", p.packets},         {"verdicts_agree", p.verdicts_agree},
        {"entries", p.entries},         {"state_agree", p.state_agree},
        {"flags_agree", p.flags_agree}, {"timeout_agree", p.timeout_agree}};
  };
  Json j = StartJsonDocument(kDiffTool);
  j["agree"] = d.agree();
  j["total"] = pj(d.total);
  j["by_protocol"] = Json::object();
  for (const auto& [k, p] : d.by_proto) j["by_protocol"][k] = pj(p);
  j["stats_compared"] = d.stats_compared;
  j["stats_agree"] = d.stats_agree;
  j["disagreements"] = d.disagreements;
  return j;
}

}  // namespace ctkit
