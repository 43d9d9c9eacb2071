// Reading captures through libpcap: pcap and pcapng files (plain or
// gzip-compressed), standard input, and live traffic on an interface.
#ifndef CTKIT_CAPTURE_H_
#define CTKIT_CAPTURE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ctkit/result.h"

namespace ctkit {

/// One captured frame. `data` stays valid until the next call to Next().
struct CaptureRecord {
  uint64_t ts_ns;        ///< capture timestamp, ns since the Unix epoch
  const uint8_t* data;   ///< caplen bytes
  uint32_t caplen;       ///< bytes captured
  uint32_t wirelen;      ///< bytes on the wire (>= caplen)
  uint32_t link_type;    ///< LINKTYPE_* of the record's interface
  uint64_t file_offset;  ///< offset of the record's header in the file
                         ///< (of the uncompressed stream for gzip)
  /// The interface the packet was captured on. pcapng: the Interface
  /// Description Blocks numbered from 0 in file order, across sections
  /// (Wireshark's frame.interface_id); kUnknownInterface if the block
  /// structure could not be followed. Classic pcap and live captures: 0.
  uint32_t interface_id;
  /// That interface's name: pcapng's if_name option ("" when it has none;
  /// classic pcap: ""); live: the interface opened. Valid while the reader
  /// lives.
  std::string_view interface_name;
};

/// CaptureRecord::interface_id of a packet whose interface is not known.
inline constexpr uint32_t kUnknownInterface = 0xffffffffu;

/// What to capture live, and when to stop. Capturing changes nothing in
/// the kernel beyond the capture socket itself (no promiscuous mode unless
/// asked).
struct LiveCaptureOptions {
  std::string interface;      ///< e.g. "eth0", or "any"
  uint32_t snaplen = 262144;  ///< bytes kept per packet (libpcap's max)
  bool promiscuous = false;
  uint64_t count = 0;        ///< end after this many packets (0: no limit)
  uint64_t duration_ns = 0;  ///< end this long after the start (0: none)
  uint32_t poll_ms = 100;    ///< longest wait before checking the above
  uint32_t buffer_bytes = 32u << 20;  ///< kernel ring for bursts
  /// Ends the capture (cleanly) once set, e.g. by a signal handler.
  const std::atomic<bool>* stop = nullptr;
};

/// Sequential reader over a capture.
class CaptureReader {
 public:
  virtual ~CaptureReader() = default;

  /// Opens `path` (pcap or pcapng, any byte order, us or ns timestamps;
  /// gzip-compressed too, known by its magic bytes), or standard input when
  /// `path` is "-". Fails with a message naming the file ("stdin" for "-")
  /// if it cannot be opened, is empty, or is not a capture. `stop`, if
  /// given, ends the reading cleanly once set: the records already read
  /// from the input are delivered, the next read from it (or a read
  /// waiting on a pipe, within 0.1 s) ends the capture.
  [[nodiscard]] static Result<std::unique_ptr<CaptureReader>> Open(
      const std::string& path, const std::atomic<bool>* stop = nullptr);

  /// Starts capturing on an interface (root or CAP_NET_RAW). Fails with a
  /// message naming the interface if it does not exist or capturing is not
  /// permitted. Records carry the packets' own capture timestamps.
  [[nodiscard]] static Result<std::unique_ptr<CaptureReader>> OpenLive(
      const LiveCaptureOptions& opts);

  /// Reads the next record. Returns false at the end of the file or on an
  /// error; then error() tells which (nullopt at a clean end). A live
  /// capture ends at its count, duration or stop flag.
  virtual bool Next(CaptureRecord* rec) = 0;

  /// Like Next(), but a live capture also returns false with *idle set
  /// when no packet came within its poll interval, so that the caller can
  /// hand on what it has; the capture has not ended then. Files never idle.
  virtual bool NextOrIdle(CaptureRecord* rec, bool* idle) {
    *idle = false;
    return Next(rec);
  }

  /// The error that stopped Next(), naming the file and byte offset, e.g.
  /// "x.pcap: truncated record at offset 1234: ...".
  virtual const std::optional<Error>& error() const = 0;

  /// Records returned so far.
  virtual uint64_t records_read() const = 0;

  /// Bytes of the file consumed so far (for progress).
  virtual uint64_t offset() const = 0;

  /// Total size of the file in bytes (for progress); 0 when unknown
  /// (standard input, gzip, live).
  virtual uint64_t file_size() const = 0;

  /// Share of the input read so far, in [0, 1] (of the compressed file for
  /// gzip); negative when the total is unknown (a pipe, a live capture).
  virtual double fraction_read() const = 0;

  /// Whether Open() on the same path gives the same records again (false
  /// for standard input and live captures).
  virtual bool reopenable() const { return true; }

  /// Live captures: packets the kernel dropped because the reader did not
  /// keep up (libpcap's ps_drop + ps_ifdrop); nullopt for files.
  virtual std::optional<uint64_t> dropped() const { return std::nullopt; }
};

}  // namespace ctkit

#endif  // CTKIT_CAPTURE_H_
