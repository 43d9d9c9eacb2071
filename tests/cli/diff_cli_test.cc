// `ctkit diff` checks its inputs before comparing: both must be results of
// `ctkit replay` / `ctkit kernel-replay` with verdicts and entries, made from
// the same capture (packet count and digest of the records). Anything else
// -- `{}`, a whatif or doctor document, a replay without its lists, results
// of two captures -- is an error naming the file and what is wrong, exit 3,
// distinct from "they differ" (exit 1) and from a wrong command line (2).
#include <nlohmann/json.hpp>

#include "tests/cli/cli_test_util.h"

namespace ctkit::clitest {
namespace {

class DiffCli : public ::testing::Test {
 protected:
  void SetUp() override {
    capture_ = dir_.File("hs.pcap");
    WritePcap(capture_, Handshake(kT0, V4(1, 2, 40000, 80)));
  }
  // `ctkit replay CAPTURE ARGS... --no-progress` into a file; returns it.
  std::string Replay(const std::string& capture, const std::string& name,
                     const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"replay", capture, "--no-progress"};
    argv.insert(argv.end(), args.begin(), args.end());
    RunResult r = RunCtkit(dir_, argv);
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    std::string path = dir_.File(name);
    WriteFile(path, r.out);
    return path;
  }
  std::string Result(const std::string& name) {
    return Replay(capture_, name, {"--json", "--verdicts", "--dump"});
  }
  std::string Write(const std::string& name, const nlohmann::json& j) {
    std::string path = dir_.File(name);
    WriteFile(path, j.dump());
    return path;
  }
  RunResult Diff(const std::string& a, const std::string& b) {
    return RunCtkit(dir_, {"diff", a, b});
  }
  TempDir dir_;
  std::string capture_;
};

// Exit 3 and one error line naming `file` and each of `parts`.
void ExpectRefused(const RunResult& r, const std::string& file,
                   const std::vector<std::string>& parts) {
  ExpectOneErrorLine(r, 3, parts, file);
  EXPECT_EQ(r.out, "");
}

TEST_F(DiffCli, AgreeIsZeroAndDifferIsOne) {
  std::string a = Result("a.json");
  RunResult same = Diff(a, a);
  EXPECT_EQ(same.exit_code, 0) << same.Describe();
  EXPECT_TRUE(Contains(same.out, "agree\n")) << same.out;

  // The same capture, another verdict for packet 2: they differ.
  nlohmann::json b = nlohmann::json::parse(ReadFile(a));
  ASSERT_EQ(b["verdicts"].size(), 3u);
  b["verdicts"][1] = "INVALID";
  RunResult differ = Diff(a, Write("b.json", b));
  EXPECT_EQ(differ.exit_code, 1) << differ.Describe();
  EXPECT_TRUE(Contains(differ.out,
                       "packet 2 (tcp): verdict ESTABLISHED vs "
                       "INVALID"))
      << differ.out;
}

TEST_F(DiffCli, ReplayResultsNameTheirToolAndCapture) {
  nlohmann::json j = nlohmann::json::parse(ReadFile(Result("a.json")));
  EXPECT_EQ(j["tool"], "ctkit replay");
  EXPECT_EQ(j["capture_digest"]["packets"], 3);
  // SHA-256: 64 hex digits.
  EXPECT_EQ(j["capture_digest"]["records_sha256"].get<std::string>().size(),
            64u);
}

TEST_F(DiffCli, EmptyDocumentIsRefused) {
  std::string a = Result("a.json");
  std::string empty = Write("empty.json", nlohmann::json::object());
  ExpectRefused(Diff(empty, a), empty, {"not a replay result", "\"tool\""});
  ExpectRefused(Diff(a, empty), empty, {"not a replay result"});
}

TEST_F(DiffCli, WhatifResultIsRefused) {
  RunResult w = RunCtkit(
      dir_, {"whatif", capture_, "--vary", "nf_conntrack_max=10,20", "--json"});
  ASSERT_EQ(w.exit_code, 0) << w.Describe();
  std::string whatif = dir_.File("whatif.json");
  WriteFile(whatif, w.out);
  ExpectRefused(Diff(Result("a.json"), whatif), whatif,
                {"not a replay result", "whatif"});
}

TEST_F(DiffCli, DoctorResultIsRefused) {
  // The doctor on an empty saved tree: UNKNOWN, but a doctor document.
  std::string root = dir_.File("root");
  ASSERT_TRUE(std::filesystem::create_directory(root));
  RunResult d = RunCtkit(dir_, {"doctor", "--json", "--root", root});
  ASSERT_TRUE(d.exited) << d.Describe();
  ASSERT_TRUE(Contains(d.out, "\"findings\"")) << d.Describe();
  std::string doctor = dir_.File("doctor.json");
  WriteFile(doctor, d.out);
  ExpectRefused(Diff(doctor, Result("a.json")), doctor,
                {"not a replay result", "doctor"});
}

// The schema version says how to read the rest: a document without one
// (from before the documents were versioned) or of another version is
// refused, not read as if it were this one.
TEST_F(DiffCli, ADocumentOfAnotherSchemaVersionIsRefused) {
  std::string a = Result("a.json");
  nlohmann::json j = nlohmann::json::parse(ReadFile(a));
  EXPECT_EQ(j["schema_version"], 1);
  nlohmann::json none = j;
  none.erase("schema_version");
  std::string n = Write("none.json", none);
  ExpectRefused(Diff(a, n), n, {"no \"schema_version\"", "run ctkit replay"});
  nlohmann::json next = j;
  next["schema_version"] = 2;
  std::string x = Write("next.json", next);
  ExpectRefused(Diff(x, a), x, {"schema_version 2", "reads 1"});
  next["schema_version"] = "1";
  std::string t = Write("text.json", next);
  ExpectRefused(Diff(a, t), t, {"schema_version \"1\""});
}

TEST_F(DiffCli, ReplayWithoutItsListsIsRefused) {
  std::string a = Result("a.json");
  std::string summary = Replay(capture_, "summary.json", {"--json"});
  ExpectRefused(Diff(summary, a), summary,
                {"no \"verdicts\"", "--json --verdicts --dump"});
  std::string no_dump =
      Replay(capture_, "nodump.json", {"--json", "--verdicts"});
  ExpectRefused(Diff(a, no_dump), no_dump, {"no \"entries\""});
}

TEST_F(DiffCli, AnotherToolOrAnEntryWithoutTuplesIsRefused) {
  std::string a = Result("a.json");
  nlohmann::json j = nlohmann::json::parse(ReadFile(a));
  nlohmann::json other = j;
  other["tool"] = "ctkit whatif";
  std::string o = Write("other.json", other);
  ExpectRefused(Diff(a, o), o, {"a ctkit whatif result"});
  nlohmann::json broken = j;
  broken["entries"].push_back({{"protocol", "tcp"}});
  std::string b = Write("broken.json", broken);
  ExpectRefused(Diff(a, b), b, {"\"original\" and \"reply\""});
  nlohmann::json no_digest = j;
  no_digest.erase("capture_digest");
  std::string n = Write("nodigest.json", no_digest);
  ExpectRefused(Diff(n, a), n, {"no \"capture_digest\""});
}

TEST_F(DiffCli, ResultsOfDifferentCapturesAreRefused) {
  std::string a = Result("a.json");
  // Same packet count, another client port: another capture.
  std::string other_cap = dir_.File("other.pcap");
  WritePcap(other_cap, Handshake(kT0, V4(1, 2, 40001, 80)));
  std::string b =
      Replay(other_cap, "b.json", {"--json", "--verdicts", "--dump"});
  RunResult r = Diff(a, b);
  ExpectRefused(r, a, {"different captures", "3 packets"});
  // One packet fewer.
  std::string short_cap = dir_.File("short.pcap");
  std::vector<Pkt> two = Handshake(kT0, V4(1, 2, 40000, 80));
  two.pop_back();
  WritePcap(short_cap, two);
  std::string c =
      Replay(short_cap, "c.json", {"--json", "--verdicts", "--dump"});
  ExpectRefused(Diff(a, c), a, {"different captures", "2 packets"});
}

TEST_F(DiffCli, UnreadableInputIsAnErrorNotUsage) {
  std::string a = Result("a.json");
  std::string missing = dir_.File("missing.json");
  ExpectRefused(Diff(a, missing), "cannot open " + missing, {});
  std::string text = dir_.File("text.json");
  WriteFile(text, "verdicts: NEW\n");
  ExpectRefused(Diff(text, a), text, {"not a JSON document"});
}

}  // namespace
}  // namespace ctkit::clitest
