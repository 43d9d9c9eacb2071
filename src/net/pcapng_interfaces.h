// PcapngInterfaces: which interface of a pcapng capture each packet was
// captured on, and the interfaces' names.
//
// libpcap 1.10 reads pcapng for ctkit but does not say which Interface
// Description Block (IDB) a packet block refers to, and a zone map by
// interface needs exactly that. So this walks the same bytes beside
// libpcap, block by block: it is fed the capture's bytes in order, in
// pieces of any size (as the input stream hands them to libpcap), notes
// each interface as it is declared, and queues, for every packet block,
// the interface the block names. libpcap returns exactly one record per
// packet block (Enhanced, Simple and the obsolete Packet Block) and none
// for any other block, in file order, so the reader pops one queue entry
// per record. The queue holds the packet blocks fed but not yet returned:
// at most what the stream reads ahead of libpcap.
//
// Interfaces are numbered from 0 in the order the file declares them,
// across sections: a new Section Header Block restarts the numbering the
// blocks use, and the walker keeps counting, so each interface of a file
// made of several sections keeps one number (as Wireshark numbers them in
// frame.interface_id). A name is the IDB's if_name option, "" when the
// interface has none.
//
// A classic pcap (the first block is not a Section Header Block) has one
// interface, 0, without a name; so does anything the walker cannot follow
// (a malformed block length, where libpcap stops with an error of its own):
// from there on every packet is kUnknown.
#ifndef CTKIT_NET_PCAPNG_INTERFACES_H_
#define CTKIT_NET_PCAPNG_INTERFACES_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "ctkit/capture.h"

namespace ctkit::detail {

class PcapngInterfaces {
 public:
  /// The interface of a packet the walker could not follow.
  static constexpr uint32_t kUnknown = kUnknownInterface;

  /// The next `n` bytes of the capture.
  void Feed(const uint8_t* data, size_t n);

  /// The interface of the oldest packet block fed and not yet popped: 0 for
  /// a classic pcap, kUnknown when the walker lost the block structure or
  /// has no packet block queued.
  uint32_t PopPacket();

  /// The name of interface `id` ("" when it has none, or is unknown). The
  /// view stays valid as long as this object.
  std::string_view name(uint32_t id) const;

  /// Interfaces declared so far.
  uint32_t interfaces() const { return total_interfaces_; }

 private:
  void OnBlock();  // buf_ holds need_ bytes of the current block
  uint32_t U32(size_t at) const;
  uint16_t U16(size_t at) const;
  void NoteInterface();  // buf_ is an IDB (or its first kMaxIdbBytes)

  enum class Mode : uint8_t { kStart, kPcapng, kClassic, kLost };
  Mode mode_ = Mode::kStart;
  bool swapped_ = false;      // the section is big-endian
  std::vector<uint8_t> buf_;  // the current block's first need_ bytes
  size_t need_ = 12;          // type, length and the first body word
  uint64_t skip_ = 0;         // bytes of the current block not needed
  uint32_t block_type_ = 0;
  uint32_t block_length_ = 0;
  uint32_t section_first_ = 0;  // number of the section's interface 0
  uint32_t total_interfaces_ = 0;
  std::deque<std::string> names_;  // by number; deque: views stay valid
  std::deque<uint32_t> packets_;   // interfaces of unpopped packet blocks
};

}  // namespace ctkit::detail

#endif  // CTKIT_NET_PCAPNG_INTERFACES_H_
