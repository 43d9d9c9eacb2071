// Reading capture files (pcap and pcapng, through libpcap).
#ifndef CTKIT_CAPTURE_H_
#define CTKIT_CAPTURE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

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
};

/// Sequential reader over a pcap or pcapng file.
class CaptureReader {
 public:
  virtual ~CaptureReader() = default;

  /// Opens `path` (pcap or pcapng, any byte order, us or ns timestamps).
  /// Fails with a message naming the file if it cannot be opened or its
  /// header is not a capture header.
  static Result<std::unique_ptr<CaptureReader>> Open(const std::string& path);

  /// Reads the next record. Returns false at the end of the file or on an
  /// error; then error() tells which (nullopt at a clean end).
  virtual bool Next(CaptureRecord* rec) = 0;

  /// The error that stopped Next(), naming the file and byte offset, e.g.
  /// "x.pcap: truncated record at offset 1234: ...".
  virtual const std::optional<Error>& error() const = 0;

  /// Records returned so far.
  virtual uint64_t records_read() const = 0;

  /// Bytes of the file consumed so far (for progress).
  virtual uint64_t offset() const = 0;

  /// Total size of the file in bytes (for progress).
  virtual uint64_t file_size() const = 0;
};

}  // namespace ctkit

#endif  // CTKIT_CAPTURE_H_
