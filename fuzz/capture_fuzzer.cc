// libFuzzer target: the capture reader (pcap and pcapng through libpcap).
// The input is written to an anonymous memory file and read to the end
// through CaptureReader, exactly as `ctkit replay` reads a file; every
// record's bytes (and its interface's name) are touched and decoded.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ctkit/capture.h"
#include "ctkit/decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = memfd_create("capture_fuzzer", 0);
  if (fd < 0) return 0;
  size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  auto reader = ctkit::CaptureReader::Open(path);
  if (reader) {
    ctkit::CaptureRecord rec{};
    uint64_t records = 0;
    uint64_t last_offset = 0;
    while ((*reader)->Next(&rec)) {
      ++records;
      if (rec.caplen > 0 && rec.data == nullptr) std::abort();
      if (rec.file_offset > size || rec.file_offset < last_offset) {
        std::abort();
      }
      last_offset = rec.file_offset;
      volatile uint8_t sink = 0;
      for (uint32_t i = 0; i < rec.caplen; ++i) sink = sink ^ rec.data[i];
      // The interface's name must still be there (pcapng_interfaces.h).
      for (char c : rec.interface_name) {
        sink = sink ^ static_cast<uint8_t>(c);
      }
      (void)sink;
      ctkit::PacketView v{};
      (void)ctkit::DecodeFrame(rec.link_type, rec.data, rec.caplen, &v);
      if (records > size) std::abort();  // more records than bytes: a loop
    }
    if ((*reader)->records_read() != records) std::abort();
    if ((*reader)->error() && (*reader)->error()->message.empty()) {
      std::abort();
    }
  } else if (reader.error().message.empty()) {
    std::abort();
  }
  close(fd);
  return 0;
}
