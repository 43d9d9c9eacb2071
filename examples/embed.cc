// A minimal userspace dataplane loop around the ctkit engine: create an
// engine with tunables, hand it a batch of packets, read its counters and
// dump its table. It uses only the installed headers (<ctkit/...>) and
// links only ctkit::engine (CMake) or `pkg-config --libs --static ctkit`;
// see README.md, "Embedding the engine". Copy it and replace the
// hand-built packets with your receive path.
//
// The packets: a TCP handshake, a DNS query and its answer, a ping and its
// reply, and a stray RST that belongs to no connection.
#include <ctkit/decode.h>
#include <ctkit/engine.h>
#include <ctkit/tunables.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <utility>
#include <vector>

namespace {

// An IPv4 packet: 20-byte header (no options) + the L4 bytes given.
std::vector<uint8_t> Ipv4(uint8_t proto, const uint8_t src[4],
                          const uint8_t dst[4], std::vector<uint8_t> l4) {
  const size_t total = 20 + l4.size();
  std::vector<uint8_t> p = {0x45,
                            0,
                            static_cast<uint8_t>(total >> 8),
                            static_cast<uint8_t>(total),
                            0,
                            0,
                            0x40,
                            0,
                            64,
                            proto,
                            0,
                            0};  // DF set, TTL 64
  p.insert(p.end(), src, src + 4);
  p.insert(p.end(), dst, dst + 4);
  p.insert(p.end(), l4.begin(), l4.end());
  return p;
}

std::vector<uint8_t> Be16(uint16_t v) {
  return {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

std::vector<uint8_t> Be32(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

// A 20-byte TCP header (no options, window 64240).
std::vector<uint8_t> Tcp(uint16_t sport, uint16_t dport, uint32_t seq,
                         uint32_t ack, uint8_t flags) {
  std::vector<uint8_t> h;
  for (const auto& part : {Be16(sport), Be16(dport), Be32(seq), Be32(ack)}) {
    h.insert(h.end(), part.begin(), part.end());
  }
  const std::vector<uint8_t> rest = {0x50, flags, 0xfa, 0xf0, 0, 0, 0, 0};
  h.insert(h.end(), rest.begin(), rest.end());
  return h;
}

// A UDP header and 4 bytes of payload.
std::vector<uint8_t> Udp(uint16_t sport, uint16_t dport) {
  std::vector<uint8_t> h;
  for (const auto& part : {Be16(sport), Be16(dport), Be16(12)}) {
    h.insert(h.end(), part.begin(), part.end());
  }
  const std::vector<uint8_t> rest = {0, 0, 'p', 'i', 'n', 'g'};
  h.insert(h.end(), rest.begin(), rest.end());
  return h;
}

// An ICMP echo request (type 8) or reply (type 0).
std::vector<uint8_t> Echo(uint8_t type, uint16_t id, uint16_t seq) {
  std::vector<uint8_t> h = {type, 0, 0, 0};
  for (const auto& part : {Be16(id), Be16(seq)}) {
    h.insert(h.end(), part.begin(), part.end());
  }
  return h;
}

constexpr uint8_t kSyn = 0x02, kRst = 0x04, kAck = 0x10;
constexpr uint64_t kMs = 1000000;  // ns
// One line per entry: protocol, original tuple, state, seconds left, flags.
void Print(const ctkit::FlowInfo& f) {
  const ctkit::Tuple& o = f.original;
  const uint8_t* s = o.src.bytes;
  const uint8_t* d = o.dst.bytes;
  std::printf("flow ");
  switch (o.l4_proto) {
    case ctkit::ipproto::kTcp:
    case ctkit::ipproto::kUdp:
      std::printf("%s %u.%u.%u.%u:%u -> %u.%u.%u.%u:%u",
                  o.l4_proto == ctkit::ipproto::kTcp ? "tcp" : "udp", s[0],
                  s[1], s[2], s[3], o.src_port_or_icmp_id, d[0], d[1], d[2],
                  d[3], o.dst_port_or_icmp_type_code);
      break;
    case ctkit::ipproto::kIcmp:
      std::printf("icmp %u.%u.%u.%u -> %u.%u.%u.%u type=%u id=%u", s[0], s[1],
                  s[2], s[3], d[0], d[1], d[2], d[3], o.icmp_type(),
                  o.src_port_or_icmp_id);
      break;
    default:
      std::printf("proto-%u", o.l4_proto);
  }
  std::printf(" %s %us%s%s\n", f.state != nullptr ? f.state : "-", f.timeout_s,
              f.assured ? " ASSURED" : "", f.seen_reply ? "" : " UNREPLIED");
}

}  // namespace

int main() {
  // 1. Tunables: the kernel's sysctls by name, kernel defaults otherwise.
  //    A dataplane sizes the table for itself (all of it is allocated at
  //    Create, nothing on the packet path) and skips checksum checks the
  //    NIC already made.
  ctkit::Tunables t;
  for (const auto& [name, value] : {std::pair{"nf_conntrack_max", "65536"},
                                    std::pair{"nf_conntrack_buckets", "16384"},
                                    std::pair{"nf_conntrack_checksum", "0"}}) {
    if (auto ok = t.Set(name, value); !ok) {
      std::fprintf(stderr, "embed: %s\n", ok.error().message.c_str());
      return 1;
    }
  }

  // 2. The engine. Default options: one thread, and a hash key drawn with
  //    getrandom(2), so nobody outside can choose tuples that share a
  //    bucket. (A replay that must be reproducible asks for
  //    ctkit::kFixedHashSeed instead.)
  ctkit::EngineOptions opts;
  opts.huge_pages = false;  // a small table: not worth 2 MiB pages
  auto created = ctkit::Engine::Create(t, opts);
  if (!created) {
    std::fprintf(stderr, "embed: %s\n", created.error().message.c_str());
    return 1;
  }
  std::unique_ptr<ctkit::Engine> engine = std::move(*created);

  // 3. A batch of packets, as a receive path would hand them over.
  const uint8_t client[4] = {192, 0, 2, 1};
  const uint8_t web[4] = {198, 51, 100, 1};
  const uint8_t dns[4] = {198, 51, 100, 53};
  const uint8_t other[4] = {192, 0, 2, 7};
  const std::vector<std::vector<uint8_t>> frames = {
      Ipv4(6, client, web, Tcp(40000, 80, 1000, 0, kSyn)),
      Ipv4(6, web, client, Tcp(80, 40000, 5000, 1001, kSyn | kAck)),
      Ipv4(6, client, web, Tcp(40000, 80, 1001, 5001, kAck)),
      Ipv4(17, client, dns, Udp(5353, 53)),
      Ipv4(17, dns, client, Udp(53, 5353)),
      Ipv4(1, client, web, Echo(8, 7, 1)),
      Ipv4(1, web, client, Echo(0, 7, 1)),
      Ipv4(6, other, web, Tcp(41000, 443, 1, 0, kRst)),
  };
  std::vector<ctkit::PacketView> views;
  std::vector<uint64_t> times;
  uint64_t now = 1000 * kMs;  // any monotonic clock, in ns
  for (const auto& f : frames) {
    ctkit::PacketView v;
    // DecodeIp for bare IP packets; DecodeFrame for link-layer frames.
    if (ctkit::DecodeIp(f.data(), static_cast<uint32_t>(f.size()), &v) !=
        ctkit::DecodeStatus::kOk) {
      std::fprintf(stderr, "embed: a packet did not decode\n");
      return 1;
    }
    views.push_back(v);
    times.push_back(now);
    now += 10 * kMs;
  }
  std::vector<ctkit::Verdict> verdicts(views.size());
  engine->ProcessBatch(views.data(), times.data(), views.size(),
                       verdicts.data());
  for (size_t i = 0; i < verdicts.size(); ++i) {
    std::printf("packet %zu %s\n", i + 1, ctkit::VerdictName(verdicts[i]));
  }

  // 4. Counters: the kernel's (conntrack -S) and the engine's own.
  const ctkit::Stats& st = engine->stats();
  const ctkit::EngineCounters& c = engine->counters();
  std::printf("count %u\n", engine->count());
  std::printf("stats invalid=%llu drop=%llu early_drop=%llu\n",
              static_cast<unsigned long long>(st.invalid),
              static_cast<unsigned long long>(st.drop),
              static_cast<unsigned long long>(st.early_drop));
  std::printf("counters packets=%llu created=%llu\n",
              static_cast<unsigned long long>(c.packets),
              static_cast<unsigned long long>(c.created));
  for (size_t r = 1; r < ctkit::kInvalidReasonCount; ++r) {
    if (c.invalid_by_reason[r] != 0) {
      std::printf(
          "invalid %s %llu\n",
          ctkit::InvalidReasonName(static_cast<ctkit::InvalidReason>(r)),
          static_cast<unsigned long long>(c.invalid_by_reason[r]));
    }
  }

  // 5. The table, as `conntrack -L` would list it one second later. The
  //    order is the hash table's, so it changes with the key.
  engine->Dump(1000 * kMs + 1000 * kMs, Print);
  return 0;
}
