// The table's hash key (EngineOptions::hash_seed): random by default, as
// the kernel draws its own at boot, so nobody outside can predict which
// tuples share a bucket; fixed (kFixedHashSeed) or copied from another
// engine when a run must be reproduced.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "testing/engine_test_util.h"

namespace ctkit {

// GoogleTest prints a key as its two halves.
void PrintTo(const HashSeed& k, std::ostream* os) {
  *os << std::hex << "{0x" << k.k0 << ", 0x" << k.k1 << "}" << std::dec;
}

namespace {

using namespace enginetest;

// 300 UDP flows in 512 buckets, and the order a dump lists them in (the
// table's order: by bucket, so by hash).
std::vector<std::string> DumpOrder(Harness& h) {
  for (uint32_t n = 0; n < 300; ++n) {
    Endpoints ep =
        Ep4(Ipv4(10, 1, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)),
            static_cast<uint16_t>(2000 + n), Ipv4(192, 0, 2, 53), 53);
    EXPECT_EQ(h.Send(Udp(ep), 0.001 * n), Verdict::kNew);
  }
  std::vector<std::string> order;
  h.engine().Dump(h.now_ns(), [&](const FlowInfo& f) {
    order.push_back(std::to_string(f.original.src_port_or_icmp_id));
  });
  EXPECT_EQ(order.size(), 300u);
  return order;
}

Tunables SmallTable() {
  Tunables t;
  t.max = 1024;
  t.buckets = 512;
  return t;
}

EngineOptions DefaultOptions() {
  EngineOptions o;  // hash_seed unset: drawn at Create
  o.huge_pages = false;
  return o;
}

TEST(EngineHashKey, DefaultKeyIsDrawnAtRandomForEachEngine) {
  Harness a(SmallTable(), DefaultOptions());
  Harness b(SmallTable(), DefaultOptions());
  // Two draws of 128 bits: equal, or equal to the public key, only if the
  // key is not random.
  EXPECT_NE(a.engine().hash_seed(), b.engine().hash_seed());
  EXPECT_NE(a.engine().hash_seed(), kFixedHashSeed);
  EXPECT_NE(b.engine().hash_seed(), kFixedHashSeed);
  // And the tables differ: the same 300 flows land in other buckets.
  EXPECT_NE(DumpOrder(a), DumpOrder(b));
}

TEST(EngineHashKey, FixedKeyIsSipHashsPublishedConstants) {
  // SipHash's initialisation constants are the ASCII of
  // "somepseudorandomlygeneratedbytes", as big-endian words; the fixed key
  // is its first two ("somepseu", "dorandom"), the key ctkit always used
  // before the default became random.
  const char* text = "somepseudorandom";
  uint64_t k[2] = {0, 0};
  for (int i = 0; i < 16; ++i) {
    k[i / 8] = (k[i / 8] << 8) | static_cast<unsigned char>(text[i]);
  }
  EXPECT_EQ(kFixedHashSeed, (HashSeed{k[0], k[1]}));

  EngineOptions o = DefaultOptions();
  o.hash_seed = kFixedHashSeed;
  Harness a(SmallTable(), o);
  Harness b(SmallTable(), o);
  EXPECT_EQ(a.engine().hash_seed(), kFixedHashSeed);
  std::vector<std::string> order = DumpOrder(a);
  EXPECT_EQ(order, DumpOrder(b));

  // The dump walks the buckets in order; with the fixed key each flow's
  // bucket is the one that key gives it.
  BucketOracle oracle(512, a.seed());
  uint32_t last = 0;
  for (const std::string& port : order) {
    uint32_t n = static_cast<uint32_t>(std::stoul(port)) - 2000;
    Endpoints ep =
        Ep4(Ipv4(10, 1, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)),
            static_cast<uint16_t>(2000 + n), Ipv4(192, 0, 2, 53), 53);
    uint32_t bucket = oracle.Of(UdpTuple(ep));
    EXPECT_GE(bucket, last) << "port " << port;
    last = bucket;
  }
}

TEST(EngineHashKey, AnEnginesKeyReproducesItsTable) {
  Harness a(SmallTable(), DefaultOptions());
  EngineOptions o = DefaultOptions();
  o.hash_seed = a.engine().hash_seed();
  Harness b(SmallTable(), o);
  EXPECT_EQ(b.engine().hash_seed(), a.engine().hash_seed());
  EXPECT_EQ(DumpOrder(a), DumpOrder(b));
}

TEST(EngineHashKey, AGivenKeyIsUsedAsGiven) {
  EngineOptions o = DefaultOptions();
  o.hash_seed = HashSeed{1, 2};
  Harness h(SmallTable(), o);
  EXPECT_EQ(h.engine().hash_seed(), (HashSeed{1, 2}));
}

}  // namespace
}  // namespace ctkit
