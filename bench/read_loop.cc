// ReadFiveTuples: see read_loop.h.
#include "bench/read_loop.h"

#include <pcap/pcap.h>

#include <cstring>
#include <memory>

namespace ctkit::bench {
namespace {

uint16_t Load16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Folds the 5-tuple of the IP packet at `ip` (`len` bytes) into *sink;
// false when it is not IPv4/IPv6 or too short for its headers.
bool FoldTuple(const uint8_t* ip, uint32_t len, uint64_t* sink) {
  if (len < 1) return false;
  uint64_t h;
  uint8_t proto;
  const uint8_t* l4;
  uint32_t l4_len;
  if ((ip[0] >> 4) == 4) {
    const uint32_t ihl = (ip[0] & 0xfu) * 4u;
    if (len < 20 || ihl < 20 || len < ihl) return false;
    proto = ip[9];
    h = (static_cast<uint64_t>(Load32(ip + 12)) << 32) ^ Load32(ip + 16);
    l4 = ip + ihl;
    l4_len = len - ihl;
  } else if ((ip[0] >> 4) == 6) {
    if (len < 40) return false;
    proto = ip[6];  // extension headers are not followed: a lean reader
    h = Load64(ip + 8) ^ Load64(ip + 16) ^ Load64(ip + 24) ^ Load64(ip + 32);
    l4 = ip + 40;
    l4_len = len - 40;
  } else {
    return false;
  }
  uint32_t ports = 0;
  if (l4_len >= 4) ports = (uint32_t{Load16(l4)} << 16) | Load16(l4 + 2);
  *sink += h ^ (uint64_t{ports} << 8) ^ proto;
  return true;
}

}  // namespace

std::optional<ReadLoopResult> ReadFiveTuples(const std::string& path) {
  char err[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<pcap_t, void (*)(pcap_t*)> p(
      pcap_open_offline(path.c_str(), err), pcap_close);
  if (!p) return std::nullopt;
  const int dlt = pcap_datalink(p.get());
  ReadLoopResult r;
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  int rc;
  while ((rc = pcap_next_ex(p.get(), &hdr, &data)) == 1) {
    ++r.packets;
    const uint8_t* ip = data;
    uint32_t len = hdr->caplen;
    if (dlt == DLT_EN10MB) {
      if (len < 14) continue;
      uint16_t type = Load16(data + 12);
      ip += 14;
      len -= 14;
      if (type == 0x8100 && len >= 4) {  // one VLAN tag
        type = Load16(ip + 2);
        ip += 4;
        len -= 4;
      }
      if (type != 0x0800 && type != 0x86dd) continue;
    } else if (dlt != DLT_RAW && dlt != 101 /* LINKTYPE_RAW */) {
      continue;
    }
    r.tuples += FoldTuple(ip, len, &r.sink);
  }
  if (rc == -1) return std::nullopt;  // -2: the end of the file
  return r;
}

}  // namespace ctkit::bench
