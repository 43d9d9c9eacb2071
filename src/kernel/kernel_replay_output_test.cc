// The kernel replay's summary and JSON from a hand-made result (no kernel):
// the summary names itself and shows only what a kernel run measures (no
// peak, fill time, created entries, invalid reasons or memory, which the
// kernel does not report); the JSON always carries the verdicts, the
// entries and the capture digest `ctkit diff` needs.
#include "kernel/kernel_replay_output.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace ctkit {
namespace {

constexpr uint64_t kT0 = 1'700'000'000ull * 1'000'000'000ull;

KernelReplayResult SynFloodResult() {
  KernelReplayResult res;
  ReplayReport& r = res.report;
  r.capture = "flood.pcap";
  r.packets_read = 4;
  r.decoded = 3;
  r.skipped_by_reason[static_cast<int>(DecodeStatus::kNotIp)] = 1;
  r.first_ts_ns = kT0;
  r.last_ts_ns = kT0 + 2'500'000'000ull;
  r.counters.verdicts[static_cast<int>(Verdict::kNew)] = 2;
  r.counters.verdicts[static_cast<int>(Verdict::kDrop)] = 1;
  r.counters.packets = 3;
  r.first_drop_index = 4;
  r.first_drop_ts_ns = kT0 + 2'500'000'000ull;
  r.stats.drop = 1;
  r.max = 2;
  r.buckets = 1024;
  r.final_count = 2;
  res.tunables.max = 2;
  res.tunables.buckets = 1024;
  res.sent = 3;
  res.speed = 1;
  res.capture_sha256 = std::string(64, 'a');
  res.outcomes = {{true, Verdict::kDrop, DecodeStatus::kNotIp},
                  {false, Verdict::kNew, DecodeStatus::kOk},
                  {false, Verdict::kNew, DecodeStatus::kOk},
                  {false, Verdict::kDrop, DecodeStatus::kOk}};
  FlowInfo f;
  f.original.src.bytes[0] = 10, f.original.src.bytes[3] = 1;
  f.original.dst.bytes[0] = 10, f.original.dst.bytes[3] = 2;
  f.original.src_port_or_icmp_id = 40000;
  f.original.dst_port_or_icmp_type_code = 80;
  f.original.l4_proto = 6;
  f.reply = f.original;
  std::swap(f.reply.src, f.reply.dst);
  std::swap(f.reply.src_port_or_icmp_id, f.reply.dst_port_or_icmp_type_code);
  f.timeout_s = 119;
  f.state = "SYN_SENT";
  res.table = {f, f};
  res.table[1].original.src_port_or_icmp_id = 40001;
  res.table[1].reply.dst_port_or_icmp_type_code = 40001;
  return res;
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

TEST(KernelReplayOutput, SummaryNamesItselfAndShowsOnlyWhatTheKernelKnows) {
  std::string text = RenderKernelReplayText(SynFloodResult());
  std::vector<std::string> lines = Lines(text);
  ASSERT_GE(lines.size(), 8u) << text;
  EXPECT_EQ(lines[0], "ctkit kernel-replay: flood.pcap");
  EXPECT_EQ(lines[1], "packets:   read 4, sent 3, skipped 1 (non-ip 1)");
  EXPECT_NE(text.find("verdicts:  NEW 2 ESTABLISHED 0 RELATED 0 INVALID 0 "
                      "UNTRACKED 0 DROP 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("first at packet 4 (+2.500 s"), std::string::npos)
      << text;
  EXPECT_NE(text.find("TABLE FULL: conntrack refused 1 new entries"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("entries:   2 at the end, of nf_conntrack_max 2 "
                      "(100.0 %); nf_conntrack_buckets 1024\n"),
            std::string::npos)
      << text;
  // Engine-only figures the kernel does not report are not shown at all.
  for (const char* engine_only :
       {"peak", "fill time", "created", "destroyed", "MiB",
        "invalid:", "at the peak", "diagnosis", "kernel log"}) {
    EXPECT_EQ(text.find(engine_only), std::string::npos)
        << engine_only << " in\n"
        << text;
  }
  EXPECT_EQ(text.find("ctkit replay"), std::string::npos) << text;
}

TEST(KernelReplayOutput, NoDropsSayTheTableNeverFilled) {
  KernelReplayResult res = SynFloodResult();
  res.report.stats.drop = 0;
  res.report.counters.verdicts[static_cast<int>(Verdict::kDrop)] = 0;
  res.report.first_drop_index.reset();
  res.report.first_drop_ts_ns.reset();
  std::string text = RenderKernelReplayText(res);
  EXPECT_NE(text.find("table full: never (conntrack -S drop = 0)\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("dropped:"), std::string::npos) << text;
}

TEST(KernelReplayOutput, JsonCarriesVerdictsEntriesAndTheCaptureDigest) {
  LiveMoment m;
  m.unix_ns = 1'700'000'000'500'000'000;
  m.hostname = "router1";
  m.kernel_release = "6.18.0";
  nlohmann::json j = KernelReplayToJson(SynFloodResult(), m);
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["tool"], "ctkit kernel-replay");
  // A run of this host's kernel: when and where.
  EXPECT_EQ(j["generated_at"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(j["hostname"], "router1");
  EXPECT_EQ(j["kernel_release"], "6.18.0");
  EXPECT_EQ(j["capture"], "flood.pcap");
  EXPECT_EQ(j["capture_digest"]["packets"], 4);
  EXPECT_EQ(j["capture_digest"]["records_sha256"], std::string(64, 'a'));
  ASSERT_EQ(j["verdicts"].size(), 4u);
  EXPECT_EQ(j["verdicts"][0], "SKIP non-ip");
  EXPECT_EQ(j["verdicts"][3], "DROP");
  ASSERT_EQ(j["entries"].size(), 2u);
  EXPECT_EQ(j["entries"][1]["original"]["sport"], 40001);
  EXPECT_EQ(j["entries"][0]["state"], "SYN_SENT");
  EXPECT_EQ(j["table"],
            (nlohmann::json{{"max", 2}, {"buckets", 1024}, {"count", 2}}));
  EXPECT_EQ(j["packets"]["first_drop_index"], 4);
  // No engine-only fields.
  EXPECT_FALSE(j["table"].contains("peak_count"));
  EXPECT_FALSE(j["table"].contains("created"));
  EXPECT_FALSE(j["table"].contains("kernel_memory_bytes"));
  EXPECT_FALSE(j["packets"].contains("invalid"));
}

}  // namespace
}  // namespace ctkit
