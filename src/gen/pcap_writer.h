// Writing classic pcap files (nanosecond-resolution magic) for generated
// workloads and test fixtures.
#ifndef CTKIT_GEN_PCAP_WRITER_H_
#define CTKIT_GEN_PCAP_WRITER_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>

#include "ctkit/result.h"

namespace ctkit {

/// Writes records to a pcap file. Close() (or destruction) flushes.
class PcapWriter {
 public:
  /// Creates/truncates `path` and writes the global header for `link_type`
  /// (LINKTYPE_RAW by default) with the nanosecond magic 0xa1b23c4d.
  [[nodiscard]] static Result<std::unique_ptr<PcapWriter>> Create(
      const std::string& path, uint32_t link_type = 101,
      uint32_t snaplen = 262144);
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  /// Appends one record; the frame is cut to snaplen (wire length kept).
  [[nodiscard]] Result<void> Write(uint64_t ts_ns,
                                   std::span<const uint8_t> frame);
  /// Flushes and closes; reports write errors.
  [[nodiscard]] Result<void> Close();

 private:
  PcapWriter(std::FILE* f, std::string path, uint32_t snaplen);
  std::FILE* file_;   // owned; null once closed
  std::string path_;  // for error messages
  uint32_t snaplen_;
};

}  // namespace ctkit

#endif  // CTKIT_GEN_PCAP_WRITER_H_
