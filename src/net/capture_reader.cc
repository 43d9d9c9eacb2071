// CaptureReader over libpcap's savefile reader (pcap and pcapng, either byte
// order, microsecond or nanosecond timestamps).
//
// libpcap does the format work; this file adds what it leaves out: errors
// that name the file, the byte offset and how many records were read before
// the failure, and link types reported as LINKTYPE_* (the values stored in
// files, which DecodeFrame expects) rather than libpcap's DLT_* (DLT_RAW is
// 12 or 14 depending on the OS, LINKTYPE_RAW is always 101).
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
// pcapng with several interfaces: libpcap 1.10 exposes one link type per
// file, the first interface's. When a later Interface Description Block
// declares a different link type, pcap_next_ex fails with "an interface has
// a type N different from the type of the first interface", which we report
// as a corrupt-file error at that block's offset; the records before it are
// delivered normally. Interfaces of the same link type are read as one.
#include <pcap/pcap.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "ctkit/capture.h"

namespace ctkit {
namespace {

constexpr uint32_t kLinktypeRaw = 101;
constexpr uint32_t kLinktypeLoop = 108;

// DLT_* (what pcap_datalink returns) -> LINKTYPE_* (what the file holds).
// They agree except for a few values that differ between operating systems.
uint32_t LinkTypeFromDlt(int dlt) {
  if (dlt == DLT_RAW) return kLinktypeRaw;
  if (dlt == DLT_LOOP) return kLinktypeLoop;
  return static_cast<uint32_t>(dlt);
}

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};

class PcapCaptureReader final : public CaptureReader {
 public:
  PcapCaptureReader(std::string path, pcap_t* pcap, uint64_t file_size,
                    bool classic)
      : path_(std::move(path)),
        pcap_(pcap),
        link_type_(LinkTypeFromDlt(pcap_datalink(pcap))),
        file_size_(file_size),
        classic_(classic) {
    offset_ = Tell(0);
  }

  bool Next(CaptureRecord* rec) override {
    if (done_) return false;
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
      // With nanosecond precision tv_usec holds nanoseconds.
      rec->ts_ns = static_cast<uint64_t>(hdr->ts.tv_sec) * 1'000'000'000u +
                   static_cast<uint64_t>(hdr->ts.tv_usec);
      rec->data = data;
      rec->caplen = hdr->caplen;
      rec->wirelen = hdr->len > hdr->caplen ? hdr->len : hdr->caplen;
      rec->link_type = link_type_;
      rec->file_offset = record_offset;
      ++records_;
      return true;
    }
    done_ = true;
    if (rc == PCAP_ERROR) {
      const std::string msg = pcap_geterr(pcap_.get());
      const char* what = msg.find("truncated") != std::string::npos
                             ? "truncated capture"
                             : "unreadable record";
      error_ = Error::corrupt(path_ + ": " + what + " at offset " +
                              std::to_string(record_offset) + " after " +
                              std::to_string(records_) + " records: " + msg);
    }
    // PCAP_ERROR_BREAK (-2) is the clean end of the file.
    return false;
  }

  const std::optional<Error>& error() const override { return error_; }
  uint64_t records_read() const override { return records_; }
  uint64_t offset() const override { return offset_; }
  uint64_t file_size() const override { return file_size_; }

 private:
  // Current offset in the file, or `fallback` for unseekable input (a pipe).
  uint64_t Tell(uint64_t fallback) const {
    const long pos = std::ftell(pcap_file(pcap_.get()));
    return pos < 0 ? fallback : static_cast<uint64_t>(pos);
  }

  const std::string path_;
  const std::unique_ptr<pcap_t, PcapCloser> pcap_;  // owns the FILE*
  const uint32_t link_type_;
  const uint64_t file_size_;  // 0 when unknown (not a regular file)
  const bool classic_;        // classic pcap (not pcapng): fixed headers
  uint64_t records_ = 0;
  uint64_t offset_ = 0;  // bytes consumed so far
  bool done_ = false;
  std::optional<Error> error_;
};

}  // namespace

Result<std::unique_ptr<CaptureReader>> CaptureReader::Open(
    const std::string& path) {
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

  // Classic pcap (any byte order, us or ns) rather than pcapng?
  uint32_t magic = 0;
  bool classic = false;
  if (std::fread(&magic, 4, 1, f) == 1) {
    classic = magic == 0xa1b2c3d4u || magic == 0xd4c3b2a1u ||
              magic == 0xa1b23c4du || magic == 0x4d3cb2a1u;
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
  return std::make_unique<PcapCaptureReader>(path, p, size, classic);
}

}  // namespace ctkit
