// The kernel as oracle: a capture is injected, packet by packet and with its
// original gaps, into a Sandbox router whose prerouting chain logs each
// packet's ct state to NFLOG right after conntrack has classified it; the
// verdicts are then matched back to packet indices and the table and counters
// read over ctnetlink.
//
// Matching: the injector thread is pinned to one CPU, so every frame it
// sends through a veth is queued on that CPU's backlog and processed in
// order; the log messages therefore arrive in injection order. Each log's
// payload (the IP packet from its header, TTL/hop limit and IPv4 header
// checksum masked since forwarding changed them) is matched to the next
// not-yet-matched packet with the same bytes; packets passed over were
// never seen after conntrack's hook: DROP (conntrack dropped them: table
// full).
//
// Fragments: the kernel reassembles before conntrack (kernel-model §14),
// so the log shows one packet per completed datagram, the datagram itself,
// right after the fragment that completed it, and nothing for the others.
// Which fragment completes a datagram is worked out from the capture: the
// first, in sending order, after which the datagram's fragments since its
// last completion cover it from 0 to the end the last fragment gives (an
// overlap, or the timeout, starting it afresh). The datagram's log is
// matched to that fragment by comparing it with the datagram's start (the
// offset-0 fragment's header and data); fragments with no log are SKIP
// fragment-held, as `ctkit replay` reports the fragments its reassembler
// keeps. (A completing fragment whose datagram conntrack dropped for a
// full table is therefore held, not DROP, here.) Packets the decoder cannot
// use are never sent
// and are reported as SKIP with the decoder's reason, as `ctkit replay`
// does, so the two outputs line up index by index.
//
// Timeouts: the kernel's timers run in wall time, and `ctkit replay`
// reports seconds left at the last packet's capture time. With --speed X
// a capture gap g lasts g/X of wall time, so an entry last refreshed g
// before the end shows (timeout - g/X) in the kernel's dump against
// (timeout - g) in the engine's. Each entry's timeout is therefore
// converted: the wall time from the entry's last refreshing packet (the
// last one sent on its tuple, either direction, that the kernel did not
// call INVALID or drop) to the dump is added back and the capture time
// from that packet to the last one is taken off. This compares the
// timeout each side set at its last update, and also removes the few ms
// the injection lags behind the capture (and the dump behind the last
// packet) at speed 1. Which entries exist can still differ when --speed
// makes a flow's idle gap straddle one of its timeouts
// (docs/kernel-differences.md).
#include "kernel/kernel_replay.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <thread>

#include "ctkit/capture.h"
#include "ctkit/decode.h"
#include "ctkit/defrag.h"
#include "kernel/ctnetlink.h"
#include "kernel/sandbox.h"
#include "net/checksum.h"
#include "proto/tracker.h"
#include "report/capture_digest.h"

namespace ctkit {
namespace {

constexpr uint32_t kSnap = 128;
// net.ipv4.ipfrag_time, which the router keeps at its default (IPv6's
// conntrack reassembly has nf_conntrack_frag6_timeout, read back).
constexpr uint32_t kIpv4FragmentTimeoutS = 30;

struct Frame {
  uint64_t ts_ns;
  std::vector<uint8_t> ip;  // the IP packet (to ip_len, or what was caught)
  Family family;
  Address src, dst;
  DecodeStatus status;
  bool has_tuple = false;
  Tuple tuple;  // for finding each entry's last packet
  bool fragment = false;
  FragmentFields frag;
  // For the fragment that completes a datagram: the datagram's start as
  // the kernel logs it (see Matches).
  bool completes = false;
  std::vector<uint8_t> datagram_start;
};

// A byte key for a tuple (for maps).
std::string TupleKey(const Tuple& t) {
  std::string k(reinterpret_cast<const char*>(t.src.bytes), 16);
  k.append(reinterpret_cast<const char*>(t.dst.bytes), 16);
  k.push_back(static_cast<char>(t.src_port_or_icmp_id >> 8));
  k.push_back(static_cast<char>(t.src_port_or_icmp_id & 0xff));
  k.push_back(static_cast<char>(t.dst_port_or_icmp_type_code >> 8));
  k.push_back(static_cast<char>(t.dst_port_or_icmp_type_code & 0xff));
  k.push_back(static_cast<char>(t.l4_proto));
  k.push_back(static_cast<char>(t.family));
  return k;
}

struct LogMsg {
  std::string prefix;
  std::vector<uint8_t> payload;
};

// Packets the router is sent: those the decoder took, and fragments without
// an L4 header, which the kernel's defragmentation collects before conntrack.
bool Sendable(DecodeStatus s) {
  return s == DecodeStatus::kOk || s == DecodeStatus::kNonFirstFragment;
}

uint64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull +
         static_cast<uint64_t>(ts.tv_nsec);
}

void SleepUntil(uint64_t t_ns) {
  timespec ts{static_cast<time_t>(t_ns / 1000000000ull),
              static_cast<long>(t_ns % 1000000000ull)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) ==
         EINTR) {
    if (g_stop_signal.load() != 0) return;
  }
}

// Does the logged payload show this frame? Compares what both hold.
bool Matches(const std::vector<uint8_t>& frame,
             const std::vector<uint8_t>& log) {
  size_t n = std::min({frame.size(), log.size(), size_t{kSnap}});
  if (n == 0 || frame.size() < std::min<size_t>(log.size(), kSnap)) {
    return false;
  }
  bool v4 = (frame[0] >> 4) == 4;
  for (size_t i = 0; i < n; ++i) {
    if (v4 && (i == 8 || i == 10 || i == 11)) continue;
    if (!v4 && i == 7) continue;
    if (frame[i] != log[i]) return false;
  }
  return true;
}

// Does the logged payload show the datagram `f` completes? Its length and
// fragment fields (IPv4), payload length (IPv6), TTL or hop limit and IPv4
// header checksum changed in reassembly or forwarding.
bool MatchesDatagram(const Frame& f, const std::vector<uint8_t>& log) {
  const std::vector<uint8_t>& d = f.datagram_start;
  size_t n = std::min({d.size(), log.size(), size_t{kSnap}});
  if (n == 0) return false;
  const bool v4 = f.family == Family::kIPv4;
  for (size_t i = 0; i < n; ++i) {
    if (v4 && (i == 2 || i == 3 || (i >= 6 && i <= 8) || i == 10 || i == 11)) {
      continue;
    }
    if (!v4 && (i == 4 || i == 5 || i == 7)) continue;
    if (d[i] != log[i]) return false;
  }
  return true;
}

// Marks, in sending order, the fragment that completes each datagram (see
// the file comment) and gives it the datagram's start and tuple.
void FindCompletingFragments(std::vector<Frame>* frames,
                             uint32_t ipv4_timeout_s, uint32_t ipv6_timeout_s) {
  struct Pending {
    uint64_t first_ts = 0;
    std::vector<std::pair<uint32_t, uint32_t>> have;  // [from, to)
    std::optional<uint32_t> end;
    std::optional<size_t> first;  // the offset-0 fragment's frame
  };
  std::map<std::string, Pending> pending;
  for (size_t i = 0; i < frames->size(); ++i) {
    Frame& f = (*frames)[i];
    if (!f.fragment) continue;
    std::string key(reinterpret_cast<const char*>(f.ip.data()) +
                        (f.family == Family::kIPv4 ? 12 : 8),
                    f.family == Family::kIPv4 ? 8 : 32);
    key += std::to_string(f.frag.id);
    if (f.family == Family::kIPv4) key += "/" + std::to_string(f.frag.l4_proto);
    Pending& p = pending[key];
    const uint64_t timeout_ns =
        uint64_t{f.family == Family::kIPv4 ? ipv4_timeout_s : ipv6_timeout_s} *
        1000000000ull;
    if (!p.have.empty() && f.ts_ns >= p.first_ts + timeout_ns) p = Pending{};
    const uint32_t from = f.frag.offset, to = from + f.frag.data_len;
    // Held bytes, merged: a fragment inside them adds nothing (the kernel
    // ignores it, or, across runs it built out of order, gives the
    // datagram up: either way no datagram is logged for it); one partly
    // over them starts the datagram afresh, as the kernel's overlap rule.
    std::sort(p.have.begin(), p.have.end());
    bool inside = false, overlap = false;
    for (size_t k = 0; k < p.have.size();) {
      uint32_t a = p.have[k].first, b = p.have[k].second;
      for (++k; k < p.have.size() && p.have[k].first <= b; ++k) {
        b = std::max(b, p.have[k].second);
      }
      if (from >= a && to <= b) {
        inside = true;
      } else if (from < b && to > a) {
        overlap = true;
      }
    }
    if (inside) continue;
    if (overlap) {
      p = Pending{};
      continue;
    }
    if (p.have.empty()) p.first_ts = f.ts_ns;
    p.have.emplace_back(from, to);
    if (!f.frag.more) p.end = to;
    if (from == 0) p.first = i;
    if (!p.end || !p.first) continue;
    std::sort(p.have.begin(), p.have.end());
    uint32_t covered = 0;
    for (const auto& [a, b] : p.have) {
      if (a > covered) break;
      covered = std::max(covered, b);
    }
    if (covered < *p.end) continue;
    const Frame& head = (*frames)[*p.first];
    f.completes = true;
    f.has_tuple = head.has_tuple;
    f.tuple = head.tuple;
    const uint32_t cut = head.frag.fragment_header;
    f.datagram_start.assign(head.ip.begin(), head.ip.begin() + cut);
    if (f.family == Family::kIPv6) {
      // The header that named the fragment header now names the payload.
      size_t at = 6, off = 40;
      uint8_t next = head.ip[6];
      while (off < cut) {
        at = off;
        const size_t len = next == 51 ? (head.ip[off + 1] + 2u) * 4u
                                      : (head.ip[off + 1] + 1u) * 8u;
        next = head.ip[off];
        off += len;
      }
      f.datagram_start[at] = head.frag.l4_proto;
    }
    f.datagram_start.insert(f.datagram_start.end(),
                            head.ip.begin() + head.frag.data_start,
                            head.ip.end());
    p = Pending{};
  }
}

Verdict VerdictFromPrefix(const std::string& p) {
  if (p == "NEW") return Verdict::kNew;
  if (p == "ESTABLISHED") return Verdict::kEstablished;
  if (p == "RELATED") return Verdict::kRelated;
  if (p == "UNTRACKED") return Verdict::kUntracked;
  return Verdict::kInvalid;
}

// An nfnetlink_log listener for one group, opened in the current netns.
class NflogReader {
 public:
  NflogReader() = default;
  NflogReader(const NflogReader&) = delete;
  NflogReader& operator=(const NflogReader&) = delete;
  ~NflogReader() {
    Stop();
    if (nl_ != nullptr) mnl_socket_close(nl_);
  }

  [[nodiscard]] Result<void> Open(uint16_t group) {
    nl_ = mnl_socket_open(NETLINK_NETFILTER);
    if (nl_ == nullptr || mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) {
      return fail(Error::io(
          fmt::format("nflog: cannot open socket: {}", strerror(errno))));
    }
    int rcv = 32 << 20;
    setsockopt(mnl_socket_get_fd(nl_), SOL_SOCKET, SO_RCVBUFFORCE, &rcv,
               sizeof rcv);
    std::vector<uint8_t> buf(8192);
    nlmsghdr* h = Config(buf.data(), group);
    nfulnl_msg_config_cmd cmd{NFULNL_CFG_CMD_BIND};
    mnl_attr_put(h, NFULA_CFG_CMD, sizeof cmd, &cmd);
    nfulnl_msg_config_mode mode{};
    mode.copy_range = htonl(kSnap);
    mode.copy_mode = NFULNL_COPY_PACKET;
    mnl_attr_put(h, NFULA_CFG_MODE, sizeof mode, &mode);
    mnl_attr_put_u32(h, NFULA_CFG_QTHRESH, htonl(32));
    mnl_attr_put_u32(h, NFULA_CFG_TIMEOUT, htonl(1));  // 10 ms
    if (mnl_socket_sendto(nl_, h, h->nlmsg_len) < 0) {
      return fail(Error::io(
          fmt::format("nflog: cannot bind group: {}", strerror(errno))));
    }
    ssize_t n = mnl_socket_recvfrom(nl_, buf.data(), buf.size());
    if (n < 0 || mnl_cb_run(buf.data(), static_cast<size_t>(n), 0, 0, nullptr,
                            nullptr) < 0) {
      return fail(Error::io(
          fmt::format("nflog: group {} refused: {}", group, strerror(errno))));
    }
    return {};
  }

  void Start() {
    thread_ = std::thread([this] { Loop(); });
  }
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  std::vector<LogMsg>& logs() { return logs_; }
  uint64_t lost() const { return lost_; }

 private:
  static nlmsghdr* Config(uint8_t* buf, uint16_t group) {
    nlmsghdr* h = mnl_nlmsg_put_header(buf);
    h->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    auto* g =
        static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(h, sizeof(nfgenmsg)));
    g->nfgen_family = AF_UNSPEC;
    g->version = NFNETLINK_V0;
    g->res_id = htons(group);
    return h;
  }

  static int OnAttr(const nlattr* a, void* data) {
    auto* m = static_cast<LogMsg*>(data);
    uint16_t t = mnl_attr_get_type(a);
    const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(a));
    size_t len = mnl_attr_get_payload_len(a);
    if (t == NFULA_PREFIX) {
      m->prefix.assign(reinterpret_cast<const char*>(p),
                       strnlen(reinterpret_cast<const char*>(p), len));
    } else if (t == NFULA_PAYLOAD) {
      m->payload.assign(p, p + len);
    }
    return MNL_CB_OK;
  }

  static int OnMsg(const nlmsghdr* h, void* data) {
    auto* self = static_cast<NflogReader*>(data);
    if ((h->nlmsg_type & 0xff) != NFULNL_MSG_PACKET) return MNL_CB_OK;
    LogMsg m;
    mnl_attr_parse(h, sizeof(nfgenmsg), OnAttr, &m);
    self->logs_.push_back(std::move(m));
    return MNL_CB_OK;
  }

  void Loop() {
    std::vector<uint8_t> buf(1 << 16);
    int fd = mnl_socket_get_fd(nl_);
    while (true) {
      pollfd p{fd, POLLIN, 0};
      int r = poll(&p, 1, 20);
      if (r <= 0) {
        if (stop_.load()) return;
        continue;
      }
      ssize_t n = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n < 0) {
        if (errno == ENOBUFS) ++lost_;
        continue;
      }
      mnl_cb_run(buf.data(), static_cast<size_t>(n), 0, 0, OnMsg, this);
    }
  }

  mnl_socket* nl_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::vector<LogMsg> logs_;
  uint64_t lost_ = 0;
};

[[nodiscard]] Result<void> MaybeFail(const KernelReplayOptions& o,
                                     const char* stage) {
  if (o.fail_after == stage) {
    return fail(Error::io(fmt::format("failing after '{}' as asked", stage)));
  }
  if (g_stop_signal.load() != 0) {
    return fail(Error::io(
        fmt::format("interrupted by signal {}", g_stop_signal.load())));
  }
  return {};
}

// Reads every tunable ctkit knows from the router namespace (the calling
// thread must be in it).
Tunables ReadTunables() {
  Tunables t;
  for (const auto& [name, value] : t.List()) {
    std::string path = "/proc/sys/" + name;
    for (size_t i = 10; i < path.size(); ++i) {
      if (path[i] == '.') path[i] = '/';
    }
    std::ifstream in(path);
    std::string v;
    if (in >> v) (void)t.Set(name, v);
  }
  return t;
}

}  // namespace

bool IpOffset(uint32_t link_type, const uint8_t* data, uint32_t caplen,
              uint32_t* off) {
  switch (link_type) {
    case linktype::kEthernet: {
      uint32_t o = 12;
      while (o + 2 <= caplen) {
        uint16_t et = static_cast<uint16_t>(data[o] << 8 | data[o + 1]);
        if (et == 0x8100 || et == 0x88a8) {
          o += 4;
          continue;
        }
        *off = o + 2;
        return true;
      }
      return false;
    }
    case linktype::kLinuxSll:
      *off = 16;
      return true;
    case linktype::kLinuxSll2:
      *off = 20;
      return true;
    case linktype::kRaw:
    case linktype::kIpv4:
    case linktype::kIpv6:
      *off = 0;
      return true;
    case linktype::kNull:
    case linktype::kLoop:
      *off = 4;
      return true;
    default:
      return false;
  }
}

[[nodiscard]] Result<KernelReplayResult> RunKernelReplay(
    const std::string& path, const KernelReplayOptions& opts) {
  if (!(opts.speed > 0)) {
    return fail(Error::invalid_argument("--speed must be > 0"));
  }
  // 1. Read and decode the whole capture first: the injection loop must not
  // wait for the disk.
  auto reader = CaptureReader::Open(path);
  if (!reader) return fail(reader.error());
  KernelReplayResult res;
  ReplayReport& r = res.report;
  r.capture = path;
  std::vector<Frame> frames;
  CaptureRecord rec{};
  CaptureDigest digest;
  while ((*reader)->Next(&rec)) {
    digest.Add(rec);
    Frame f{};
    f.ts_ns = rec.ts_ns;
    PacketView v{};
    f.status = DecodeFrame(rec.link_type, rec.data, rec.caplen, &v);
    uint32_t off = 0;
    if (Sendable(f.status) &&
        IpOffset(rec.link_type, rec.data, rec.caplen, &off) &&
        off < rec.caplen) {
      uint32_t len = std::min(rec.caplen - off, v.ip_len);
      f.ip.assign(rec.data + off, rec.data + off + len);
      // A capture taken on a sending host holds offload partial checksums
      // (net/checksum.h); the wire carried the NIC's complete one, which is
      // what the router must see. ctkit replay tracks such packets as the
      // sending host's kernel did, so both then agree.
      if (v.l4 != nullptr && v.l4 >= rec.data + off &&
          v.l4 + v.l4_len <= rec.data + off + len) {
        r.counters.offload_checksums +=
            CompleteOffloadChecksum(v, f.ip.data() + (v.l4 - (rec.data + off)));
      }
      f.family = v.family;
      f.src = v.src;
      f.dst = v.dst;
      f.has_tuple = f.status == DecodeStatus::kOk &&
                    ExtractTuple(v, &f.tuple) == InvalidReason::kNone;
      f.fragment = ReadFragmentFields(
          f.ip.data(), static_cast<uint32_t>(f.ip.size()), &f.frag);
    } else if (Sendable(f.status)) {
      f.status = DecodeStatus::kUnsupportedLinkType;
    }
    frames.push_back(std::move(f));
  }
  if ((*reader)->error()) r.read_error = *(*reader)->error();
  r.packets_read = frames.size();
  res.capture_sha256 = digest.Hex();
  res.speed = opts.speed;
  if (!frames.empty()) {
    r.first_ts_ns = frames.front().ts_ns;
    r.last_ts_ns = frames.back().ts_ns;
  }
  // 2. Sides: the first packet between two unplaced addresses puts its
  // source on A and its destination on B; later addresses go opposite the
  // peer they first talk to. Each packet leaves from its source's side.
  std::map<std::pair<Family, std::string>, Side> side_of;
  std::vector<std::pair<Address, Family>> addrs;
  std::vector<Side> sides;
  auto key = [](Family fam, const Address& a) {
    return std::make_pair(
        fam, std::string(reinterpret_cast<const char*>(a.bytes), 16));
  };
  auto place = [&](Family fam, const Address& a, Side s) {
    auto [it, fresh] = side_of.emplace(key(fam, a), s);
    if (fresh) {
      addrs.emplace_back(a, fam);
      sides.push_back(s);
    }
    return it->second;
  };
  for (const Frame& f : frames) {
    if (!Sendable(f.status)) continue;
    auto s = side_of.find(key(f.family, f.src));
    auto d = side_of.find(key(f.family, f.dst));
    if (s == side_of.end() && d == side_of.end()) {
      place(f.family, f.src, Side::kA);
      place(f.family, f.dst, Side::kB);
    } else if (s == side_of.end()) {
      place(f.family, f.src, d->second == Side::kA ? Side::kB : Side::kA);
    } else if (d == side_of.end()) {
      place(f.family, f.dst, s->second == Side::kA ? Side::kB : Side::kA);
    }
  }

  // 3. The sandbox.
  SandboxOptions so;
  so.sysctls = opts.sysctls;
  so.pre_conntrack_rules = opts.pre_conntrack_rules;
  so.allow_global = opts.allow_global;
  so.notice = opts.notice;
  auto sb = Sandbox::Create(so);
  if (!sb) return fail(sb.error());
  if (auto m = MaybeFail(opts, "sandbox"); !m) return fail(m.error());
  if (auto a = (*sb)->AddAddresses(addrs, sides); !a) return fail(a.error());
  if (auto m = MaybeFail(opts, "routes"); !m) return fail(m.error());

  NflogReader log;
  std::unique_ptr<CtnetlinkClient> ct;
  {
    auto in = (*sb)->router().Enter();
    if (!in) return fail(in.error());
    if (auto o = log.Open((*sb)->nflog_group()); !o) return fail(o.error());
    auto c = CtnetlinkClient::Open();
    if (!c) return fail(c.error());
    ct = std::move(*c);
    res.tunables = ReadTunables();
  }
  r.max = res.tunables.max;
  r.buckets = res.tunables.buckets;

  // 4. Inject, pinned to one CPU (see the file comment), keeping the gaps.
  cpu_set_t old_set, one;
  pthread_getaffinity_np(pthread_self(), sizeof old_set, &old_set);
  CPU_ZERO(&one);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-conversion"
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &old_set)) {
      CPU_SET(c, &one);
      break;
    }
  }
#pragma GCC diagnostic pop
  pthread_setaffinity_np(pthread_self(), sizeof one, &one);
  class Unpin {
   public:
    explicit Unpin(cpu_set_t* set) : set_(set) {}
    ~Unpin() { pthread_setaffinity_np(pthread_self(), sizeof *set_, set_); }
    Unpin(const Unpin&) = delete;
    Unpin& operator=(const Unpin&) = delete;

   private:
    cpu_set_t* set_;
  } unpin{&old_set};
  log.Start();
  std::vector<size_t> sent;         // frame indices, in send order
  std::vector<uint64_t> sent_wall;  // when each was sent (CLOCK_MONOTONIC)
  uint64_t t0 = NowNs() + 10000000ull;
  std::vector<uint8_t> eth;
  // Progress: packets sent and the capture time reached, now and then
  // (also while a long gap is being waited out).
  uint64_t to_send = 0;
  for (const Frame& f : frames) to_send += Sendable(f.status);
  const double capture_total_s =
      r.last_ts_ns > r.first_ts_ns
          ? static_cast<double>(r.last_ts_ns - r.first_ts_ns) * 1e-9
          : 0.0;
  constexpr uint64_t kProgressEveryNs = 200000000ull;
  uint64_t next_progress = 0;
  auto progress = [&](bool force, double capture_s) {
    if (!opts.on_progress) return;
    uint64_t now = NowNs();
    if (!force && now < next_progress) return;
    next_progress = now + kProgressEveryNs;
    opts.on_progress(sent.size(), to_send, capture_s, capture_total_s);
  };
  // Sleeps until the packet `rel_ns` into the capture is due; on the way
  // the capture time shown follows the wall clock times the speed.
  auto wait_for = [&](uint64_t rel_ns) {
    const uint64_t due =
        t0 + static_cast<uint64_t>(static_cast<double>(rel_ns) / opts.speed);
    while (opts.on_progress && NowNs() + kProgressEveryNs < due &&
           g_stop_signal.load() == 0) {
      SleepUntil(NowNs() + kProgressEveryNs);
      uint64_t now = NowNs();
      double at =
          now > t0 ? static_cast<double>(now - t0) * 1e-9 * opts.speed : 0.0;
      progress(false, std::min(at, static_cast<double>(rel_ns) * 1e-9));
    }
    SleepUntil(due);
  };
  for (size_t i = 0; i < frames.size(); ++i) {
    const Frame& f = frames[i];
    if (!Sendable(f.status)) continue;
    uint64_t rel = f.ts_ns >= r.first_ts_ns ? f.ts_ns - r.first_ts_ns : 0;
    wait_for(rel);
    if (g_stop_signal.load() != 0) break;
    Side s = side_of[key(f.family, f.src)];
    eth.assign((*sb)->router_mac(s), (*sb)->router_mac(s) + 6);
    eth.insert(eth.end(), (*sb)->side_mac(s), (*sb)->side_mac(s) + 6);
    eth.push_back(f.family == Family::kIPv4 ? 0x08 : 0x86);
    eth.push_back(f.family == Family::kIPv4 ? 0x00 : 0xdd);
    eth.insert(eth.end(), f.ip.begin(), f.ip.end());
    if (send((*sb)->packet_socket(s), eth.data(), eth.size(), 0) < 0) {
      log.Stop();
      return fail(Error::io(
          fmt::format("packet {}: send failed: {}", i + 1, strerror(errno))));
    }
    sent.push_back(i);
    sent_wall.push_back(NowNs());
    progress(false, static_cast<double>(rel) * 1e-9);
    if (opts.fail_after == "inject" && sent.size() == 1) break;
  }
  if (!sent.empty()) {
    const Frame& last = frames[sent.back()];
    progress(true, static_cast<double>(last.ts_ns >= r.first_ts_ns
                                           ? last.ts_ns - r.first_ts_ns
                                           : 0) *
                       1e-9);
  }
  res.sent = sent.size();
  // Let the backlog drain, then read the table as `conntrack -L` would
  // right after the last packet.
  SleepUntil(NowNs() + 20000000ull);
  if (auto m = MaybeFail(opts, "inject"); !m) {
    log.Stop();
    return fail(m.error());
  }
  uint64_t dump_wall = NowNs();
  auto d = ct->DumpTable([&](const FlowInfo& fi) { res.table.push_back(fi); });
  if (!d) return fail(d.error());
  auto st = ct->GetStats();
  if (!st) return fail(st.error());
  r.stats = *st;
  auto g = ct->GetGlobalStats();
  if (!g) return fail(g.error());
  r.final_count = g->entries;
  SleepUntil(NowNs() + 150000000ull);  // the log flush timer is 10 ms
  log.Stop();
  res.lost_logs = log.lost();

  // 5. Match the logs to the packets. A fragment shows a verdict only if
  // it completed a datagram and that datagram's log is found.
  FindCompletingFragments(&frames, kIpv4FragmentTimeoutS,
                          res.tunables.frag6_timeout);
  res.outcomes.resize(frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    const Frame& f = frames[i];
    if (Sendable(f.status) && f.fragment) {
      res.outcomes[i] = {true, Verdict::kDrop, DecodeStatus::kFragmentHeld};
    } else if (f.status != DecodeStatus::kOk) {
      res.outcomes[i] = {true, Verdict::kDrop, f.status};
    } else {
      res.outcomes[i] = {false, Verdict::kDrop, DecodeStatus::kOk};
    }
  }
  size_t j = 0;
  for (const LogMsg& m : log.logs()) {
    for (size_t k = j; k < sent.size(); ++k) {
      const Frame& f = frames[sent[k]];
      if (f.fragment ? f.completes && MatchesDatagram(f, m.payload)
                     : Matches(f.ip, m.payload)) {
        res.outcomes[sent[k]] = {false, VerdictFromPrefix(m.prefix),
                                 DecodeStatus::kOk};
        j = k + 1;
        break;
      }
    }
  }
  for (const PacketOutcome& o : res.outcomes) {
    if (o.skipped) {
      ++r.skipped_by_reason[static_cast<int>(o.reason)];
    } else {
      ++r.decoded;
    }
  }
  for (size_t i = 0; i < res.outcomes.size(); ++i) {
    const PacketOutcome& o = res.outcomes[i];
    if (o.skipped) continue;
    ++r.counters.verdicts[static_cast<int>(o.verdict)];
    if (o.verdict == Verdict::kDrop && !r.first_drop_index) {
      r.first_drop_index = i + 1;
      r.first_drop_ts_ns = frames[i].ts_ns;
    }
  }

  // 6. Timeouts in capture time (see the file comment).
  std::map<std::string, size_t> last_on;  // tuple -> position in `sent`
  for (size_t k = 0; k < sent.size(); ++k) {
    const Frame& f = frames[sent[k]];
    Verdict v = res.outcomes[sent[k]].verdict;
    if (!f.has_tuple || res.outcomes[sent[k]].skipped ||
        v == Verdict::kInvalid || v == Verdict::kDrop) {
      continue;
    }
    last_on[TupleKey(f.tuple)] = k;
  }
  for (FlowInfo& fi : res.table) {
    size_t best = SIZE_MAX;
    for (const Tuple* t : {&fi.original, &fi.reply}) {
      auto it = last_on.find(TupleKey(*t));
      if (it != last_on.end() && (best == SIZE_MAX || it->second > best)) {
        best = it->second;
      }
    }
    if (best == SIZE_MAX) continue;
    double wall_s = static_cast<double>(dump_wall - sent_wall[best]) / 1e9;
    double capture_s =
        static_cast<double>(r.last_ts_ns - frames[sent[best]].ts_ns) / 1e9;
    long long t =
        static_cast<long long>(fi.timeout_s) + std::llround(wall_s - capture_s);
    fi.timeout_s = static_cast<uint32_t>(std::max(0LL, t));
  }
  r.counters.packets = r.decoded;
  if (g_stop_signal.load() != 0) {
    return fail(Error::io(
        fmt::format("interrupted by signal {}", g_stop_signal.load())));
  }
  return res;
}

}  // namespace ctkit
