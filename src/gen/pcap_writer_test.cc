// PcapWriter tests read the file back as raw bytes and compare with the
// classic pcap layout written out by hand (the reader round trip lives in
// net/capture_reader_test.cc, where libpcap is available).
#include "gen/pcap_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace ctkit {
namespace {

std::string TempPath(const std::string& name) {
  return testing::TempDir() + "pcap_writer_test_" + std::to_string(getpid()) +
         "_" + name;
}

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(PcapWriter, HeaderAndRecordLayout) {
  const std::string path = TempPath("layout.pcap");
  auto w = PcapWriter::Create(path, 1, 65535);
  ASSERT_TRUE(w.has_value()) << w.error().message;
  const std::vector<uint8_t> frame = {0xaa, 0xbb, 0xcc};
  // 1.5 s + 7 ns after the epoch.
  ASSERT_TRUE((*w)->Write(1'500'000'007, frame).has_value());
  ASSERT_TRUE((*w)->Close().has_value());

  const std::vector<uint8_t> expected = {
      0x4d, 0x3c, 0xb2, 0xa1,  // magic, nanosecond resolution, LE
      0x02, 0x00, 0x04, 0x00,  // version 2.4
      0x00, 0x00, 0x00, 0x00,  // thiszone
      0x00, 0x00, 0x00, 0x00,  // sigfigs
      0xff, 0xff, 0x00, 0x00,  // snaplen 65535
      0x01, 0x00, 0x00, 0x00,  // LINKTYPE_ETHERNET
      0x01, 0x00, 0x00, 0x00,  // ts seconds 1
      0x07, 0x65, 0xcd, 0x1d,  // ts nanoseconds 500000007
      0x03, 0x00, 0x00, 0x00,  // captured length
      0x03, 0x00, 0x00, 0x00,  // wire length
      0xaa, 0xbb, 0xcc,
  };
  EXPECT_EQ(ReadAll(path), expected);
  std::remove(path.c_str());
}

TEST(PcapWriter, DefaultsToRawAndCutsToSnaplen) {
  const std::string path = TempPath("snap.pcap");
  auto w = PcapWriter::Create(path, 101, 4);
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE((*w)->Write(0, std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));
  ASSERT_TRUE((*w)->Close());
  const std::vector<uint8_t> bytes = ReadAll(path);
  ASSERT_EQ(bytes.size(), 24u + 16u + 4u);
  EXPECT_EQ(bytes[20], 101);
  EXPECT_EQ(bytes[32], 4);  // captured length
  EXPECT_EQ(bytes[36], 6);  // wire length kept
  EXPECT_EQ(bytes[43], 4);
  std::remove(path.c_str());
}

TEST(PcapWriter, DestructorFlushes) {
  const std::string path = TempPath("dtor.pcap");
  {
    auto w = PcapWriter::Create(path);
    ASSERT_TRUE(w.has_value());
    ASSERT_TRUE((*w)->Write(42, std::vector<uint8_t>{9}));
  }
  EXPECT_EQ(ReadAll(path).size(), 24u + 16u + 1u);
  std::remove(path.c_str());
}

TEST(PcapWriter, Errors) {
  auto w = PcapWriter::Create("/nonexistent-dir/x.pcap");
  ASSERT_FALSE(w.has_value());
  EXPECT_EQ(w.error().code, ErrorCode::kIo);
  EXPECT_EQ(
      w.error().message,
      "/nonexistent-dir/x.pcap: cannot create: No such file or directory");

  const std::string path = TempPath("errors.pcap");
  w = PcapWriter::Create(path);
  ASSERT_TRUE(w.has_value());
  // Seconds past 2^32 do not fit the 32-bit field.
  auto r = (*w)->Write(4'294'967'296ull * 1'000'000'000ull, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  ASSERT_TRUE((*w)->Close());
  EXPECT_TRUE((*w)->Close());  // closing twice is harmless
  r = (*w)->Write(0, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, path + ": write after close");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ctkit
