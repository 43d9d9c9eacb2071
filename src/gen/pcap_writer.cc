// Writes classic pcap files: a 24-byte global header, then a 16-byte header
// before each frame.
//
// We write the format ourselves (it is four fields per record) rather than
// through libpcap's dumper, so the gen layer needs no pcap_t and the output is
// byte-for-byte predictable for tests. Files are always little-endian with
// the nanosecond magic (0xa1b23c4d), version 2.4, thiszone and sigfigs 0;
// every field is stored byte by byte, so the result does not depend on the
// host's byte order. Frames longer than snaplen are cut, keeping the wire
// length, just as a capture with that snaplen would have recorded them.
#include "gen/pcap_writer.h"

#include <cerrno>
#include <cstring>
#include <utility>

namespace ctkit {
namespace {

constexpr uint32_t kMagicNanos = 0xa1b23c4d;
constexpr uint64_t kNanosPerSecond = 1'000'000'000;

void PutLe16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

void PutLe32(uint8_t* p, uint32_t v) {
  PutLe16(p, v & 0xffff);
  PutLe16(p + 2, v >> 16);
}

std::string WriteError(const std::string& path) {
  return path + ": write failed: " + std::strerror(errno);
}

}  // namespace

PcapWriter::PcapWriter(std::FILE* f, std::string path, uint32_t snaplen)
    : file_(f), path_(std::move(path)), snaplen_(snaplen) {}

PcapWriter::~PcapWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

Result<std::unique_ptr<PcapWriter>> PcapWriter::Create(const std::string& path,
                                                       uint32_t link_type,
                                                       uint32_t snaplen) {
  if (snaplen == 0) {
    return fail(Error::invalid_argument(path + ": snaplen must be positive"));
  }
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return fail(Error::io(path + ": cannot create: " + std::strerror(errno)));
  }
  // Owned from here on, so every early return closes the file.
  std::unique_ptr<PcapWriter> writer(new PcapWriter(f, path, snaplen));
  uint8_t header[24];
  PutLe32(header, kMagicNanos);
  PutLe16(header + 4, 2);  // version 2.4
  PutLe16(header + 6, 4);
  PutLe32(header + 8, 0);   // thiszone: timestamps are UTC
  PutLe32(header + 12, 0);  // sigfigs
  PutLe32(header + 16, snaplen);
  PutLe32(header + 20, link_type);
  if (std::fwrite(header, sizeof header, 1, f) != 1) {
    return fail(Error::io(WriteError(path)));
  }
  return writer;
}

Result<void> PcapWriter::Write(uint64_t ts_ns, std::span<const uint8_t> frame) {
  if (file_ == nullptr) {
    return fail(Error::invalid_argument(path_ + ": write after close"));
  }
  const uint64_t seconds = ts_ns / kNanosPerSecond;
  if (seconds > UINT32_MAX) {
    return fail(
        Error::invalid_argument(path_ + ": timestamp " + std::to_string(ts_ns) +
                                " ns does not fit a pcap record (after 2106)"));
  }
  if (frame.size() > UINT32_MAX) {
    return fail(Error::invalid_argument(path_ + ": frame too long"));
  }
  const auto wire_len = static_cast<uint32_t>(frame.size());
  const uint32_t cap_len = wire_len < snaplen_ ? wire_len : snaplen_;
  uint8_t header[16];
  PutLe32(header, static_cast<uint32_t>(seconds));
  PutLe32(header + 4, static_cast<uint32_t>(ts_ns % kNanosPerSecond));
  PutLe32(header + 8, cap_len);
  PutLe32(header + 12, wire_len);
  if (std::fwrite(header, sizeof header, 1, file_) != 1 ||
      (cap_len > 0 && std::fwrite(frame.data(), cap_len, 1, file_) != 1)) {
    return fail(Error::io(WriteError(path_)));
  }
  return {};
}

Result<void> PcapWriter::Close() {
  if (file_ == nullptr) return {};
  std::FILE* f = std::exchange(file_, nullptr);
  const bool had_error = std::ferror(f) != 0;
  if (std::fclose(f) != 0 || had_error) {
    return fail(Error::io(WriteError(path_)));
  }
  return {};
}

}  // namespace ctkit
