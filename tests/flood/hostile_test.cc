// Hostile files and packets (issue 5 §3): the cases the existing decoder,
// reader, tracker and CLI tests did not cover yet. Each one must end as a
// counted reason (a DecodeStatus, an InvalidReason with its kernel counter)
// or a one-line error naming the file and the byte offset; never a crash, a
// hang or memory that grows with the input.
//
// Where each case of §3 is tested:
//   truncated captures          src/net/capture_reader_test.cc
//                                 TruncatedRecordData/HeaderNamesOffset;
//                               tests/cli/bad_input_cli_test.cc
//                                 TruncatedCaptureNamesFileAndOffset...,
//                                 CaptureCutInsideARecordHeader
//   wrong magic                 capture_reader_test NotACaptureFile;
//                               bad_input_cli_test WrongMagic, TextFile...
//   snaplen-cut packets         decode_test SnaplenCutKeepsClaimedLength,
//                                 Ipv6SnaplenCutAndPadding; capture_reader_
//                                 test SnaplenCutRecordKeepsWireLength;
//                               here: SnaplenCutHeadersAreCountedInvalid
//   absurd record lengths       here: AbsurdRecordLength*, RecordLonger...
//   pcapng unknown / malformed  here: Pcapng* (capture_reader_test has the
//                                 good files and a second link type)
//   zero-length, non-IP frames  decode_test EthernetTruncationAndNonIp;
//                               here: ZeroLengthFrames*, NonIpFrames...
//   IPv4 IHL < 5 / beyond len   decode_test BadIpv4Headers (IHL 4, total
//                                 length < header); here: Ipv4Header...
//   IPv6 ext chains loop/past   decode_test Ipv6BadChains (17 headers,
//                                 past the payload, past the capture);
//                               here: Ipv6ChainOfManyHopByHop...
//   TCP data offset out of range tcp_test TruncatedHeaderIsInvalid (the
//                                 tracker); here: TcpDataOffset... (engine)
//   ICMP errors in ICMP errors  here: IcmpErrorQuotingIcmpError...
//   fragments overlap / never   decode_test Ipv4Fragments, Ipv6Fragments;
//     complete                  here: FragmentsThatOverlapOrNeverComplete
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "ctkit/capture.h"
#include "ctkit/decode.h"
#include "ctkit/engine.h"
#include "gen/packet_builder.h"
#include "proto/tracker.h"
#include "testing/engine_test_util.h"

namespace ctkit::enginetest {
namespace {

// ---------------------------------------------------------------- files

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "hostile_test_" + std::to_string(getpid()) +
         "_" + name;
}

void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

void Le16(std::vector<uint8_t>* b, uint32_t v) {
  b->push_back(static_cast<uint8_t>(v));
  b->push_back(static_cast<uint8_t>(v >> 8));
}
void Le32(std::vector<uint8_t>* b, uint32_t v) {
  Le16(b, v & 0xffff);
  Le16(b, v >> 16);
}

/// A little-endian microsecond pcap header.
std::vector<uint8_t> PcapHeader(uint32_t linktype = linktype::kRaw,
                                uint32_t snaplen = 65535) {
  std::vector<uint8_t> b;
  Le32(&b, 0xa1b2c3d4);
  Le16(&b, 2);
  Le16(&b, 4);
  Le32(&b, 0);
  Le32(&b, 0);
  Le32(&b, snaplen);
  Le32(&b, linktype);
  return b;
}

void PcapRecord(std::vector<uint8_t>* b, uint32_t caplen, uint32_t wirelen,
                const std::vector<uint8_t>& data) {
  Le32(b, 1700000000);
  Le32(b, 0);
  Le32(b, caplen);
  Le32(b, wirelen);
  b->insert(b->end(), data.begin(), data.end());
}

/// One pcapng block: type, total length, body (padded to 4), length again.
void Block(std::vector<uint8_t>* b, uint32_t type,
           const std::vector<uint8_t>& body, int32_t length_fix = 0,
           bool bad_trailer = false) {
  std::vector<uint8_t> padded = body;
  while (padded.size() % 4 != 0) padded.push_back(0);
  uint32_t len = static_cast<uint32_t>(12 + padded.size());
  Le32(b, type);
  Le32(b, static_cast<uint32_t>(static_cast<int32_t>(len) + length_fix));
  b->insert(b->end(), padded.begin(), padded.end());
  Le32(b, bad_trailer ? len + 4 : len);
}

std::vector<uint8_t> Shb() {
  std::vector<uint8_t> body;
  Le32(&body, 0x1a2b3c4d);
  Le16(&body, 1);
  Le16(&body, 0);
  Le32(&body, 0xffffffff);  // section length -1
  Le32(&body, 0xffffffff);
  std::vector<uint8_t> b;
  Block(&b, 0x0a0d0d0a, body);
  return b;
}

std::vector<uint8_t> IdbBody(uint16_t linktype) {
  std::vector<uint8_t> body;
  Le16(&body, linktype);
  Le16(&body, 0);
  Le32(&body, 65535);
  return body;
}

std::vector<uint8_t> EpbBody(uint32_t interface,
                             const std::vector<uint8_t>& pkt,
                             uint32_t caplen_override = 0) {
  std::vector<uint8_t> body;
  Le32(&body, interface);
  Le32(&body, 0);
  Le32(&body, 1000);
  uint32_t caplen = caplen_override != 0 ? caplen_override
                                         : static_cast<uint32_t>(pkt.size());
  Le32(&body, caplen);
  Le32(&body, static_cast<uint32_t>(pkt.size()));
  body.insert(body.end(), pkt.begin(), pkt.end());
  return body;
}

std::vector<uint8_t> SomeUdp() {
  std::vector<uint8_t> pkt;
  BuildUdp(Ep4(Ipv4(10, 0, 0, 1), 1000, Ipv4(10, 0, 0, 2), 53), 12, &pkt);
  return pkt;
}

/// Reads a file to the end. Returns the records read; *error gets the
/// error message ("" at a clean end, "open: ..." when it would not open).
uint64_t ReadThrough(const std::string& path, std::string* error) {
  auto r = CaptureReader::Open(path);
  if (!r) {
    *error = "open: " + r.error().message;
    return 0;
  }
  CaptureRecord rec;
  uint64_t n = 0;
  while ((*r)->Next(&rec)) {
    ++n;
    PacketView v;
    (void)DecodeFrame(rec.link_type, rec.data, rec.caplen, &v);
    if (n > 1000) break;  // never more records than the test wrote
  }
  *error = (*r)->error() ? (*r)->error()->message : "";
  return n;
}

/// A one-line error that names the file and a byte offset.
::testing::AssertionResult NamesFileAndOffset(const std::string& msg,
                                              const std::string& path,
                                              const std::string& offset) {
  if (msg.find('\n') != std::string::npos) {
    return ::testing::AssertionFailure() << "more than one line: " << msg;
  }
  if (msg.find(path) == std::string::npos) {
    return ::testing::AssertionFailure() << "does not name the file: " << msg;
  }
  if (msg.find("offset " + offset) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "does not name offset " << offset << ": " << msg;
  }
  return ::testing::AssertionSuccess();
}

TEST(HostileFile, AbsurdRecordLengthIsAnErrorAtItsOffset) {
  const std::string path = TempPath("absurd.pcap");
  std::vector<uint8_t> b = PcapHeader();
  std::vector<uint8_t> pkt = SomeUdp();
  PcapRecord(&b, static_cast<uint32_t>(pkt.size()),
             static_cast<uint32_t>(pkt.size()), pkt);
  const size_t second = b.size();
  PcapRecord(&b, 0xfffffff0u, 0xfffffff0u, pkt);  // claims ~4 GiB
  WriteBytes(path, b);
  std::string err;
  EXPECT_EQ(ReadThrough(path, &err), 1u);
  EXPECT_TRUE(NamesFileAndOffset(err, path, std::to_string(second)));
  std::remove(path.c_str());
}

TEST(HostileFile, RecordLongerThanSnaplenOrWireIsHandled) {
  // caplen above the header's snaplen (but plausible) and caplen above the
  // wire length: read or refused with an offset, never a crash.
  const std::string path = TempPath("long.pcap");
  std::vector<uint8_t> b = PcapHeader(linktype::kRaw, 64);
  std::vector<uint8_t> pkt(200, 0x45);
  PcapRecord(&b, 200, 200, pkt);
  PcapRecord(&b, 200, 10, pkt);
  WriteBytes(path, b);
  std::string err;
  uint64_t n = ReadThrough(path, &err);
  EXPECT_LE(n, 2u);
  if (!err.empty()) {
    EXPECT_TRUE(NamesFileAndOffset(err, path, "24")) << err;
  }
  std::remove(path.c_str());
}

TEST(HostileFile, ZeroLengthRecordsAreReadAndSkipped) {
  const std::string path = TempPath("zero.pcap");
  std::vector<uint8_t> b = PcapHeader(linktype::kEthernet);
  for (int i = 0; i < 3; ++i) PcapRecord(&b, 0, 0, {});
  WriteBytes(path, b);
  auto r = CaptureReader::Open(path);
  ASSERT_TRUE(r.has_value());
  CaptureRecord rec;
  uint64_t n = 0;
  while ((*r)->Next(&rec)) {
    ++n;
    EXPECT_EQ(rec.caplen, 0u);
    PacketView v;
    EXPECT_EQ(DecodeFrame(rec.link_type, rec.data, rec.caplen, &v),
              DecodeStatus::kTruncatedLink);
  }
  EXPECT_EQ(n, 3u);
  EXPECT_FALSE((*r)->error().has_value());
  std::remove(path.c_str());
}

TEST(HostileFile, PcapngUnknownBlocksAreSkipped) {
  const std::string path = TempPath("unknown.pcapng");
  std::vector<uint8_t> b = Shb();
  Block(&b, 1, IdbBody(linktype::kRaw));
  Block(&b, 0x0badcafe, {1, 2, 3, 4, 5});  // unknown type
  Block(&b, 6, EpbBody(0, SomeUdp()));
  Block(&b, 0x00000bad, {});  // unknown, empty body
  Block(&b, 6, EpbBody(0, SomeUdp()));
  WriteBytes(path, b);
  std::string err;
  EXPECT_EQ(ReadThrough(path, &err), 2u);
  EXPECT_EQ(err, "");
  std::remove(path.c_str());
}

TEST(HostileFile, PcapngMalformedBlocksNameTheirOffset) {
  struct Case {
    const char* name;
    std::vector<uint8_t> bytes;
    size_t bad_offset;
  };
  std::vector<Case> cases;
  auto good_start = [] {
    std::vector<uint8_t> b = Shb();
    Block(&b, 1, IdbBody(linktype::kRaw));
    Block(&b, 6, EpbBody(0, SomeUdp()));
    return b;
  };
  {  // block length smaller than a block
    std::vector<uint8_t> b = good_start();
    size_t at = b.size();
    Le32(&b, 6);
    Le32(&b, 8);
    Le32(&b, 8);
    cases.push_back({"length below 12", b, at});
  }
  {  // block length not a multiple of 4
    std::vector<uint8_t> b = good_start();
    size_t at = b.size();
    Block(&b, 6, EpbBody(0, SomeUdp()), 2);
    cases.push_back({"length not a multiple of 4", b, at});
  }
  {  // block length past the end of the file
    std::vector<uint8_t> b = good_start();
    size_t at = b.size();
    Block(&b, 6, EpbBody(0, SomeUdp()), 4096);
    cases.push_back({"length past the end", b, at});
  }
  {  // trailing length differs from the leading one
    std::vector<uint8_t> b = good_start();
    size_t at = b.size();
    Block(&b, 6, EpbBody(0, SomeUdp()), 0, /*bad_trailer=*/true);
    cases.push_back({"trailer mismatch", b, at});
  }
  {  // a packet for an interface that was never described
    std::vector<uint8_t> b = good_start();
    size_t at = b.size();
    Block(&b, 6, EpbBody(7, SomeUdp()));
    cases.push_back({"unknown interface", b, at});
  }
  {  // captured length larger than the block
    std::vector<uint8_t> b = good_start();
    size_t at = b.size();
    Block(&b, 6, EpbBody(0, SomeUdp(), 4000));
    cases.push_back({"caplen beyond the block", b, at});
  }
  {  // absurd block length
    std::vector<uint8_t> b = good_start();
    size_t at = b.size();
    Le32(&b, 6);
    Le32(&b, 0xfffffff0u);
    Le32(&b, 0);
    cases.push_back({"length of 4 GiB", b, at});
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = TempPath("malformed.pcapng");
    WriteBytes(path, c.bytes);
    std::string err;
    EXPECT_EQ(ReadThrough(path, &err), 1u);  // the good packet first
    EXPECT_TRUE(NamesFileAndOffset(err, path, std::to_string(c.bad_offset)));
    std::remove(path.c_str());
  }
}

TEST(HostileFile, PcapngPacketBeforeAnyInterfaceIsAnError) {
  const std::string path = TempPath("noidb.pcapng");
  std::vector<uint8_t> b = Shb();
  Block(&b, 6, EpbBody(0, SomeUdp()));
  WriteBytes(path, b);
  std::string err;
  EXPECT_EQ(ReadThrough(path, &err), 0u);
  EXPECT_FALSE(err.empty());
  EXPECT_NE(err.find(path), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  std::remove(path.c_str());
}

// ---------------------------------------------------------------- frames

TEST(HostileFrame, ZeroLengthFramesOfEveryLinkType) {
  const uint8_t none[1] = {0};
  for (uint32_t lt : {linktype::kNull, linktype::kEthernet, linktype::kRaw,
                      linktype::kLoop, linktype::kLinuxSll, linktype::kIpv4,
                      linktype::kIpv6, linktype::kLinuxSll2}) {
    PacketView v;
    DecodeStatus st = DecodeFrame(lt, none, 0, &v);
    EXPECT_TRUE(st == DecodeStatus::kTruncatedLink ||
                st == DecodeStatus::kTruncatedIp)
        << "link type " << lt << ": " << DecodeStatusName(st);
  }
  PacketView v;
  EXPECT_EQ(DecodeIp(none, 0, &v), DecodeStatus::kTruncatedIp);
  EXPECT_EQ(DecodeIp(none, 0, &v, /*embedded=*/true),
            DecodeStatus::kTruncatedIp);
}

TEST(HostileFrame, NonIpFramesAreNotIp) {
  // ARP over Ethernet, a version-5 "IP" packet on a raw link, and a cooked
  // frame carrying IPX.
  std::vector<uint8_t> arp(42, 0);
  arp[12] = 0x08;
  arp[13] = 0x06;
  PacketView v;
  EXPECT_EQ(DecodeFrame(linktype::kEthernet, arp.data(), 42, &v),
            DecodeStatus::kNotIp);
  std::vector<uint8_t> v5 = SomeUdp();
  v5[0] = 0x55;
  DecodeStatus st = DecodeFrame(linktype::kRaw, v5.data(),
                                static_cast<uint32_t>(v5.size()), &v);
  EXPECT_TRUE(st == DecodeStatus::kNotIp || st == DecodeStatus::kBadIpHeader)
      << DecodeStatusName(st);
  std::vector<uint8_t> sll(16 + 30, 0);
  sll[14] = 0x81;
  sll[15] = 0x37;  // IPX
  EXPECT_EQ(DecodeFrame(linktype::kLinuxSll, sll.data(),
                        static_cast<uint32_t>(sll.size()), &v),
            DecodeStatus::kNotIp);
}

TEST(HostileFrame, Ipv4HeaderLengthBeyondTotalLength) {
  // IHL 6 (24 bytes) in a packet whose total length says 22, every byte
  // captured; and IHL 0..4.
  std::vector<uint8_t> p = SomeUdp();
  p.resize(40, 0);
  p[0] = 0x46;
  p[2] = 0;
  p[3] = 22;
  PacketView v;
  EXPECT_EQ(DecodeIp(p.data(), static_cast<uint32_t>(p.size()), &v),
            DecodeStatus::kBadIpHeader);
  for (uint8_t ihl = 0; ihl < 5; ++ihl) {
    std::vector<uint8_t> q = SomeUdp();
    q[0] = static_cast<uint8_t>(0x40 | ihl);
    EXPECT_EQ(DecodeIp(q.data(), static_cast<uint32_t>(q.size()), &v),
              DecodeStatus::kBadIpHeader)
        << "IHL " << int{ihl};
  }
}

TEST(HostileFrame, Ipv6ChainOfManyHopByHopHeadersIsBounded) {
  // 4000 extension headers of 8 bytes each, all "next = hop-by-hop": a
  // chain that would loop forever if followed without a limit.
  const uint32_t n = 4000;
  std::vector<uint8_t> p(40 + 8 * n, 0);
  p[0] = 0x60;
  uint32_t payload = 8 * n;
  p[4] = static_cast<uint8_t>(payload >> 8);
  p[5] = static_cast<uint8_t>(payload);
  p[6] = 0;  // hop-by-hop
  p[7] = 64;
  for (uint32_t i = 0; i < n; ++i) p[40 + 8 * i] = 0;  // next: hop-by-hop
  PacketView v;
  EXPECT_EQ(DecodeIp(p.data(), static_cast<uint32_t>(p.size()), &v),
            DecodeStatus::kBadIpv6ExtHeader);
  // Headers whose length runs past the packet.
  std::vector<uint8_t> q(48, 0);
  q[0] = 0x60;
  q[5] = 8;
  q[6] = 60;     // destination options
  q[40] = 17;    // next: UDP
  q[41] = 0xff;  // (255 + 1) * 8 bytes long
  EXPECT_EQ(DecodeIp(q.data(), static_cast<uint32_t>(q.size()), &v),
            DecodeStatus::kBadIpv6ExtHeader);
}

// ---------------------------------------------------------------- engine

TEST(HostilePacket, SnaplenCutHeadersAreCountedInvalid) {
  Harness h;
  Bytes tcp =
      Tcp(Ep4(Ipv4(10, 0, 0, 1), 1, Ipv4(10, 0, 0, 2), 2), 1, 0, tcpflag::kSyn);
  tcp.resize(20 + 12);  // the capture stops inside the TCP header
  PacketView v;
  ASSERT_EQ(DecodeIp(tcp.data(), static_cast<uint32_t>(tcp.size()), &v),
            DecodeStatus::kOk);
  EXPECT_EQ(h.engine().Process(v, AtNs(0)), Verdict::kInvalid);
  Bytes udp = Udp(Ep4(Ipv4(10, 0, 0, 1), 1, Ipv4(10, 0, 0, 2), 2));
  udp.resize(20 + 4);
  ASSERT_EQ(DecodeIp(udp.data(), static_cast<uint32_t>(udp.size()), &v),
            DecodeStatus::kOk);
  EXPECT_EQ(h.engine().Process(v, AtNs(0)), Verdict::kInvalid);
  EXPECT_EQ(h.stats().invalid, 2u);
  EXPECT_EQ(h.count(), 0u);
}

TEST(HostilePacket, TcpDataOffsetOutOfRangeIsCountedInvalid) {
  Harness h;
  const Endpoints ep = Ep4(Ipv4(10, 0, 0, 1), 1, Ipv4(10, 0, 0, 2), 2);
  for (int doff : {0, 1, 4, 6, 15}) {
    Bytes p = Tcp(ep, 1, 0, tcpflag::kSyn);
    p[20 + 12] = static_cast<uint8_t>(doff << 4);
    EXPECT_EQ(h.Send(p, 0), Verdict::kInvalid) << "data offset " << doff;
  }
  EXPECT_EQ(h.stats().invalid, 5u);
  EXPECT_EQ(h.counters()
                .invalid_by_reason[static_cast<int>(InvalidReason::kTcpHeader)],
            5u);
  EXPECT_EQ(h.count(), 0u);
}

TEST(HostilePacket, IcmpErrorQuotingIcmpErrorIsAnError) {
  Harness h;
  const Endpoints ep = Ep4(Ipv4(10, 0, 0, 1), 1000, Ipv4(10, 0, 0, 2), 53);
  const Bytes udp = Udp(ep);
  ASSERT_EQ(h.Send(udp, 0), Verdict::kNew);
  // A port-unreachable for the flow, then errors quoting errors, 1..20
  // levels deep (the quote of each is cut as a router would cut it).
  Bytes quoted = udp;
  for (int depth = 1; depth <= 20; ++depth) {
    Bytes err = IcmpError(Family::kIPv4, Ipv4(10, 0, 0, 9), Ipv4(10, 0, 0, 1),
                          3, 3, quoted);
    Verdict v = h.Send(err, depth);
    if (depth == 1) {
      EXPECT_EQ(v, Verdict::kRelated);  // the genuine error
    } else {
      EXPECT_EQ(v, Verdict::kInvalid) << "depth " << depth;
    }
    quoted = err;
  }
  EXPECT_EQ(h.stats().error, 19u);
  EXPECT_EQ(h.count(), 1u);
  // The same over IPv6.
  const Endpoints ep6 = Ep6(V6("2001:db8::1"), 1000, V6("2001:db8::2"), 53);
  const Bytes udp6 = Udp(ep6);
  ASSERT_EQ(h.Send(udp6, 30), Verdict::kNew);
  Bytes err1 = IcmpError(Family::kIPv6, V6("2001:db8::9"), V6("2001:db8::1"), 1,
                         4, udp6);
  EXPECT_EQ(h.Send(err1, 30), Verdict::kRelated);
  Bytes err2 = IcmpError(Family::kIPv6, V6("2001:db8::9"), V6("2001:db8::1"), 1,
                         4, err1);
  EXPECT_EQ(h.Send(err2, 30), Verdict::kInvalid);
}

TEST(HostilePacket, FragmentsThatOverlapOrNeverComplete) {
  // The engine does not reassemble (a Reassembler in front of it does:
  // ctkit/defrag.h, docs/design.md); given fragments directly, it tracks a
  // first fragment as the packet, and the decoder stops the others as
  // non-first-fragment. So fragments
  // that never complete or overlap hold no memory: 100000 first fragments
  // that never see their rest, from distinct flows, keep the count at max;
  // overlapping later fragments are skipped, each with the same reason.
  Tunables t;
  t.max = 1024;
  t.buckets = 1024;
  Harness h(t);
  uint64_t skipped = 0;
  for (uint32_t i = 0; i < 100000; ++i) {
    Bytes p = Udp(Ep4(Ipv4(0x0a000000u | i), static_cast<uint16_t>(i),
                      Ipv4(10, 255, 0, 1), 53),
                  64);
    p[4] = static_cast<uint8_t>(i >> 8);  // IP id
    p[5] = static_cast<uint8_t>(i);
    p[6] = 0x20;  // MF, offset 0: more is promised and never comes
    PacketView v;
    ASSERT_EQ(DecodeIp(p.data(), static_cast<uint32_t>(p.size()), &v),
              DecodeStatus::kOk);
    EXPECT_TRUE(v.is_fragment && v.first_fragment);
    h.engine().Process(v, AtNs(0.0001 * i));
    ASSERT_LE(h.count(), t.max);
    // Two overlapping non-first fragments of the same datagram.
    for (int off : {1, 2}) {
      Bytes q = p;
      q[6] = 0x20;
      q[7] = static_cast<uint8_t>(off);  // 8 and 16: overlapping
      if (DecodeIp(q.data(), static_cast<uint32_t>(q.size()), &v) ==
          DecodeStatus::kNonFirstFragment) {
        ++skipped;
      }
    }
  }
  EXPECT_EQ(skipped, 200000u);
  // Full (early drop may have taken a whole chain just before the end).
  EXPECT_LE(h.count(), t.max);
  EXPECT_GE(h.count(), t.max - 16);
  std::string why;
  EXPECT_TRUE(h.engine().CheckInvariants(&why)) << why;
  // Overlapping first fragments of one datagram are the same flow.
  Tunables t2;
  Harness h2(t2);
  Bytes a = Udp(Ep4(Ipv4(10, 0, 0, 1), 7, Ipv4(10, 0, 0, 2), 7), 64);
  a[6] = 0x20;
  PacketView v;
  ASSERT_EQ(DecodeIp(a.data(), static_cast<uint32_t>(a.size()), &v),
            DecodeStatus::kOk);
  EXPECT_EQ(h2.engine().Process(v, AtNs(0)), Verdict::kNew);
  EXPECT_EQ(h2.engine().Process(v, AtNs(0)), Verdict::kNew);  // unreplied
  EXPECT_EQ(h2.count(), 1u);
}

}  // namespace
}  // namespace ctkit::enginetest
