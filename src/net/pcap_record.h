// What the two libpcap readers share, the savefile one (capture_reader.cc:
// files, gzip, standard input) and the live one (live_capture.cc): owning a
// pcap_t, the link type as LINKTYPE_* rather than libpcap's DLT_*, and a
// CaptureRecord made from libpcap's packet header.
#ifndef CTKIT_NET_PCAP_RECORD_H_
#define CTKIT_NET_PCAP_RECORD_H_

#include <pcap/pcap.h>

#include <cstdint>
#include <memory>

#include "ctkit/capture.h"

namespace ctkit::detail {

/// Closes a pcap_t (and the FILE* it reads, for a savefile).
struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
using PcapPtr = std::unique_ptr<pcap_t, PcapCloser>;

/// DLT_* (what pcap_datalink returns) -> LINKTYPE_* (what a file holds and
/// DecodeFrame expects). They agree except for a few values that differ
/// between operating systems: DLT_RAW is 12 or 14, LINKTYPE_RAW always 101.
inline uint32_t LinkTypeFromDlt(int dlt) {
  constexpr uint32_t kLinktypeRaw = 101;
  constexpr uint32_t kLinktypeLoop = 108;
  if (dlt == DLT_RAW) return kLinktypeRaw;
  if (dlt == DLT_LOOP) return kLinktypeLoop;
  return static_cast<uint32_t>(dlt);
}

/// The header's timestamp in ns since the epoch. `ns_per_unit` is 1 when
/// the handle gives nanosecond precision (tv_usec then holds nanoseconds),
/// 1000 for microseconds.
inline uint64_t PcapTimestampNs(const pcap_pkthdr& hdr, uint32_t ns_per_unit) {
  return static_cast<uint64_t>(hdr.ts.tv_sec) * 1'000'000'000u +
         static_cast<uint64_t>(hdr.ts.tv_usec) * ns_per_unit;
}

/// The record libpcap returned (`hdr`, `data`), stamped `ts_ns`: the wire
/// length is never below the captured one.
inline void FillRecord(const pcap_pkthdr& hdr, const u_char* data,
                       uint64_t ts_ns, uint32_t link_type, uint64_t offset,
                       CaptureRecord* rec) {
  rec->ts_ns = ts_ns;
  rec->data = data;
  rec->caplen = hdr.caplen;
  rec->wirelen = hdr.len > hdr.caplen ? hdr.len : hdr.caplen;
  rec->link_type = link_type;
  rec->file_offset = offset;
}

}  // namespace ctkit::detail

#endif  // CTKIT_NET_PCAP_RECORD_H_
