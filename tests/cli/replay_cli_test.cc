// End-to-end tests of `ctkit replay`: small hand-built captures whose table
// the kernel model (docs/kernel-model.md) determines exactly, run through
// the real binary; the assertions compare the printed
// `conntrack -L` / `conntrack -E` lines, verdicts, timeline and JSON with
// what the model says a 6.18 kernel shows.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/cli/cli_test_util.h"

namespace ctkit::clitest {
namespace {

class ReplayCli : public ::testing::Test {
 protected:
  std::string Capture(const std::vector<Pkt>& pkts,
                      const std::string& name = "in.pcap",
                      uint32_t link_type = 101) {
    const std::string path = dir_.File(name);
    WritePcap(path, pkts, link_type);
    return path;
  }
  RunResult Run(const std::vector<std::string>& args) {
    return RunCtkit(dir_, args);
  }
  TempDir dir_;
};

TEST_F(ReplayCli, HandshakeDumpIsOneEstablishedAssuredLine) {
  const std::string pcap = Capture(Handshake(kT0, V4(1, 2, 40000, 80)));
  RunResult r = Run({"replay", "--dump", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_EQ(Lines(r.out), std::vector<std::string>{kHandshakeLine});
  EXPECT_EQ(r.err, "");
}

TEST_F(ReplayCli, HandshakeVerdicts) {
  const std::string pcap = Capture(Handshake(kT0, V4(1, 2, 40000, 80)));
  RunResult r = Run({"replay", "--verdicts", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  // The SYN creates the entry (NEW); the SYN/ACK is a reply and the ACK
  // belongs to a seen-reply entry: both ESTABLISHED (§11).
  EXPECT_EQ(Lines(r.out), (std::vector<std::string>{"1 NEW", "2 ESTABLISHED",
                                                    "3 ESTABLISHED"}));
}

TEST_F(ReplayCli, DumpAndVerdictsTogetherInJson) {
  // In text each list is alone on stdout (tests/cli/formats_cli_test.cc);
  // JSON carries both, each under its own key.
  const std::string pcap = Capture(Handshake(kT0, V4(1, 2, 40000, 80)));
  RunResult r = Run({"replay", "--verdicts", "--dump", "--json", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["verdicts"],
            nlohmann::json({"NEW", "ESTABLISHED", "ESTABLISHED"}));
  ASSERT_EQ(j["entries"].size(), 1u);
  EXPECT_EQ(j["entries"][0]["line"], kHandshakeLine);
}

TEST_F(ReplayCli, UdpRequestOnlyIsUnreplied) {
  // §7: request -> 30 s; the dump one jiffy later shows 29.
  const std::string pcap = Capture({Udp(kT0, V4(1, 2, 5353, 53), 20)});
  RunResult r = Run({"replay", "--dump", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_EQ(Lines(r.out),
            std::vector<std::string>{
                "udp      17 29 src=10.0.0.1 dst=10.0.0.2 sport=5353 dport=53 "
                "[UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=53 dport=5353 "
                "mark=0 use=1"});
}

TEST_F(ReplayCli, UdpRequestReplyWithinTwoSecondsIsNotAssured) {
  // §7: request and reply within 2 s -> 30 s, seen reply, never ASSURED.
  const Endpoints c = V4(1, 2, 5353, 53);
  const std::string pcap =
      Capture({Udp(kT0, c, 20), Udp(kT0 + 10 * kMs, c.Reversed(), 60)});
  RunResult r = Run({"replay", "--dump", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_EQ(Lines(r.out),
            std::vector<std::string>{
                "udp      17 29 src=10.0.0.1 dst=10.0.0.2 sport=5353 dport=53 "
                "src=10.0.0.2 dst=10.0.0.1 sport=53 dport=5353 mark=0 use=1"});
}

TEST_F(ReplayCli, UdpThirdPacketAfterTwoSecondsIsAssuredStream) {
  // §7: a packet more than 2 s after the first, once a reply was seen ->
  // udp_timeout_stream (120 s) and ASSURED: 119 right after.
  const Endpoints c = V4(1, 2, 5353, 53);
  const std::string pcap =
      Capture({Udp(kT0, c, 20), Udp(kT0 + 10 * kMs, c.Reversed(), 60),
               Udp(kT0 + 2200 * kMs, c, 20)});
  RunResult r = Run({"replay", "--dump", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_EQ(Lines(r.out),
            std::vector<std::string>{
                "udp      17 119 src=10.0.0.1 dst=10.0.0.2 sport=5353 dport=53 "
                "src=10.0.0.2 dst=10.0.0.1 sport=53 dport=5353 [ASSURED] "
                "mark=0 use=1"});
}

TEST_F(ReplayCli, IcmpEchoRequestReply) {
  // §8: tuple with type/code/id, 30 s, never ASSURED.
  Pkt req{kT0, {}}, rep{kT0 + kMs, {}};
  BuildIcmpEcho(Family::kIPv4, Ipv4(10, 0, 0, 1), Ipv4(10, 0, 0, 2), true, 4242,
                1, &req.bytes);
  BuildIcmpEcho(Family::kIPv4, Ipv4(10, 0, 0, 2), Ipv4(10, 0, 0, 1), false,
                4242, 1, &rep.bytes);
  const std::string pcap = Capture({req, rep});
  RunResult v = Run({"replay", "--verdicts", pcap});
  ASSERT_TRUE(v.exited && v.exit_code == 0) << v.Describe();
  EXPECT_EQ(Lines(v.out), (std::vector<std::string>{"1 NEW", "2 ESTABLISHED"}));
  RunResult r = Run({"replay", "--dump", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_EQ(Lines(r.out),
            (std::vector<std::string>{
                "icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=4242 "
                "src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=4242 mark=0 "
                "use=1"}));
}

TEST_F(ReplayCli, Ipv6HandshakeDump) {
  Family fam = Family::kIPv4;
  auto a = ParseAddress("2001:db8::1", &fam);
  auto b = ParseAddress("2001:db8::2", &fam);
  ASSERT_TRUE(a && b);
  const Endpoints c{Family::kIPv6, *a, *b, 40000, 443};
  const std::string pcap = Capture(Handshake(kT0, c));
  RunResult r = Run({"replay", "--dump", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_EQ(Lines(r.out),
            std::vector<std::string>{
                "tcp      6 431999 ESTABLISHED src=2001:db8::1 dst=2001:db8::2 "
                "sport=40000 dport=443 src=2001:db8::2 dst=2001:db8::1 "
                "sport=443 dport=40000 [ASSURED] mark=0 use=1"});
}

TEST_F(ReplayCli, AccountingAddsPacketsAndBytesPerDirection) {
  const std::vector<Pkt> pkts = Handshake(kT0, V4(1, 2, 40000, 80));
  // Bytes are the IP total lengths: what the builder appended.
  const size_t orig_bytes = pkts[0].bytes.size() + pkts[2].bytes.size();
  const size_t reply_bytes = pkts[1].bytes.size();
  ASSERT_EQ(orig_bytes, 80u);  // two 20+20-byte headers, no options
  const std::string pcap = Capture(pkts);
  RunResult r =
      Run({"replay", "--dump", "--sysctl", "nf_conntrack_acct=1", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_EQ(Lines(r.out),
            std::vector<std::string>{
                "tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 "
                "sport=40000 dport=80 packets=2 bytes=" +
                std::to_string(orig_bytes) +
                " src=10.0.0.2 dst=10.0.0.1 sport=80 dport=40000 packets=1 "
                "bytes=" +
                std::to_string(reply_bytes) + " [ASSURED] mark=0 use=1"});
}

TEST_F(ReplayCli, AccountingInJsonEntries) {
  const std::string pcap = Capture(Handshake(kT0, V4(1, 2, 40000, 80)));
  RunResult r = Run({"replay", "--dump", "--json", "--sysctl",
                     "net.netfilter.nf_conntrack_acct=1", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["entries"].size(), 1u);
  const nlohmann::json& e = j["entries"][0];
  EXPECT_EQ(e["packets"], nlohmann::json({2, 1}));
  EXPECT_EQ(e["bytes"], nlohmann::json({80, 40}));
  EXPECT_EQ(e["state"], "ESTABLISHED");
  EXPECT_EQ(e["timeout"], 431999);
  EXPECT_EQ(e["assured"], true);
  EXPECT_EQ(e["unreplied"], false);
  EXPECT_EQ(e["original"]["sport"], 40000);
  EXPECT_EQ(e["reply"]["dst"], "10.0.0.1");
  EXPECT_EQ(j["settings"]["net.netfilter.nf_conntrack_acct"], 1);
}

TEST_F(ReplayCli, UdpEventsNewThenUpdate) {
  // §12.1: NEW on the request ([UNREPLIED]), UPDATE on the reply (the REPLY
  // bit), each label right-aligned in 9 columns; an event carries no mark
  // (it is 0) and no use count (measured: tests/formats/*.E.txt).
  const Endpoints c = V4(1, 2, 5353, 53);
  const std::string pcap =
      Capture({Udp(kT0, c, 20), Udp(kT0 + 10 * kMs, c.Reversed(), 60)});
  RunResult r = Run({"replay", "--events", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_EQ(Lines(r.out),
            (std::vector<std::string>{
                "    [NEW] udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=5353 "
                "dport=53 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=53 "
                "dport=5353",
                " [UPDATE] udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=5353 "
                "dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=5353"}));
}

TEST_F(ReplayCli, TcpSynThenRstAckGivesNewThenDestroy) {
  // §12.1 observed: a RST/ACK answering a SYN deletes the entry at once:
  // NEW (SYN_SENT, 120 s, unreplied) then DESTROY, nothing in between, and
  // the table is empty afterwards.
  const Endpoints c = V4(1, 2, 40000, 81);
  const std::string pcap = Capture(
      {Tcp(kT0, c, 1000, 0, tcpflag::kSyn),
       Tcp(kT0 + kMs, c.Reversed(), 0, 1001, tcpflag::kRst | tcpflag::kAck)});
  RunResult r = Run({"replay", "--events", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0],
            "    [NEW] tcp      6 120 SYN_SENT src=10.0.0.1 dst=10.0.0.2 "
            "sport=40000 dport=81 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 "
            "sport=81 dport=40000");
  EXPECT_TRUE(StartsWith(lines[1], "[DESTROY] tcp      6 ")) << lines[1];
  EXPECT_TRUE(Contains(lines[1],
                       " CLOSE src=10.0.0.1 dst=10.0.0.2 "
                       "sport=40000 dport=81 "))
      << lines[1];
  EXPECT_FALSE(Contains(lines[1], "[ASSURED]")) << lines[1];
  RunResult d = Run({"replay", "--dump", pcap});
  ASSERT_TRUE(d.exited && d.exit_code == 0) << d.Describe();
  EXPECT_EQ(d.out, "");
}

// The kernel kills an unreplied entry on a reply-direction RST inside the
// TCP tracker, before the core sets the reply-seen bit, so the DESTROY event
// still shows [UNREPLIED] (spec §12.1, observed:
// `[DESTROY] tcp 6 120 CLOSE ... [UNREPLIED] ...`).
TEST_F(ReplayCli, RstKillOfUnrepliedEntryDestroyShowsUnreplied) {
  const Endpoints c = V4(1, 2, 40000, 81);
  const std::string pcap = Capture(
      {Tcp(kT0, c, 1000, 0, tcpflag::kSyn),
       Tcp(kT0 + kMs, c.Reversed(), 0, 1001, tcpflag::kRst | tcpflag::kAck)});
  RunResult r = Run({"replay", "--events", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_TRUE(Contains(lines[1],
                       "sport=40000 dport=81 [UNREPLIED] "
                       "src=10.0.0.2 dst=10.0.0.1 sport=81 "
                       "dport=40000"))
      << lines[1];
}

TEST_F(ReplayCli, EventsInJson) {
  const Endpoints c = V4(1, 2, 5353, 53);
  const std::string pcap =
      Capture({Udp(kT0, c, 20), Udp(kT0 + 10 * kMs, c.Reversed(), 60)});
  RunResult r = Run({"replay", "--events", "--json", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["events"].size(), 2u);
  // Objects: the kind, the packet's time, the entry, and the -E line.
  const nlohmann::json& n = j["events"][0];
  EXPECT_EQ(n["type"], "NEW");
  EXPECT_EQ(n["timestamp"], "2023-11-14T22:13:20.000000000Z");
  EXPECT_EQ(n["protocol"], "udp");
  EXPECT_EQ(n["timeout"], 30);
  EXPECT_EQ(n["original"]["sport"], 5353);
  EXPECT_EQ(n["reply"]["src"], "10.0.0.2");
  EXPECT_EQ(n["unreplied"], true);
  EXPECT_EQ(n["line"],
            "    [NEW] udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=5353 "
            "dport=53 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=53 "
            "dport=5353");
  const nlohmann::json& u = j["events"][1];
  EXPECT_EQ(u["type"], "UPDATE");
  EXPECT_EQ(u["timestamp"], "2023-11-14T22:13:20.010000000Z");
  EXPECT_EQ(u["unreplied"], false);
  EXPECT_TRUE(StartsWith(u["line"].get<std::string>(), " [UPDATE] udp"));
}

TEST_F(ReplayCli, JsonDocumentShape) {
  std::vector<Pkt> pkts = Handshake(kT0, V4(1, 2, 40000, 80));
  pkts.push_back(Udp(kT0 + 3 * kMs, V4(1, 3, 5353, 53), 20));
  const std::string pcap = Capture(pkts);
  RunResult r = Run({"replay", "--json", "--verdicts", "--dump", "--sysctl",
                     "nf_conntrack_max=4096", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(r.out)) << r.out;
  EXPECT_EQ(j["capture"], pcap);
  ASSERT_TRUE(j["settings"].is_object());
  EXPECT_EQ(j["settings"]["net.netfilter.nf_conntrack_max"], 4096);
  EXPECT_EQ(j["packets"]["read"], pkts.size());
  EXPECT_EQ(j["packets"]["decoded"], pkts.size());
  EXPECT_EQ(j["packets"]["first_ts"], "2023-11-14T22:13:20.000000000Z");
  EXPECT_EQ(j["packets"]["last_ts"], "2023-11-14T22:13:20.003000000Z");
  EXPECT_EQ(j["verdicts"],
            nlohmann::json({"NEW", "ESTABLISHED", "ESTABLISHED", "NEW"}));
  EXPECT_EQ(j["packets"]["verdicts"]["NEW"], 2);
  EXPECT_EQ(j["packets"]["verdicts"]["ESTABLISHED"], 2);
  EXPECT_EQ(j["table"]["max"], 4096);
  EXPECT_EQ(j["table"]["count"], 2);
  EXPECT_EQ(j["table"]["peak_count"], 2);
  EXPECT_EQ(j["table"]["created"], 2);
  EXPECT_EQ(j["stats"]["drop"], 0);
  EXPECT_EQ(j["stats"]["insert"], 0);  // §5.3: packet path does not count
  ASSERT_TRUE(j["entries"].is_array());
  ASSERT_EQ(j["entries"].size(), 2u);
  bool saw_handshake = false;
  for (const nlohmann::json& e : j["entries"]) {
    if (e["line"] == kHandshakeLine) saw_handshake = true;
  }
  EXPECT_TRUE(saw_handshake) << j["entries"].dump(2);
  EXPECT_FALSE(j.contains("error"));
}

TEST_F(ReplayCli, JsonLeavesOutListsNotAsked) {
  const std::string pcap = Capture(Handshake(kT0, V4(1, 2, 40000, 80)));
  RunResult r = Run({"replay", "--json", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_FALSE(j.contains("verdicts"));
  EXPECT_FALSE(j.contains("entries"));
  EXPECT_FALSE(j.contains("events"));
  EXPECT_FALSE(j.contains("timeline"));
  EXPECT_EQ(j["packets"]["read"], 3);
}

TEST_F(ReplayCli, TextSummaryWithoutListOptions) {
  const std::string pcap = Capture(Handshake(kT0, V4(1, 2, 40000, 80)));
  RunResult r = Run({"replay", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_TRUE(Contains(r.out, "ctkit replay: " + pcap + "\n")) << r.out;
  EXPECT_TRUE(Contains(r.out, "packets:   read 3, decoded 3, skipped 0\n"))
      << r.out;
  EXPECT_TRUE(Contains(r.out, "table full: never")) << r.out;
  // §5.2 format, summed into one line.
  EXPECT_TRUE(Contains(r.out,
                       "cpu=0   \tfound=0 invalid=0 insert=0 insert_failed=0 "
                       "drop=0 early_drop=0 error=0 search_restart=0 "
                       "clash_resolve=0 chaintoolong=0 \n"))
      << r.out;
}

// Table full of entries that are not ASSURED: early drop makes room, so the
// table never exceeds max and no packet is dropped (§2.1, §2.2).
TEST_F(ReplayCli, SynFloodIsRelievedByEarlyDrop) {
  const std::string pcap = dir_.File("flood.pcap");
  RunResult g = Run({"gen", "syn-flood", "--flows", "5000", "-o", pcap});
  ASSERT_TRUE(g.exited && g.exit_code == 0) << g.Describe();
  RunResult r = Run({"replay", "--sysctl", "nf_conntrack_max=1000", "--sysctl",
                     "nf_conntrack_buckets=1024", "--json", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["packets"]["read"], 5000);
  EXPECT_LE(j["table"]["peak_count"].get<uint64_t>(), 1000u);
  EXPECT_EQ(j["table"]["peak_count"], 1000);
  EXPECT_LE(j["table"]["count"].get<uint64_t>(), 1000u);
  EXPECT_GT(j["stats"]["early_drop"].get<uint64_t>(), 0u);
  EXPECT_EQ(j["stats"]["drop"], 0);
  EXPECT_EQ(j["packets"]["dropped_table_full"], 0);
  // Every SYN got an entry; the ones over max evicted older SYN_SENTs.
  EXPECT_EQ(j["packets"]["verdicts"]["NEW"], 5000);
  EXPECT_EQ(j["table"]["created"], 5000);
  EXPECT_EQ(j["table"]["created"].get<uint64_t>() -
                j["table"]["destroyed"].get<uint64_t>(),
            j["table"]["count"].get<uint64_t>());
  EXPECT_FALSE(j["table"].contains("first_drop_ts"));
}

// 1100 completed handshakes against max 1000: the first 1000 fill the table
// with ESTABLISHED ASSURED entries (432000 s) that early drop must skip, so
// every packet of the last 100 flows (SYN, SYN/ACK, ACK: each needs a new
// entry) is dropped: 300 drops, and a rate-limited log (burst 10 per 5 s).
std::vector<Pkt> AssuredOverflow() {
  std::vector<Pkt> pkts;
  for (uint32_t i = 0; i < 1100; ++i) {
    Endpoints c{Family::kIPv4,
                Ipv4(10, 1, static_cast<uint8_t>(i >> 8),
                     static_cast<uint8_t>(i & 0xff)),
                Ipv4(192, 0, 2, 10), static_cast<uint16_t>(40000 + i), 80};
    for (Pkt& p : Handshake(kT0 + i * kMs, c)) pkts.push_back(std::move(p));
  }
  return pkts;
}

TEST_F(ReplayCli, TableFullOfAssuredEntriesDropsNewFlows) {
  const std::string pcap = Capture(AssuredOverflow(), "assured.pcap");
  const std::vector<std::string> base = {"replay", "--sysctl",
                                         "nf_conntrack_max=1000", "--sysctl",
                                         "nf_conntrack_buckets=1024"};
  std::vector<std::string> args = base;
  args.push_back("--json");
  args.push_back(pcap);
  RunResult r = Run(args);
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["packets"]["read"], 3300);
  EXPECT_GT(j["stats"]["drop"].get<uint64_t>(), 0u);
  EXPECT_EQ(j["stats"]["drop"], 300);
  EXPECT_EQ(j["packets"]["dropped_table_full"], j["stats"]["drop"]);
  EXPECT_EQ(j["packets"]["verdicts"]["DROP"], 300);
  EXPECT_EQ(j["stats"]["early_drop"], 0);
  EXPECT_EQ(j["stats"]["insert_failed"], 0);  // §2.4: not touched
  EXPECT_EQ(j["table"]["peak_count"], 1000);
  EXPECT_EQ(j["table"]["count"], 1000);
  // The first drop is the SYN of flow 1001: packet 3001.
  EXPECT_EQ(j["table"]["first_drop_index"], 3001);
  EXPECT_EQ(j["table"]["log_lines"], 10);
  EXPECT_EQ(j["table"]["log_suppressed"], 290);
  // The peak (1000) is first reached by the SYN of flow 1000, before its
  // handshake completes: 999 ASSURED entries and one SYN_SENT.
  EXPECT_EQ(j["table"]["peak_index"], 2998);
  EXPECT_EQ(j["at_peak"]["entries"], 1000);
  EXPECT_EQ(j["at_peak"]["assured"], 999);

  args = base;
  args.push_back(pcap);
  RunResult t = Run(args);
  ASSERT_TRUE(t.exited && t.exit_code == 0) << t.Describe();
  EXPECT_TRUE(Contains(t.out,
                       "TABLE FULL: 300 packets dropped; first drop at "
                       "packet 3001"))
      << t.out;
  EXPECT_TRUE(Contains(
      t.out, "\"nf_conntrack: nf_conntrack: table full, dropping packet\""))
      << t.out;
  EXPECT_TRUE(Contains(t.out, "kernel log: 10 x ")) << t.out;
  EXPECT_TRUE(Contains(t.out, " drop=300 early_drop=0 ")) << t.out;
}

TEST_F(ReplayCli, TimelineCsvNeverExceedsMax) {
  // 5000 SYNs at 1000/s: about 5 s, so several 1 s rows.
  const std::string pcap = dir_.File("flood.pcap");
  RunResult g = Run(
      {"gen", "syn-flood", "--flows", "5000", "--rate", "1000", "-o", pcap});
  ASSERT_TRUE(g.exited && g.exit_code == 0) << g.Describe();
  const std::vector<std::string> base = {"replay",
                                         "--sysctl",
                                         "nf_conntrack_max=1000",
                                         "--sysctl",
                                         "nf_conntrack_buckets=1024",
                                         "--timeline",
                                         "1s"};
  std::vector<std::string> args = base;
  args.push_back(pcap);
  RunResult r = Run(args);
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_GE(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[0], "time,count,new,destroyed,early_drop,drop");
  uint64_t sum_new = 0, sum_early = 0, sum_drop = 0;
  double prev_time = -1;
  for (size_t i = 1; i < lines.size(); ++i) {
    double time = 0;
    unsigned long long count = 0, created = 0, destroyed = 0, early = 0,
                       drop = 0;
    ASSERT_EQ(std::sscanf(lines[i].c_str(), "%lf,%llu,%llu,%llu,%llu,%llu",
                          &time, &count, &created, &destroyed, &early, &drop),
              6)
        << lines[i];
    EXPECT_LE(count, 1000u) << lines[i];
    EXPECT_GT(time, prev_time) << lines[i];
    prev_time = time;
    sum_new += created;
    sum_early += early;
    sum_drop += drop;
  }
  // The rows partition the run: their sums are the run's totals.
  EXPECT_EQ(sum_new, 5000u);
  EXPECT_EQ(sum_drop, 0u);
  args = base;
  args.push_back("--json");
  args.push_back(pcap);
  RunResult jr = Run(args);
  ASSERT_TRUE(jr.exited && jr.exit_code == 0) << jr.Describe();
  nlohmann::json j = nlohmann::json::parse(jr.out);
  EXPECT_EQ(sum_early, j["stats"]["early_drop"].get<uint64_t>());
  ASSERT_TRUE(j["timeline"].is_array());
  EXPECT_EQ(j["timeline"].size(), lines.size() - 1);
}

TEST_F(ReplayCli, TimelineRowsCountTheirOwnInterval) {
  // One new UDP flow every 0.5 s, at 0, 0.5, 1.0, 1.5 and 2.0 s. A row is
  // labelled with the end of its interval [end - 1 s, end): the packet at
  // exactly 1.0 s belongs to the second interval, not the first; the last,
  // partial row ends at the last packet and includes it.
  std::vector<Pkt> pkts;
  for (uint16_t i = 0; i < 5; ++i) {
    pkts.push_back(Udp(kT0 + i * 500 * kMs,
                       V4(1, 2, static_cast<uint16_t>(1000 + i), 53), 10));
  }
  const std::string pcap = Capture(pkts);
  RunResult r = Run({"replay", "--timeline", "1s", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_EQ(Lines(r.out), (std::vector<std::string>{
                              "time,count,new,destroyed,early_drop,drop",
                              "1.000,2,2,0,0,0",
                              "2.000,4,2,0,0,0",
                              "2.000,5,1,0,0,0",
                          }));
  RunResult h = Run({"replay", "--timeline", "500ms", pcap});
  ASSERT_TRUE(h.exited && h.exit_code == 0) << h.Describe();
  EXPECT_EQ(Lines(h.out), (std::vector<std::string>{
                              "time,count,new,destroyed,early_drop,drop",
                              "0.500,1,1,0,0,0",
                              "1.000,2,1,0,0,0",
                              "1.500,3,1,0,0,0",
                              "2.000,4,1,0,0,0",
                              "2.000,5,1,0,0,0",
                          }));
}

TEST_F(ReplayCli, TimestampsGoingBackwardsDoNotWrap) {
  // A merged capture whose second packet is 5 ms older than the first; the
  // peak (2 entries) is reached by that packet: "-0.005 s", not 2^64 ns.
  const std::string pcap =
      Capture({Udp(kT0, V4(1, 2, 1000, 53), 10),
               Udp(kT0 - 5 * kMs, V4(1, 2, 1001, 53), 10)});
  RunResult r = Run({"replay", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_TRUE(Contains(r.out,
                       "peak:      2 of nf_conntrack_max 262144 "
                       "(0.0 %) at -0.005 s\n"))
      << r.out;
}

TEST_F(ReplayCli, JsonListsAskedForArePresentWhenEmpty) {
  const std::string pcap = dir_.File("empty.pcap");
  WritePcap(pcap, {});
  RunResult r =
      Run({"replay", "--json", "--verdicts", "--events", "--dump", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["verdicts"], nlohmann::json::array());
  EXPECT_EQ(j["events"], nlohmann::json::array());
  EXPECT_EQ(j["entries"], nlohmann::json::array());
  // Events off (nf_conntrack_events=0): asked for, none delivered.
  const std::string udp = Capture({Udp(kT0, V4(1, 2, 1000, 53), 10)});
  RunResult e = Run({"replay", "--json", "--events", "--sysctl",
                     "nf_conntrack_events=0", udp});
  ASSERT_TRUE(e.exited && e.exit_code == 0) << e.Describe();
  EXPECT_EQ(nlohmann::json::parse(e.out)["events"], nlohmann::json::array());
}

TEST_F(ReplayCli, NonIpFramesAreSkipped) {
  // An Ethernet capture: ARP request, then a UDP packet, then ARP again.
  std::vector<uint8_t> arp = {
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff,              // dst: broadcast
      0x02, 0x00, 0x00, 0x00, 0x00, 0x01,              // src
      0x08, 0x06,                                      // ARP
      0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,  // Ethernet/IPv4 request
      0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 10,   0,    0, 1,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 10,   0,    0, 2};
  Pkt udp{kT0 + kMs, {}};
  std::vector<uint8_t> ip;
  BuildUdp(V4(1, 2, 5353, 53), 20, &ip);
  WrapEthernet(ip, 0, &udp.bytes);
  const std::string pcap =
      Capture({{kT0, arp}, udp, {kT0 + 2 * kMs, arp}}, "eth.pcap", 1);
  RunResult r = Run({"replay", "--verdicts", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_EQ(Lines(r.out), (std::vector<std::string>{"1 SKIP non-ip", "2 NEW",
                                                    "3 SKIP non-ip"}));
  RunResult s = Run({"replay", pcap});
  ASSERT_TRUE(s.exited && s.exit_code == 0) << s.Describe();
  EXPECT_TRUE(
      Contains(s.out, "packets:   read 3, decoded 1, skipped 2 (non-ip 2)\n"))
      << s.out;
  RunResult js = Run({"replay", "--json", pcap});
  ASSERT_TRUE(js.exited && js.exit_code == 0) << js.Describe();
  nlohmann::json j = nlohmann::json::parse(js.out);
  EXPECT_EQ(j["packets"]["skipped"]["non-ip"], 2);
  EXPECT_EQ(j["packets"]["decoded"], 1);
}

TEST_F(ReplayCli, SysctlFileThenFlagsWin) {
  const std::string conf = dir_.File("ct.conf");
  WriteFile(conf,
            "# test settings\n"
            "net.netfilter.nf_conntrack_max = 2048\n"
            "-net.netfilter.nf_conntrack_udp_timeout = 10\n"
            "; comment\n");
  const std::string pcap = Capture({Udp(kT0, V4(1, 2, 5353, 53), 20)});
  RunResult r = Run({"replay", "--dump", "--json", "--sysctl-file", conf,
                     "--sysctl", "nf_conntrack_max=3000", pcap});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["settings"]["net.netfilter.nf_conntrack_max"], 3000);
  EXPECT_EQ(j["settings"]["net.netfilter.nf_conntrack_udp_timeout"], 10);
  ASSERT_EQ(j["entries"].size(), 1u);
  EXPECT_EQ(j["entries"][0]["timeout"], 9);
}

// --threads changes how the work is spread, never the result: a generated
// mixed capture (web, DNS, pings, ICMP errors, a SYN flood) into a table
// small enough to fill, replayed with 1, 2 and 3 threads, gives the same
// JSON (every verdict, the dump, the counters, the peak and composition).
TEST_F(ReplayCli, ThreadsDoNotChangeTheResult) {
  const std::string pcap = dir_.File("mix.pcap");
  RunResult g =
      Run({"gen", "mixed", "--flows", "30000", "--rate", "3000", "-o", pcap});
  ASSERT_TRUE(g.exited && g.exit_code == 0) << g.Describe();
  std::string first;
  for (const char* threads : {"1", "2", "3"}) {
    RunResult r =
        Run({"replay", "--json", "--dump", "--verdicts", "--threads", threads,
             "--sysctl", "net.netfilter.nf_conntrack_max=6000", pcap});
    ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
    nlohmann::json doc = nlohmann::json::parse(r.out);
    ASSERT_GT(doc["verdicts"].size(), 100000u);
    ASSERT_GT(doc["entries"].size(), 1000u);
    ASSERT_EQ(doc["table"]["peak_count"], 6000);
    if (first.empty()) {
      first = r.out;
    } else {
      EXPECT_TRUE(r.out == first) << "--threads " << threads << " differs";
    }
  }
}

}  // namespace
}  // namespace ctkit::clitest
