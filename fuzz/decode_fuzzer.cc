// libFuzzer target: the frame decoder. The first input byte picks a link
// type (the ones DecodeFrame knows, plus one it does not); the rest is the
// frame. A decoded view must point inside the frame; ASan checks every read.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "ctkit/decode.h"

namespace {

constexpr uint32_t kLinkTypes[] = {
    ctkit::linktype::kNull,
    ctkit::linktype::kEthernet,
    ctkit::linktype::kRaw,
    ctkit::linktype::kLoop,
    ctkit::linktype::kLinuxSll,
    ctkit::linktype::kIpv4,
    ctkit::linktype::kIpv6,
    ctkit::linktype::kLinuxSll2,
    147,  // LINKTYPE_USER0: unsupported
};

void CheckView(const ctkit::PacketView& v, const uint8_t* begin,
               const uint8_t* end) {
  if (v.l4 < begin || v.l4 > end ||
      v.l4_caplen > static_cast<size_t>(end - v.l4) || v.l4_caplen > v.l4_len) {
    std::abort();
  }
  // Touch every byte the view claims is readable.
  volatile uint8_t sink = 0;
  for (uint32_t i = 0; i < v.l4_caplen; ++i) sink = sink ^ v.l4[i];
  (void)sink;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint32_t link = kLinkTypes[data[0] % (sizeof(kLinkTypes) / 4)];
  // A copy of exactly the frame's bytes, so that any read past the end is
  // caught by ASan.
  std::vector<uint8_t> frame(data + 1, data + size);
  uint32_t len = static_cast<uint32_t>(frame.size());
  const uint8_t* begin = frame.data();
  ctkit::PacketView v{};
  ctkit::DecodeStatus st = ctkit::DecodeFrame(link, begin, len, &v);
  if (static_cast<int>(st) >= static_cast<int>(ctkit::DecodeStatus::kCount) ||
      ctkit::DecodeStatusName(st) == nullptr) {
    std::abort();
  }
  if (st == ctkit::DecodeStatus::kOk) CheckView(v, begin, begin + len);
  // The same bytes as a bare IP packet, whole and as an ICMP error's quote.
  for (bool embedded : {false, true}) {
    ctkit::PacketView w{};
    if (ctkit::DecodeIp(begin, len, &w, embedded) == ctkit::DecodeStatus::kOk) {
      CheckView(w, begin, begin + len);
    }
  }
  return 0;
}
