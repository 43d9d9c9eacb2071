// The flight recorder's ring file (see history_file.h; the byte layout is
// in docs/flight-recorder.md).
#include "watch/history_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <utility>

#include "core/text.h"

namespace ctkit::watch {
namespace {

constexpr char kMagic[8] = {'C', 'T', 'K', 'I', 'T', 'H', 'I', 'S'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 36;      // magic .. header CRC
constexpr size_t kSlotHeaderBytes = 16;  // sequence, length, CRC
constexpr uint32_t kMinSlotSize = 256, kMaxSlotSize = 65536;
/// Slots read per pread: the reader's whole memory (256 KiB at 1 KiB).
constexpr uint32_t kWindowSlots = 256;
constexpr size_t kMaxString = 255;
constexpr size_t kMaxListItems = 64;
constexpr size_t kMaxSettings = 256;

// The nf_conntrack_* sysctls by number, so a sample stores a byte for a
// name. Part of the format: append only, never reorder (a name not here
// is stored in full).
constexpr std::array<std::string_view, 55> kKnownNames = {
    "nf_conntrack_acct",
    "nf_conntrack_checksum",
    "nf_conntrack_events",
    "nf_conntrack_expect_max",
    "nf_conntrack_frag6_high_thresh",
    "nf_conntrack_frag6_low_thresh",
    "nf_conntrack_frag6_timeout",
    "nf_conntrack_generic_timeout",
    "nf_conntrack_helper",
    "nf_conntrack_icmp_timeout",
    "nf_conntrack_icmpv6_timeout",
    "nf_conntrack_log_invalid",
    "nf_conntrack_tcp_be_liberal",
    "nf_conntrack_tcp_ignore_invalid_rst",
    "nf_conntrack_tcp_loose",
    "nf_conntrack_tcp_max_retrans",
    "nf_conntrack_tcp_timeout_close",
    "nf_conntrack_tcp_timeout_close_wait",
    "nf_conntrack_tcp_timeout_established",
    "nf_conntrack_tcp_timeout_fin_wait",
    "nf_conntrack_tcp_timeout_last_ack",
    "nf_conntrack_tcp_timeout_max_retrans",
    "nf_conntrack_tcp_timeout_syn_recv",
    "nf_conntrack_tcp_timeout_syn_sent",
    "nf_conntrack_tcp_timeout_time_wait",
    "nf_conntrack_tcp_timeout_unacknowledged",
    "nf_conntrack_timestamp",
    "nf_conntrack_udp_timeout",
    "nf_conntrack_udp_timeout_stream",
    "nf_conntrack_sctp_timeout_closed",
    "nf_conntrack_sctp_timeout_cookie_wait",
    "nf_conntrack_sctp_timeout_cookie_echoed",
    "nf_conntrack_sctp_timeout_established",
    "nf_conntrack_sctp_timeout_shutdown_sent",
    "nf_conntrack_sctp_timeout_shutdown_recd",
    "nf_conntrack_sctp_timeout_shutdown_ack_sent",
    "nf_conntrack_sctp_timeout_heartbeat_sent",
    "nf_conntrack_gre_timeout",
    "nf_conntrack_gre_timeout_stream",
    "nf_conntrack_dccp_loose",
    "nf_conntrack_dccp_timeout_request",
    "nf_conntrack_dccp_timeout_respond",
    "nf_conntrack_dccp_timeout_partopen",
    "nf_conntrack_dccp_timeout_open",
    "nf_conntrack_dccp_timeout_closereq",
    "nf_conntrack_dccp_timeout_closing",
    "nf_conntrack_dccp_timeout_timewait",
    "nf_conntrack_max",
    "nf_conntrack_buckets",
    "nf_conntrack_count",
    "none",
    "tcp",
    "udp",
    "icmp",
    "ipv6-icmp",
};

// --- little-endian fixed-width fields and LEB128 varints ---

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
uint32_t GetU32(const unsigned char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t GetU64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
void PutString(std::string* out, std::string_view s) {
  s = s.substr(0, kMaxString);
  PutVarint(out, s.size());
  out->append(s);
}
// A name as its number in kKnownNames plus one, or 0 and the name.
void PutName(std::string* out, std::string_view name) {
  const auto* it = std::find(kKnownNames.begin(), kKnownNames.end(), name);
  if (it != kKnownNames.end()) {
    PutVarint(out, static_cast<uint64_t>(it - kKnownNames.begin()) + 1);
  } else {
    PutVarint(out, 0);
    PutString(out, name);
  }
}
bool IsKnownName(std::string_view name) {
  return std::find(kKnownNames.begin(), kKnownNames.end(), name) !=
         kKnownNames.end();
}

uint32_t Crc(uint32_t crc, const void* data, size_t n) {
  return static_cast<uint32_t>(
      crc32(crc, static_cast<const Bytef*>(data), static_cast<uInt>(n)));
}

// Reads a payload; every read is bounds-checked (a CRC-good slot of
// another version or a bug must not crash the reader).
class PayloadReader {
 public:
  explicit PayloadReader(std::string_view data) : data_(data) {}
  bool ok() const { return ok_; }
  bool done() const { return pos_ == data_.size(); }
  uint8_t Byte() {
    if (pos_ >= data_.size()) return Bad();
    return static_cast<uint8_t>(data_[pos_++]);
  }
  uint64_t Fixed64() {
    if (data_.size() - pos_ < 8) return Bad();
    const uint64_t v =
        GetU64(reinterpret_cast<const unsigned char*>(data_.data() + pos_));
    pos_ += 8;
    return v;
  }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const uint8_t b = Byte();
      if (!ok_) return 0;
      v |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) return v;
    }
    return Bad();
  }
  std::string String() {
    const uint64_t n = Varint();
    if (!ok_ || n > kMaxString || n > data_.size() - pos_) {
      Bad();
      return {};
    }
    std::string s(data_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  std::string Name() {
    const uint64_t k = Varint();
    if (!ok_) return {};
    if (k == 0) return String();
    if (k > kKnownNames.size()) {
      Bad();
      return {};
    }
    return std::string(kKnownNames[k - 1]);
  }

 private:
  uint8_t Bad() {
    ok_ = false;
    return 0;
  }
  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

enum Flags : uint8_t {
  kHasCount = 1,
  kHasMax = 2,
  kHasBuckets = 4,
  kHasStats = 8,
  kHasScan = 16,
  kScanComplete = 32,
};

// The statistics in the order a payload stores them.
constexpr uint64_t Stats::*kStatFields[] = {
    &Stats::found,         &Stats::invalid,        &Stats::insert,
    &Stats::insert_failed, &Stats::drop,           &Stats::early_drop,
    &Stats::error,         &Stats::search_restart, &Stats::clash_resolve,
    &Stats::chaintoolong};

// Nanoseconds since the epoch, saturating: a time past 2554 (a corrupt
// slot decoded, a wrong clock) must not overflow into another time.
uint64_t ToNs(double unix_s) {
  if (!(unix_s > 0)) return 0;
  const double ns = std::round(unix_s * 1e9);
  constexpr double kAfterLast = 18446744073709551616.0;  // 2^64
  if (ns >= kAfterLast) return UINT64_MAX;
  return static_cast<uint64_t>(ns);
}
double FromNs(uint64_t ns) { return static_cast<double>(ns) / 1e9; }

std::string EncodeWith(const HistorySample& s, size_t top_k,
                       bool unknown_settings) {
  std::string out;
  uint8_t flags = 0;
  if (s.count) flags |= kHasCount;
  if (s.max) flags |= kHasMax;
  if (s.buckets) flags |= kHasBuckets;
  if (s.stats) flags |= kHasStats;
  if (s.scan) flags |= kHasScan;
  if (s.scan && s.scan->complete) flags |= kScanComplete;
  out.push_back(static_cast<char>(flags));
  PutU64(&out, ToNs(s.unix_s));
  PutString(&out, s.netns);
  if (s.count) PutVarint(&out, *s.count);
  if (s.max) PutVarint(&out, *s.max);
  if (s.buckets) PutVarint(&out, *s.buckets);
  if (s.stats) {
    for (auto field : kStatFields) PutVarint(&out, (*s.stats).*field);
  }
  size_t settings = 0;
  for (const auto& [name, value] : s.settings) {
    if (unknown_settings || IsKnownName(name)) ++settings;
  }
  settings = std::min(settings, kMaxSettings);
  PutVarint(&out, settings);
  for (const auto& [name, value] : s.settings) {
    if (settings == 0) break;
    if (!unknown_settings && !IsKnownName(name)) continue;
    PutName(&out, name);
    PutVarint(&out, value);
    --settings;
  }
  if (s.scan) {
    const HistoryScan& c = *s.scan;
    PutU64(&out, ToNs(c.finished_unix));
    PutVarint(&out, c.total);
    PutVarint(&out, c.assured);
    PutVarint(&out, c.unreplied);
    for (const auto* list :
         {&c.states, &c.classes, &c.sources, &c.destinations, &c.ports}) {
      const size_t n = std::min(list->size(), top_k);
      PutVarint(&out, n);
      for (size_t i = 0; i < n; ++i) {
        PutName(&out, (*list)[i].protocol);
        PutName(&out, (*list)[i].key);
        PutVarint(&out, (*list)[i].entries);
      }
    }
  }
  return out;
}

// --- the header ---

std::string EncodeHeader(const HistoryGeometry& g) {
  std::string h(kMagic, sizeof kMagic);
  PutU32(&h, kVersion);
  PutU32(&h, g.slot_size);
  PutU32(&h, g.slot_count);
  PutU32(&h, g.interval_ms);
  PutU64(&h, static_cast<uint64_t>(g.created_unix_ns));
  PutU32(&h, Crc(0, h.data(), h.size()));
  h.resize(g.slot_size, '\0');
  return h;
}

[[nodiscard]] Result<HistoryGeometry> DecodeHeader(const std::string& path,
                                                   const unsigned char* h,
                                                   size_t n) {
  auto bad = [&](const std::string& why) {
    return fail(
        Error::corrupt(path + ": not a usable ctkit history file: " + why));
  };
  if (n < kHeaderBytes) {
    return bad("the file is " + std::to_string(n) +
               " bytes, shorter than its header: truncated at offset " +
               std::to_string(n));
  }
  if (std::memcmp(h, kMagic, sizeof kMagic) != 0) {
    return bad("bad magic at offset 0 (expected \"CTKITHIS\")");
  }
  const uint32_t version = GetU32(h + 8);
  if (version != kVersion) {
    return bad("version " + std::to_string(version) +
               " at offset 8 (this ctkit reads version 1)");
  }
  if (GetU32(h + 32) != Crc(0, h, 32)) {
    return bad("header checksum mismatch at offset 32");
  }
  HistoryGeometry g;
  g.slot_size = GetU32(h + 12);
  g.slot_count = GetU32(h + 16);
  g.interval_ms = GetU32(h + 20);
  g.created_unix_ns = static_cast<int64_t>(GetU64(h + 24));
  if (g.slot_size < kMinSlotSize || g.slot_size > kMaxSlotSize) {
    return bad("slot size " + std::to_string(g.slot_size) +
               " at offset 12 is out of range");
  }
  if (g.slot_count < 2 || g.slot_count > kHistoryMaxSlots) {
    return bad("slot count " + std::to_string(g.slot_count) +
               " at offset 16 is out of range");
  }
  if (g.interval_ms == 0) return bad("interval 0 at offset 20");
  return g;
}

// --- slots ---

enum class SlotState { kEmpty, kGood, kBad };

struct SlotView {
  SlotState state = SlotState::kEmpty;
  uint64_t sequence = 0;
  std::string_view payload;
  std::string why;  // kBad
};

SlotView Classify(const unsigned char* p, const HistoryGeometry& g,
                  uint64_t index) {
  SlotView v;
  if (std::all_of(p, p + kSlotHeaderBytes,
                  [](unsigned char c) { return c == 0; })) {
    return v;  // never written
  }
  v.state = SlotState::kBad;
  v.sequence = GetU64(p);
  const uint32_t len = GetU32(p + 8);
  if (len > g.slot_size - kSlotHeaderBytes) {
    v.why = "length " + std::to_string(len) + " exceeds the slot";
    return v;
  }
  uint32_t crc = Crc(0, p, 12);
  crc = Crc(crc, p + kSlotHeaderBytes, len);
  if (crc != GetU32(p + 12)) {
    v.why = "checksum mismatch (a torn write or corruption)";
    return v;
  }
  if (v.sequence == 0 || (v.sequence - 1) % g.slot_count != index) {
    v.why = "sequence " + std::to_string(v.sequence) +
            " does not belong in this slot";
    return v;
  }
  v.state = SlotState::kGood;
  v.payload = std::string_view(reinterpret_cast<const char*>(p) + 16, len);
  return v;
}

// Streams slots [first, last) of an open file through a bounded window:
// fn(index, offset, bytes) for each whole slot. Returns false on a read
// error.
template <class Fn>
bool ForEachSlot(int fd, const HistoryGeometry& g, uint64_t first,
                 uint64_t last, std::string* window, Fn&& fn) {
  window->resize(size_t{g.slot_size} * kWindowSlots);
  for (uint64_t i = first; i < last;) {
    const uint64_t n = std::min<uint64_t>(kWindowSlots, last - i);
    const uint64_t offset = uint64_t{g.slot_size} * (i + 1);
    const size_t want = static_cast<size_t>(n * g.slot_size);
    size_t got = 0;
    while (got < want) {
      const ssize_t r = pread(fd, window->data() + got, want - got,
                              static_cast<off_t>(offset + got));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    for (uint64_t k = 0; k < n; ++k) {
      fn(i + k, offset + k * g.slot_size,
         reinterpret_cast<const unsigned char*>(window->data()) +
             k * g.slot_size);
    }
    i += n;
  }
  return true;
}

std::string Errno(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

struct OpenedFile {
  HistoryGeometry geometry;
  uint64_t size = 0;
  uint64_t whole_slots = 0;  // slots wholly inside the file
};

[[nodiscard]] Result<OpenedFile> ReadHeader(const std::string& path, int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return fail(Error::io(Errno(path)));
  OpenedFile f;
  f.size = static_cast<uint64_t>(st.st_size);
  unsigned char h[kHeaderBytes] = {};
  const ssize_t r = pread(fd, h, sizeof h, 0);
  if (r < 0) return fail(Error::io(Errno(path)));
  Result<HistoryGeometry> g = DecodeHeader(path, h, static_cast<size_t>(r));
  if (!g) return fail(g.error());
  f.geometry = *g;
  const uint64_t body = f.size > g->slot_size ? f.size - g->slot_size : 0;
  f.whole_slots = std::min<uint64_t>(body / g->slot_size, g->slot_count);
  return f;
}

// The newest good sequence in the file (0: none).
[[nodiscard]] Result<uint64_t> NewestSequence(const std::string& path, int fd,
                                              const OpenedFile& f) {
  uint64_t newest = 0;
  std::string window;
  const bool ok =
      ForEachSlot(fd, f.geometry, 0, f.whole_slots, &window,
                  [&](uint64_t index, uint64_t, const unsigned char* p) {
                    const SlotView v = Classify(p, f.geometry, index);
                    if (v.state == SlotState::kGood)
                      newest = std::max(newest, v.sequence);
                  });
  if (!ok) return fail(Error::io(Errno(path)));
  return newest;
}

}  // namespace

HistorySample SampleOf(double unix_s, const std::string& netns,
                       const HostData& data, const TableScan* scan) {
  HistorySample s;
  s.unix_s = unix_s;
  s.netns = netns;
  s.count = data.count;
  s.max = data.max;
  s.buckets = data.buckets;
  s.stats = data.stats;
  for (const auto& [name, value] : data.sysctls) {
    if (name == "nf_conntrack_count" || name == "nf_conntrack_max" ||
        name == "nf_conntrack_buckets") {
      continue;
    }
    if (auto v = ToU64(value)) s.settings.emplace(name, *v);
  }
  if (scan != nullptr && scan->error.empty()) {
    HistoryScan c;
    const TableSummary& t = scan->summary;
    c.finished_unix = scan->finished_unix;
    c.complete = scan->complete;
    c.total = t.total;
    c.assured = t.assured;
    c.unreplied = t.unreplied;
    for (const StateCount& x : t.by_state) {
      if (c.states.size() == kHistoryTopK) break;
      c.states.push_back({x.protocol, x.state, x.entries});
    }
    // The classes largest first (the summary keeps them in class order).
    std::vector<HistoryRanked> classes;
    for (const LifetimeHistogram& h : t.lifetimes) {
      classes.push_back({"", h.sysctl, h.count});
    }
    std::stable_sort(classes.begin(), classes.end(),
                     [](const HistoryRanked& a, const HistoryRanked& b) {
                       return a.entries > b.entries;
                     });
    if (classes.size() > kHistoryTopK) classes.resize(kHistoryTopK);
    c.classes = std::move(classes);
    auto top = [](const std::vector<RankedKey>& from,
                  std::vector<HistoryRanked>* to) {
      for (const RankedKey& k : from) {
        if (to->size() == kHistoryTopK) break;
        to->push_back({k.protocol, k.key, k.entries});
      }
    };
    top(t.top_sources, &c.sources);
    top(t.top_destinations, &c.destinations);
    top(t.top_dports, &c.ports);
    s.scan = std::move(c);
  }
  return s;
}

[[nodiscard]] Result<std::string> EncodeSample(const HistorySample& s,
                                               size_t capacity) {
  for (bool unknown : {true, false}) {
    for (size_t k = kHistoryTopK + 1; k-- > 0;) {
      std::string out = EncodeWith(s, k, unknown);
      if (out.size() <= capacity) return out;
    }
  }
  return fail(Error::invalid_argument("a history sample does not fit in " +
                                      std::to_string(capacity) +
                                      " bytes even without its rankings"));
}

[[nodiscard]] Result<HistorySample> DecodeSample(const std::string& payload) {
  PayloadReader r(payload);
  HistorySample s;
  const uint8_t flags = r.Byte();
  s.unix_s = FromNs(r.Fixed64());
  s.netns = r.String();
  if (flags & kHasCount) s.count = r.Varint();
  if (flags & kHasMax) s.max = r.Varint();
  if (flags & kHasBuckets) s.buckets = r.Varint();
  if (flags & kHasStats) {
    Stats st;
    for (auto field : kStatFields) st.*field = r.Varint();
    s.stats = st;
  }
  const uint64_t settings = r.Varint();
  if (settings > kMaxSettings) {
    return fail(Error::corrupt("too many settings"));
  }
  for (uint64_t i = 0; i < settings && r.ok(); ++i) {
    std::string name = r.Name();
    const uint64_t value = r.Varint();
    s.settings.insert_or_assign(std::move(name), value);
  }
  if (flags & kHasScan) {
    HistoryScan c;
    c.finished_unix = FromNs(r.Fixed64());
    c.complete = (flags & kScanComplete) != 0;
    c.total = r.Varint();
    c.assured = r.Varint();
    c.unreplied = r.Varint();
    for (auto* list :
         {&c.states, &c.classes, &c.sources, &c.destinations, &c.ports}) {
      const uint64_t n = r.Varint();
      if (n > kMaxListItems) return fail(Error::corrupt("ranking too long"));
      for (uint64_t i = 0; i < n && r.ok(); ++i) {
        HistoryRanked k;
        k.protocol = r.Name();
        k.key = r.Name();
        k.entries = r.Varint();
        list->push_back(std::move(k));
      }
    }
    s.scan = std::move(c);
  }
  if (!r.ok()) return fail(Error::corrupt("the payload ends early"));
  if (!r.done()) return fail(Error::corrupt("bytes after the payload"));
  return s;
}

[[nodiscard]] Result<HistoryGeometry> GeometryFor(double interval_s,
                                                  double retention_s) {
  if (!(interval_s >= kHistoryMinIntervalS) || interval_s > 86400) {
    return fail(Error::invalid_argument(
        "--history.interval must be between 0.1 s and 1 day"));
  }
  if (!(retention_s >= interval_s)) {
    return fail(Error::invalid_argument(
        "--history.retention must be at least --history.interval"));
  }
  const double slots = std::ceil(retention_s / interval_s - 1e-9);
  if (slots > static_cast<double>(kHistoryMaxSlots)) {
    return fail(Error::invalid_argument(
        "--history.retention / --history.interval is " +
        std::to_string(static_cast<uint64_t>(slots)) + " slots; at most " +
        std::to_string(kHistoryMaxSlots) + " (4 GiB) are allowed"));
  }
  HistoryGeometry g;
  g.slot_count = static_cast<uint32_t>(std::max(2.0, slots));
  g.interval_ms = static_cast<uint32_t>(std::llround(interval_s * 1000));
  return g;
}

[[nodiscard]] Result<HistoryReadReport> ReadHistory(
    const std::string& path,
    const std::function<void(const HistorySample&)>& visit,
    const std::function<void(const HistoryGeometry&)>& on_geometry) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return fail(errno == EACCES || errno == EPERM
                    ? Error::permission(Errno(path))
                    : Error::io(Errno(path)));
  }
  struct Closer {
    explicit Closer(int f) : fd(f) {}
    Closer(const Closer&) = delete;
    Closer& operator=(const Closer&) = delete;
    ~Closer() { close(fd); }
    int fd;
  } closer(fd);
  Result<OpenedFile> f = ReadHeader(path, fd);
  if (!f) return fail(f.error());
  const HistoryGeometry& g = f->geometry;
  HistoryReadReport report;
  report.geometry = g;
  if (on_geometry) on_geometry(g);
  if (f->size < g.file_size()) report.truncated_at = f->size;

  Result<uint64_t> newest = NewestSequence(path, fd, *f);
  if (!newest) return fail(newest.error());
  report.newest_sequence = *newest;
  const uint64_t oldest = *newest > g.slot_count ? *newest - g.slot_count + 1
                                                 : (*newest > 0 ? 1 : 0);
  report.oldest_sequence = oldest;

  auto note = [&](uint64_t offset, std::string what) {
    ++report.bad_slots;
    if (report.problems.size() < HistoryReadReport::kMaxProblems) {
      report.problems.push_back({offset, std::move(what)});
    }
  };
  auto each = [&](uint64_t index, uint64_t offset, const unsigned char* p) {
    const SlotView v = Classify(p, g, index);
    const std::string where = "slot " + std::to_string(index);
    switch (v.state) {
      case SlotState::kEmpty:
        ++report.empty_slots;
        return;
      case SlotState::kBad:
        note(offset, where + ": " + v.why + "; skipped");
        return;
      case SlotState::kGood:
        break;
    }
    if (v.sequence < oldest || v.sequence > *newest) {
      note(offset, where + ": sequence " + std::to_string(v.sequence) +
                       " is older than the ring; skipped");
      return;
    }
    Result<HistorySample> s = DecodeSample(std::string(v.payload));
    if (!s) {
      note(offset, where + ": " + s.error().message + "; skipped");
      return;
    }
    ++report.samples;
    visit(*s);
  };
  // Oldest first: from the slot after the newest to the end, then from the
  // start up to the newest.
  const uint64_t start = *newest % g.slot_count;
  std::string window;
  bool ok = ForEachSlot(fd, g, std::min(start, f->whole_slots), f->whole_slots,
                        &window, each);
  ok = ok &&
       ForEachSlot(fd, g, 0, std::min(start, f->whole_slots), &window, each);
  if (!ok) return fail(Error::io(Errno(path)));
  if (report.truncated_at && *report.truncated_at % g.slot_size != 0 &&
      *report.truncated_at > g.slot_size) {
    // The slot the file ends in is part of the truncation, not a bad slot.
    report.problems.push_back(
        {*report.truncated_at, "the file ends inside slot " +
                                   std::to_string(f->whole_slots) +
                                   "; that slot is lost"});
  }
  return report;
}

HistoryWriter::HistoryWriter(std::string path, int fd, HistoryGeometry geometry,
                             uint64_t next_sequence)
    : path_(std::move(path)),
      fd_(fd),
      geometry_(geometry),
      next_sequence_(next_sequence) {
  slot_.resize(geometry_.slot_size);
}

HistoryWriter::~HistoryWriter() {
  if (fd_ >= 0) close(fd_);
}

namespace {

// The directory of `path`, for its fsync after a rename.
std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Creates `path` with `g`: the header and the zeroed slots, written to a
// temporary file beside it and renamed into place, so that `path` never
// exists without its header. An existing `path` is left as it is (another
// process created it first); the caller opens it then.
[[nodiscard]] Result<void> CreateFile(const std::string& path,
                                      const HistoryGeometry& g) {
  const std::string tmp =
      path + ".tmp." + std::to_string(static_cast<long>(getpid()));
  const int fd = open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return fail(Error::io(Errno("cannot create " + tmp)));
  auto undo = [&](const std::string& why) {
    const Error e = Error::io(Errno(why));
    close(fd);
    unlink(tmp.c_str());
    return fail(e);
  };
  const std::string header = EncodeHeader(g);
  if (pwrite(fd, header.data(), header.size(), 0) !=
      static_cast<ssize_t>(header.size())) {
    return undo("cannot write " + tmp);
  }
  // Reserve the whole ring now, so that a full disk is an error at the
  // start rather than a lost sample at 03:12.
  const int rc = posix_fallocate(fd, 0, static_cast<off_t>(g.file_size()));
  if (rc != 0) {
    if (rc != EOPNOTSUPP && rc != EINVAL) {
      errno = rc;
      return undo("cannot reserve " + std::to_string(g.file_size()) +
                  " bytes for " + path);
    }
    if (ftruncate(fd, static_cast<off_t>(g.file_size())) != 0) {
      return undo("cannot size " + tmp);
    }
  }
  if (fsync(fd) != 0) return undo("cannot sync " + tmp);
  close(fd);
  if (renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(),
                RENAME_NOREPLACE) != 0) {
    const int err = errno;
    if (err == EINVAL || err == ENOSYS) {
      // A file system without RENAME_NOREPLACE: link(2) does not replace.
      if (link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
        const Error e = Error::io(Errno("cannot create " + path));
        unlink(tmp.c_str());
        return fail(e);
      }
      unlink(tmp.c_str());
    } else {
      unlink(tmp.c_str());
      if (err != EEXIST) {
        errno = err;
        return fail(Error::io(Errno("cannot create " + path)));
      }
    }
  }
  const int dir = open(DirOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    fsync(dir);
    close(dir);
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<HistoryWriter>> HistoryWriter::Open(
    const std::string& path, const HistoryGeometry& geometry) {
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    HistoryGeometry g = geometry;
    if (g.created_unix_ns == 0) {
      struct timespec ts {};
      clock_gettime(CLOCK_REALTIME, &ts);
      g.created_unix_ns = int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
    }
    if (Result<void> c = CreateFile(path, g); !c) return fail(c.error());
    fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  }
  if (fd < 0) {
    return fail(errno == EACCES || errno == EPERM
                    ? Error::permission(Errno(path))
                    : Error::io(Errno(path)));
  }
  auto refuse = [fd](Error e) {
    close(fd);
    return fail(std::move(e));
  };
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    return refuse(Error::io(path +
                            ": another process is recording into it (flock: " +
                            std::strerror(errno) + ")"));
  }
  Result<OpenedFile> f = ReadHeader(path, fd);
  if (!f) return refuse(f.error());
  const HistoryGeometry& g = f->geometry;
  auto mismatch = [&](const char* field, uint64_t in_file, uint64_t asked,
                      const char* flags) {
    return refuse(Error::invalid_argument(
        path + ": its " + field + " is " + std::to_string(in_file) +
        ", not the " + std::to_string(asked) + " asked for (" + flags +
        "); the history is kept as it is: give the flags it was made "
        "with, or another file"));
  };
  if (g.slot_size != geometry.slot_size) {
    return mismatch("slot size", g.slot_size, geometry.slot_size,
                    "this build's slot size");
  }
  if (g.slot_count != geometry.slot_count) {
    return mismatch("slot count", g.slot_count, geometry.slot_count,
                    "--history.retention / --history.interval");
  }
  if (g.interval_ms != geometry.interval_ms) {
    return mismatch("interval in ms", g.interval_ms, geometry.interval_ms,
                    "--history.interval");
  }
  if (f->size < g.file_size()) {
    return refuse(Error::corrupt(
        path + ": truncated at offset " + std::to_string(f->size) +
        " (its geometry needs " + std::to_string(g.file_size()) +
        " bytes); `ctkit history` still reads it; record into another "
        "file"));
  }
  Result<uint64_t> newest = NewestSequence(path, fd, *f);
  if (!newest) return refuse(newest.error());
  return std::unique_ptr<HistoryWriter>(
      new HistoryWriter(path, fd, g, *newest + 1));
}

Result<void> HistoryWriter::Append(const HistorySample& s) {
  Result<std::string> payload =
      EncodeSample(s, geometry_.slot_size - kSlotHeaderBytes);
  if (!payload) return fail(payload.error());
  slot_.clear();
  PutU64(&slot_, next_sequence_);
  PutU32(&slot_, static_cast<uint32_t>(payload->size()));
  uint32_t crc = Crc(0, slot_.data(), 12);
  crc = Crc(crc, payload->data(), payload->size());
  PutU32(&slot_, crc);
  slot_ += *payload;
  slot_.resize(geometry_.slot_size, '\0');
  const uint64_t index = (next_sequence_ - 1) % geometry_.slot_count;
  const off_t offset =
      static_cast<off_t>(uint64_t{geometry_.slot_size} * (index + 1));
  size_t done = 0;
  while (done < slot_.size()) {
    const ssize_t w = pwrite(fd_, slot_.data() + done, slot_.size() - done,
                             offset + static_cast<off_t>(done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return fail(Error::io(Errno("cannot write " + path_)));
    done += static_cast<size_t>(w);
  }
  if (fdatasync(fd_) != 0)
    return fail(Error::io(Errno("cannot sync " + path_)));
  ++next_sequence_;
  return {};
}

}  // namespace ctkit::watch
