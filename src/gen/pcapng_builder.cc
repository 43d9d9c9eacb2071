// PcapngBuilder: the blocks as the pcapng specification lays them out
// (type, total length, body padded to 4 bytes, total length again).
#include "gen/pcapng_builder.h"

#include <cstdio>

namespace ctkit {
namespace {

constexpr uint32_t kSectionHeader = 0x0a0d0d0a;
constexpr uint32_t kInterfaceDescription = 1;
constexpr uint32_t kSimplePacket = 3;
constexpr uint32_t kEnhancedPacket = 6;
constexpr uint16_t kOptIfName = 2;
constexpr uint16_t kOptIfTsresol = 9;

}  // namespace

void PcapngBuilder::U16(std::vector<uint8_t>* b, uint32_t v) const {
  const auto lo = static_cast<uint8_t>(v), hi = static_cast<uint8_t>(v >> 8);
  b->push_back(big_endian_ ? hi : lo);
  b->push_back(big_endian_ ? lo : hi);
}

void PcapngBuilder::U32(std::vector<uint8_t>* b, uint32_t v) const {
  U16(b, big_endian_ ? v >> 16 : v & 0xffff);
  U16(b, big_endian_ ? v & 0xffff : v >> 16);
}

void PcapngBuilder::Pad(std::vector<uint8_t>* b) const {
  while (b->size() % 4 != 0) b->push_back(0);
}

void PcapngBuilder::Block(uint32_t type, const std::vector<uint8_t>& body) {
  const auto total = static_cast<uint32_t>(12 + body.size());
  U32(&bytes_, type);
  U32(&bytes_, total);
  bytes_.insert(bytes_.end(), body.begin(), body.end());
  U32(&bytes_, total);
}

void PcapngBuilder::Section(bool big_endian) {
  big_endian_ = big_endian;
  std::vector<uint8_t> body;
  U32(&body, 0x1a2b3c4d);  // byte-order magic
  U16(&body, 1);           // version 1.0
  U16(&body, 0);
  U32(&body, 0xffffffff);  // section length unknown
  U32(&body, 0xffffffff);
  Block(kSectionHeader, body);
}

void PcapngBuilder::Interface(uint32_t link_type, std::string_view name) {
  std::vector<uint8_t> body;
  U16(&body, link_type);
  U16(&body, 0);
  U32(&body, 262144);  // snaplen
  if (!name.empty()) {
    U16(&body, kOptIfName);
    U16(&body, static_cast<uint32_t>(name.size()));
    body.insert(body.end(), name.begin(), name.end());
    Pad(&body);
  }
  U16(&body, kOptIfTsresol);
  U16(&body, 1);
  body.push_back(9);  // 10^-9 s
  Pad(&body);
  U16(&body, 0);  // opt_endofopt
  U16(&body, 0);
  Block(kInterfaceDescription, body);
}

void PcapngBuilder::Packet(uint32_t interface, uint64_t ts_ns,
                           std::span<const uint8_t> frame) {
  std::vector<uint8_t> body;
  U32(&body, interface);
  U32(&body, static_cast<uint32_t>(ts_ns >> 32));
  U32(&body, static_cast<uint32_t>(ts_ns));
  U32(&body, static_cast<uint32_t>(frame.size()));  // captured
  U32(&body, static_cast<uint32_t>(frame.size()));  // on the wire
  body.insert(body.end(), frame.begin(), frame.end());
  Pad(&body);
  Block(kEnhancedPacket, body);
}

void PcapngBuilder::SimplePacket(std::span<const uint8_t> frame) {
  std::vector<uint8_t> body;
  U32(&body, static_cast<uint32_t>(frame.size()));
  body.insert(body.end(), frame.begin(), frame.end());
  Pad(&body);
  Block(kSimplePacket, body);
}

void PcapngBuilder::UnknownBlock(uint32_t type, size_t body_bytes) {
  std::vector<uint8_t> body(body_bytes, 0xab);
  Pad(&body);
  Block(type, body);
}

bool PcapngBuilder::WriteTo(const std::string& path) const {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok =
      std::fwrite(bytes_.data(), 1, bytes_.size(), f) == bytes_.size();
  return std::fclose(f) == 0 && ok;
}

}  // namespace ctkit
