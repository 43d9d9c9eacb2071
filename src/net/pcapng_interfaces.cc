// PcapngInterfaces: the pcapng block walk beside libpcap.
//
// Only what interfaces need is read from a block: its type and length,
// and the first word of its body (the byte-order magic of a Section Header
// Block, the interface number of a packet block) — except an Interface
// Description Block, read whole up to kMaxIdbBytes for its if_name option.
// The rest of every block is skipped as it streams past, so the walk costs
// a few comparisons per block and no copy of packet data.
#include "net/pcapng_interfaces.h"

#include <algorithm>

namespace ctkit::detail {
namespace {

constexpr uint32_t kSectionHeader = 0x0a0d0d0a;  // the same in either order
constexpr uint32_t kInterfaceDescription = 1;
constexpr uint32_t kObsoletePacket = 2;
constexpr uint32_t kSimplePacket = 3;
constexpr uint32_t kEnhancedPacket = 6;
constexpr uint32_t kByteOrderMagic = 0x1a2b3c4d;
constexpr uint32_t kByteOrderMagicSwapped = 0x4d3c2b1a;
constexpr uint16_t kOptEnd = 0;
constexpr uint16_t kOptIfName = 2;

// An IDB is read up to this many bytes (names beyond are cut off there);
// its fixed part is 20 bytes, a name option rarely more than 20.
constexpr size_t kMaxIdbBytes = 4096;
// Names are kept for this many interfaces; later ones have none. Bounds
// the memory a file of endless IDBs can take.
constexpr uint32_t kMaxNamedInterfaces = 1u << 16;
constexpr size_t kHeaderBytes = 12;

}  // namespace

uint32_t PcapngInterfaces::U32(size_t at) const {
  const uint32_t le = static_cast<uint32_t>(buf_[at]) |
                      static_cast<uint32_t>(buf_[at + 1]) << 8 |
                      static_cast<uint32_t>(buf_[at + 2]) << 16 |
                      static_cast<uint32_t>(buf_[at + 3]) << 24;
  return swapped_ ? __builtin_bswap32(le) : le;
}

uint16_t PcapngInterfaces::U16(size_t at) const {
  const auto le = static_cast<uint16_t>(buf_[at] | buf_[at + 1] << 8);
  return swapped_ ? __builtin_bswap16(le) : le;
}

void PcapngInterfaces::Feed(const uint8_t* data, size_t n) {
  while (n > 0 && mode_ != Mode::kClassic && mode_ != Mode::kLost) {
    if (skip_ > 0) {
      const size_t k = static_cast<size_t>(std::min<uint64_t>(skip_, n));
      skip_ -= k;
      data += k;
      n -= k;
      continue;
    }
    const size_t k = std::min(need_ - buf_.size(), n);
    buf_.insert(buf_.end(), data, data + k);
    data += k;
    n -= k;
    if (buf_.size() == need_) OnBlock();
  }
}

void PcapngInterfaces::OnBlock() {
  if (need_ == kHeaderBytes) {  // a block's first bytes
    if (mode_ == Mode::kStart) {
      const bool shb = buf_[0] == 0x0a && buf_[1] == 0x0d && buf_[2] == 0x0d &&
                       buf_[3] == 0x0a;
      mode_ = shb ? Mode::kPcapng : Mode::kClassic;
      if (!shb) return;
    }
    block_type_ = U32(0);  // a section header's type reads the same
    if (block_type_ == kSectionHeader) {  // either way round
      swapped_ = false;
      const uint32_t magic = U32(8);
      if (magic != kByteOrderMagic && magic != kByteOrderMagicSwapped) {
        mode_ = Mode::kLost;
        return;
      }
      swapped_ = magic == kByteOrderMagicSwapped;
      section_first_ = total_interfaces_;
    }
    const uint32_t length = U32(4);
    if (length < kHeaderBytes || length % 4 != 0) {
      mode_ = Mode::kLost;
      return;
    }
    block_length_ = length;
    if (block_type_ == kInterfaceDescription && length > kHeaderBytes) {
      need_ = std::min<size_t>(length, kMaxIdbBytes);
      return;  // the rest of the IDB first
    }
    const uint32_t section_interfaces = total_interfaces_ - section_first_;
    auto packet_on = [&](uint32_t local) {
      packets_.push_back(local < section_interfaces ? section_first_ + local
                                                    : kUnknown);
    };
    switch (block_type_) {
      case kEnhancedPacket:
        packet_on(U32(8));
        break;
      case kObsoletePacket:
        packet_on(U16(8));
        break;
      case kSimplePacket:
        packet_on(0);
        break;
      case kInterfaceDescription:  // too short to hold an IDB's fields
        NoteInterface();
        break;
      default:
        break;
    }
  } else {  // the whole IDB, or its first kMaxIdbBytes
    NoteInterface();
  }
  skip_ = block_length_ - buf_.size();
  buf_.clear();
  need_ = kHeaderBytes;
}

void PcapngInterfaces::NoteInterface() {
  std::string name;
  // Options start after type, length, link type, reserved and snaplen, and
  // end before the trailing length (or where the read stopped).
  size_t at = 16;
  const size_t end = std::min<size_t>(buf_.size(), block_length_ - 4);
  while (at + 4 <= end) {
    const uint16_t code = U16(at);
    const uint16_t len = U16(at + 2);
    if (code == kOptEnd) break;
    const size_t value = at + 4;
    if (code == kOptIfName) {
      size_t n = std::min<size_t>(len, end > value ? end - value : 0);
      // Writers may count a terminating NUL, or pad with them.
      while (n > 0 && buf_[value + n - 1] == 0) --n;
      name.assign(reinterpret_cast<const char*>(buf_.data() + value), n);
      break;
    }
    at = value + (size_t{len} + 3) / 4 * 4;
  }
  if (total_interfaces_ < kMaxNamedInterfaces) names_.push_back(name);
  ++total_interfaces_;
}

uint32_t PcapngInterfaces::PopPacket() {
  if (mode_ == Mode::kClassic) return 0;
  if (packets_.empty()) return kUnknown;
  const uint32_t id = packets_.front();
  packets_.pop_front();
  return id;
}

std::string_view PcapngInterfaces::name(uint32_t id) const {
  return id < names_.size() ? std::string_view(names_[id]) : "";
}

}  // namespace ctkit::detail
