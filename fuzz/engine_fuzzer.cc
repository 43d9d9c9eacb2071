// libFuzzer target: the whole engine under random packet sequences.
//
// The input is a program. A short header picks the table (max, buckets),
// switches (checksums, tcp_loose, be_liberal, acct, timestamps, events) and
// optionally short or extreme timeouts. Then each step reads a clock advance
// (0 up to years; the clock never goes back), a packet template (TCP, UDP,
// UDP-Lite, ICMP echo, ICMP errors quoting the previous packet, SCTP chunk
// sequences, GRE versions 0 and 1, generic, IPv4 or IPv6, or raw bytes),
// endpoints from a small pool (so flows meet again and replies match), TCP
// flags and sequence numbers that often follow the flow, a few byte
// mutations, and a conntrack zone (mostly the default, else one of two,
// both ways or one way). On request a packet is cut into
// fragments (sizes, overlaps, order and a duplicate from the input) that
// go through a Reassembler with a small budget, as the kernel's
// defragmentation runs before conntrack; a completed datagram goes on as
// the step's packet, and the reassembler's bounds and accounting are
// checked after every fragment. The packet goes through DecodeIp and
// into two engines, one packet at a time and in batches through
// ProcessBatch, and on a sample of inputs (one in kThreadedEvery) into a
// third, in batches on two threads (with stretches as short as 2 packets,
// so the parallel path runs whenever the table has room; only these inputs
// may ask for a roomy table). All must give the same verdicts, table and
// counters.
//
// Cost: an input's story is short (about 50 packets), so what it must not
// pay for is setting up: the engines are created once per table shape and
// event callback, and Reset to each input's settings (creating two engines
// with their mappings, and a threaded one with its threads and scratch,
// made each input cost tens of times its packets).
//
// After every packet (every batch for the batched engines): count <= max
// and no counter ever decreases. CheckInvariants() (count equals the
// reachable entries, both nodes of each entry linked in their own buckets,
// kept chain lengths exact, no remaining time above the longest configured
// timeout) walks every bucket: it runs at the end of every input on every
// engine, after every dump on the one-at-a-time engine (the dump has just
// compared the others' entries with its own), and on a sample of inputs
// (one in kWalkOftenEvery) also after every kFullCheckEvery-th packet. A
// broken link or count stays broken, so it is still found, a few packets
// later.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "ctkit/decode.h"
#include "ctkit/defrag.h"
#include "ctkit/engine.h"
#include "fuzz/fuzz_input.h"
#include "gen/packet_builder.h"
#include "net/crc32c.h"
#include "proto/gre.h"

namespace {

using ctkit::Address;
using ctkit::Family;
using Bytes = std::vector<uint8_t>;

constexpr uint64_t kNsPerSec = 1'000'000'000ull;
constexpr size_t kMaxSteps = 3000;
constexpr size_t kBatch = 8;
constexpr size_t kFullCheckEvery = 16;
constexpr uint64_t kWalkOftenEvery = 8;
// The threaded engine (two threads started at Create, scratch sized for the
// table) runs on one input in kThreadedEvery, picked by a hash of the whole
// input so that every mutation is a fresh draw and a crashing input
// reproduces. The corpus replay in regress_tests (built with the entry
// point renamed) runs it on every input.
#ifdef LLVMFuzzerTestOneInput
constexpr uint64_t kThreadedEvery = 1;
#else
constexpr uint64_t kThreadedEvery = 64;
#endif

uint64_t InputHash(const uint8_t* data, size_t size) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 0x100000001b3ull;
  return h;
}

[[noreturn]] void Die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "engine_fuzzer: %s: %s\n", what, detail.c_str());
  std::abort();
}

// All counters as one flat array, to check that none ever decreases.
struct CounterSnapshot {
  static constexpr size_t kStats = sizeof(ctkit::Stats) / 8;
  static constexpr size_t kEngine = sizeof(ctkit::EngineCounters) / 8;
  uint64_t v[kStats + kEngine] = {};

  static CounterSnapshot Of(const ctkit::Engine& e) {
    static_assert(sizeof(ctkit::Stats) % 8 == 0);
    static_assert(sizeof(ctkit::EngineCounters) % 8 == 0);
    CounterSnapshot s;
    std::memcpy(s.v, &e.stats(), sizeof(ctkit::Stats));
    std::memcpy(s.v + kStats, &e.counters(), sizeof(ctkit::EngineCounters));
    return s;
  }
};

void Check(const ctkit::Engine& e, CounterSnapshot* last, const char* who,
           bool full = true) {
  const uint32_t max = e.tunables().max;
  if (max != 0 && e.count() > max) {
    Die(who,
        "count " + std::to_string(e.count()) + " > max " + std::to_string(max));
  }
  std::string why;
  if (full && !e.CheckInvariants(&why)) Die(who, why);
  CounterSnapshot now = CounterSnapshot::Of(e);
  for (size_t i = 0; i < sizeof(now.v) / 8; ++i) {
    if (now.v[i] < last->v[i]) {
      Die(who, "counter #" + std::to_string(i) + " went from " +
                   std::to_string(last->v[i]) + " to " +
                   std::to_string(now.v[i]));
    }
  }
  *last = now;
}

// The reassembler's budgets here: small, so that a story can fill them.
constexpr uint64_t kDefragBudget = 16384;
// What one family may go over its budget by: one fragment of the longest
// packet and one datagram's fixed cost (defrag.cc).
constexpr uint64_t kDefragOver = 70664;

void CheckDefrag(const ctkit::Reassembler& r) {
  const ctkit::DefragCounters& c = r.counters();
  if (c.charged_bytes > 2 * (kDefragBudget + kDefragOver)) {
    Die("defrag", "charged " + std::to_string(c.charged_bytes) +
                      " bytes, past the budget");
  }
  if (c.stored_bytes > c.charged_bytes) {
    Die("defrag", "stores more than it is charged");
  }
  uint64_t failed = 0;
  for (uint64_t f : c.failed) failed += f;
  if (c.fragments !=
      c.in_datagrams + c.duplicates + failed + c.held_fragments) {
    Die("defrag", "a fragment is not accounted for");
  }
}

// Cuts `pkt` into fragments as the input says and feeds them to `defrag`
// at `now_ns`; when one completes a datagram, `pkt` becomes the datagram
// and the rest are not sent. False when nothing completed.
bool Fragment(ctkit::fuzz::Input& in, ctkit::Reassembler* defrag,
              uint64_t now_ns, Bytes* pkt) {
  if (pkt->empty()) return false;
  const uint32_t header = (*pkt)[0] >> 4 == 6 ? 40 : 20;
  if (pkt->size() <= header + 8) return false;
  const auto body = static_cast<uint32_t>(pkt->size() - header);
  const uint8_t how = in.U8();
  const uint32_t id = in.U16();
  std::pair<uint32_t, uint32_t> pieces[8];
  size_t n = 0;
  for (uint32_t at = 0; at < body && n < 7;) {
    uint32_t from = at;
    // Now and then start a little earlier: an overlap.
    if ((how & 1) && at >= 8 && (in.U8() & 1)) from = at - 8;
    const uint32_t to = std::min(body, at + (1 + in.U8() % 24) * 8u);
    pieces[n++] = {from, to};
    at = to;
  }
  if (how & 4) pieces[n++] = pieces[0];  // a duplicate
  static Bytes frag;
  for (size_t k = 0; k < n; ++k) {
    const auto& [from, to] = pieces[(how & 2) ? n - 1 - k : k];
    frag.clear();
    if (ctkit::BuildFragment(*pkt, from, to, id, &frag) == 0) continue;
    const ctkit::DefragResult r =
        defrag->Add(frag.data(), static_cast<uint32_t>(frag.size()), now_ns);
    CheckDefrag(*defrag);
    if (r.outcome == ctkit::DefragOutcome::kComplete) {
      pkt->assign(r.datagram, r.datagram + r.datagram_len);
      return true;
    }
  }
  return false;
}

Address Pool(Family f, uint32_t i) {
  if (f == Family::kIPv4)
    return ctkit::Ipv4(10, 0, 0, static_cast<uint8_t>(1 + i));
  Address a{};
  a.bytes[0] = 0x20;
  a.bytes[1] = 0x01;
  a.bytes[2] = 0x0d;
  a.bytes[3] = 0xb8;
  a.bytes[15] = static_cast<uint8_t>(1 + i);
  return a;
}

constexpr uint16_t kPorts[4] = {80, 53, 40000, 40001};

struct Program {
  Program(ctkit::fuzz::Input input, Bytes* last)
      : in(input), last_packet(*last) {
    last_packet.clear();
  }
  ctkit::fuzz::Input in;
  uint64_t now_ns = 1'700'000'000ull * kNsPerSec;
  // The previous template's packet, for ICMP errors (a buffer kept across
  // inputs, like the batch's).
  Bytes& last_packet;
  uint32_t seq[32] = {};  // next sequence number per (flow slot, direction)

  // SCTP: one to three chunks of any kind (the ones conntrack tells apart
  // most often), under a tag that is mostly one the flow's INITs announced,
  // and a correct CRC32c so that the state machine, not the checksum, sees
  // most packets (the byte mutations still break some).
  void BuildSctp(const ctkit::Endpoints& ep, uint32_t side, Bytes* out) {
    static constexpr uint8_t kChunkTypes[16] = {0, 1, 2,  3,  4,  5,  6,  7,
                                                8, 9, 10, 11, 14, 14, 15, 192};
    uint8_t how = in.U8();
    uint32_t own_tag = 0x1000u + side;         // what this side's INITs name
    uint32_t peer_tag = 0x1000u + (side ^ 1);  // what its packets carry
    uint32_t vtag = (how & 3) == 0   ? peer_tag
                    : (how & 3) == 1 ? 0
                    : (how & 3) == 2 ? own_tag
                                     : in.U32();
    Bytes l4 = {static_cast<uint8_t>(ep.sport >> 8),
                static_cast<uint8_t>(ep.sport),
                static_cast<uint8_t>(ep.dport >> 8),
                static_cast<uint8_t>(ep.dport),
                static_cast<uint8_t>(vtag >> 24),
                static_cast<uint8_t>(vtag >> 16),
                static_cast<uint8_t>(vtag >> 8),
                static_cast<uint8_t>(vtag),
                0,
                0,
                0,
                0};
    uint32_t chunks = 1 + ((how >> 2) & 3) % 3;
    for (uint32_t i = 0; i < chunks; ++i) {
      uint8_t pick = in.U8();
      uint8_t type = kChunkTypes[pick & 15];
      uint8_t flags = (pick & 0x10) ? 1 : 0;  // T for ABORT/COMPLETE
      uint32_t value_len = (type == 1 || type == 2) ? 16 : (pick >> 5) * 4;
      if ((pick & 0xe0) == 0xe0) value_len = in.U8() % 20;  // odd sizes
      uint32_t length = 4 + value_len;
      l4.push_back(type);
      l4.push_back(flags);
      l4.push_back(static_cast<uint8_t>(length >> 8));
      l4.push_back(static_cast<uint8_t>(length));
      for (uint32_t k = 0; k < value_len; ++k) {
        // An INIT/INIT-ACK starts with the tag its sender names.
        uint8_t b = k < 4 ? static_cast<uint8_t>(own_tag >> (24 - 8 * k)) : 0;
        l4.push_back(b);
      }
      while (l4.size() % 4 != 0) l4.push_back(0);
    }
    uint32_t crc = ctkit::Crc32c(0, l4.data(), l4.size());
    for (size_t i = 0; i < 4; ++i)
      l4[8 + i] = static_cast<uint8_t>(crc >> (8 * i));
    ctkit::BuildGeneric(ep.family, ep.src, ep.dst, 132,
                        static_cast<uint32_t>(l4.size()), out);
    if (out->size() < l4.size()) return;
    std::memcpy(out->data() + (out->size() - l4.size()), l4.data(), l4.size());
  }

  // Reads one clock advance.
  void AdvanceClock() {
    uint8_t c = in.U8();
    uint64_t d = 0;
    switch (c & 7) {
      case 0:
      case 1:
        break;
      case 2:
        d = uint64_t{in.U8()} * 1'000'000ull;
        break;
      case 3:
        d = uint64_t{in.U8()} * 100'000'000ull;
        break;
      case 4:
        d = uint64_t{in.U8()} * kNsPerSec;
        break;
      case 5:
        d = uint64_t{in.U16()} * kNsPerSec;
        break;
      case 6:
        d = uint64_t{in.U8()} * 3600 * kNsPerSec;
        break;
      case 7:  // days, up to ~180 years
        d = uint64_t{in.U16()} * 86400 * kNsPerSec;
        break;
    }
    if (now_ns + d >= now_ns && now_ns + d < (1ull << 63)) now_ns += d;
  }

  // A zone from a small pool, so that flows meet again in and out of their
  // zone: mostly the default, else 1 or 2, both ways or one way.
  ctkit::Zone PickZone() {
    const uint8_t z = in.U8();
    if ((z & 3) != 0) return ctkit::Zone{};
    const uint8_t dirs = (z >> 3) & 3;
    return ctkit::Zone{static_cast<uint16_t>(1 + ((z >> 2) & 1)),
                       static_cast<uint8_t>(dirs == 3 ? 0 : dirs)};
  }

  // Builds one IP packet; false if nothing was built.
  bool BuildPacket(Bytes* out) {
    uint8_t t = in.U8();
    uint8_t sel = in.U8();
    Family fam = (t & 0x80) ? Family::kIPv6 : Family::kIPv4;
    uint32_t a = sel & 3, b = (sel >> 2) & 3;
    uint32_t pa = (sel >> 4) & 3, pb = (sel >> 6) & 3;
    ctkit::Endpoints ep{fam, Pool(fam, a), Pool(fam, b), kPorts[pa],
                        kPorts[pb]};
    uint32_t slot = (a * 4 + b + pa * 3 + pb * 5) % 16;
    uint32_t dir = (a > b || (a == b && pa > pb)) ? 1 : 0;
    out->clear();
    switch ((t & 0x7f) % 10) {
      case 0: {  // TCP
        uint8_t flags = in.U8();
        uint8_t how = in.U8();
        uint32_t payload = how & 0x3f;
        uint32_t& mine = seq[slot * 2 + dir];
        uint32_t& theirs = seq[slot * 2 + (dir ^ 1)];
        uint32_t s = (how & 0x40) ? in.U32() : mine;
        uint32_t ack = (how & 0x80) ? in.U32() : theirs;
        ctkit::TcpOptions opts;
        if (flags & ctkit::tcpflag::kSyn) {
          opts.mss = 1460;
          opts.wscale = in.U8() % 16;
          opts.sack_perm = true;
        }
        ctkit::BuildTcp(ep, s, ack, flags, in.U16(), payload, opts, out);
        mine =
            s + payload +
            ((flags & (ctkit::tcpflag::kSyn | ctkit::tcpflag::kFin)) ? 1 : 0);
        break;
      }
      case 1:
        ctkit::BuildUdp(ep, in.U8() % 64, out);
        break;
      case 2:
        ctkit::BuildUdp(ep, in.U8() % 64, out, ctkit::ipproto::kUdpLite);
        break;
      case 3:
      case 4:
        ctkit::BuildIcmpEcho(fam, ep.src, ep.dst, (t & 0x40) == 0, kPorts[pa],
                             in.U8(), out);
        break;
      case 5: {  // an ICMP error quoting the previous packet
        if (last_packet.empty()) return false;
        Family qf = (last_packet[0] >> 4) == 6 ? Family::kIPv6 : Family::kIPv4;
        Address src = Pool(qf, a);
        Address dst = Pool(qf, b);
        if ((t & 0x40) == 0 && last_packet.size() >= 40) {
          // Addressed to the quoted packet's sender, as a real error is.
          std::memcpy(dst.bytes,
                      qf == Family::kIPv4 ? &last_packet[12] : &last_packet[8],
                      qf == Family::kIPv4 ? 4 : 16);
        }
        uint8_t type = qf == Family::kIPv4 ? 3 : 1;
        uint8_t pick = in.U8();
        if (pick & 1) type = qf == Family::kIPv4 ? 11 : 3;
        ctkit::BuildIcmpError(qf, src, dst, type, pick >> 4, last_packet, out);
        break;
      }
      case 6:
        ctkit::BuildIcmp(fam, ep.src, ep.dst, in.U8(), in.U8(), in.U32(), {},
                         out);
        break;
      case 7:
        if ((t & 0x40) == 0) {
          BuildSctp(ep, slot * 2 + dir, out);
          break;
        }
        {
          // GRE: version 0, or PPTP-style version 1 (mostly PPP, with the
          // pool's ports as call ids so the two sides' keys meet), or a
          // reserved version.
          uint8_t g = in.U8();
          uint8_t version = (g & 3) == 3 ? g >> 5 : (g & 3) == 0 ? 0 : 1;
          uint16_t protocol = (g & 4) ? in.U16() : ctkit::kGreProtocolPpp;
          ctkit::BuildGre(fam, ep.src, ep.dst, version, protocol, kPorts[pb],
                          out);
        }
        break;
      case 8:
      case 9: {  // raw bytes
        size_t len = 0;
        const uint8_t* p = in.Bytes(255, &len);
        out->assign(p, p + len);
        return !out->empty();
      }
    }
    if (out->empty()) return false;
    last_packet = *out;
    // A few byte mutations.
    uint32_t muts = in.Below(8);
    if (muts >= 4) muts = 0;
    for (uint32_t i = 0; i < muts; ++i) {
      uint16_t off = in.U16();
      uint8_t x = in.U8();
      (*out)[off % out->size()] ^= x == 0 ? 1 : x;
    }
    return true;
  }
};

struct Engines {
  ctkit::Engine* single = nullptr;
  ctkit::Engine* batched = nullptr;
  ctkit::Engine* threaded = nullptr;  // on a sample of inputs
  CounterSnapshot single_last, batched_last, threaded_last;
};

// Engines live across inputs and are Reset to each input's settings:
// creating them (mappings, extension arrays, threads) cost more than most
// inputs' packets. One set per table shape (the room and buckets an input
// may ask for) and event callback, which Reset cannot change.
struct PooledEngines {
  std::unique_ptr<ctkit::Engine> single, batched, threaded;
};
uint64_t g_events = 0;

std::unique_ptr<ctkit::Engine> NewEngine(uint32_t max, uint32_t buckets,
                                         bool callback, unsigned threads) {
  ctkit::Tunables t;
  t.max = max;
  t.buckets = buckets;
  ctkit::EngineOptions opts;
  opts.huge_pages = false;
  if (callback) opts.on_event = [](const ctkit::Event&) { ++g_events; };
  opts.threads = threads;
  opts.min_parallel_stretch = 2;
  opts.hash_seed = ctkit::kFixedHashSeed;  // inputs must replay the same
  auto e = ctkit::Engine::Create(t, opts);
  if (!e) Die("create", e.error().message);
  return std::move(*e);
}

// The engines for `t` (max up to kRoomyMax), reset to it; the threaded one
// only when asked for.
Engines Acquire(const ctkit::Tunables& t, bool callback, bool threaded) {
  constexpr uint32_t kSmallMax = 200, kRoomyMax = 4096;
  static PooledEngines pool[2][2][2];
  const bool roomy = t.max > kSmallMax;
  const bool big_hash = t.buckets > 512;
  PooledEngines& p = pool[roomy][big_hash][callback];
  const uint32_t max = roomy ? kRoomyMax : kSmallMax;
  if (p.single == nullptr) {
    p.single = NewEngine(max, t.buckets, callback, 1);
    p.batched = NewEngine(max, t.buckets, callback, 1);
  }
  if (threaded && p.threaded == nullptr) {
    p.threaded = NewEngine(max, t.buckets, callback, 2);
  }
  Engines e;
  e.single = p.single.get();
  e.batched = p.batched.get();
  if (threaded) e.threaded = p.threaded.get();
  for (ctkit::Engine* x : {e.single, e.batched, e.threaded}) {
    if (x == nullptr) continue;
    auto r = x->Reset(t);
    if (!r) Die("reset", r.error().message);
  }
  return e;
}

// The packets the batched engines have not seen yet. Its buffers live
// across inputs (packets are built in place, keeping their capacity): under
// ASan every fresh allocation is new memory, and page faults were a tenth
// of an input's cost.
struct Batch {
  Bytes frames[kBatch];
  ctkit::PacketView views[kBatch] = {};
  uint64_t times[kBatch] = {};
  ctkit::Verdict want[kBatch] = {};  // what the one-at-a-time engine said
  size_t size = 0;
};

void FlushBatch(Engines* e, Batch* batch, bool full) {
  const size_t n = batch->size;
  if (n == 0) return;
  ctkit::Verdict got[kBatch];
  e->batched->ProcessBatch(batch->views, batch->times, n, got);
  for (size_t i = 0; i < n; ++i) {
    if (got[i] != batch->want[i]) {
      Die("batched", std::string("verdict ") + ctkit::VerdictName(got[i]) +
                         " but one at a time gave " +
                         ctkit::VerdictName(batch->want[i]));
    }
  }
  Check(*e->batched, &e->batched_last, "batched", full);
  if (e->threaded != nullptr) {
    uint32_t counts[kBatch];
    e->threaded->ProcessBatch(batch->views, batch->times, n, got, counts);
    for (size_t i = 0; i < n; ++i) {
      if (got[i] != batch->want[i]) {
        Die("threaded", std::string("verdict ") + ctkit::VerdictName(got[i]) +
                            " but one at a time gave " +
                            ctkit::VerdictName(batch->want[i]));
      }
    }
    Check(*e->threaded, &e->threaded_last, "threaded", full);
    ctkit::EngineCounters tc = e->threaded->counters();
    tc.parallel_packets = 0;
    if (counts[n - 1] != e->threaded->count() ||
        e->threaded->count() != e->single->count() ||
        std::memcmp(&e->threaded->stats(), &e->single->stats(),
                    sizeof(ctkit::Stats)) != 0 ||
        std::memcmp(&tc, &e->single->counters(),
                    sizeof(ctkit::EngineCounters)) != 0) {
      Die("threaded", "count or counters differ from one-at-a-time processing");
    }
  }
  if (e->batched->count() != e->single->count() ||
      std::memcmp(&e->batched->stats(), &e->single->stats(),
                  sizeof(ctkit::Stats)) != 0) {
    const auto& a = e->single->stats();
    const auto& b = e->batched->stats();
    Die("batched",
        "count/invalid/drop/early_drop/error/chaintoolong differ from "
        "one-at-a-time processing: " +
            std::to_string(e->single->count()) + "/" +
            std::to_string(a.invalid) + "/" + std::to_string(a.drop) + "/" +
            std::to_string(a.early_drop) + "/" + std::to_string(a.error) + "/" +
            std::to_string(a.chaintoolong) + " vs " +
            std::to_string(e->batched->count()) + "/" +
            std::to_string(b.invalid) + "/" + std::to_string(b.drop) + "/" +
            std::to_string(b.early_drop) + "/" + std::to_string(b.error) + "/" +
            std::to_string(b.chaintoolong) + "; created/destroyed/" +
            "expired/gc_runs " + std::to_string(e->single->counters().created) +
            "/" + std::to_string(e->single->counters().destroyed) + "/" +
            std::to_string(e->single->counters().expired) + "/" +
            std::to_string(e->single->counters().gc_runs) + " vs " +
            std::to_string(e->batched->counters().created) + "/" +
            std::to_string(e->batched->counters().destroyed) + "/" +
            std::to_string(e->batched->counters().expired) + "/" +
            std::to_string(e->batched->counters().gc_runs));
  }
  batch->size = 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Bytes last_packet;
  Program prog(ctkit::fuzz::Input(data, size), &last_packet);
  ctkit::fuzz::Input& in = prog.in;

  ctkit::Tunables t;
  t.max = 1 + in.U8() % 200;
  uint8_t sw = in.U8();
  t.buckets = 512;  // the kernel's smallest hash (docs/kernel-model.md)
  t.checksum = sw & 1;
  t.tcp_loose = (sw >> 1) & 1;
  t.tcp_be_liberal = (sw >> 2) & 1;
  t.acct = (sw >> 3) & 1;
  t.timestamp = (sw >> 4) & 1;
  t.tcp_ignore_invalid_rst = (sw >> 7) & 1;
  uint8_t tm = in.U8();
  if (tm & 1) {  // short timeouts, so entries expire within a story
    t.udp_timeout = 1 + in.U8() % 60;
    t.udp_timeout_stream = 1 + in.U8();
    t.icmp_timeout = 1 + in.U8() % 60;
    t.icmpv6_timeout = t.icmp_timeout;
    t.generic_timeout = 1 + in.U8();
    t.tcp_timeout_syn_sent = 1 + in.U8() % 120;
    t.tcp_timeout_established = 1 + in.U16();
    t.tcp_timeout_time_wait = 1 + in.U8() % 120;
    t.tcp_timeout_close = 1 + in.U8() % 10;
  }
  if (tm & 2) {  // the longest the kernel allows: INT_MAX jiffies
    t.tcp_timeout_established = 0x7fffffff / 250;
    t.generic_timeout = 0x7fffffff / 250;
  }
  if (tm & 4) t.tcp_max_retrans = in.U8();
  // A roomy table, where the threaded engine's parallel path runs (it
  // needs room for a stretch plus each thread's free-entry cache); only
  // with the threaded engine, as the invariant walk visits every entry of
  // the pool and a table that never fills adds nothing without it.
  const uint64_t hash = InputHash(data, size);
  const bool threaded = hash % kThreadedEvery == 0;
  if (threaded && (tm & 8)) t.max = 4096;
  // A second hash size, where shards span more buckets: it matters to the
  // parallel path, so only with the threaded engine (elsewhere it only
  // doubled the GC's and the invariant check's walks).
  if (threaded && (sw & 0x40)) t.buckets = 1024;
  Engines e = Acquire(t, (sw & 0x20) != 0, threaded);
  // The full walk after every kFullCheckEvery-th packet, on a sample too.
  const bool walk_often = hash / kThreadedEvery % kWalkOftenEvery == 0;

  static Batch batch;
  batch.size = 0;
  ctkit::DefragOptions dopts;
  dopts.ipv4 = {kDefragBudget, 1 + in.U8() % 40u};
  dopts.ipv6 = {kDefragBudget, 1 + in.U8() % 70u};
  auto defrag = ctkit::Reassembler::Create(dopts);
  if (!defrag) Die("defrag", defrag.error().message);
  static const bool kTrace = std::getenv("ENGINE_FUZZER_TRACE") != nullptr;
  size_t packets = 0;

  for (size_t step = 0; step < kMaxSteps && !in.empty(); ++step) {
    prog.AdvanceClock();
    uint8_t op = in.U8();
    if ((op & 0x1f) == 0x1f) {  // no packet: the GC runs, and a dump
      FlushBatch(&e, &batch, true);
      e.single->AdvanceTo(prog.now_ns);
      e.batched->AdvanceTo(prog.now_ns);
      if (e.threaded) e.threaded->AdvanceTo(prog.now_ns);
      // A dump reaps the expired entries it passes: every engine gets one,
      // and they list the same entries in the same order.
      static std::string dumped[3];
      for (std::string& d : dumped) d.clear();
      uint32_t listed = 0;
      auto into = [&listed](std::string* s) {
        return [s, &listed](const ctkit::FlowInfo& f) {
          ++listed;
          s->append(reinterpret_cast<const char*>(&f.original),
                    sizeof(f.original));
          s->append(std::to_string(f.remaining_jiffies));
        };
      };
      e.single->Dump(prog.now_ns, into(&dumped[0]));
      if (listed != e.single->count()) {
        Die("dump", "a dump did not show every entry after reaping");
      }
      e.batched->Dump(prog.now_ns, into(&dumped[1]));
      if (e.threaded) e.threaded->Dump(prog.now_ns, into(&dumped[2]));
      if (dumped[1] != dumped[0] || (e.threaded && dumped[2] != dumped[0])) {
        Die("dump", "the engines' dumps differ");
      }
      // The dumps just compared every entry of the batched engines with
      // the single one's: the walk over the buckets runs on that one.
      Check(*e.single, &e.single_last, "single");
      Check(*e.batched, &e.batched_last, "batched", false);
      if (e.threaded) Check(*e.threaded, &e.threaded_last, "threaded", false);
      continue;
    }
    // Built in the batch's next slot: the one-at-a-time engine sees it now,
    // the batched ones when the batch is flushed (packets are read-only).
    Bytes& pkt = batch.frames[batch.size];
    if (!prog.BuildPacket(&pkt)) continue;
    if ((op & 0x40) && !Fragment(in, defrag->get(), prog.now_ns, &pkt)) {
      continue;
    }
    ctkit::PacketView v{};
    if (ctkit::DecodeIp(pkt.data(), static_cast<uint32_t>(pkt.size()), &v) !=
        ctkit::DecodeStatus::kOk) {
      continue;
    }
    v.zone = prog.PickZone();
    ctkit::Verdict got = e.single->Process(v, prog.now_ns);
    if (kTrace) {
      std::fprintf(stderr, "t=%llu proto=%u len=%u -> %s count=%u\n",
                   static_cast<unsigned long long>(prog.now_ns), v.l4_proto,
                   v.ip_len, ctkit::VerdictName(got), e.single->count());
    }
    ++packets;
    const bool full = walk_often && packets % kFullCheckEvery == 0;
    Check(*e.single, &e.single_last, "single", full);
    batch.views[batch.size] = v;
    batch.times[batch.size] = prog.now_ns;
    batch.want[batch.size] = got;
    if (++batch.size == kBatch || (op & 0x80)) FlushBatch(&e, &batch, full);
  }
  FlushBatch(&e, &batch, true);
  Check(*e.single, &e.single_last, "single");
  Check(*e.batched, &e.batched_last, "batched");
  if (e.threaded) Check(*e.threaded, &e.threaded_last, "threaded");
  return 0;
}
