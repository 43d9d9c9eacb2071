// PcapngInterfaces: the walk that tells each pcapng packet's interface,
// fed as the input stream feeds it (whole, a byte at a time, in odd
// pieces), over files with several interfaces and sections.
#include "net/pcapng_interfaces.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ctkit/decode.h"
#include "gen/packet_builder.h"
#include "gen/pcapng_builder.h"

namespace ctkit::detail {
namespace {

std::vector<uint8_t> SomeIp(uint32_t payload) {
  std::vector<uint8_t> ip;
  const Endpoints ep{Family::kIPv4, Ipv4(10, 0, 0, 1), Ipv4(10, 0, 0, 2), 1000,
                     53};
  BuildUdp(ep, payload, &ip);
  return ip;
}

// Feeds `bytes` in pieces of `piece` bytes and pops every packet.
std::vector<uint32_t> Walk(const std::vector<uint8_t>& bytes, size_t piece,
                           PcapngInterfaces* w) {
  for (size_t at = 0; at < bytes.size(); at += piece) {
    w->Feed(bytes.data() + at, std::min(piece, bytes.size() - at));
  }
  std::vector<uint32_t> ids;
  for (uint32_t id = w->PopPacket(); id != PcapngInterfaces::kUnknown;
       id = w->PopPacket()) {
    ids.push_back(id);
  }
  return ids;
}

// A router captured on both sides (dumpcap -i eth0 -i eth1): every packet
// block names its interface; other blocks carry none.
TEST(PcapngInterfaces, EachPacketGetsTheInterfaceItsBlockNames) {
  PcapngBuilder b;
  b.Section();
  b.Interface(linktype::kRaw, "eth0");
  b.Interface(linktype::kRaw, "eth1");
  b.Packet(1, 10, SomeIp(10));
  b.Packet(0, 20, SomeIp(11));
  b.UnknownBlock(0x0badcafe, 7);
  b.SimplePacket(SomeIp(12));  // a simple block is on interface 0
  b.Packet(1, 30, SomeIp(13));
  for (size_t piece : {b.bytes().size(), size_t{1}, size_t{5}, size_t{13}}) {
    SCOPED_TRACE(piece);
    PcapngInterfaces w;
    EXPECT_EQ(Walk(b.bytes(), piece, &w), (std::vector<uint32_t>{1, 0, 0, 1}));
    EXPECT_EQ(w.interfaces(), 2u);
    EXPECT_EQ(w.name(0), "eth0");
    EXPECT_EQ(w.name(1), "eth1");
    EXPECT_EQ(w.name(2), "");
  }
}

// `cat a.pcapng b.pcapng` is one file of two sections, each numbering its
// interfaces from 0; the walk numbers them on, so a number means one
// interface in the whole file. The second section is big-endian.
TEST(PcapngInterfaces, SectionsNumberTheirInterfacesOn) {
  PcapngBuilder b;
  b.Section();
  b.Interface(linktype::kRaw, "lan");
  b.Interface(linktype::kRaw);  // no name
  b.Packet(1, 1, SomeIp(1));
  b.Section(/*big_endian=*/true);
  b.Interface(linktype::kRaw, "wan");
  b.Packet(0, 2, SomeIp(2));
  b.SimplePacket(SomeIp(3));
  PcapngInterfaces w;
  EXPECT_EQ(Walk(b.bytes(), 7, &w), (std::vector<uint32_t>{1, 2, 2}));
  EXPECT_EQ(w.name(0), "lan");
  EXPECT_EQ(w.name(1), "");
  EXPECT_EQ(w.name(2), "wan");
}

// A name that does not fit in what the walk reads of a block is cut, and
// the blocks after it are still followed.
TEST(PcapngInterfaces, LongNamesAreCutAndTheWalkGoesOn) {
  PcapngBuilder b;
  b.Section();
  const std::string longname(6000, 'x');
  b.Interface(linktype::kRaw, longname);
  b.Interface(linktype::kRaw, "short");
  b.Packet(1, 1, SomeIp(1));
  PcapngInterfaces w;
  EXPECT_EQ(Walk(b.bytes(), 1000, &w), (std::vector<uint32_t>{1}));
  EXPECT_GT(w.name(0).size(), 1000u);
  EXPECT_LT(w.name(0).size(), longname.size());
  EXPECT_EQ(w.name(1), "short");
}

TEST(PcapngInterfaces, ClassicPcapIsInterfaceZero) {
  std::vector<uint8_t> pcap = {0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0};
  pcap.resize(24 + 16 + 40, 0);
  PcapngInterfaces w;
  w.Feed(pcap.data(), pcap.size());
  EXPECT_EQ(w.PopPacket(), 0u);
  EXPECT_EQ(w.PopPacket(), 0u);
  EXPECT_EQ(w.name(0), "");
}

// What the walk cannot follow it does not guess: a packet on an interface
// never declared, and every packet after a broken block length, are
// kUnknown (libpcap stops at both with an error of its own).
TEST(PcapngInterfaces, UndeclaredInterfacesAndBrokenBlocksAreUnknown) {
  PcapngBuilder b;
  b.Section();
  b.Interface(linktype::kRaw, "eth0");
  b.Packet(3, 1, SomeIp(1));
  b.Packet(0, 2, SomeIp(2));
  std::vector<uint8_t> bytes = b.bytes();
  const std::vector<uint8_t> broken = {6, 0, 0, 0, 13, 0, 0, 0, 0, 0, 0, 0};
  bytes.insert(bytes.end(), broken.begin(), broken.end());
  PcapngBuilder more;
  more.Packet(0, 3, SomeIp(3));
  bytes.insert(bytes.end(), more.bytes().begin(), more.bytes().end());
  PcapngInterfaces w;
  w.Feed(bytes.data(), bytes.size());
  EXPECT_EQ(w.PopPacket(), PcapngInterfaces::kUnknown);  // interface 3
  EXPECT_EQ(w.PopPacket(), 0u);
  EXPECT_EQ(w.PopPacket(), PcapngInterfaces::kUnknown);  // nothing queued
}

}  // namespace
}  // namespace ctkit::detail
