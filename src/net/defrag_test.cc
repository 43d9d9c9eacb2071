// The reassembler's stories. Each expected value is what the kernel's
// defragmentation did with the same fragments in kernel-replay's router
// (docs/kernel-model.md §14): which fragment completes a datagram, the
// length it is tracked with, what duplicates and overlaps do, the timeouts
// and the memory budget.
#include "ctkit/defrag.h"

#include <gtest/gtest.h>

#include <vector>

#include "ctkit/decode.h"
#include "gen/packet_builder.h"

namespace ctkit {
namespace {

using Bytes = std::vector<uint8_t>;
constexpr uint64_t kS = 1000000000ull;
constexpr uint64_t kT0 = 1700000000ull * kS;

Address A4(uint8_t last) { return Ipv4(10, 1, 0, last); }
Address B4() { return Ipv4(10, 2, 0, 2); }
Address A6() {
  Family f = Family::kIPv6;
  return *ParseAddress("2001:db8:1::2", &f);
}
Address B6() {
  Family f = Family::kIPv6;
  return *ParseAddress("2001:db8:2::2", &f);
}

// A UDP datagram with `payload` bytes of data (1200: 1228 bytes over IPv4,
// 1248 over IPv6, as in the kernel probes).
Bytes Udp(Family fam, uint16_t sport, uint32_t payload) {
  Bytes b;
  Endpoints ep = fam == Family::kIPv4 ? Endpoints{fam, A4(2), B4(), sport, 53}
                                      : Endpoints{fam, A6(), B6(), sport, 53};
  BuildUdp(ep, payload, &b);
  return b;
}

Bytes Frag(const Bytes& whole, uint32_t from, uint32_t to, uint32_t id) {
  Bytes b;
  EXPECT_GT(BuildFragment(whole, from, to, id, &b), 0u);
  return b;
}

// The thirds the probes used: [0,488) [488,976) [976,1208).
struct Thirds {
  Bytes f[3];
  Thirds(const Bytes& whole, uint32_t id) {
    const uint32_t end =
        static_cast<uint32_t>(whole.size() - ((whole[0] >> 4) == 6 ? 40 : 20));
    f[0] = Frag(whole, 0, 488, id);
    f[1] = Frag(whole, 488, 976, id);
    f[2] = Frag(whole, 976, end, id);
  }
};

class Defrag : public ::testing::Test {
 protected:
  void SetUp() override { Make(DefragOptions{}); }
  void Make(const DefragOptions& o) {
    auto r = Reassembler::Create(o);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    r_ = std::move(*r);
  }
  DefragResult Add(const Bytes& p, double at_s = 0) {
    return r_->Add(p.data(), static_cast<uint32_t>(p.size()),
                   kT0 + static_cast<uint64_t>(at_s * 1e9));
  }
  DefragOutcome Outcome(const Bytes& p, double at_s = 0) {
    return Add(p, at_s).outcome;
  }
  const DefragCounters& c() const { return r_->counters(); }
  uint64_t Failed(DefragFailure f) const {
    return c().failed[static_cast<int>(f)];
  }
  std::unique_ptr<Reassembler> r_;
};

TEST_F(Defrag, WholePacketsAreNotFragments) {
  EXPECT_EQ(Outcome(Udp(Family::kIPv4, 5000, 40)), DefragOutcome::kNotFragment);
  EXPECT_EQ(Outcome(Udp(Family::kIPv6, 5000, 40)), DefragOutcome::kNotFragment);
  // An IPv6 atomic fragment (offset 0, no more) is a whole packet.
  Bytes whole = Udp(Family::kIPv6, 5000, 40);
  EXPECT_EQ(Outcome(Frag(whole, 0, 48, 9)), DefragOutcome::kNotFragment);
  EXPECT_EQ(c().fragments, 0u);
}

TEST_F(Defrag, Ipv4DatagramCompletesOnItsLastFragmentWithItsFullLength) {
  // Three fragments in order: the kernel showed one packet, 1228 bytes
  // (the accounting counted 1228), when the third arrived.
  Bytes whole = Udp(Family::kIPv4, 5000, 1200);
  Thirds t(whole, 1);
  EXPECT_EQ(Outcome(t.f[0]), DefragOutcome::kHeld);
  EXPECT_EQ(Outcome(t.f[1]), DefragOutcome::kHeld);
  DefragResult r = Add(t.f[2]);
  ASSERT_EQ(r.outcome, DefragOutcome::kComplete);
  ASSERT_EQ(r.datagram_len, 1228u);
  PacketView v;
  ASSERT_EQ(DecodeIp(r.datagram, r.datagram_len, &v), DecodeStatus::kOk);
  EXPECT_FALSE(v.is_fragment);
  EXPECT_EQ(v.ip_len, 1228u);
  EXPECT_EQ(v.l4_proto, ipproto::kUdp);
  // The bytes are the datagram's, header fields aside.
  EXPECT_TRUE(std::equal(whole.begin() + 20, whole.end(), r.datagram + 20));
  EXPECT_EQ(c().datagrams, 1u);
  EXPECT_EQ(c().in_datagrams, 3u);
  EXPECT_EQ(c().held_fragments, 0u);
  EXPECT_EQ(c().charged_bytes, 0u);
}

TEST_F(Defrag, Ipv6DatagramLosesItsFragmentHeader) {
  // The kernel tracked 1248 bytes: 40 + 1208, no fragment header.
  Bytes whole = Udp(Family::kIPv6, 5000, 1200);
  Thirds t(whole, 1);
  EXPECT_EQ(Outcome(t.f[0]), DefragOutcome::kHeld);
  EXPECT_EQ(Outcome(t.f[1]), DefragOutcome::kHeld);
  DefragResult r = Add(t.f[2]);
  ASSERT_EQ(r.outcome, DefragOutcome::kComplete);
  ASSERT_EQ(r.datagram_len, 1248u);
  EXPECT_TRUE(std::equal(whole.begin(), whole.end(), r.datagram));
}

TEST_F(Defrag, OutOfOrderCompletesOnTheLastToArrive) {
  Thirds a(Udp(Family::kIPv4, 5001, 1200), 2);
  EXPECT_EQ(Outcome(a.f[2]), DefragOutcome::kHeld);
  EXPECT_EQ(Outcome(a.f[0]), DefragOutcome::kHeld);
  EXPECT_EQ(Outcome(a.f[1]), DefragOutcome::kComplete);
  Thirds b(Udp(Family::kIPv6, 5001, 1200), 4);
  EXPECT_EQ(Outcome(b.f[2]), DefragOutcome::kHeld);
  EXPECT_EQ(Outcome(b.f[1]), DefragOutcome::kHeld);
  EXPECT_EQ(Outcome(b.f[0]), DefragOutcome::kComplete);
}

TEST_F(Defrag, InterleavedDatagramsAreKeptApart) {
  Thirds a(Udp(Family::kIPv4, 5003, 1200), 3);
  Thirds b(Udp(Family::kIPv4, 5004, 1200), 4);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(Outcome(a.f[i]), DefragOutcome::kHeld);
    EXPECT_EQ(Outcome(b.f[i]), DefragOutcome::kHeld);
  }
  EXPECT_EQ(Outcome(a.f[2]), DefragOutcome::kComplete);
  EXPECT_EQ(Outcome(b.f[2]), DefragOutcome::kComplete);
}

TEST_F(Defrag, DuplicatesAreIgnored) {
  // f0 f0 f1 f2 f2: complete on the first f2; the second f2 then starts
  // nothing the kernel tracked (it waits, alone, until it times out).
  Thirds t(Udp(Family::kIPv4, 5020, 1200), 5);
  EXPECT_EQ(Outcome(t.f[0]), DefragOutcome::kHeld);
  EXPECT_EQ(Outcome(t.f[0]), DefragOutcome::kDuplicate);
  EXPECT_EQ(Outcome(t.f[1]), DefragOutcome::kHeld);
  EXPECT_EQ(Outcome(t.f[2]), DefragOutcome::kComplete);
  EXPECT_EQ(Outcome(t.f[2]), DefragOutcome::kHeld);
  EXPECT_EQ(c().duplicates, 1u);
  EXPECT_EQ(c().held_datagrams, 1u);
  r_->AdvanceTo(kT0 + 30 * kS);
  EXPECT_EQ(Failed(DefragFailure::kTimeout), 1u);
  EXPECT_EQ(c().held_datagrams, 0u);
}

TEST_F(Defrag, AFragmentInsideOneHeldFragmentIsADuplicate) {
  // [0,488) [8,480) [488,976) [976,end): the kernel tracked the datagram.
  for (Family fam : {Family::kIPv4, Family::kIPv6}) {
    Bytes whole = Udp(fam, 5031, 1200);
    Thirds t(whole, 8);
    EXPECT_EQ(Outcome(t.f[0]), DefragOutcome::kHeld);
    EXPECT_EQ(Outcome(Frag(whole, 8, 480, 8)), DefragOutcome::kDuplicate);
    EXPECT_EQ(Outcome(t.f[1]), DefragOutcome::kHeld);
    EXPECT_EQ(Outcome(t.f[2]), DefragOutcome::kComplete);
  }
}

TEST_F(Defrag, APartialOverlapGivesTheDatagramUp) {
  // [0,488) [400,976) [976,end): the kernel tracked nothing, IPv4 and
  // IPv6 alike; the last fragment then waits alone.
  for (Family fam : {Family::kIPv4, Family::kIPv6}) {
    Bytes whole = Udp(fam, 5030, 1200);
    EXPECT_EQ(Outcome(Frag(whole, 0, 488, 7)), DefragOutcome::kHeld);
    EXPECT_EQ(Outcome(Frag(whole, 400, 976, 7)), DefragOutcome::kDropped);
    EXPECT_EQ(Outcome(Frag(whole, 976, 1208, 7)), DefragOutcome::kHeld);
  }
  EXPECT_EQ(Failed(DefragFailure::kOverlap), 4u);
  EXPECT_EQ(c().failed_datagrams[static_cast<int>(DefragFailure::kOverlap)],
            2u);
  // IPv6: after the overlap, the same id sent whole again is tracked (the
  // last fragment already waiting joins it as a duplicate).
  Thirds again(Udp(Family::kIPv6, 5030, 1200), 7);
  EXPECT_EQ(Outcome(again.f[0]), DefragOutcome::kHeld);
  EXPECT_EQ(Outcome(again.f[1]), DefragOutcome::kComplete);
}

TEST_F(Defrag, ASpanIsADuplicateInsideARunBuiltInOrderAndAnOverlapAcrossTwo) {
  // In order [0,488) [488,976) then [400,600): tracked. Out of order
  // [488,976) [0,488) then [400,600): not tracked.
  Bytes w1 = Udp(Family::kIPv4, 5040, 1200);
  EXPECT_EQ(Outcome(Frag(w1, 0, 488, 11)), DefragOutcome::kHeld);
  EXPECT_EQ(Outcome(Frag(w1, 488, 976, 11)), DefragOutcome::kHeld);
  EXPECT_EQ(Outcome(Frag(w1, 400, 600, 11)), DefragOutcome::kDuplicate);
  EXPECT_EQ(Outcome(Frag(w1, 976, 1208, 11)), DefragOutcome::kComplete);
  Bytes w2 = Udp(Family::kIPv4, 5041, 1200);
  EXPECT_EQ(Outcome(Frag(w2, 488, 976, 12)), DefragOutcome::kHeld);
  EXPECT_EQ(Outcome(Frag(w2, 0, 488, 12)), DefragOutcome::kHeld);
  EXPECT_EQ(Outcome(Frag(w2, 400, 600, 12)), DefragOutcome::kDropped);
  EXPECT_EQ(Failed(DefragFailure::kOverlap), 3u);
}

TEST_F(Defrag, ASupersetOfAHeldFragmentIsAnOverlap) {
  Bytes w = Udp(Family::kIPv4, 5042, 1200);
  EXPECT_EQ(Outcome(Frag(w, 0, 488, 13)), DefragOutcome::kHeld);
  EXPECT_EQ(Outcome(Frag(w, 0, 976, 13)), DefragOutcome::kDropped);
  EXPECT_EQ(Failed(DefragFailure::kOverlap), 2u);
}

TEST_F(Defrag, TwoLastFragmentsWithDifferentEndsGiveTheDatagramUp) {
  Bytes w = Udp(Family::kIPv4, 5043, 1200);
  EXPECT_EQ(Outcome(Frag(w, 0, 488, 14)), DefragOutcome::kHeld);
  EXPECT_EQ(Outcome(Frag(w, 976, 1208, 14)), DefragOutcome::kHeld);
  // A second "last" fragment at offset 976 ending at 1056.
  Bytes short_last = Frag(w, 976, 1208, 14);
  short_last.resize(20 + 80);
  short_last[2] = 0;
  short_last[3] = 100;
  EXPECT_EQ(Outcome(short_last), DefragOutcome::kDropped);
  EXPECT_EQ(Failed(DefragFailure::kInconsistent), 3u);
  EXPECT_EQ(Outcome(Frag(w, 488, 976, 14)), DefragOutcome::kHeld);
}

TEST_F(Defrag, TheTimeoutCountsFromTheFirstFragmentAndIsNotRefreshed) {
  // nf_conntrack_frag6_timeout=3; fragments at 0, 2 and 4 s: the kernel
  // gave the datagram up at 3 s, the third fragment started a new one.
  DefragOptions o;
  o.ipv6.timeout_s = 3;
  Make(o);
  Thirds v6(Udp(Family::kIPv6, 5060, 1200), 1);
  Thirds v4(Udp(Family::kIPv4, 5060, 1200), 1);
  EXPECT_EQ(Outcome(v4.f[0], 0), DefragOutcome::kHeld);
  EXPECT_EQ(Outcome(v6.f[0], 0), DefragOutcome::kHeld);
  EXPECT_EQ(Outcome(v4.f[1], 2), DefragOutcome::kHeld);
  EXPECT_EQ(Outcome(v6.f[1], 2), DefragOutcome::kHeld);
  // IPv4 (30 s) completes at 4 s; IPv6's ran out at 3 s.
  EXPECT_EQ(Outcome(v4.f[2], 4), DefragOutcome::kComplete);
  EXPECT_EQ(Outcome(v6.f[2], 4), DefragOutcome::kHeld);
  EXPECT_EQ(Failed(DefragFailure::kTimeout), 2u);
  EXPECT_EQ(c().failed_datagrams[static_cast<int>(DefragFailure::kTimeout)],
            1u);
}

TEST_F(Defrag, DefaultTimeoutsAre30sForIpv4And60sForIpv6) {
  Thirds v4(Udp(Family::kIPv4, 5061, 1200), 2);
  Thirds v6(Udp(Family::kIPv6, 5061, 1200), 2);
  EXPECT_EQ(Outcome(v4.f[0], 0), DefragOutcome::kHeld);
  EXPECT_EQ(Outcome(v6.f[0], 0), DefragOutcome::kHeld);
  r_->AdvanceTo(kT0 + 30 * kS - 1);
  EXPECT_EQ(c().held_datagrams, 2u);
  r_->AdvanceTo(kT0 + 30 * kS);
  EXPECT_EQ(c().held_datagrams, 1u);
  r_->AdvanceTo(kT0 + 60 * kS);
  EXPECT_EQ(c().held_datagrams, 0u);
  EXPECT_EQ(Failed(DefragFailure::kTimeout), 2u);
}

TEST_F(Defrag, ChargesAsTheKernelCountedItsFragmentMemory) {
  // /proc/net/sockstat's FRAG memory in the router: one datagram of one
  // 8-byte fragment 1032, of two 2504 + ... (queue 200 + 832 per small
  // fragment; 1480-byte fragments 2304 each; 488-byte ones 1280).
  Bytes w = Udp(Family::kIPv4, 6000, 16);
  EXPECT_EQ(Outcome(Frag(w, 0, 8, 20)), DefragOutcome::kHeld);
  EXPECT_EQ(c().charged_bytes, 1032u);
  Bytes big = Udp(Family::kIPv4, 6001, 2960);
  EXPECT_EQ(Outcome(Frag(big, 0, 1480, 21)), DefragOutcome::kHeld);
  EXPECT_EQ(c().charged_bytes, 1032u + 2504u);
  Thirds t(Udp(Family::kIPv4, 6002, 1200), 22);
  EXPECT_EQ(Outcome(t.f[0]), DefragOutcome::kHeld);
  EXPECT_EQ(Outcome(t.f[1]), DefragOutcome::kHeld);
  EXPECT_EQ(c().charged_bytes, 1032u + 2504u + 200u + 2 * 1280u);
}

TEST_F(Defrag, OverTheBudgetEveryFragmentIsRefusedUntilTimeoutsFreeIt) {
  // The kernel probe: E's first two thirds, 2000 one-fragment datagrams of
  // 1480 bytes, E's last third, a new 3-fragment datagram. The kernel held
  // 1675 datagrams charged 4194456 bytes and refused the other 330
  // fragments: E never completed, nothing was evicted.
  Thirds e(Udp(Family::kIPv4, 5050, 1200), 1);
  EXPECT_EQ(Outcome(e.f[0]), DefragOutcome::kHeld);
  EXPECT_EQ(Outcome(e.f[1]), DefragOutcome::kHeld);
  for (uint32_t i = 0; i < 2000; ++i) {
    Bytes w = Udp(Family::kIPv4, static_cast<uint16_t>(7000 + i % 1000), 2960);
    (void)Add(Frag(w, 0, 1480, 100 + i), 0.001 * i);
  }
  EXPECT_EQ(Outcome(e.f[2], 2.1), DefragOutcome::kDropped);
  Thirds d(Udp(Family::kIPv4, 5051, 1200), 2);
  for (const Bytes& f : d.f) {
    EXPECT_EQ(Outcome(f, 2.2), DefragOutcome::kDropped);
  }
  EXPECT_EQ(c().held_datagrams, 1675u);
  EXPECT_EQ(c().charged_bytes, 4194456u);
  EXPECT_EQ(Failed(DefragFailure::kMemoryLimit), 330u);
  // 30 s after the first fragments everything has timed out; E's datagram
  // can then start again.
  EXPECT_EQ(Outcome(e.f[0], 32), DefragOutcome::kHeld);
  EXPECT_EQ(Failed(DefragFailure::kTimeout), 1676u);
  EXPECT_EQ(c().charged_bytes, 200u + 1280u);
}

TEST_F(Defrag, IPv6HasItsOwnBudget) {
  // nf_conntrack_frag6_high_thresh: ten held 1480-byte fragments and an
  // 8-byte one are charged 25896 (queue 184): with that threshold the next
  // fragment passed, one byte less and it was refused.
  for (uint64_t thresh : {25896u, 25895u}) {
    DefragOptions o;
    o.ipv6.high_thresh = thresh;
    Make(o);
    for (uint32_t i = 0; i < 10; ++i) {
      Bytes w = Udp(Family::kIPv6, static_cast<uint16_t>(7000 + i), 2960);
      EXPECT_EQ(Outcome(Frag(w, 0, 1480, 100 + i)), DefragOutcome::kHeld);
    }
    Bytes d = Udp(Family::kIPv6, 5070, 16);
    EXPECT_EQ(Outcome(Frag(d, 0, 8, 1)), DefragOutcome::kHeld);
    EXPECT_EQ(c().charged_bytes, 25896u);
    EXPECT_EQ(Outcome(Frag(d, 8, 24, 1)), thresh == 25896u
                                              ? DefragOutcome::kComplete
                                              : DefragOutcome::kDropped);
    // The IPv4 budget is untouched.
    Thirds t(Udp(Family::kIPv4, 5071, 1200), 3);
    EXPECT_EQ(Outcome(t.f[0]), DefragOutcome::kHeld);
  }
}

TEST_F(Defrag, AFloodOfNeverCompletingFragmentsStaysInsideTheBudget) {
  // 200000 first fragments of distinct datagrams, 1000 a second for 200 s,
  // from many sources: the charge never passes the budget by more than one
  // fragment and a datagram, what is stored never exceeds what is charged,
  // the memory taken at Create never grows, and every fragment is
  // accounted for as refused (memory-limit), timed out or still held.
  DefragOptions o;
  Make(o);
  const size_t memory = r_->memory_bytes();
  const uint64_t ceiling = o.ipv4.high_thresh + 200 + 2304;
  uint64_t peak = 0;
  for (uint32_t i = 0; i < 200000; ++i) {
    Bytes w;
    Endpoints ep{
        Family::kIPv4,
        Ipv4(10, 1, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)),
        B4(), static_cast<uint16_t>(i), 53};
    BuildUdp(ep, 2960, &w);
    (void)Add(Frag(w, 0, 1480, i), 0.001 * i);
    peak = std::max(peak, c().charged_bytes);
    ASSERT_LE(c().stored_bytes, c().charged_bytes);
  }
  EXPECT_LE(peak, ceiling);
  EXPECT_EQ(c().peak_charged_bytes, peak);
  EXPECT_EQ(r_->memory_bytes(), memory);
  const DefragCounters& k = c();
  EXPECT_GT(Failed(DefragFailure::kMemoryLimit), 0u);
  EXPECT_GT(Failed(DefragFailure::kTimeout), 0u);
  EXPECT_EQ(k.fragments, Failed(DefragFailure::kMemoryLimit) +
                             Failed(DefragFailure::kTimeout) +
                             k.held_fragments);
  EXPECT_EQ(k.datagrams, 0u);
}

TEST_F(Defrag, BadBudgetsAreRefusedAtCreate) {
  DefragOptions o;
  o.ipv4.high_thresh = 2ull << 30;
  EXPECT_FALSE(Reassembler::Create(o).has_value());
  o = DefragOptions{};
  o.ipv6.timeout_s = 0;
  EXPECT_FALSE(Reassembler::Create(o).has_value());
}

TEST_F(Defrag, FromTunablesTakesTheFrag6Sysctls) {
  Tunables t;
  t.frag6_timeout = 7;
  t.frag6_high_thresh = 100000;
  DefragOptions o = DefragOptions::FromTunables(t);
  EXPECT_EQ(o.ipv6.timeout_s, 7u);
  EXPECT_EQ(o.ipv6.high_thresh, 100000u);
  EXPECT_EQ(o.ipv4.timeout_s, 30u);
  EXPECT_EQ(o.ipv4.high_thresh, 4194304u);
}

TEST(DefragFields, ReadsBothFamilies) {
  Bytes w4 = Udp(Family::kIPv4, 1, 1200);
  FragmentFields f;
  ASSERT_TRUE(ReadFragmentFields(Frag(w4, 488, 976, 0x1234).data(), 508, &f));
  EXPECT_EQ(f.family, Family::kIPv4);
  EXPECT_EQ(f.id, 0x1234u);
  EXPECT_EQ(f.offset, 488u);
  EXPECT_EQ(f.data_len, 488u);
  EXPECT_TRUE(f.more);
  Bytes w6 = Udp(Family::kIPv6, 1, 1200);
  Bytes p6 = Frag(w6, 976, 1208, 0xabcdef01);
  ASSERT_TRUE(
      ReadFragmentFields(p6.data(), static_cast<uint32_t>(p6.size()), &f));
  EXPECT_EQ(f.family, Family::kIPv6);
  EXPECT_EQ(f.id, 0xabcdef01u);
  EXPECT_EQ(f.offset, 976u);
  EXPECT_EQ(f.data_len, 232u);
  EXPECT_FALSE(f.more);
  EXPECT_EQ(f.l4_proto, ipproto::kUdp);
  // Cut short: not read.
  EXPECT_FALSE(ReadFragmentFields(p6.data(), 60, &f));
}

}  // namespace
}  // namespace ctkit
