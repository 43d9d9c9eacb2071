// The flight recorder's ring file as an operator meets it: samples written
// and read back in order across the wrap, a torn slot found at its offset
// while the rest still reads, a truncated file, a file that is not a
// history, and a history that would have to change shape to be reused.
#include "watch/history_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace ctkit::watch {
namespace {

class HistoryFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "/ctkit_history_" +
            std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::remove(path_.c_str());
  }
  void TearDown() override { std::remove(path_.c_str()); }

  static HistoryGeometry Slots(uint32_t n) {
    HistoryGeometry g;
    g.slot_count = n;
    g.interval_ms = 10000;
    return g;
  }

  static HistorySample Sample(int i) {
    HistorySample s;
    s.unix_s = 1764731520.0 + 10.0 * i;
    s.netns = "init";
    s.count = 1000 + static_cast<uint64_t>(i);
    s.max = 262144;
    s.buckets = 65536;
    Stats st;
    st.drop = static_cast<uint64_t>(i) * 3;
    st.early_drop = 7;
    st.chaintoolong = 1;
    s.stats = st;
    s.settings = {{"nf_conntrack_tcp_timeout_established", 432000},
                  {"nf_conntrack_udp_timeout", 30}};
    return s;
  }

  std::vector<HistorySample> ReadAll(HistoryReadReport* report) {
    std::vector<HistorySample> out;
    Result<HistoryReadReport> r =
        ReadHistory(path_, [&](const HistorySample& s) { out.push_back(s); });
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    if (r && report != nullptr) *report = *r;
    return out;
  }

  void Write(const std::vector<HistorySample>& samples, uint32_t slots) {
    auto w = HistoryWriter::Open(path_, Slots(slots));
    ASSERT_TRUE(w.has_value()) << w.error().message;
    for (const HistorySample& s : samples) {
      ASSERT_TRUE((*w)->Append(s).has_value());
    }
  }

  void Poke(uint64_t offset, const std::string& bytes) {
    const int fd = open(path_.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(
        pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)),
        static_cast<ssize_t>(bytes.size()));
    close(fd);
  }

  std::string path_;
};

TEST_F(HistoryFileTest, ASampleSurvivesTheRoundTripWhole) {
  HistorySample s = Sample(3);
  s.settings["nf_conntrack_some_future_sysctl"] = 12;  // stored by name
  HistoryScan c;
  c.finished_unix = 1764731521.5;
  c.complete = true;
  c.total = 900;
  c.assured = 800;
  c.unreplied = 50;
  c.states = {{"tcp", "ESTABLISHED", 700}, {"udp", "", 200}};
  c.classes = {{"", "nf_conntrack_tcp_timeout_established", 700}};
  c.sources = {{"", "10.0.0.1", 400}, {"", "2001:db8::1", 3}};
  c.destinations = {{"", "192.0.2.80", 900}};
  c.ports = {{"tcp", "443", 700}};
  s.scan = c;
  Result<std::string> payload = EncodeSample(s, kHistorySlotSize - 16);
  ASSERT_TRUE(payload.has_value());
  EXPECT_LT(payload->size(), 300u) << "names are stored as numbers";
  Result<HistorySample> back = DecodeSample(*payload);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_DOUBLE_EQ(back->unix_s, s.unix_s);
  EXPECT_EQ(back->netns, "init");
  EXPECT_EQ(back->count, s.count);
  EXPECT_EQ(back->max, s.max);
  EXPECT_EQ(back->stats->drop, 9u);
  EXPECT_EQ(back->stats->chaintoolong, 1u);
  EXPECT_EQ(back->settings, s.settings);
  ASSERT_TRUE(back->scan.has_value());
  EXPECT_EQ(*back->scan, c);
}

TEST_F(HistoryFileTest, LongIpv6RankingsAreShortenedToFitTheSlot) {
  HistorySample s = Sample(1);
  HistoryScan c;
  const std::string v6 = "2001:db8:1234:5678:9abc:def0:1234:5678";
  for (int i = 0; i < 5; ++i) {
    for (auto* list : {&c.sources, &c.destinations}) {
      list->push_back({"", v6 + std::to_string(i), 10});
    }
    c.states.push_back({"tcp", "ESTABLISHED" + std::to_string(i), 1});
  }
  for (int i = 0; i < 60; ++i) {
    s.settings["nf_conntrack_unknown_sysctl_number_" + std::to_string(i)] = 1;
  }
  s.scan = c;
  Result<std::string> payload = EncodeSample(s, kHistorySlotSize - 16);
  ASSERT_TRUE(payload.has_value());
  EXPECT_LE(payload->size(), kHistorySlotSize - 16);
  Result<HistorySample> back = DecodeSample(*payload);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->count, s.count) << "the counters are always kept";
}

TEST_F(HistoryFileTest, SamplesComeBackOldestFirstAcrossTheWrap) {
  std::vector<HistorySample> written;
  for (int i = 0; i < 23; ++i) written.push_back(Sample(i));
  Write(written, 10);
  HistoryReadReport report;
  std::vector<HistorySample> got = ReadAll(&report);
  ASSERT_EQ(got.size(), 10u) << "the ring keeps the last 10";
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].count, written[13 + i].count) << i;
  }
  EXPECT_TRUE(report.clean());
  EXPECT_EQ(report.newest_sequence, 23u);
  EXPECT_EQ(report.oldest_sequence, 14u);
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), uint64_t{kHistorySlotSize} * 11)
      << "the file never grows";

  // Reopened (a restarted exporter), the sequence goes on.
  Write({Sample(23), Sample(24)}, 10);
  got = ReadAll(&report);
  ASSERT_EQ(got.size(), 10u);
  EXPECT_EQ(got.front().count, written[15].count);
  EXPECT_EQ(got.back().count, Sample(24).count);
}

TEST_F(HistoryFileTest, AFileNotYetFullHasEmptySlots) {
  Write({Sample(0), Sample(1), Sample(2)}, 10);
  HistoryReadReport report;
  std::vector<HistorySample> got = ReadAll(&report);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].count, Sample(0).count);
  EXPECT_EQ(report.empty_slots, 7u);
  EXPECT_TRUE(report.clean());
}

TEST_F(HistoryFileTest, ATornSlotIsReportedAtItsOffsetAndTheRestRead) {
  std::vector<HistorySample> written;
  for (int i = 0; i < 8; ++i) written.push_back(Sample(i));
  Write(written, 10);
  // Slot 4 (sample 4) is at byte 1024 * 5; its payload is half-written.
  const uint64_t offset = uint64_t{kHistorySlotSize} * 5;
  Poke(offset + 40, std::string(20, '\xAA'));
  HistoryReadReport report;
  std::vector<HistorySample> got = ReadAll(&report);
  ASSERT_EQ(got.size(), 7u);
  EXPECT_EQ(got[3].count, written[3].count);
  EXPECT_EQ(got[4].count, written[5].count);
  EXPECT_FALSE(report.clean());
  EXPECT_EQ(report.bad_slots, 1u);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_EQ(report.problems[0].offset, offset);
  EXPECT_NE(report.problems[0].what.find("checksum"), std::string::npos);

  // The newest slot torn: the writer reuses its sequence and the file is
  // whole again.
  Poke(uint64_t{kHistorySlotSize} * 8 + 20, "garbage");
  got = ReadAll(&report);
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got.back().count, written[6].count);
  Write({Sample(8)}, 10);
  got = ReadAll(&report);
  EXPECT_EQ(got.back().count, Sample(8).count);
  EXPECT_EQ(report.newest_sequence, 8u);
  EXPECT_EQ(report.bad_slots, 1u) << "only the first torn slot is left";
}

TEST_F(HistoryFileTest, ASequenceInTheWrongSlotIsSkipped) {
  Write({Sample(0), Sample(1), Sample(2)}, 10);
  // Slot 2's bytes copied into slot 5: a CRC-good slot that does not
  // belong there (a misdirected write).
  const int fd = open(path_.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  std::string slot(kHistorySlotSize, '\0');
  ASSERT_EQ(pread(fd, slot.data(), slot.size(), kHistorySlotSize * 3),
            static_cast<ssize_t>(slot.size()));
  ASSERT_EQ(pwrite(fd, slot.data(), slot.size(), kHistorySlotSize * 6),
            static_cast<ssize_t>(slot.size()));
  close(fd);
  HistoryReadReport report;
  EXPECT_EQ(ReadAll(&report).size(), 3u);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_EQ(report.problems[0].offset, uint64_t{kHistorySlotSize} * 6);
}

TEST_F(HistoryFileTest, ATruncatedFileSaysWhereItEndsAndReadsWhatIsThere) {
  std::vector<HistorySample> written;
  for (int i = 0; i < 10; ++i) written.push_back(Sample(i));
  Write(written, 10);
  const uint64_t cut = uint64_t{kHistorySlotSize} * 7 + 100;  // in slot 6
  ASSERT_EQ(truncate(path_.c_str(), static_cast<off_t>(cut)), 0);
  HistoryReadReport report;
  std::vector<HistorySample> got = ReadAll(&report);
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got.front().count, written[0].count);
  ASSERT_TRUE(report.truncated_at.has_value());
  EXPECT_EQ(*report.truncated_at, cut);
  EXPECT_FALSE(report.clean());

  // The writer refuses it rather than record into a damaged file.
  auto w = HistoryWriter::Open(path_, Slots(10));
  ASSERT_FALSE(w.has_value());
  EXPECT_NE(
      w.error().message.find("truncated at offset " + std::to_string(cut)),
      std::string::npos)
      << w.error().message;
}

TEST_F(HistoryFileTest, AFileThatIsNotAHistoryIsNamedWithTheField) {
  FILE* f = std::fopen(path_.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(std::string(4096, 'x').c_str(), f);
  std::fclose(f);
  Result<HistoryReadReport> r = ReadHistory(path_, [](const HistorySample&) {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(r.error().message.find(path_), std::string::npos);
  EXPECT_NE(r.error().message.find("magic at offset 0"), std::string::npos)
      << r.error().message;
  EXPECT_FALSE(HistoryWriter::Open(path_, Slots(10)).has_value())
      << "never written over";

  // A history whose header was damaged.
  std::remove(path_.c_str());
  Write({Sample(0)}, 10);
  Poke(16, "\x07");  // the slot count
  r = ReadHistory(path_, [](const HistorySample&) {});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("header checksum"), std::string::npos)
      << r.error().message;

  r = ReadHistory(path_ + ".missing", [](const HistorySample&) {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
}

TEST_F(HistoryFileTest, AnotherShapeIsRefusedNotCutToFit) {
  Write({Sample(0), Sample(1)}, 10);
  auto w = HistoryWriter::Open(path_, Slots(20));
  ASSERT_FALSE(w.has_value());
  EXPECT_NE(w.error().message.find(path_), std::string::npos);
  EXPECT_NE(w.error().message.find("slot count is 10, not the 20"),
            std::string::npos)
      << w.error().message;
  HistoryGeometry other = Slots(10);
  other.interval_ms = 1000;
  w = HistoryWriter::Open(path_, other);
  ASSERT_FALSE(w.has_value());
  EXPECT_NE(w.error().message.find("interval"), std::string::npos);
  HistoryReadReport report;
  EXPECT_EQ(ReadAll(&report).size(), 2u) << "the history is untouched";
}

TEST_F(HistoryFileTest, OneWriterAtATime) {
  auto first = HistoryWriter::Open(path_, Slots(10));
  ASSERT_TRUE(first.has_value());
  auto second = HistoryWriter::Open(path_, Slots(10));
  ASSERT_FALSE(second.has_value());
  EXPECT_NE(second.error().message.find("another process"), std::string::npos);
}

TEST(HistoryGeometry, TheDefaultsAreAWeekAtTenSecondsIn59MiB) {
  Result<HistoryGeometry> g =
      GeometryFor(kHistoryDefaultIntervalS, kHistoryDefaultRetentionS);
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->slot_count, 60480u);
  EXPECT_EQ(g->interval_ms, 10000u);
  EXPECT_EQ(g->file_size(), 1024u * 60481u);  // 59.06 MiB
  EXPECT_FALSE(GeometryFor(0.01, 60).has_value());
  EXPECT_FALSE(GeometryFor(10, 5).has_value());
  EXPECT_FALSE(GeometryFor(0.1, 365.0 * 86400).has_value());
  EXPECT_EQ(GeometryFor(0.2, 1)->slot_count, 5u);
}

}  // namespace
}  // namespace ctkit::watch
