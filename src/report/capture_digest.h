// CaptureDigest: a fingerprint of a capture's packets as read, so two
// results (`ctkit replay --json`, `ctkit kernel-replay --json`) can be
// checked to come from the same capture before `ctkit diff` compares them.
//
// The digest is SHA-256 over the records in order, each as its timestamp in
// ns (8 bytes), link type, captured length and wire length (4 bytes each,
// all little-endian) followed by the captured bytes. It is taken over the
// records rather than the file's bytes so that the same packets give the
// same digest however they were stored (pcap or pcapng, byte order,
// microsecond or nanosecond stamps, a compressed or piped input): what the
// engine and the kernel saw is what is compared. SHA-256 comes from
// OpenSSL's libcrypto, which uses the CPU's SHA instructions where there
// are some: about 0.45 GB/s over 300-byte records here (0.2 GB/s for a
// plain C SHA-256), so a replay computes it only for results meant for
// `ctkit diff`.
#ifndef CTKIT_REPORT_CAPTURE_DIGEST_H_
#define CTKIT_REPORT_CAPTURE_DIGEST_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "ctkit/capture.h"

struct evp_md_ctx_st;

namespace ctkit {

/// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const uint8_t* data, size_t n);
  /// The digest of everything given so far (the object stays usable).
  std::array<uint8_t, 32> Digest() const;
  /// The digest as 64 lowercase hex digits.
  std::string HexDigest() const;

 private:
  evp_md_ctx_st* ctx_;
};

class CaptureDigest {
 public:
  /// Adds one record (in file order).
  void Add(const CaptureRecord& rec);
  uint64_t packets() const { return packets_; }
  /// SHA-256 of the records so far, 64 hex digits.
  std::string Hex() const { return sha_.HexDigest(); }

 private:
  Sha256 sha_;
  uint64_t packets_ = 0;
};

}  // namespace ctkit

#endif  // CTKIT_REPORT_CAPTURE_DIGEST_H_
