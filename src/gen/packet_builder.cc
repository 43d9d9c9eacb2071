// Builds complete, well-formed IPv4/IPv6 packets for tests, workloads and
// benchmarks.
//
// Every Build* function appends one IP header and one L4 message to the
// caller's vector, then patches the checksums in place: the IPv4 header
// checksum over the 20-byte header, the L4 checksum over the pseudo-header
// and the message, using the same ChecksumAdd as the verifier (tests pin
// both against independently computed sums). Fields are written big-endian
// one byte at a time, so the output does not depend on the host. Headers are
// minimal: IPv4 without options (IHL 5, id 0, DF clear, TTL 64), IPv6 with
// flow label 0, no extension headers and hop limit 64. Payloads are zeros.
// Not on the hot path: clarity wins over speed here.
#include "gen/packet_builder.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "net/checksum.h"

namespace ctkit {
namespace {

constexpr uint32_t kMaxIpv4Payload = 65535 - 20;
constexpr uint32_t kMaxIpv6Payload = 65535;
// The IPv6 minimum MTU minus the IPv6 and ICMPv6 headers (RFC 4443 2.4(c)).
constexpr size_t kIcmpv6ErrorQuote = 1280 - 40 - 8;

void Put16(std::vector<uint8_t>* out, size_t at, uint32_t v) {
  (*out)[at] = static_cast<uint8_t>(v >> 8);
  (*out)[at + 1] = static_cast<uint8_t>(v);
}

void Append16(std::vector<uint8_t>* out, uint32_t v) {
  out->push_back(static_cast<uint8_t>(v >> 8));
  out->push_back(static_cast<uint8_t>(v));
}

void Append32(std::vector<uint8_t>* out, uint32_t v) {
  Append16(out, v >> 16);
  Append16(out, v & 0xffff);
}

bool PayloadFits(Family family, uint32_t l4_len) {
  return l4_len <=
         (family == Family::kIPv4 ? kMaxIpv4Payload : kMaxIpv6Payload);
}

// Appends an IP header for an l4_len-byte payload and returns the offset of
// the payload (where the L4 header goes).
size_t AppendIpHeader(Family family, const Address& src, const Address& dst,
                      uint8_t proto, uint32_t l4_len, uint8_t hop_limit,
                      std::vector<uint8_t>* out) {
  const size_t start = out->size();
  if (family == Family::kIPv4) {
    out->push_back(0x45);        // version 4, IHL 5
    out->push_back(0);           // DSCP/ECN
    Append16(out, 20 + l4_len);  // total length
    Append32(out, 0);            // id 0, flags and offset 0
    out->push_back(hop_limit);   // TTL
    out->push_back(proto);       //
    Append16(out, 0);            // header checksum, patched below
    out->insert(out->end(), src.bytes, src.bytes + 4);
    out->insert(out->end(), dst.bytes, dst.bytes + 4);
    Put16(out, start + 10,
          ChecksumFold(ChecksumAdd(0, out->data() + start, 20)));
  } else {
    Append32(out, 0x60000000);  // version 6, traffic class 0, flow label 0
    Append16(out, l4_len);      // payload length
    out->push_back(proto);      // next header
    out->push_back(hop_limit);  //
    out->insert(out->end(), src.bytes, src.bytes + 16);
    out->insert(out->end(), dst.bytes, dst.bytes + 16);
  }
  return out->size();
}

// Computes and stores the L4 checksum of the message at out[l4, end) whose
// checksum field is at l4 + field (and currently zero). `pseudo` says whether
// a pseudo-header is summed (all but ICMPv4).
void PatchL4Checksum(Family family, const Address& src, const Address& dst,
                     uint8_t proto, size_t l4, size_t field, bool pseudo,
                     std::vector<uint8_t>* out) {
  const uint32_t len = static_cast<uint32_t>(out->size() - l4);
  uint32_t sum = 0;
  if (pseudo) {
    const uint32_t addr_len = family == Family::kIPv4 ? 4 : 16;
    sum = ChecksumAdd(sum, src.bytes, addr_len);
    sum = ChecksumAdd(sum, dst.bytes, addr_len);
    sum += proto + (len >> 16) + (len & 0xffff);
  }
  uint16_t check = ChecksumFold(ChecksumAdd(sum, out->data() + l4, len));
  // UDP sends a computed 0 as all ones (0 means "no checksum"); the others
  // may do the same, which receivers accept either way.
  if (check == 0 && pseudo) check = 0xffff;
  Put16(out, l4 + field, check);
}

// SACK blocks that fit into the 40 bytes of options after the others.
size_t SackBlocksThatFit(const TcpOptions& opts) {
  const size_t used = (opts.mss != 0 ? 4u : 0u) + (opts.sack_perm ? 2u : 0u) +
                      (opts.wscale >= 0 ? 3u : 0u);
  if (used + 2 + 8 > 40) return 0;
  return std::min(opts.sack.size(), (40 - used - 2) / 8);
}

}  // namespace

Address Ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  Address addr{};
  addr.bytes[0] = a;
  addr.bytes[1] = b;
  addr.bytes[2] = c;
  addr.bytes[3] = d;
  return addr;
}

Address Ipv4(uint32_t host_order) {
  return Ipv4(static_cast<uint8_t>(host_order >> 24),
              static_cast<uint8_t>(host_order >> 16),
              static_cast<uint8_t>(host_order >> 8),
              static_cast<uint8_t>(host_order));
}

std::optional<Address> ParseAddress(std::string_view text, Family* family) {
  const std::string s(text);  // inet_pton wants a terminated string
  Address addr{};
  if (inet_pton(AF_INET, s.c_str(), addr.bytes) == 1) {
    if (family != nullptr) *family = Family::kIPv4;
    return addr;
  }
  if (inet_pton(AF_INET6, s.c_str(), addr.bytes) == 1) {
    if (family != nullptr) *family = Family::kIPv6;
    return addr;
  }
  return std::nullopt;
}

size_t BuildTcp(const Endpoints& ep, uint32_t seq, uint32_t ack, uint8_t flags,
                uint16_t window, uint32_t payload_len, const TcpOptions& opts,
                std::vector<uint8_t>* out) {
  // Options first, so that the header length is known. They fit in the
  // header's 40 bytes (SackBlocksThatFit sees to it), so they are built on
  // the stack: the fuzzers build a packet per step.
  uint8_t o[40];
  size_t o_len = 0;
  auto put = [&o, &o_len](uint8_t b) { o[o_len++] = b; };
  auto put32 = [&put](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      put(static_cast<uint8_t>(v >> shift));
    }
  };
  if (opts.mss != 0) {
    put(2);
    put(4);
    put(static_cast<uint8_t>(opts.mss >> 8));
    put(static_cast<uint8_t>(opts.mss));
  }
  if (opts.sack_perm) {
    put(4);
    put(2);
  }
  if (opts.wscale >= 0) {
    put(3);
    put(3);
    put(static_cast<uint8_t>(opts.wscale));
  }
  if (const size_t n = SackBlocksThatFit(opts); n > 0) {
    put(5);
    put(static_cast<uint8_t>(2 + 8 * n));
    for (size_t i = 0; i < n; ++i) {
      put32(opts.sack[i].first);
      put32(opts.sack[i].second);
    }
  }
  while (o_len % 4 != 0) put(1);  // NOP

  const uint32_t header_len = static_cast<uint32_t>(20 + o_len);
  const uint32_t l4_len = header_len + payload_len;
  if (payload_len > kMaxIpv6Payload || !PayloadFits(ep.family, l4_len)) {
    return 0;
  }
  const size_t start = out->size();
  const size_t l4 =
      AppendIpHeader(ep.family, ep.src, ep.dst, ipproto::kTcp, l4_len, 64, out);
  Append16(out, ep.sport);
  Append16(out, ep.dport);
  Append32(out, seq);
  Append32(out, ack);
  out->push_back(static_cast<uint8_t>((header_len / 4) << 4));  // data offset
  out->push_back(flags);
  Append16(out, window);
  Append32(out, 0);  // checksum, urgent pointer
  out->insert(out->end(), o, o + o_len);
  out->resize(out->size() + payload_len, 0);
  PatchL4Checksum(ep.family, ep.src, ep.dst, ipproto::kTcp, l4, 16, true, out);
  return out->size() - start;
}

size_t BuildUdp(const Endpoints& ep, uint32_t payload_len,
                std::vector<uint8_t>* out, uint8_t proto) {
  if (payload_len > kMaxIpv6Payload ||
      !PayloadFits(ep.family, 8 + payload_len)) {
    return 0;
  }
  const uint32_t l4_len = 8 + payload_len;
  const size_t start = out->size();
  const size_t l4 =
      AppendIpHeader(ep.family, ep.src, ep.dst, proto, l4_len, 64, out);
  Append16(out, ep.sport);
  Append16(out, ep.dport);
  // UDP: length. UDP-Lite: checksum coverage, 0 = the whole packet.
  Append16(out, proto == ipproto::kUdpLite ? 0 : l4_len);
  Append16(out, 0);  // checksum
  out->resize(out->size() + payload_len, 0);
  PatchL4Checksum(ep.family, ep.src, ep.dst, proto, l4, 6, true, out);
  return out->size() - start;
}

size_t BuildIcmp(Family family, const Address& src, const Address& dst,
                 uint8_t type, uint8_t code, uint32_t rest,
                 std::span<const uint8_t> payload, std::vector<uint8_t>* out,
                 uint8_t hop_limit) {
  if (payload.size() > kMaxIpv6Payload ||
      !PayloadFits(family, static_cast<uint32_t>(8 + payload.size()))) {
    return 0;
  }
  const bool v4 = family == Family::kIPv4;
  const uint8_t proto = v4 ? ipproto::kIcmp : ipproto::kIcmpv6;
  const size_t start = out->size();
  const size_t l4 =
      AppendIpHeader(family, src, dst, proto,
                     static_cast<uint32_t>(8 + payload.size()), hop_limit, out);
  out->push_back(type);
  out->push_back(code);
  Append16(out, 0);  // checksum
  Append32(out, rest);
  out->insert(out->end(), payload.begin(), payload.end());
  PatchL4Checksum(family, src, dst, proto, l4, 2, !v4, out);
  return out->size() - start;
}

size_t BuildIcmpEcho(Family family, const Address& src, const Address& dst,
                     bool request, uint16_t id, uint16_t seq,
                     std::vector<uint8_t>* out) {
  uint8_t type;
  if (family == Family::kIPv4) {
    type = request ? 8 : 0;
  } else {
    type = request ? 128 : 129;
  }
  return BuildIcmp(family, src, dst, type, 0,
                   (static_cast<uint32_t>(id) << 16) | seq, {}, out);
}

size_t BuildIcmpError(Family family, const Address& src, const Address& dst,
                      uint8_t type, uint8_t code,
                      std::span<const uint8_t> quoted,
                      std::vector<uint8_t>* out) {
  size_t n = quoted.size();
  if (family == Family::kIPv4) {
    // RFC 792: the internet header plus the first 64 bits of its data.
    const size_t ihl = quoted.empty() ? 20 : (quoted[0] & 0x0fu) * 4u;
    n = std::min(n, ihl + 8);
  } else {
    n = std::min(n, kIcmpv6ErrorQuote);
  }
  return BuildIcmp(family, src, dst, type, code, 0, quoted.first(n), out);
}

size_t BuildGeneric(Family family, const Address& src, const Address& dst,
                    uint8_t proto, uint32_t payload_len,
                    std::vector<uint8_t>* out) {
  if (!PayloadFits(family, payload_len)) return 0;
  const size_t start = out->size();
  AppendIpHeader(family, src, dst, proto, payload_len, 64, out);
  out->resize(out->size() + payload_len, 0);
  return out->size() - start;
}

size_t BuildGre(Family family, const Address& src, const Address& dst,
                uint8_t version, uint16_t protocol, uint16_t call_id,
                std::vector<uint8_t>* out) {
  constexpr uint32_t kInnerLen = 20;
  const uint32_t len = version == 0 ? 4 + kInnerLen : 8;
  const size_t start = out->size();
  AppendIpHeader(family, src, dst, ipproto::kGre, len, 64, out);
  if (version == 0) {
    Append16(out, 0);
    Append16(out, 0x0800);
    out->push_back(0x45);  // the start of an inner IPv4 header
    out->resize(out->size() + kInnerLen - 1, 0);
  } else {
    Append16(out, 0x2000u | (version & 7u));  // key present
    Append16(out, protocol);
    Append16(out, 0);  // payload length
    Append16(out, call_id);
  }
  return out->size() - start;
}

size_t BuildFragment(std::span<const uint8_t> ip, uint32_t from, uint32_t to,
                     uint32_t id, std::vector<uint8_t>* out) {
  const bool v6 = !ip.empty() && (ip[0] >> 4) == 6;
  const size_t header = v6 ? 40 : 20;
  if (ip.size() < header || from > to || to > ip.size() - header) return 0;
  const bool more = to < ip.size() - header;
  const uint32_t part = to - from;
  const size_t start = out->size();
  out->insert(out->end(), ip.begin(), ip.begin() + static_cast<long>(header));
  uint8_t* h = out->data() + start;
  if (v6) {
    const uint8_t upper = h[6];
    h[6] = 44;  // a fragment header follows
    h[4] = static_cast<uint8_t>((part + 8) >> 8);
    h[5] = static_cast<uint8_t>(part + 8);
    out->push_back(upper);
    out->push_back(0);
    Append16(out, (from / 8) << 3 | (more ? 1u : 0u));
    Append16(out, id >> 16);
    Append16(out, id & 0xffff);
  } else {
    h[2] = static_cast<uint8_t>((part + 20) >> 8);
    h[3] = static_cast<uint8_t>(part + 20);
    h[4] = static_cast<uint8_t>(id >> 8);
    h[5] = static_cast<uint8_t>(id);
    const uint32_t frag = (more ? 0x2000u : 0u) | (from / 8);
    h[6] = static_cast<uint8_t>(frag >> 8);
    h[7] = static_cast<uint8_t>(frag);
    h[10] = h[11] = 0;
    const uint16_t sum = ChecksumFold(ChecksumAdd(0, h, 20));
    h[10] = static_cast<uint8_t>(sum >> 8);
    h[11] = static_cast<uint8_t>(sum);
  }
  out->insert(out->end(), ip.begin() + static_cast<long>(header + from),
              ip.begin() + static_cast<long>(header + to));
  return out->size() - start;
}

size_t WrapEthernet(std::span<const uint8_t> ip, int vlan_tags,
                    std::vector<uint8_t>* out) {
  // Locally administered MACs: 02:00:00:00:00:02 <- 02:00:00:00:00:01.
  static constexpr uint8_t kMacs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
  const size_t start = out->size();
  out->insert(out->end(), kMacs, kMacs + sizeof kMacs);
  for (int i = 0; i < vlan_tags; ++i) {
    // The outermost of two or more tags is an 802.1ad service tag.
    Append16(out, (i == 0 && vlan_tags >= 2) ? 0x88a8 : 0x8100);
    Append16(out, static_cast<uint32_t>(100 + i));  // PCP 0, DEI 0, VID
  }
  const bool v6 = !ip.empty() && (ip[0] >> 4) == 6;
  Append16(out, v6 ? 0x86dd : 0x0800);
  out->insert(out->end(), ip.begin(), ip.end());
  return out->size() - start;
}

}  // namespace ctkit
