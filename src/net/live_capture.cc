// CaptureReader over a live interface (libpcap's pcap_create/activate).
//
// Shadow mode: the capture socket only listens. Promiscuous mode stays off
// unless asked for, no filter, ring or setting of the interface changes, so
// nothing the kernel does is affected; the engine sees the packets the host
// sees, with the kernel's own capture timestamps (nanoseconds when the
// kernel gives them), so the engine's clock is the packets' clock.
//
// Immediate mode makes libpcap hand over each packet as it comes (with
// TPACKET_V3's blocks, a quiet interface would hold packets back). The
// handle is non-blocking and the waiting is done here, with poll() on its
// descriptor: libpcap 1.10's own blocking read polls again after each
// timeout and never returns on a quiet interface. Each wait is at most
// `poll_ms` and never past the end of the duration, so the count, the
// duration and the stop flag (set by a signal handler, possibly on another
// thread) are honoured within that even when no packet arrives; the
// duration is measured on the monotonic clock from the start. At the stop
// or the end of the duration, the packets the kernel captured before that
// moment and nobody read yet are still read (a signal may come while the
// replay is still setting up its engines); later ones are left.
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "ctkit/capture.h"
#include "net/pcap_record.h"

namespace ctkit {
namespace {

using detail::LinkTypeFromDlt;
using detail::PcapPtr;
using Clock = std::chrono::steady_clock;

class LiveCaptureReader final : public CaptureReader {
 public:
  LiveCaptureReader(const LiveCaptureOptions& o, PcapPtr p, bool nano)
      : opts_(o),
        pcap_(std::move(p)),
        fd_(pcap_get_selectable_fd(pcap_.get())),
        link_type_(LinkTypeFromDlt(pcap_datalink(pcap_.get()))),
        ts_scale_(nano ? 1u : 1000u),
        deadline_(Clock::now() + std::chrono::nanoseconds(o.duration_ns)) {}

  bool Next(CaptureRecord* rec) override {
    bool idle = false;
    while (!NextOrIdle(rec, &idle)) {
      if (!idle) return false;
    }
    return true;
  }

  bool NextOrIdle(CaptureRecord* rec, bool* idle) override {
    *idle = false;
    if (done_) return false;
    if (opts_.count != 0 && records_ >= opts_.count) {
      done_ = true;
      return false;
    }
    // At the stop or the end of the duration, what the kernel captured
    // before it is still read (it may not have been read yet, e.g. when the
    // signal came while the engine was being set up); nothing after it.
    if (!ending_ && ((opts_.stop != nullptr &&
                      opts_.stop->load(std::memory_order_relaxed)) ||
                     (opts_.duration_ns != 0 && Clock::now() >= deadline_))) {
      ending_ = true;
      end_ns_ = static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count());
    }
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    int rc = pcap_next_ex(pcap_.get(), &hdr, &data);
    if (rc == 0 && !ending_ && Wait()) {
      rc = pcap_next_ex(pcap_.get(), &hdr, &data);
    }
    if (rc == 1) {
      const uint64_t ts = detail::PcapTimestampNs(*hdr, ts_scale_);
      if (!ending_ || ts <= end_ns_) {
        detail::FillRecord(*hdr, data, ts, link_type_, 0, rec);
        rec->interface_id = 0;
        rec->interface_name = opts_.interface;
        ++records_;
        return true;
      }
    }
    if (rc == 0 && !ending_) {  // nothing came within the wait
      *idle = true;
      return false;
    }
    done_ = true;
    if (rc == PCAP_ERROR) {
      error_ = Error::io("interface " + opts_.interface +
                         ": capture failed after " + std::to_string(records_) +
                         " packets: " + pcap_geterr(pcap_.get()));
    }
    return false;
  }

  const std::optional<Error>& error() const override { return error_; }
  uint64_t records_read() const override { return records_; }
  uint64_t offset() const override { return 0; }
  uint64_t file_size() const override { return 0; }
  double fraction_read() const override { return -1.0; }
  bool reopenable() const override { return false; }
  std::optional<uint64_t> dropped() const override {
    pcap_stat st{};
    if (pcap_stats(pcap_.get(), &st) != 0) return std::nullopt;
    return static_cast<uint64_t>(st.ps_drop) + st.ps_ifdrop;
  }

 private:
  // Waits until a packet may be ready (true) or the wait's limit passed.
  bool Wait() const {
    int ms = static_cast<int>(opts_.poll_ms);
    if (opts_.duration_ns != 0) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(
          deadline_ - Clock::now());
      ms = static_cast<int>(std::clamp<int64_t>(left.count(), 0, ms));
    }
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, ms) > 0;
  }

  const LiveCaptureOptions opts_;
  const PcapPtr pcap_;
  const int fd_;
  const uint32_t link_type_;
  const uint32_t ts_scale_;  // ns per unit of tv_usec
  const Clock::time_point deadline_;
  uint64_t records_ = 0;
  bool ending_ = false;  // stopped or out of time: reading what came before
  uint64_t end_ns_ = 0;  // when, on the packets' (wall) clock
  bool done_ = false;
  std::optional<Error> error_;
};

}  // namespace

Result<std::unique_ptr<CaptureReader>> CaptureReader::OpenLive(
    const LiveCaptureOptions& o) {
  const std::string name = "interface " + o.interface;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  PcapPtr p(pcap_create(o.interface.c_str(), errbuf));
  if (p == nullptr) {
    return fail(Error::io(name + ": cannot capture: " + errbuf));
  }
  const bool nano =
      pcap_set_tstamp_precision(p.get(), PCAP_TSTAMP_PRECISION_NANO) == 0;
  if (pcap_set_snaplen(p.get(), static_cast<int>(o.snaplen)) != 0 ||
      pcap_set_promisc(p.get(), o.promiscuous ? 1 : 0) != 0 ||
      pcap_set_immediate_mode(p.get(), 1) != 0 ||
      pcap_set_timeout(p.get(), static_cast<int>(o.poll_ms)) != 0 ||
      pcap_set_buffer_size(p.get(), static_cast<int>(o.buffer_bytes)) != 0) {
    return fail(Error::io(
        name + ": cannot set up the capture: " + pcap_geterr(p.get())));
  }
  const int rc = pcap_activate(p.get());
  if (rc < 0) {
    const std::string detail = pcap_geterr(p.get());
    switch (rc) {
      case PCAP_ERROR_NO_SUCH_DEVICE:
        return fail(
            Error::io(name + ": no such interface (libpcap: " + detail + ")"));
      case PCAP_ERROR_PERM_DENIED:
        return fail(Error::io(name +
                              ": permission denied: capturing needs root or "
                              "CAP_NET_RAW (libpcap: " +
                              detail + ")"));
      case PCAP_ERROR_IFACE_NOT_UP:
        return fail(Error::io(name + ": the interface is down"));
      default:
        return fail(Error::io(name +
                              ": cannot capture: " + pcap_statustostr(rc) +
                              (detail.empty() ? "" : " (" + detail + ")")));
    }
  }
  if (pcap_setnonblock(p.get(), 1, errbuf) != 0 ||
      pcap_get_selectable_fd(p.get()) < 0) {
    return fail(Error::io(name + ": cannot set up the capture: " + errbuf));
  }
  const bool got_nano =
      nano && pcap_get_tstamp_precision(p.get()) == PCAP_TSTAMP_PRECISION_NANO;
  return std::make_unique<LiveCaptureReader>(o, std::move(p), got_nano);
}

}  // namespace ctkit
