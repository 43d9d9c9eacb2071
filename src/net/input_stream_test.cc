// Captures that are not plain files: gzip-compressed (known by the magic
// bytes, whatever the name), standard input, and broken gzip data, whose
// errors must name the file and say which offset they give.
#include "net/input_stream.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "ctkit/capture.h"
#include "ctkit/decode.h"
#include "gen/packet_builder.h"
#include "gen/pcap_writer.h"
#include "gen/pcapng_builder.h"

namespace ctkit {
namespace {

std::string TempPath(const std::string& name) {
  return testing::TempDir() + "input_stream_test_" + std::to_string(getpid()) +
         "_" + name;
}

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// gzip framing (RFC 1952) around deflate, as `gzip -c` writes it.
std::vector<uint8_t> Gzip(const std::vector<uint8_t>& in) {
  z_stream z{};
  EXPECT_EQ(
      deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
      Z_OK);
  std::vector<uint8_t> out(deflateBound(&z, static_cast<uLong>(in.size())));
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// A pcap of `n` UDP packets of different sizes, 1 ms apart.
std::vector<uint8_t> Capture(const std::string& path, int n) {
  auto w = PcapWriter::Create(path);
  EXPECT_TRUE(w.has_value());
  const Endpoints ep{Family::kIPv4, Ipv4(10, 0, 0, 1), Ipv4(10, 0, 0, 2), 1000,
                     53};
  for (int i = 0; i < n; ++i) {
    std::vector<uint8_t> pkt;
    BuildUdp(ep, static_cast<uint32_t>(10 + i % 200), &pkt);
    EXPECT_TRUE((*w)->Write(1'000'000'000ull * 1'700'000'000ull +
                                static_cast<uint64_t>(i) * 1'000'000,
                            pkt));
  }
  EXPECT_TRUE((*w)->Close());
  return ReadAll(path);
}

struct Rec {
  uint64_t ts, offset;
  std::vector<uint8_t> data;
  bool operator==(const Rec&) const = default;
};

std::vector<Rec> ReadRecords(CaptureReader* r) {
  std::vector<Rec> out;
  CaptureRecord rec{};
  while (r->Next(&rec)) {
    out.push_back({rec.ts_ns, rec.file_offset,
                   std::vector<uint8_t>(rec.data, rec.data + rec.caplen)});
  }
  return out;
}

TEST(InputStream, GzipFileReadsAsThePlainFileWithUncompressedOffsets) {
  const std::string plain = TempPath("p.pcap");
  const std::vector<uint8_t> bytes = Capture(plain, 3000);
  const std::string gz = TempPath("p.data");  // no .gz: the magic decides
  WriteBytes(gz, Gzip(bytes));

  auto a = CaptureReader::Open(plain);
  auto b = CaptureReader::Open(gz);
  ASSERT_TRUE(a.has_value()) << a.error().message;
  ASSERT_TRUE(b.has_value()) << b.error().message;
  const std::vector<Rec> ra = ReadRecords(a->get());
  const std::vector<Rec> rb = ReadRecords(b->get());
  ASSERT_EQ(ra.size(), 3000u);
  EXPECT_TRUE(ra == rb);
  EXPECT_FALSE((*b)->error().has_value());
  EXPECT_EQ((*b)->offset(), bytes.size());  // the uncompressed stream's end
  EXPECT_EQ((*b)->fraction_read(), 1.0);    // of the compressed file
  EXPECT_TRUE((*b)->reopenable());
  std::remove(plain.c_str());
  std::remove(gz.c_str());
}

TEST(InputStream, ConcatenatedGzipMembersReadAsOneStream) {
  // `cat a.gz b.gz` is one gzip file whose content is a's then b's.
  const std::string plain = TempPath("m.pcap");
  const std::vector<uint8_t> bytes = Capture(plain, 50);
  const size_t cut = 24 + 16 * 10 + 10;  // inside a record
  std::vector<uint8_t> gz =
      Gzip(std::vector<uint8_t>(bytes.begin(), bytes.begin() + cut));
  const std::vector<uint8_t> second =
      Gzip(std::vector<uint8_t>(bytes.begin() + cut, bytes.end()));
  gz.insert(gz.end(), second.begin(), second.end());
  const std::string path = TempPath("m.pcap.gz");
  WriteBytes(path, gz);
  auto r = CaptureReader::Open(path);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(ReadRecords(r->get()).size(), 50u);
  EXPECT_FALSE((*r)->error().has_value());
  std::remove(plain.c_str());
  std::remove(path.c_str());
}

TEST(InputStream, TruncatedGzipNamesFileAndUncompressedOffset) {
  const std::string plain = TempPath("t.pcap");
  const std::vector<uint8_t> bytes = Capture(plain, 2000);
  std::vector<uint8_t> gz = Gzip(bytes);
  gz.resize(gz.size() / 2);
  const std::string path = TempPath("t.pcap.gz");
  WriteBytes(path, gz);
  auto r = CaptureReader::Open(path);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const std::vector<Rec> recs = ReadRecords(r->get());
  EXPECT_GT(recs.size(), 0u);
  EXPECT_LT(recs.size(), 2000u);
  ASSERT_TRUE((*r)->error().has_value());
  const std::string& m = (*r)->error()->message;
  // The record that could not be completed starts where the last good one
  // ended.
  const uint64_t next = recs.back().offset + 16 + recs.back().data.size();
  EXPECT_EQ(m, path + ": truncated capture at offset " + std::to_string(next) +
                   " of the uncompressed stream after " +
                   std::to_string(recs.size()) +
                   " records: the gzip data ends early: the compressed file "
                   "ends at byte " +
                   std::to_string(gz.size()) + " inside a compressed block");
  std::remove(plain.c_str());
  std::remove(path.c_str());
}

TEST(InputStream, GzipWithBadChecksumIsCorrupt) {
  const std::string plain = TempPath("c.pcap");
  const std::vector<uint8_t> bytes = Capture(plain, 20);
  std::vector<uint8_t> gz = Gzip(bytes);
  gz[gz.size() - 8] ^= 0xff;  // the CRC-32 of the trailer (RFC 1952)
  const std::string path = TempPath("c.pcap.gz");
  WriteBytes(path, gz);
  auto r = CaptureReader::Open(path);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  // Every record is delivered; the end of the stream is where it fails.
  EXPECT_EQ(ReadRecords(r->get()).size(), 20u);
  ASSERT_TRUE((*r)->error().has_value());
  EXPECT_EQ((*r)->error()->message,
            path + ": unreadable record at offset " +
                std::to_string(bytes.size()) +
                " of the uncompressed stream after 20 records: corrupt gzip "
                "data at byte " +
                std::to_string(gz.size() - 4) +  // after the CRC
                " of the compressed file: incorrect data check");
  std::remove(plain.c_str());
  std::remove(path.c_str());
}

TEST(InputStream, GzipOfSomethingElseIsNotACapture) {
  const std::string path = TempPath("text.gz");
  const std::string text = "hello, this is not a capture\n";
  WriteBytes(path, Gzip(std::vector<uint8_t>(text.begin(), text.end())));
  auto r = CaptureReader::Open(path);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(
      r.error().message.rfind(
          path + ": not a pcap or pcapng capture (gzip-compressed data)", 0),
      0u)
      << r.error().message;
  WriteBytes(path, Gzip({}));
  r = CaptureReader::Open(path);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message,
            path + ": empty capture: the gzip data decompresses to nothing");
  std::remove(path.c_str());
}

TEST(InputStream, OtherCompressorsAreNamed) {
  const std::string path = TempPath("c.xz");
  WriteBytes(path, {0xfd, '7', 'z', 'X', 'Z', 0x00, 0, 0, 0, 0});
  auto r = CaptureReader::Open(path);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message.rfind(path + ": xz-compressed data", 0), 0u)
      << r.error().message;
  std::remove(path.c_str());
}

// Runs `fn` with standard input replaced by the read end of a pipe whose
// write end is `*write_fd` (closed by the caller or by fn).
template <class Fn>
void WithStdinPipe(int* write_fd, Fn&& fn) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  const int saved = dup(STDIN_FILENO);
  ASSERT_GE(saved, 0);
  ASSERT_EQ(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
  close(p[0]);
  *write_fd = p[1];
  fn();
  if (*write_fd >= 0) close(*write_fd);
  dup2(saved, STDIN_FILENO);
  close(saved);
}

void WriteFd(int fd, const uint8_t* data, size_t n) {
  while (n > 0) {
    const ssize_t w = write(fd, data, n);
    ASSERT_GT(w, 0);
    data += w;
    n -= static_cast<size_t>(w);
  }
}

TEST(InputStream, StdinPipeReadsRecordsWithOffsets) {
  const std::string plain = TempPath("s.pcap");
  const std::vector<uint8_t> bytes = Capture(plain, 500);
  auto a = CaptureReader::Open(plain);
  ASSERT_TRUE(a.has_value());
  const std::vector<Rec> expected = ReadRecords(a->get());
  int w = -1;
  WithStdinPipe(&w, [&] {
    std::thread writer([&] {
      WriteFd(w, bytes.data(), bytes.size());
      close(w);
    });
    auto r = CaptureReader::Open("-");
    std::vector<Rec> got;
    if (r) got = ReadRecords(r->get());
    writer.join();
    w = -1;
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_TRUE(got == expected);
    EXPECT_FALSE((*r)->error().has_value());
    EXPECT_FALSE((*r)->reopenable());
    EXPECT_LT((*r)->fraction_read(), 0.0);  // a pipe has no size
  });
  std::remove(plain.c_str());
}

// A pcapng of `n` Ethernet frames over interfaces "lan" and "wan" (and
// the interface of each, in order).
std::vector<uint8_t> TwoInterfaceCapture(uint32_t n,
                                         std::vector<uint32_t>* ids) {
  PcapngBuilder b;
  b.Section();
  b.Interface(linktype::kEthernet, "lan");
  b.Interface(linktype::kEthernet, "wan");
  const Endpoints ep{Family::kIPv4, Ipv4(10, 0, 0, 1), Ipv4(10, 0, 0, 2), 1000,
                     53};
  for (uint32_t i = 0; i < n; ++i) {
    std::vector<uint8_t> ip, frame;
    BuildUdp(ep, 10 + i % 200, &ip);
    WrapEthernet(ip, 0, &frame);
    const uint32_t id = (i / 5) % 2;
    b.Packet(id, 1'700'000'000'000'000'000ull + i, frame);
    ids->push_back(id);
  }
  return b.bytes();
}

std::vector<std::pair<uint32_t, std::string>> Interfaces(CaptureReader* r) {
  std::vector<std::pair<uint32_t, std::string>> out;
  CaptureRecord rec{};
  while (r->Next(&rec)) {
    out.emplace_back(rec.interface_id, std::string(rec.interface_name));
  }
  return out;
}

// The interface walk sees the bytes libpcap reads, however they arrive:
// inflated from gzip, or from a pipe.
TEST(InputStream, PcapngInterfacesFromGzipAndPipes) {
  std::vector<uint32_t> ids;
  const std::vector<uint8_t> bytes = TwoInterfaceCapture(4000, &ids);
  std::vector<std::pair<uint32_t, std::string>> expected;
  expected.reserve(ids.size());
  for (uint32_t id : ids) expected.emplace_back(id, id == 0 ? "lan" : "wan");

  const std::string gz = TempPath("two.pcapng.gz");
  WriteBytes(gz, Gzip(bytes));
  auto g = CaptureReader::Open(gz);
  ASSERT_TRUE(g.has_value()) << g.error().message;
  EXPECT_TRUE(Interfaces(g->get()) == expected);
  EXPECT_FALSE((*g)->error().has_value());
  std::remove(gz.c_str());

  int w = -1;
  WithStdinPipe(&w, [&] {
    std::thread writer([&] {
      WriteFd(w, bytes.data(), bytes.size());
      close(w);
    });
    auto r = CaptureReader::Open("-");
    std::vector<std::pair<uint32_t, std::string>> got;
    if (r) got = Interfaces(r->get());
    writer.join();
    w = -1;
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_TRUE(got == expected);
  });
}

TEST(InputStream, StopEndsAReadWaitingOnAQuietPipe) {
  const std::string plain = TempPath("q.pcap");
  const std::vector<uint8_t> bytes = Capture(plain, 3);
  std::atomic<bool> stop{false};
  int w = -1;
  WithStdinPipe(&w, [&] {
    // The header and the first record and a half; the writer stays open.
    WriteFd(w, bytes.data(), 24 + 16 + 38 + 20);
    auto r = CaptureReader::Open("-", &stop);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    CaptureRecord rec{};
    ASSERT_TRUE((*r)->Next(&rec));
    std::thread stopper([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      stop.store(true);
    });
    // Waits for the rest of the second record until the stop, then ends
    // cleanly: an interrupted record is not an error.
    EXPECT_FALSE((*r)->Next(&rec));
    stopper.join();
    EXPECT_FALSE((*r)->error().has_value());
    EXPECT_EQ((*r)->records_read(), 1u);
  });
  std::remove(plain.c_str());
}

TEST(InputStream, EmptyAndNonCaptureStdin) {
  int w = -1;
  WithStdinPipe(&w, [&] {
    close(w);
    w = -1;
    auto r = CaptureReader::Open("-");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().message, "stdin: empty input, not a capture");
  });
  WithStdinPipe(&w, [&] {
    const std::string text = "# a README, not a capture\n";
    WriteFd(w, reinterpret_cast<const uint8_t*>(text.data()), text.size());
    close(w);
    w = -1;
    auto r = CaptureReader::Open("-");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().message.rfind("stdin: not a pcap or pcapng capture", 0),
              0u)
        << r.error().message;
  });
}

}  // namespace
}  // namespace ctkit
