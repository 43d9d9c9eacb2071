// CaptureReader tests: files written by PcapWriter or byte by byte (other
// byte orders, microsecond timestamps, pcapng), read back through libpcap,
// and broken files whose errors must name the file and the offset.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "ctkit/capture.h"
#include "ctkit/decode.h"
#include "gen/packet_builder.h"
#include "gen/pcap_writer.h"
#include "gen/pcapng_builder.h"

namespace ctkit {
namespace {

std::string TempPath(const std::string& name) {
  return testing::TempDir() + "capture_reader_test_" +
         std::to_string(getpid()) + "_" + name;
}

void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void Le16(std::vector<uint8_t>* b, uint32_t v) {
  b->push_back(static_cast<uint8_t>(v));
  b->push_back(static_cast<uint8_t>(v >> 8));
}

void Le32(std::vector<uint8_t>* b, uint32_t v) {
  Le16(b, v & 0xffff);
  Le16(b, v >> 16);
}

void Be32(std::vector<uint8_t>* b, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    b->push_back(static_cast<uint8_t>(v >> shift));
  }
}

// Writes three UDP packets of 48, 58 and 68 bytes (raw IPv4) at t = 1 s,
// 1 s + 1 ns and 2 s + 999999999 ns.
void WriteThreePackets(const std::string& path) {
  auto w = PcapWriter::Create(path);
  ASSERT_TRUE(w.has_value()) << w.error().message;
  const Endpoints ep{Family::kIPv4, Ipv4(10, 0, 0, 1), Ipv4(10, 0, 0, 2), 1, 2};
  const uint64_t ts[3] = {1'000'000'000, 1'000'000'001, 2'999'999'999};
  for (uint32_t i = 0; i < 3; ++i) {
    std::vector<uint8_t> pkt;
    BuildUdp(ep, 20 + 10 * i, &pkt);
    ASSERT_TRUE((*w)->Write(ts[i], pkt));
  }
  ASSERT_TRUE((*w)->Close());
}

TEST(CaptureReader, RoundTripFromWriter) {
  const std::string path = TempPath("round.pcap");
  WriteThreePackets(path);
  auto r = CaptureReader::Open(path);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  CaptureReader& reader = **r;
  EXPECT_EQ(reader.file_size(), 24u + 3 * 16 + 48 + 58 + 68);
  EXPECT_EQ(reader.offset(), 24u);

  CaptureRecord rec{};
  ASSERT_TRUE(reader.Next(&rec));
  EXPECT_EQ(rec.ts_ns, 1'000'000'000u);
  EXPECT_EQ(rec.caplen, 48u);
  EXPECT_EQ(rec.wirelen, 48u);
  EXPECT_EQ(rec.link_type, linktype::kRaw);
  EXPECT_EQ(rec.file_offset, 24u);
  PacketView v{};
  ASSERT_EQ(DecodeFrame(rec.link_type, rec.data, rec.caplen, &v),
            DecodeStatus::kOk);
  EXPECT_EQ(v.l4_proto, 17);
  EXPECT_EQ(v.dst, Ipv4(10, 0, 0, 2));

  ASSERT_TRUE(reader.Next(&rec));
  EXPECT_EQ(rec.ts_ns, 1'000'000'001u);
  EXPECT_EQ(rec.caplen, 58u);
  EXPECT_EQ(rec.file_offset, 24u + 16 + 48);

  ASSERT_TRUE(reader.Next(&rec));
  EXPECT_EQ(rec.ts_ns, 2'999'999'999u);
  EXPECT_EQ(rec.file_offset, 24u + 2 * 16 + 48 + 58);
  EXPECT_EQ(reader.records_read(), 3u);

  EXPECT_FALSE(reader.Next(&rec));
  EXPECT_FALSE(reader.error().has_value());
  EXPECT_EQ(reader.offset(), reader.file_size());
  EXPECT_FALSE(reader.Next(&rec));  // stays at the end
  std::remove(path.c_str());
}

TEST(CaptureReader, SnaplenCutRecordKeepsWireLength) {
  const std::string path = TempPath("snap.pcap");
  {
    auto w = PcapWriter::Create(path, linktype::kEthernet, 34);
    ASSERT_TRUE(w.has_value());
    std::vector<uint8_t> ip, frame;
    BuildUdp({Family::kIPv4, Ipv4(1, 1, 1, 1), Ipv4(2, 2, 2, 2), 3, 4}, 100,
             &ip);
    WrapEthernet(ip, 0, &frame);
    ASSERT_TRUE((*w)->Write(5, frame));
  }
  auto r = CaptureReader::Open(path);
  ASSERT_TRUE(r.has_value());
  CaptureRecord rec{};
  ASSERT_TRUE((*r)->Next(&rec));
  EXPECT_EQ(rec.link_type, linktype::kEthernet);
  EXPECT_EQ(rec.caplen, 34u);
  EXPECT_EQ(rec.wirelen, 14u + 20 + 8 + 100);
  PacketView v{};
  ASSERT_EQ(DecodeFrame(rec.link_type, rec.data, rec.caplen, &v),
            DecodeStatus::kOk);
  EXPECT_EQ(v.l4_len, 108u);
  EXPECT_EQ(v.l4_caplen, 0u);
  std::remove(path.c_str());
}

TEST(CaptureReader, BigEndianMicrosecondFile) {
  // Classic magic 0xa1b2c3d4 written big-endian, LINKTYPE_RAW, one record
  // at 3 s + 250 us with 2 of 4 bytes captured.
  std::vector<uint8_t> b;
  Be32(&b, 0xa1b2c3d4);
  b.insert(b.end(), {0, 2, 0, 4});
  Be32(&b, 0);
  Be32(&b, 0);
  Be32(&b, 65535);
  Be32(&b, 101);
  Be32(&b, 3);
  Be32(&b, 250);
  Be32(&b, 2);
  Be32(&b, 4);
  b.insert(b.end(), {0x45, 0x00});
  const std::string path = TempPath("be.pcap");
  WriteBytes(path, b);
  auto r = CaptureReader::Open(path);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  CaptureRecord rec{};
  ASSERT_TRUE((*r)->Next(&rec));
  EXPECT_EQ(rec.ts_ns, 3'000'250'000u);
  EXPECT_EQ(rec.caplen, 2u);
  EXPECT_EQ(rec.wirelen, 4u);
  EXPECT_EQ(rec.link_type, 101u);
  EXPECT_EQ(rec.data[0], 0x45);
  EXPECT_FALSE((*r)->Next(&rec));
  EXPECT_FALSE((*r)->error().has_value());
  std::remove(path.c_str());
}

TEST(CaptureReader, TruncatedRecordDataNamesFileAndOffset) {
  const std::string path = TempPath("trunc_data.pcap");
  WriteThreePackets(path);
  std::vector<uint8_t> bytes = ReadAll(path);
  bytes.resize(bytes.size() - 10);  // cut the third record's data
  WriteBytes(path, bytes);

  auto r = CaptureReader::Open(path);
  ASSERT_TRUE(r.has_value());
  CaptureRecord rec{};
  ASSERT_TRUE((*r)->Next(&rec));
  ASSERT_TRUE((*r)->Next(&rec));
  EXPECT_FALSE((*r)->Next(&rec));
  ASSERT_TRUE((*r)->error().has_value());
  const Error& e = *(*r)->error();
  EXPECT_EQ(e.code, ErrorCode::kCorrupt);
  const std::string prefix =
      path + ": truncated capture at offset 162 after 2 records: ";
  EXPECT_EQ(e.message.substr(0, prefix.size()), prefix) << e.message;
  EXPECT_NE(e.message.find("truncated dump file"), std::string::npos)
      << e.message;
  EXPECT_EQ((*r)->records_read(), 2u);
  EXPECT_FALSE((*r)->Next(&rec));  // the error is sticky
  std::remove(path.c_str());
}

TEST(CaptureReader, TruncatedRecordHeaderNamesOffset) {
  const std::string path = TempPath("trunc_hdr.pcap");
  WriteThreePackets(path);
  std::vector<uint8_t> bytes = ReadAll(path);
  bytes.resize(24 + 16 + 48 + 5);  // 5 bytes of the second record header
  WriteBytes(path, bytes);

  auto r = CaptureReader::Open(path);
  ASSERT_TRUE(r.has_value());
  CaptureRecord rec{};
  ASSERT_TRUE((*r)->Next(&rec));
  EXPECT_FALSE((*r)->Next(&rec));
  ASSERT_TRUE((*r)->error().has_value());
  const std::string prefix =
      path + ": truncated capture at offset 88 after 1 records: ";
  EXPECT_EQ((*r)->error()->message.substr(0, prefix.size()), prefix)
      << (*r)->error()->message;
  std::remove(path.c_str());
}

TEST(CaptureReader, NotACaptureFile) {
  const std::string path = TempPath("text.pcap");
  const std::string text = "this is not a capture file at all\n";
  WriteBytes(path, std::vector<uint8_t>(text.begin(), text.end()));
  auto r = CaptureReader::Open(path);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
  EXPECT_EQ(r.error().message,
            path +
                ": not a pcap or pcapng capture file (libpcap: unknown file "
                "format)");
  std::remove(path.c_str());
}

TEST(CaptureReader, EmptyMissingAndDirectory) {
  const std::string path = TempPath("empty.pcap");
  WriteBytes(path, {});
  auto r = CaptureReader::Open(path);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
  EXPECT_EQ(r.error().message, path + ": empty file, not a capture");
  std::remove(path.c_str());

  r = CaptureReader::Open(path);  // now missing
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_EQ(r.error().message,
            path + ": cannot open: No such file or directory");

  r = CaptureReader::Open("/");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_EQ(r.error().message, "/: is a directory, not a capture file");
}

// pcapng blocks, little-endian, microsecond timestamps (no if_tsresol).
std::vector<uint8_t> SectionHeader() {
  std::vector<uint8_t> b;
  Le32(&b, 0x0a0d0d0a);
  Le32(&b, 28);
  Le32(&b, 0x1a2b3c4d);
  Le16(&b, 1);
  Le16(&b, 0);
  Le32(&b, 0xffffffff);  // section length unknown
  Le32(&b, 0xffffffff);
  Le32(&b, 28);
  return b;
}

void InterfaceBlock(std::vector<uint8_t>* b, uint32_t link_type) {
  Le32(b, 1);
  Le32(b, 20);
  Le16(b, link_type);
  Le16(b, 0);
  Le32(b, 65535);
  Le32(b, 20);
}

void PacketBlock(std::vector<uint8_t>* b, uint32_t interface, uint64_t ts_us,
                 const std::vector<uint8_t>& data) {
  const uint32_t padded = static_cast<uint32_t>((data.size() + 3) / 4 * 4);
  Le32(b, 6);
  Le32(b, 32 + padded);
  Le32(b, interface);
  Le32(b, static_cast<uint32_t>(ts_us >> 32));
  Le32(b, static_cast<uint32_t>(ts_us));
  Le32(b, static_cast<uint32_t>(data.size()));
  Le32(b, static_cast<uint32_t>(data.size()));
  b->insert(b->end(), data.begin(), data.end());
  b->resize(b->size() + padded - data.size(), 0);
  Le32(b, 32 + padded);
}

TEST(CaptureReader, PcapngSingleInterface) {
  std::vector<uint8_t> ip;
  BuildIcmpEcho(Family::kIPv4, Ipv4(1, 2, 3, 4), Ipv4(5, 6, 7, 8), true, 1, 1,
                &ip);
  std::vector<uint8_t> b = SectionHeader();
  InterfaceBlock(&b, linktype::kRaw);
  PacketBlock(&b, 0, 1'700'000'000'123'456ull, ip);
  const std::string path = TempPath("one.pcapng");
  WriteBytes(path, b);

  auto r = CaptureReader::Open(path);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  CaptureRecord rec{};
  ASSERT_TRUE((*r)->Next(&rec));
  EXPECT_EQ(rec.ts_ns, 1'700'000'000'123'456'000ull);
  EXPECT_EQ(rec.link_type, 101u);
  EXPECT_EQ(rec.caplen, 28u);
  EXPECT_EQ(rec.file_offset, 48u);  // the packet block, after SHB and IDB
  EXPECT_FALSE((*r)->Next(&rec));
  EXPECT_FALSE((*r)->error().has_value());
  std::remove(path.c_str());
}

TEST(CaptureReader, PcapngSecondInterfaceWithOtherLinkTypeStopsReading) {
  // libpcap 1.10 gives a pcapng file one link type, the first interface's:
  // a later interface of another type is an error at its block, after the
  // records before it were delivered.
  std::vector<uint8_t> ip;
  BuildIcmpEcho(Family::kIPv4, Ipv4(1, 2, 3, 4), Ipv4(5, 6, 7, 8), true, 1, 1,
                &ip);
  std::vector<uint8_t> frame;
  WrapEthernet(ip, 0, &frame);
  std::vector<uint8_t> b = SectionHeader();
  InterfaceBlock(&b, linktype::kEthernet);
  PacketBlock(&b, 0, 1, frame);
  const size_t second_idb = b.size();
  InterfaceBlock(&b, linktype::kRaw);
  PacketBlock(&b, 1, 2, ip);
  const std::string path = TempPath("two.pcapng");
  WriteBytes(path, b);

  auto r = CaptureReader::Open(path);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  CaptureRecord rec{};
  ASSERT_TRUE((*r)->Next(&rec));
  EXPECT_EQ(rec.link_type, linktype::kEthernet);
  EXPECT_FALSE((*r)->Next(&rec));
  ASSERT_TRUE((*r)->error().has_value());
  EXPECT_EQ((*r)->error()->message,
            path + ": unreadable record at offset " +
                std::to_string(second_idb) +
                " after 1 records: an interface has a type 101 different "
                "from the type of the first interface");
  std::remove(path.c_str());
}

// Which interface each packet came from, read beside libpcap (which does
// not tell): right for every record of a file much larger than the
// reader's buffers, with the interfaces' names, across a second section.
TEST(CaptureReader, PcapngRecordsCarryTheirInterface) {
  PcapngBuilder b;
  b.Section();
  // Ethernet: libpcap 1.10 refuses a second raw-IP interface (it compares
  // the file's LINKTYPE_RAW with its own DLT_RAW).
  b.Interface(linktype::kEthernet, "eth0");
  b.Interface(linktype::kEthernet, "eth1");
  b.Interface(linktype::kEthernet);
  std::vector<uint32_t> expected;
  const Endpoints ep{Family::kIPv4, Ipv4(10, 0, 0, 1), Ipv4(10, 0, 0, 2), 1, 2};
  for (uint32_t i = 0; i < 6000; ++i) {
    std::vector<uint8_t> ip, frame;
    BuildUdp(ep, 20 + i % 300, &ip);
    WrapEthernet(ip, 0, &frame);
    const uint32_t interface = i % 7 == 0 ? 2 : i % 3 == 0 ? 1 : 0;
    b.Packet(interface, 1'000'000'000ull + i, frame);
    expected.push_back(interface);
  }
  b.Section();  // numbering goes on: this section's 0 is interface 3
  b.Interface(linktype::kEthernet, "wan0");
  {
    std::vector<uint8_t> ip, frame;
    BuildUdp(ep, 20, &ip);
    WrapEthernet(ip, 0, &frame);
    b.Packet(0, 2'000'000'000ull, frame);
    b.SimplePacket(frame);
    expected.push_back(3);
    expected.push_back(3);
  }
  ASSERT_GT(b.bytes().size(), 1'000'000u);
  const std::string path = TempPath("many.pcapng");
  ASSERT_TRUE(b.WriteTo(path));

  auto r = CaptureReader::Open(path);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ((*r)->file_size(), b.bytes().size());
  const char* names[] = {"eth0", "eth1", "", "wan0"};
  CaptureRecord rec{};
  size_t n = 0;
  while ((*r)->Next(&rec)) {
    ASSERT_LT(n, expected.size());
    ASSERT_EQ(rec.interface_id, expected[n]) << "record " << n;
    ASSERT_EQ(rec.interface_name, names[expected[n]]) << "record " << n;
    ++n;
  }
  EXPECT_FALSE((*r)->error().has_value()) << (*r)->error()->message;
  EXPECT_EQ(n, expected.size());
  EXPECT_EQ((*r)->fraction_read(), 1.0);
  std::remove(path.c_str());
}

TEST(CaptureReader, ClassicPcapIsInterfaceZero) {
  const std::string path = TempPath("zero.pcap");
  WriteThreePackets(path);
  auto r = CaptureReader::Open(path);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  CaptureRecord rec{};
  rec.interface_id = 9;
  ASSERT_TRUE((*r)->Next(&rec));
  EXPECT_EQ(rec.interface_id, 0u);
  EXPECT_EQ(rec.interface_name, "");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ctkit
