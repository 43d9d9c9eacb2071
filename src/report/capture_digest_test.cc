// Sha256 against the FIPS 180-2 / NIST example vectors, and CaptureDigest:
// the same packets stored differently give the same digest; any change to a
// packet, its time or the order gives another.
#include "report/capture_digest.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gen/pcap_writer.h"

namespace ctkit {
namespace {

std::string Hash(const std::string& s, size_t chunk = SIZE_MAX) {
  Sha256 h;
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  for (size_t i = 0; i < s.size(); i += chunk) {
    h.Update(p + i, std::min(chunk, s.size() - i));
  }
  return h.HexDigest();
}

TEST(Sha256, NistVectors) {
  EXPECT_EQ(Hash(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 56 bytes: the length no longer fits the first block's padding.
  const std::string two_blocks =
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(Hash(two_blocks),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1000000, 'a');
  EXPECT_EQ(Hash(million),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, SplitUpdatesGiveTheSameDigest) {
  const std::string two_blocks =
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  for (size_t chunk : {1u, 3u, 55u, 63u, 64u, 65u}) {
    EXPECT_EQ(
        Hash(two_blocks, chunk),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        << chunk;
  }
  Sha256 h;
  h.Update(reinterpret_cast<const uint8_t*>("ab"), 2);
  (void)h.Digest();  // reading the digest does not end the stream
  h.Update(reinterpret_cast<const uint8_t*>("c"), 1);
  EXPECT_EQ(h.HexDigest(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

std::string TempPath(const std::string& name) {
  return testing::TempDir() + "capture_digest_test_" +
         std::to_string(getpid()) + "_" + name;
}

struct Pkt {
  uint64_t ts_ns;
  std::vector<uint8_t> bytes;
};

std::vector<Pkt> Packets() {
  return {{1'700'000'000'000'001'000ull, {0x45, 0, 0, 20, 1, 2, 3}},
          {1'700'000'000'500'000'000ull, {0x45, 0, 0, 20, 9, 8, 7, 6}},
          {1'700'000'002'000'000'000ull, {0x60, 0, 0, 0}}};
}

void WriteNs(const std::string& path, const std::vector<Pkt>& pkts) {
  auto w = PcapWriter::Create(path);
  ASSERT_TRUE(w.has_value()) << w.error().message;
  for (const Pkt& p : pkts) ASSERT_TRUE((*w)->Write(p.ts_ns, p.bytes));
  ASSERT_TRUE((*w)->Close());
}

// The classic format, big-endian, microsecond stamps, LINKTYPE_RAW.
void WriteBigEndianUs(const std::string& path, const std::vector<Pkt>& pkts) {
  std::vector<uint8_t> b;
  auto be32 = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
  };
  be32(0xa1b2c3d4);
  b.insert(b.end(), {0, 2, 0, 4});
  be32(0);
  be32(0);
  be32(65535);
  be32(101);
  for (const Pkt& p : pkts) {
    be32(static_cast<uint32_t>(p.ts_ns / 1000000000));
    be32(static_cast<uint32_t>(p.ts_ns % 1000000000 / 1000));
    be32(static_cast<uint32_t>(p.bytes.size()));
    be32(static_cast<uint32_t>(p.bytes.size()));
    b.insert(b.end(), p.bytes.begin(), p.bytes.end());
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()),
            static_cast<std::streamsize>(b.size()));
}

struct Read {
  uint64_t packets = 0;
  std::string hex;
};

Read DigestOf(const std::string& path) {
  CaptureDigest d;
  auto r = CaptureReader::Open(path);
  EXPECT_TRUE(r.has_value()) << r.error().message;
  if (!r) return {};
  CaptureRecord rec{};
  while ((*r)->Next(&rec)) d.Add(rec);
  std::remove(path.c_str());
  return {d.packets(), d.Hex()};
}

TEST(CaptureDigest, SamePacketsInAnotherFormatGiveTheSameDigest) {
  const std::string a = TempPath("ns.pcap"), b = TempPath("be_us.pcap");
  WriteNs(a, Packets());
  WriteBigEndianUs(b, Packets());
  Read da = DigestOf(a), db = DigestOf(b);
  EXPECT_EQ(da.packets, 3u);
  EXPECT_EQ(db.packets, 3u);
  EXPECT_EQ(da.hex, db.hex);
  EXPECT_EQ(da.hex.size(), 64u);
}

TEST(CaptureDigest, AnyChangeGivesAnotherDigest) {
  const std::string base_path = TempPath("base.pcap");
  WriteNs(base_path, Packets());
  const std::string base = DigestOf(base_path).hex;

  std::vector<Pkt> byte = Packets();
  byte[1].bytes[5] ^= 1;
  std::vector<Pkt> time = Packets();
  time[2].ts_ns += 1;
  std::vector<Pkt> order = Packets();
  std::swap(order[0], order[1]);
  std::vector<Pkt> fewer = Packets();
  fewer.pop_back();
  for (const auto& [name, pkts] :
       std::vector<std::pair<std::string, std::vector<Pkt>>>{
           {"byte", byte},
           {"time", time},
           {"order", order},
           {"fewer", fewer}}) {
    const std::string p = TempPath(name + ".pcap");
    WriteNs(p, pkts);
    EXPECT_NE(DigestOf(p).hex, base) << name;
  }
}

}  // namespace
}  // namespace ctkit
