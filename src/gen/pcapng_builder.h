// PcapngBuilder: pcapng captures built in memory, block by block, for
// tests and fixtures that need what a classic pcap cannot hold: several
// interfaces with names, several sections, either byte order.
#ifndef CTKIT_GEN_PCAPNG_BUILDER_H_
#define CTKIT_GEN_PCAPNG_BUILDER_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ctkit {

class PcapngBuilder {
 public:
  /// Starts a section (the first call starts the file). Interfaces are
  /// numbered from 0 again in each section. `big_endian` writes this
  /// section's blocks most significant byte first.
  void Section(bool big_endian = false);

  /// Declares the section's next interface: its link type (LINKTYPE_*),
  /// its if_name option unless `name` is empty, and nanosecond timestamps
  /// (if_tsresol 9).
  void Interface(uint32_t link_type, std::string_view name = {});

  /// An Enhanced Packet Block on the section's interface `interface`.
  void Packet(uint32_t interface, uint64_t ts_ns,
              std::span<const uint8_t> frame);

  /// A Simple Packet Block (interface 0, no timestamp).
  void SimplePacket(std::span<const uint8_t> frame);

  /// A block of a type no reader knows, which readers skip.
  void UnknownBlock(uint32_t type, size_t body_bytes);

  const std::vector<uint8_t>& bytes() const { return bytes_; }

  /// Writes bytes() to `path`; false if it cannot.
  [[nodiscard]] bool WriteTo(const std::string& path) const;

 private:
  void U16(std::vector<uint8_t>* b, uint32_t v) const;
  void U32(std::vector<uint8_t>* b, uint32_t v) const;
  void Block(uint32_t type, const std::vector<uint8_t>& body);
  void Pad(std::vector<uint8_t>* b) const;

  std::vector<uint8_t> bytes_;
  bool big_endian_ = false;
};

}  // namespace ctkit

#endif  // CTKIT_GEN_PCAPNG_BUILDER_H_
