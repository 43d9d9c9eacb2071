// CaptureReader over libpcap's savefile reader (pcap and pcapng, either byte
// order, microsecond or nanosecond timestamps).
//
// libpcap does the format work; this file adds what it leaves out: errors
// that name the file, the byte offset and how many records were read before
// the failure, and link types reported as LINKTYPE_* (the values stored in
// files, which DecodeFrame expects) rather than libpcap's DLT_* (DLT_RAW is
// 12 or 14 depending on the OS, LINKTYPE_RAW is always 101; pcap_record.h,
// which the live reader shares).
//
// We fopen the file ourselves and hand the FILE* to
// pcap_fopen_offline_with_tstamp_precision (the same reader as
// pcap_open_offline_with_tstamp_precision): that separates "cannot open"
// (an I/O error with errno) from "not a capture" (a format error), which
// libpcap's own open reports through the same error string. Timestamps are
// requested in nanoseconds; libpcap scales microsecond files up.
//
// Offsets come from ftell() on the stream libpcap reads: taken just before
// pcap_next_ex, it is the offset of the record (pcap) or block (pcapng) that
// the call reads, which is what an error message should point at.
//
// Standard input ("-") and gzip data (known by its magic bytes, whatever
// the file's name) reach libpcap through an InputStream (input_stream.h):
// its ftell() answers from the bytes delivered, so offsets are those of the
// uncompressed stream, and when it fails (corrupt or truncated gzip, a read
// error) the message says so with the compressed offset instead of
// libpcap's "truncated dump file". Live captures are in live_capture.cc.
//
// pcapng files, plain ones too, are read through an InputStream as well,
// for what libpcap 1.10 does not tell: which interface a packet came from.
// The stream shows every byte it hands libpcap to a PcapngInterfaces walk
// (pcapng_interfaces.h), which queues each packet block's interface; each
// record libpcap returns takes the oldest. A classic pcap has one
// interface, 0.
//
// pcapng with several interfaces: libpcap 1.10 exposes one link type per
// file, the first interface's. When a later Interface Description Block
// declares a different link type, pcap_next_ex fails with "an interface has
// a type N different from the type of the first interface", which we report
// as a corrupt-file error at that block's offset; the records before it are
// delivered normally. It says the same of a second LINKTYPE_RAW interface
// (it compares the file's 101 with its own DLT_RAW, 12): tcpdump on Debian
// 12 fails alike. Interfaces of the same link type are read as one, each
// record tagged with its interface by the walk above.
#include <fcntl.h>
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ctkit/capture.h"
#include "net/input_stream.h"
#include "net/pcap_record.h"
#include "net/pcapng_interfaces.h"

namespace ctkit {
namespace {

using detail::LinkTypeFromDlt;

class PcapCaptureReader final : public CaptureReader {
 public:
  // `stream`, when the input is not a plain file, is owned by the pcap_t's
  // FILE and lives as long as it; `interfaces` is the walk it feeds.
  PcapCaptureReader(std::string path, pcap_t* pcap, uint64_t file_size,
                    bool classic, detail::InputStream* stream,
                    std::unique_ptr<detail::PcapngInterfaces> interfaces,
                    const std::atomic<bool>* stop, bool reopenable)
      : path_(std::move(path)),
        interfaces_(std::move(interfaces)),
        pcap_(pcap),
        link_type_(LinkTypeFromDlt(pcap_datalink(pcap))),
        file_size_(file_size),
        classic_(classic),
        stream_(stream),
        stop_(stop),
        reopenable_(reopenable) {
    offset_ = Tell(0);
  }

  bool Next(CaptureRecord* rec) override {
    if (done_) return false;
    // A stream stops at its next read from the input (what it has read is
    // still delivered); a plain file at the next record.
    if (stream_ == nullptr && stop_ != nullptr &&
        stop_->load(std::memory_order_relaxed)) {
      done_ = true;
      return false;
    }
    // The record starts where the previous one ended. ftell() costs a
    // system call (glibc asks the kernel for the position), so a classic
    // pcap's offsets are computed: each record is a 16-byte header plus
    // caplen bytes, unless libpcap cut an oversized record (caplen at the
    // snapshot length), when the file is asked.
    const uint64_t record_offset = offset_;
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(pcap_.get(), &hdr, &data);
    if (rc == 1 && classic_ &&
        static_cast<int>(hdr->caplen) < pcap_snapshot(pcap_.get())) {
      offset_ = record_offset + 16 + hdr->caplen;
    } else {
      offset_ = Tell(record_offset);
    }
    if (rc == 1) {
      // Opened with nanosecond precision.
      detail::FillRecord(*hdr, data, detail::PcapTimestampNs(*hdr, 1),
                         link_type_, record_offset, rec);
      if (interfaces_ != nullptr) {
        rec->interface_id = interfaces_->PopPacket();
        rec->interface_name = interfaces_->name(rec->interface_id);
      } else {
        rec->interface_id = 0;
        rec->interface_name = {};
      }
      ++records_;
      return true;
    }
    done_ = true;
    // Stopped while waiting for the rest of a record: a clean end.
    if (stream_ != nullptr && stream_->interrupted()) return false;
    if (rc == PCAP_ERROR) {
      std::string msg = pcap_geterr(pcap_.get());
      const char* what = msg.find("truncated") != std::string::npos
                             ? "truncated capture"
                             : "unreadable record";
      std::string where = std::to_string(record_offset);
      if (stream_ != nullptr && stream_->gzip()) {
        where += " of the uncompressed stream";
      }
      if (stream_ != nullptr && !stream_->failure().empty()) {
        msg = stream_->failure();
        if (msg.find("ends early") != std::string::npos) {
          what = "truncated capture";
        }
      }
      error_ = Error::corrupt(path_ + ": " + what + " at offset " + where +
                              " after " + std::to_string(records_) +
                              " records: " + msg);
    }
    // PCAP_ERROR_BREAK (-2) is the clean end of the file.
    return false;
  }

  const std::optional<Error>& error() const override { return error_; }
  uint64_t records_read() const override { return records_; }
  uint64_t offset() const override { return offset_; }
  uint64_t file_size() const override { return file_size_; }
  double fraction_read() const override {
    if (stream_ != nullptr) {
      const uint64_t size = stream_->source_size();
      return size == 0 ? -1.0
                       : static_cast<double>(stream_->consumed()) /
                             static_cast<double>(size);
    }
    return file_size_ == 0
               ? -1.0
               : static_cast<double>(offset_) / static_cast<double>(file_size_);
  }
  bool reopenable() const override { return reopenable_; }

 private:
  // Current offset in the file, or `fallback` for unseekable input.
  uint64_t Tell(uint64_t fallback) const {
    const long pos = std::ftell(pcap_file(pcap_.get()));
    return pos < 0 ? fallback : static_cast<uint64_t>(pos);
  }

  const std::string path_;
  // Before pcap_: the stream feeds it until pcap_ closes the stream.
  const std::unique_ptr<detail::PcapngInterfaces> interfaces_;
  const detail::PcapPtr pcap_;  // owns the FILE*
  const uint32_t link_type_;
  const uint64_t file_size_;  // 0 when unknown (not a regular file)
  const bool classic_;        // classic pcap (not pcapng): fixed headers
  detail::InputStream* const stream_;  // null for a plain file
  const std::atomic<bool>* const stop_;
  const bool reopenable_;
  uint64_t records_ = 0;
  uint64_t offset_ = 0;  // bytes consumed so far
  bool done_ = false;
  std::optional<Error> error_;
};

// Reads the capture from `fd` through an InputStream: standard input, a
// gzip file, or a plain pcapng file (of `file_size` bytes). `name` is what
// messages call it.
[[nodiscard]] Result<std::unique_ptr<CaptureReader>> OpenStream(
    int fd, bool own_fd, const std::string& name, const std::atomic<bool>* stop,
    bool reopenable, uint64_t file_size = 0) {
  // Peek at the first bytes to tell the format, through a raw stream so
  // that a pipe is waited on as the real reads are.
  std::vector<uint8_t> peeked(6);
  size_t have = 0;
  {
    detail::InputStream raw(fd, false, {}, false, stop);
    while (have < peeked.size()) {
      const ssize_t got = raw.Read(
          reinterpret_cast<char*>(peeked.data()) + have, peeked.size() - have);
      if (got <= 0) {
        if (raw.interrupted()) {
          if (own_fd) close(fd);
          return fail(Error::io(name + ": interrupted before any data came"));
        }
        if (got < 0) {
          if (own_fd) close(fd);
          return fail(Error::io(name + ": " + raw.failure()));
        }
        break;
      }
      have += static_cast<size_t>(got);
    }
  }
  peeked.resize(have);
  if (have == 0) {
    if (own_fd) close(fd);
    return fail(Error::corrupt(name + ": empty input, not a capture"));
  }
  const std::string comp = detail::CompressionOf(peeked.data(), have);
  if (!comp.empty() && comp != "gzip") {
    if (own_fd) close(fd);
    return fail(Error::corrupt(
        name + ": " + comp +
        "-compressed data; ctkit reads plain or gzip-compressed captures "
        "(decompress it and pipe it in: ... | ctkit replay -)"));
  }
  const bool gzip = comp == "gzip";
  auto owned = std::make_unique<detail::InputStream>(
      fd, own_fd, std::move(peeked), gzip, stop);
  detail::InputStream* stream = owned.get();
  auto interfaces = std::make_unique<detail::PcapngInterfaces>();
  stream->set_observer([walk = interfaces.get()](const uint8_t* p, size_t n) {
    walk->Feed(p, n);
  });
  std::FILE* f = detail::InputStream::ToFile(std::move(owned));
  if (f == nullptr) {
    return fail(Error::io(
        name + ": cannot set up the input stream: " + std::strerror(errno)));
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(
      f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (p == nullptr) {
    std::string why;
    if (!stream->failure().empty()) {
      why = stream->failure() + ", before the capture header was read";
    } else if (stream->interrupted()) {
      why = "interrupted before the capture header was read";
    } else if (gzip && stream->delivered() == 0) {
      why = "empty capture: the gzip data decompresses to nothing";
    } else {
      why = std::string("not a pcap or pcapng capture") +
            (gzip ? " (gzip-compressed data)" : "") + " (libpcap: " + errbuf +
            ")";
    }
    std::fclose(f);  // libpcap leaves it open on failure; frees the stream
    return fail(Error::corrupt(name + ": " + why));
  }
  return std::make_unique<PcapCaptureReader>(name, p, file_size, false, stream,
                                             std::move(interfaces), stop,
                                             reopenable);
}

}  // namespace

Result<std::unique_ptr<CaptureReader>> CaptureReader::Open(
    const std::string& path, const std::atomic<bool>* stop) {
  if (path == "-") return OpenStream(STDIN_FILENO, false, "stdin", stop, false);
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return fail(Error::io(path + ": cannot open: " + std::strerror(errno)));
  }
  struct stat st {};
  if (fstat(fileno(f), &st) != 0) {
    const int saved = errno;
    std::fclose(f);
    return fail(Error::io(path + ": cannot stat: " + std::strerror(saved)));
  }
  if (S_ISDIR(st.st_mode)) {
    std::fclose(f);
    return fail(Error::io(path + ": is a directory, not a capture file"));
  }
  const uint64_t size =
      S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
  if (S_ISREG(st.st_mode) && size == 0) {
    std::fclose(f);
    return fail(Error::corrupt(path + ": empty file, not a capture"));
  }
  // A FIFO or character device reads as a stream, as standard input does.
  if (!S_ISREG(st.st_mode)) {
    const int fd = dup(fileno(f));
    std::fclose(f);
    if (fd < 0) {
      return fail(Error::io(path + ": cannot open: " + std::strerror(errno)));
    }
    return OpenStream(fd, true, path, stop, false);
  }

  // Classic pcap (any byte order, us or ns) rather than pcapng? Compressed?
  uint8_t head[6] = {};
  const size_t have = std::fread(head, 1, sizeof head, f);
  uint32_t magic = 0;
  bool classic = false;
  bool pcapng = false;
  if (have >= 4) {
    std::memcpy(&magic, head, 4);
    classic = magic == 0xa1b2c3d4u || magic == 0xd4c3b2a1u ||
              magic == 0xa1b23c4du || magic == 0x4d3cb2a1u;
    pcapng = magic == 0x0a0d0d0au;  // a section header, in either order
  }
  if (pcapng || !detail::CompressionOf(head, have).empty()) {
    // pcapng (for its interfaces), gzip (or a clear error for other
    // compressors) through a stream.
    const int fd = dup(fileno(f));
    std::fclose(f);
    if (fd < 0 || lseek(fd, 0, SEEK_SET) != 0) {
      if (fd >= 0) close(fd);
      return fail(Error::io(path + ": cannot reopen: " + std::strerror(errno)));
    }
    return OpenStream(fd, true, path, stop, true, pcapng ? size : 0);
  }
  std::rewind(f);
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(
      f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (p == nullptr) {
    std::fclose(f);  // libpcap leaves it open on failure
    return fail(Error::corrupt(
        path + ": not a pcap or pcapng capture file (libpcap: " + errbuf +
        ")"));
  }
  return std::make_unique<PcapCaptureReader>(path, p, size, classic, nullptr,
                                             nullptr, stop, true);
}

}  // namespace ctkit
