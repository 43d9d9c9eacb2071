// Synthetic workloads: a small discrete-event simulator that turns a
// WorkloadSpec into a time-ordered stream of raw IP packets.
//
// Every flow is a short *script*: a list of opcodes (SYN, SYN/ACK, request,
// response, FIN, DNS query, echo reply, ...) plus a few per-flow constants
// (endpoints, ISNs, sizes, round-trip times) drawn from a seeded splitmix64
// PRNG when the flow starts. The sequence and acknowledgement numbers of a
// TCP packet follow from the opcode and those constants alone, so they are
// exact by construction: the handshake, the request/response exchange and
// the FIN/ACK close of every session are what a Linux peer would send (MSS,
// SACK-permitted and window scale 7 on both SYNs, scaled windows after).
//
// Flows arrive as Poisson processes ("arrival streams": one per kind, two for
// the demo mix) at the requested rate. Started flows sit in a min-heap keyed
// by the time of their next packet; the main loop either starts the next
// arriving flow or emits the earliest pending packet, so the output is
// globally ordered while sessions overlap as they would on a real link.
// Timing is modelled from a middlebox between client and server: a packet
// that answers the other side follows after that side's round trip time, a
// packet from the same side after a few microseconds, a retransmission after
// an RTO that doubles per copy (RFC 6298, with Linux's 200 ms floor).
//
// Addresses come from the documentation ranges (RFC 5737, RFC 3849) and
// 10.0.0.0/8. Client address+port pairs are a keyed bijection of the flow's
// index, so no two flows of one run share a tuple: a consumer that counts
// conntrack entries sees exactly `flows` of them.
//
// Nothing is allocated per packet: one packet buffer is reused, and flow
// slots and heap entries are recycled. Memory is proportional to the number
// of flows in progress at one time (rate x session duration).
#include "gen/workloads.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "gen/packet_builder.h"

namespace ctkit {
namespace {

constexpr uint64_t kUs = 1'000;
constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000'000'000;

constexpr std::array<WorkloadKindInfo, 6> kKinds = {{
    {"syn-flood",
     "unanswered SYNs from spoofed 10.0.0.0/8 sources to one victim :80"},
    {"dns-storm",
     "UDP DNS query + reply pairs (never a third packet, never assured)"},
    {"tcp-sessions",
     "complete 10-packet TCP sessions: handshake, request, response, close"},
    {"tcp-lossy",
     "TCP sessions with retransmitted segments and duplicate ACKs"},
    {"udp-roundrobin",
     "UDP flows set up, then --packets round-robin over them both ways"},
    {"mixed",
     "web TCP, DNS, ping and refused connections, a SYN flood mid-way"},
}};

// ---------------------------------------------------------------------------
// Randomness: splitmix64 (Steele, Lea, Flood 2014). Small, fast, and the same
// on every platform, unlike the std:: distributions.

uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ull;
    return Mix64(state_);
  }
  uint32_t Next32() { return static_cast<uint32_t>(Next() >> 32); }
  /// Uniform in [lo, hi] (modulo bias is below 2^-40 for our ranges).
  uint64_t Range(uint64_t lo, uint64_t hi) {
    return lo + Next() % (hi - lo + 1);
  }
  uint16_t Range16(uint64_t lo, uint64_t hi) {
    return static_cast<uint16_t>(Range(lo, hi));
  }
  uint32_t Range32(uint64_t lo, uint64_t hi) {
    return static_cast<uint32_t>(Range(lo, hi));
  }
  /// Uniform in [0, 1).
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Unit() < p; }
  /// Exponentially distributed gap (Poisson arrivals) with the given mean.
  uint64_t ExpGapNs(double mean_ns) {
    return static_cast<uint64_t>(-std::log1p(-Unit()) * mean_ns);
  }

 private:
  uint64_t state_;
};

/// A keyed bijection on `bits`-bit integers: odd multiplications, xor-shifts
/// and key additions, each invertible modulo 2^bits. Distinct indices give
/// distinct outputs, which is what keeps generated tuples unique.
uint64_t Permute(uint64_t x, unsigned bits, uint64_t key) {
  const uint64_t mask = (uint64_t{1} << bits) - 1;
  const unsigned shift = bits / 2 + 1;
  x &= mask;
  for (int round = 0; round < 3; ++round) {
    x = (x + key) & mask;
    x = (x * 0x9e3779b97f4a7c15ull) & mask;
    x ^= x >> shift;
    x = (x * 0xd6e8feb86659fd93ull) & mask;
    x ^= x >> shift;
    key = Mix64(key);
  }
  return x;
}

// ---------------------------------------------------------------------------
// Address plan.

Address Ipv6(uint16_t group3, uint64_t interface_id) {
  Address a{};
  a.bytes[0] = 0x20;  // 2001:db8::/32 (RFC 3849)
  a.bytes[1] = 0x01;
  a.bytes[2] = 0x0d;
  a.bytes[3] = 0xb8;
  a.bytes[4] = static_cast<uint8_t>(group3 >> 8);
  a.bytes[5] = static_cast<uint8_t>(group3);
  for (int i = 0; i < 8; ++i) {
    a.bytes[15 - i] = static_cast<uint8_t>(interface_id >> (8 * i));
  }
  return a;
}

/// Well-known hosts: v4 address (host order) and the v6 equivalent.
struct Host {
  uint32_t v4;
  uint16_t v6_group;
  uint64_t v6_iid;

  Address Get(bool ipv6, uint32_t offset = 0) const {
    return ipv6 ? Ipv6(v6_group, v6_iid + offset) : Ipv4(v4 + offset);
  }
};
constexpr Host kVictim = {0xc000020a, 0x0000, 0x10};     // 192.0.2.10
constexpr Host kResolver = {0xc0000235, 0x0000, 0x53};   // 192.0.2.53
constexpr Host kWebServer = {0xc6336401, 0x0100, 0x1};   // 198.51.100.1+
constexpr Host kUdpServer = {0xc63364c8, 0x0100, 0xc8};  // 198.51.100.200
constexpr Host kPingTarget = {0xcb007101, 0x0200, 0x1};  // 203.0.113.1+
constexpr uint32_t kWebServers = 8;
constexpr uint32_t kPingTargets = 32;
constexpr uint16_t kUdpServerPort = 5001;

/// Client `index` -> a unique (address, port): 10.1.0.0/16 (2001:db8:c::/64)
/// times ephemeral ports 32768-65535, permuted so neighbours look unrelated.
void ClientEndpoint(uint64_t index, uint64_t key, bool ipv6, Address* addr,
                    uint16_t* port) {
  const uint64_t x = Permute(index, 31, key);
  const auto host = static_cast<uint32_t>(x >> 15);  // 16 bits
  *port = static_cast<uint16_t>(32768 + (x & 0x7fff));
  *addr = ipv6 ? Ipv6(0x000c, host) : Ipv4(0x0a010000u | host);
}

/// Spoofed flood source `index` -> a unique (address, port): any of
/// 10.0.0.0/8 (2001:db8:dead::/64) times ports 1024-33791.
void SpoofedEndpoint(uint64_t index, uint64_t key, bool ipv6, Address* addr,
                     uint16_t* port) {
  const uint64_t x = Permute(index, 39, key);
  const auto host = static_cast<uint32_t>(x >> 15);  // 24 bits
  *port = static_cast<uint16_t>(1024 + (x & 0x7fff));
  *addr = ipv6 ? Ipv6(0xdead, Mix64(host)) : Ipv4(0x0a000000u | host);
}

// ---------------------------------------------------------------------------
// Flow scripts.

namespace op {
// TCP session (the client sends the original direction).
inline constexpr uint8_t kSyn = 0;
inline constexpr uint8_t kSynAck = 1;
inline constexpr uint8_t kHandshakeAck = 2;
inline constexpr uint8_t kRequest = 3;
inline constexpr uint8_t kResponse = 4;
inline constexpr uint8_t kResponseAck = 5;
inline constexpr uint8_t kClientFin = 6;
inline constexpr uint8_t kServerAck = 7;
inline constexpr uint8_t kServerFin = 8;
inline constexpr uint8_t kClientLastAck = 9;
inline constexpr uint8_t kRefuse = 10;  // RST/ACK from a closed port
inline constexpr uint8_t kFloodSyn = 11;
// UDP request/response.
inline constexpr uint8_t kQuery = 12;
inline constexpr uint8_t kAnswer = 13;
inline constexpr uint8_t kPortUnreachable = 14;  // ICMP error quoting the query
// ICMP echo.
inline constexpr uint8_t kEchoRequest = 15;
inline constexpr uint8_t kEchoReply = 16;
/// Set on an opcode that retransmits the previous copy after an RTO.
inline constexpr uint8_t kRetx = 0x80;
inline constexpr uint8_t Base(uint8_t code) {
  return static_cast<uint8_t>(code & ~kRetx);
}
}  // namespace op

constexpr size_t kMaxOps = 16;

bool FromClient(uint8_t code) {
  switch (op::Base(code)) {
    case op::kSyn:
    case op::kHandshakeAck:
    case op::kRequest:
    case op::kResponseAck:
    case op::kClientFin:
    case op::kClientLastAck:
    case op::kFloodSyn:
    case op::kQuery:
    case op::kEchoRequest:
      return true;
    default:
      return false;
  }
}

/// One flow in progress. Plain data so slots can be recycled.
struct Flow {
  Endpoints ep;  // client -> server (for echo: sport is the identifier)
  uint32_t client_isn = 0;
  uint32_t server_isn = 0;
  uint32_t rtt_client_ns = 0;  // middlebox <-> client round trip
  uint32_t rtt_server_ns = 0;  // middlebox <-> server round trip
  uint32_t think_ns = 0;       // server time before a response
  uint32_t gap_ns = 0;         // same side, back to back
  uint64_t rto_ns = 0;         // next retransmission timeout; doubles
  uint16_t request_len = 0;    // client payload bytes
  uint16_t response_len = 0;   // server payload bytes
  uint16_t syn_window = 0;     // op::kFloodSyn only
  bool syn_mss = false;        // op::kFloodSyn only: carries an MSS option
  uint8_t n_ops = 0;
  uint8_t pc = 0;  // index of the next op to emit
  uint8_t ops[kMaxOps] = {};

  void Push(uint8_t code) { ops[n_ops++] = code; }
};

/// How an arrival stream picks the script of each new flow.
enum class Shape : uint8_t {
  kSynFlood,
  kDns,
  kTcp,
  kTcpLossy,
  kUdpPair,
  kMixed,
};

struct Stream {
  Shape shape;
  uint64_t remaining;
  uint64_t next_ts;
  double mean_gap_ns;
};

struct HeapEntry {
  uint64_t ts;
  uint64_t order;  // FIFO among equal timestamps: determinism
  uint32_t slot;
};
bool Later(const HeapEntry& a, const HeapEntry& b) {
  return a.ts != b.ts ? a.ts > b.ts : a.order > b.order;
}

class Generator {
 public:
  Generator(const WorkloadSpec& spec, const PacketSink& sink)
      : spec_(spec),
        sink_(sink),
        rng_(Mix64(spec.seed ^ 0x6374'6b69'742d'6765ull)),
        client_key_(Mix64(spec.seed + 1)),
        spoof_key_(Mix64(spec.seed + 2)),
        mss_(spec.ipv6 ? 1440 : 1460),
        syn_opts_{mss_, 7, true, {}},
        flood_opts_{mss_, -1, false, {}} {
    buf_.reserve(2048);
    scratch_.reserve(2048);
  }

  void AddStream(Shape shape, uint64_t count, double rate, uint64_t start_ns) {
    if (count == 0) return;
    streams_.push_back({shape, count, start_ns, 1e9 / rate});
  }

  /// Runs every stream to completion.
  void Run();

  /// The udp-roundrobin steady phase: `count` packets cycling over the
  /// `flows` flows set up by a kUdpPair stream, alternating direction per
  /// round, a full round per second.
  void RoundRobin(uint64_t flows, uint64_t count);

  const WorkloadStats& stats() const { return stats_; }

 private:
  void StartFlow(Stream& s);
  void MakeTcp(Flow& f, bool lossy, bool refused);
  void MakeDns(Flow& f, bool unreachable);
  void MakeUdpPair(Flow& f, uint64_t index);
  void MakeEcho(Flow& f);
  void MakeFlood(Flow& f);
  void NextClient(Flow& f, const Address& server, uint16_t server_port);
  uint64_t GapAfter(Flow& f, uint8_t code, uint8_t next);
  void EmitOp(const Flow& f, uint8_t op_byte, uint64_t ts);
  void EmitTcp(const Flow& f, bool from_client, uint32_t seq, uint32_t ack,
               uint8_t flags, uint16_t window, uint32_t len,
               const TcpOptions& opts, uint64_t ts);
  void Deliver(uint64_t ts);

  const WorkloadSpec& spec_;
  const PacketSink& sink_;
  Rng rng_;
  const uint64_t client_key_;
  const uint64_t spoof_key_;
  const uint16_t mss_;
  const TcpOptions syn_opts_;    // MSS, SACK-permitted, wscale 7
  const TcpOptions flood_opts_;  // MSS only
  const TcpOptions no_opts_{};
  uint64_t next_client_ = 0;  // client index allocator (unique tuples)
  uint64_t next_spoofed_ = 0;
  uint64_t order_ = 0;
  std::vector<Stream> streams_;
  std::vector<Flow> pool_;
  std::vector<uint32_t> free_slots_;
  std::vector<HeapEntry> heap_;
  std::vector<uint8_t> buf_;      // the packet being delivered
  std::vector<uint8_t> scratch_;  // a packet quoted by an ICMP error
  WorkloadStats stats_;
};

void Generator::Run() {
  for (;;) {
    Stream* next = nullptr;
    for (Stream& s : streams_) {
      if (s.remaining > 0 && (next == nullptr || s.next_ts < next->next_ts)) {
        next = &s;
      }
    }
    if (next != nullptr && (heap_.empty() || next->next_ts <= heap_[0].ts)) {
      StartFlow(*next);
      continue;
    }
    if (heap_.empty()) break;
    std::pop_heap(heap_.begin(), heap_.end(), Later);
    HeapEntry e = heap_.back();
    heap_.pop_back();
    Flow& f = pool_[e.slot];
    const uint8_t code = f.ops[f.pc++];
    EmitOp(f, code, e.ts);
    if (f.pc < f.n_ops) {
      e.ts += GapAfter(f, code, f.ops[f.pc]);
      e.order = order_++;
      heap_.push_back(e);
      std::push_heap(heap_.begin(), heap_.end(), Later);
    } else {
      free_slots_.push_back(e.slot);
    }
  }
}

void Generator::StartFlow(Stream& s) {
  uint32_t slot;
  if (free_slots_.empty()) {
    slot = static_cast<uint32_t>(pool_.size());
    pool_.emplace_back();
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
    pool_[slot] = Flow{};
  }
  Flow& f = pool_[slot];
  switch (s.shape) {
    case Shape::kSynFlood:
      MakeFlood(f);
      break;
    case Shape::kDns:
      MakeDns(f, false);
      break;
    case Shape::kTcp:
      MakeTcp(f, false, false);
      break;
    case Shape::kTcpLossy:
      MakeTcp(f, true, false);
      break;
    case Shape::kUdpPair:
      MakeUdpPair(f, next_client_);
      break;
    case Shape::kMixed: {
      // A web-heavy edge link: mostly HTTPS sessions (a few refused, a few
      // lossy), DNS lookups (a few to a closed port), some pings.
      const double u = rng_.Unit();
      if (u < 0.65) {
        const bool lossy = rng_.Chance(0.05);
        const bool refused = rng_.Chance(0.05);
        MakeTcp(f, lossy, refused);
      } else if (u < 0.95) {
        MakeDns(f, rng_.Chance(0.03));
      } else {
        MakeEcho(f);
      }
      break;
    }
  }
  ++stats_.flows;
  heap_.push_back({s.next_ts, order_++, slot});
  std::push_heap(heap_.begin(), heap_.end(), Later);
  --s.remaining;
  s.next_ts += rng_.ExpGapNs(s.mean_gap_ns);
}

void Generator::NextClient(Flow& f, const Address& server,
                           uint16_t server_port) {
  f.ep.family = spec_.ipv6 ? Family::kIPv6 : Family::kIPv4;
  ClientEndpoint(next_client_++, client_key_, spec_.ipv6, &f.ep.src,
                 &f.ep.sport);
  f.ep.dst = server;
  f.ep.dport = server_port;
}

void Generator::MakeTcp(Flow& f, bool lossy, bool refused) {
  const auto server = rng_.Range32(0, kWebServers - 1);
  NextClient(f, kWebServer.Get(spec_.ipv6, server), server == 0 ? 80 : 443);
  f.client_isn = rng_.Next32();
  f.server_isn = rng_.Next32();
  f.rtt_client_ns = rng_.Range32(100 * kUs, 5 * kMs);
  f.rtt_server_ns = rng_.Range32(2 * kMs, 80 * kMs);
  f.think_ns = rng_.Range32(100 * kUs, 20 * kMs);
  f.gap_ns = rng_.Range32(5 * kUs, 60 * kUs);
  // RFC 6298 RTO = SRTT + 4 RTTVAR, floored at 200 ms as Linux does.
  f.rto_ns = 200 * kMs + f.rtt_client_ns + f.rtt_server_ns;
  f.request_len = rng_.Range16(60, 700);
  f.response_len = rng_.Range16(200, mss_);
  f.Push(op::kSyn);
  if (refused) {
    f.Push(op::kRefuse);
    return;
  }
  f.Push(op::kSynAck);
  f.Push(op::kHandshakeAck);
  f.Push(op::kRequest);
  if (lossy && rng_.Chance(0.4)) {
    // Lost beyond the middlebox: the client resends it 1-3 more times.
    for (uint64_t n = rng_.Range(1, 3); n > 0; --n)
      f.Push(op::kRequest | op::kRetx);
  }
  f.Push(op::kResponse);
  const double u = lossy ? rng_.Unit() : 1.0;
  if (u < 0.25) {
    // The response is lost: the server resends it 1-3 more times.
    for (uint64_t n = rng_.Range(1, 3); n > 0; --n)
      f.Push(op::kResponse | op::kRetx);
    f.Push(op::kResponseAck);
  } else if (u < 0.5) {
    // The client's ACK is lost: the server resends the response and the
    // client answers with a duplicate ACK.
    f.Push(op::kResponseAck);
    f.Push(op::kResponse | op::kRetx);
    f.Push(op::kResponseAck);
  } else {
    f.Push(op::kResponseAck);
  }
  f.Push(op::kClientFin);
  f.Push(op::kServerAck);
  f.Push(op::kServerFin);
  f.Push(op::kClientLastAck);
}

void Generator::MakeDns(Flow& f, bool unreachable) {
  NextClient(f, kResolver.Get(spec_.ipv6), 53);
  f.rtt_server_ns = rng_.Range32(50 * kUs, 1 * kMs);
  f.request_len = rng_.Range16(28, 60);  // header + one question (+ EDNS)
  f.response_len = static_cast<uint16_t>(f.request_len + rng_.Range16(16, 200));
  f.Push(op::kQuery);
  f.Push(unreachable ? op::kPortUnreachable : op::kAnswer);
}

void Generator::MakeUdpPair(Flow& f, uint64_t index) {
  NextClient(f, kUdpServer.Get(spec_.ipv6), kUdpServerPort);
  f.rtt_server_ns = rng_.Range32(20 * kUs, 200 * kUs);
  f.request_len = f.response_len =
      static_cast<uint16_t>(32 + Mix64(spec_.seed ^ index) % 480);
  f.Push(op::kQuery);
  f.Push(op::kAnswer);
}

void Generator::MakeEcho(Flow& f) {
  f.ep.family = spec_.ipv6 ? Family::kIPv6 : Family::kIPv4;
  // The client's port slot becomes the echo identifier, which keeps the
  // (source, identifier) pair unique like any client tuple.
  ClientEndpoint(next_client_++, client_key_, spec_.ipv6, &f.ep.src,
                 &f.ep.sport);
  f.ep.dst = kPingTarget.Get(spec_.ipv6, rng_.Range32(0, kPingTargets - 1));
  f.rtt_server_ns = rng_.Range32(1 * kMs, 80 * kMs);
  for (uint64_t n = rng_.Range(1, 3); n > 0; --n) {
    f.Push(op::kEchoRequest);
    f.Push(op::kEchoReply);
  }
}

void Generator::MakeFlood(Flow& f) {
  f.ep.family = spec_.ipv6 ? Family::kIPv6 : Family::kIPv4;
  SpoofedEndpoint(next_spoofed_++, spoof_key_, spec_.ipv6, &f.ep.src,
                  &f.ep.sport);
  f.ep.dst = kVictim.Get(spec_.ipv6);
  f.ep.dport = 80;
  f.client_isn = rng_.Next32();
  // Flood tools either send bare SYNs with a fixed small window or mimic a
  // stack; mix both.
  static constexpr uint16_t kWindows[] = {512, 1024, 5840, 14600, 64240};
  f.syn_window = kWindows[rng_.Range(0, 4)];
  f.syn_mss = rng_.Chance(0.5);
  f.Push(op::kFloodSyn);
}

uint64_t Generator::GapAfter(Flow& f, uint8_t code, uint8_t next) {
  if (next & op::kRetx) {
    const uint64_t gap = f.rto_ns;
    f.rto_ns *= 2;  // exponential backoff
    return gap;
  }
  if (next == op::kEchoRequest) return 1 * kSec;  // ping's interval
  const bool op_client = FromClient(code);
  const bool next_client = FromClient(next);
  if (op_client == next_client) return f.gap_ns;
  if (next_client) return f.rtt_client_ns;
  return f.rtt_server_ns + (next == op::kResponse ? f.think_ns : 0);
}

void Generator::EmitTcp(const Flow& f, bool from_client, uint32_t seq,
                        uint32_t ack, uint8_t flags, uint16_t window,
                        uint32_t len, const TcpOptions& opts, uint64_t ts) {
  buf_.clear();
  BuildTcp(from_client ? f.ep : f.ep.Reversed(), seq, ack, flags, window, len,
           opts, &buf_);
  Deliver(ts);
}

void Generator::EmitOp(const Flow& f, uint8_t op_byte, uint64_t ts) {
  // Sequence space: the client's SYN takes c, its request c+1..c+q, its FIN
  // c+q+1; the server's likewise with s and r.
  const uint32_t c = f.client_isn;
  const uint32_t s = f.server_isn;
  const uint32_t q = f.request_len;
  const uint32_t r = f.response_len;
  constexpr uint8_t kSyn = tcpflag::kSyn;
  constexpr uint8_t kSynAck = tcpflag::kSyn | tcpflag::kAck;
  constexpr uint8_t kAck = tcpflag::kAck;
  constexpr uint8_t kPshAck = tcpflag::kPsh | tcpflag::kAck;
  constexpr uint8_t kFinAck = tcpflag::kFin | tcpflag::kAck;
  constexpr uint8_t kRstAck = tcpflag::kRst | tcpflag::kAck;
  // SYN windows are unscaled (Linux: 10 x MSS rounded); later windows are
  // in units of 2^7 (about 64 KiB).
  const uint16_t client_syn_win = spec_.ipv6 ? 64800 : 64240;
  const uint16_t server_syn_win = spec_.ipv6 ? 64800 : 65160;
  constexpr uint16_t kClientWin = 502;
  constexpr uint16_t kServerWin = 509;
  const bool v6 = spec_.ipv6;
  switch (op::Base(op_byte)) {
    case op::kSyn:
      EmitTcp(f, true, c, 0, kSyn, client_syn_win, 0, syn_opts_, ts);
      break;
    case op::kSynAck:
      EmitTcp(f, false, s, c + 1, kSynAck, server_syn_win, 0, syn_opts_, ts);
      break;
    case op::kHandshakeAck:
      EmitTcp(f, true, c + 1, s + 1, kAck, kClientWin, 0, no_opts_, ts);
      break;
    case op::kRequest:
      EmitTcp(f, true, c + 1, s + 1, kPshAck, kClientWin, q, no_opts_, ts);
      break;
    case op::kResponse:
      EmitTcp(f, false, s + 1, c + 1 + q, kPshAck, kServerWin, r, no_opts_, ts);
      break;
    case op::kResponseAck:
      EmitTcp(f, true, c + 1 + q, s + 1 + r, kAck, kClientWin, 0, no_opts_, ts);
      break;
    case op::kClientFin:
      EmitTcp(f, true, c + 1 + q, s + 1 + r, kFinAck, kClientWin, 0, no_opts_,
              ts);
      break;
    case op::kServerAck:
      EmitTcp(f, false, s + 1 + r, c + 2 + q, kAck, kServerWin, 0, no_opts_,
              ts);
      break;
    case op::kServerFin:
      EmitTcp(f, false, s + 1 + r, c + 2 + q, kFinAck, kServerWin, 0, no_opts_,
              ts);
      break;
    case op::kClientLastAck:
      EmitTcp(f, true, c + 2 + q, s + 2 + r, kAck, kClientWin, 0, no_opts_, ts);
      break;
    case op::kRefuse:
      // What a closed port sends (RFC 9293 3.10.7.1): seq 0, ack = SYN+1.
      EmitTcp(f, false, 0, c + 1, kRstAck, 0, 0, no_opts_, ts);
      break;
    case op::kFloodSyn:
      EmitTcp(f, true, c, 0, kSyn, f.syn_window, 0,
              f.syn_mss ? flood_opts_ : no_opts_, ts);
      break;
    case op::kQuery:
      buf_.clear();
      BuildUdp(f.ep, q, &buf_);
      Deliver(ts);
      break;
    case op::kAnswer:
      buf_.clear();
      BuildUdp(f.ep.Reversed(), r, &buf_);
      Deliver(ts);
      break;
    case op::kPortUnreachable:
      scratch_.clear();
      BuildUdp(f.ep, q, &scratch_);
      buf_.clear();
      // ICMP 3/3, ICMPv6 1/4: port unreachable, from the server host.
      BuildIcmpError(f.ep.family, f.ep.dst, f.ep.src, v6 ? 1 : 3, v6 ? 4 : 3,
                     scratch_, &buf_);
      Deliver(ts);
      break;
    case op::kEchoRequest:
    case op::kEchoReply: {
      // Pairs are (request, reply) with echo sequence numbers 1, 2, 3.
      const bool request = op::Base(op_byte) == op::kEchoRequest;
      const auto seq = static_cast<uint16_t>((f.pc - 1) / 2 + 1);
      buf_.clear();
      BuildIcmpEcho(f.ep.family, request ? f.ep.src : f.ep.dst,
                    request ? f.ep.dst : f.ep.src, request, f.ep.sport, seq,
                    &buf_);
      Deliver(ts);
      break;
    }
    default:
      break;
  }
}

void Generator::Deliver(uint64_t ts) {
  if (stats_.packets == 0) stats_.first_ts_ns = ts;
  stats_.last_ts_ns = ts;
  ++stats_.packets;
  stats_.bytes += buf_.size();
  sink_(ts, std::span<const uint8_t>(buf_.data(), buf_.size()));
}

void Generator::RoundRobin(uint64_t flows, uint64_t count) {
  const uint64_t gap = std::max<uint64_t>(1, kSec / flows);
  uint64_t ts = stats_.last_ts_ns + gap;
  Endpoints ep;
  ep.family = spec_.ipv6 ? Family::kIPv6 : Family::kIPv4;
  ep.dst = kUdpServer.Get(spec_.ipv6);
  ep.dport = kUdpServerPort;
  for (uint64_t i = 0; i < count; ++i, ts += gap) {
    const uint64_t index = i % flows;
    ClientEndpoint(index, client_key_, spec_.ipv6, &ep.src, &ep.sport);
    const auto len =
        static_cast<uint32_t>(32 + Mix64(spec_.seed ^ index) % 480);
    buf_.clear();
    // Round 0 forward, round 1 reverse, ...: each flow alternates.
    BuildUdp((i / flows) % 2 == 0 ? ep : ep.Reversed(), len, &buf_);
    Deliver(ts);
  }
}

uint64_t DefaultPackets(const WorkloadSpec& spec) {
  return spec.packets != 0 ? spec.packets : 10 * spec.flows;
}

}  // namespace

std::span<const WorkloadKindInfo> WorkloadKinds() { return kKinds; }

[[nodiscard]] Result<void> ValidateWorkload(const WorkloadSpec& spec) {
  const bool known = std::any_of(
      kKinds.begin(), kKinds.end(),
      [&](const WorkloadKindInfo& k) { return k.name == spec.kind; });
  if (!known) {
    std::string valid;
    for (const WorkloadKindInfo& k : kKinds) {
      if (!valid.empty()) valid += ", ";
      valid += k.name;
    }
    return fail(Error::invalid_argument("unknown workload kind '" + spec.kind +
                                        "' (valid: " + valid + ")"));
  }
  if (spec.flows == 0) {
    return fail(Error::invalid_argument("flows must be at least 1"));
  }
  if (spec.flows > (uint64_t{1} << 31)) {
    return fail(Error::invalid_argument(
        "flows must be at most 2147483648 (unique client tuples)"));
  }
  if (!std::isfinite(spec.rate) || spec.rate < 0.001 || spec.rate > 1e9) {
    return fail(Error::invalid_argument(
        "rate must be between 0.001 and 1e9 new flows per second"));
  }
  if (spec.start_ns > 4'000'000'000ull * kSec) {
    return fail(Error::invalid_argument(
        "start must be before 2096 (pcap seconds are 32-bit)"));
  }
  if (spec.kind == "udp-roundrobin") {
    if (DefaultPackets(spec) < 2 * spec.flows) {
      return fail(Error::invalid_argument(
          "udp-roundrobin needs packets >= 2 x flows (" +
          std::to_string(2 * spec.flows) + ") to set every flow up"));
    }
  } else if (spec.packets != 0) {
    return fail(
        Error::invalid_argument("packets applies only to udp-roundrobin; '" +
                                spec.kind + "' is sized by flows"));
  }
  return {};
}

[[nodiscard]] Result<WorkloadStats> GenerateWorkload(const WorkloadSpec& spec,
                                                     const PacketSink& sink) {
  if (Result<void> ok = ValidateWorkload(spec); !ok) {
    return fail(ok.error());
  }
  Generator gen(spec, sink);
  const std::string& kind = spec.kind;
  if (kind == "syn-flood") {
    gen.AddStream(Shape::kSynFlood, spec.flows, spec.rate, spec.start_ns);
  } else if (kind == "dns-storm") {
    gen.AddStream(Shape::kDns, spec.flows, spec.rate, spec.start_ns);
  } else if (kind == "tcp-sessions") {
    gen.AddStream(Shape::kTcp, spec.flows, spec.rate, spec.start_ns);
  } else if (kind == "tcp-lossy") {
    gen.AddStream(Shape::kTcpLossy, spec.flows, spec.rate, spec.start_ns);
  } else if (kind == "udp-roundrobin") {
    gen.AddStream(Shape::kUdpPair, spec.flows, spec.rate, spec.start_ns);
    gen.Run();
    gen.RoundRobin(spec.flows, DefaultPackets(spec) - 2 * spec.flows);
    return gen.stats();
  } else {  // mixed
    // A fifth of the flows are a SYN flood at 20x the normal arrival rate,
    // centred on the middle of the normal traffic.
    const uint64_t flood = spec.flows / 5;
    const uint64_t normal = spec.flows - flood;
    const double normal_ns = static_cast<double>(normal) * 1e9 / spec.rate;
    const double flood_ns = static_cast<double>(flood) * 1e9 / (20 * spec.rate);
    const double offset = std::max(0.0, (normal_ns - flood_ns) / 2);
    gen.AddStream(Shape::kMixed, normal, spec.rate, spec.start_ns);
    gen.AddStream(Shape::kSynFlood, flood, 20 * spec.rate,
                  spec.start_ns + static_cast<uint64_t>(offset));
  }
  gen.Run();
  return gen.stats();
}

[[nodiscard]] Result<uint64_t> ParseStartTime(std::string_view text) {
  auto bad = [&] {
    return fail(Error::invalid_argument(
        "start time '" + std::string(text) +
        "' is not SECONDS[.FRACTION] since the epoch (e.g. 1700000000.5)"));
  };
  const size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view frac =
      dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (whole.empty() || whole.size() > 10 || frac.size() > 9 ||
      (dot != std::string_view::npos && frac.empty())) {
    return bad();
  }
  uint64_t seconds = 0;
  for (char ch : whole) {
    if (ch < '0' || ch > '9') return bad();
    seconds = seconds * 10 + static_cast<uint64_t>(ch - '0');
  }
  uint64_t ns = 0;
  for (size_t i = 0; i < 9; ++i) {
    const char ch = i < frac.size() ? frac[i] : '0';
    if (ch < '0' || ch > '9') return bad();
    ns = ns * 10 + static_cast<uint64_t>(ch - '0');
  }
  return seconds * kSec + ns;  // 10 digits of seconds fit in 2^64 ns
}

}  // namespace ctkit
