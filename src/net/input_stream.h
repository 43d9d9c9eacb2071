// InputStream: the bytes of a capture that libpcap cannot simply read from
// a file — standard input (a pipe), gzip-compressed data, and pcapng files
// whose interfaces are walked on the side — as a stdio FILE* that
// libpcap's savefile reader can read, plus what libpcap cannot tell: where
// in the stream it is, and why the stream ended early.
#ifndef CTKIT_NET_INPUT_STREAM_H_
#define CTKIT_NET_INPUT_STREAM_H_

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ctkit/result.h"

namespace ctkit::detail {

class InputStream {
 public:
  /// Wraps `fd` (closed with the stream when `own_fd`). `peeked` holds the
  /// bytes already read from fd to tell the format; they come first. With
  /// `gzip` the bytes are inflated (concatenated members are read as one
  /// stream, as gzip -d does). `stop`, if given, is polled while a read
  /// waits on a pipe: once set, the read fails with interrupted() true.
  InputStream(int fd, bool own_fd, std::vector<uint8_t> peeked, bool gzip,
              const std::atomic<bool>* stop);
  ~InputStream();
  InputStream(const InputStream&) = delete;
  InputStream& operator=(const InputStream&) = delete;

  /// A FILE* that owns `s` (fclose destroys it). ftell() on it gives
  /// delivered(); it cannot seek. Null (and `s` destroyed) if stdio fails.
  static std::FILE* ToFile(std::unique_ptr<InputStream> s);

  /// Bytes handed to the reader so far (of the uncompressed stream).
  uint64_t delivered() const { return delivered_; }
  /// Bytes read from the file descriptor so far (compressed, with gzip).
  uint64_t consumed() const { return consumed_; }
  /// Size of the underlying file when it is a regular file, else 0.
  uint64_t source_size() const { return source_size_; }
  bool gzip() const { return gzip_; }
  /// Why the stream ended early ("" when it did not): a read error, or
  /// corrupt or truncated gzip data, with the compressed offset.
  const std::string& failure() const { return failure_; }
  /// The stop flag ended a read.
  bool interrupted() const { return interrupted_; }

  /// Reads up to n bytes: >0 bytes, 0 at the end, -1 on failure.
  ssize_t Read(char* buf, size_t n);

  /// Has every byte Read() delivers from now on shown to `watch` too, in
  /// order (the pcapng interface walk: pcapng_interfaces.h).
  void set_observer(std::function<void(const uint8_t*, size_t)> watch) {
    observer_ = std::move(watch);
  }

 private:
  ssize_t ReadSome(char* buf, size_t n);
  // Raw bytes from fd into buf (waiting on a pipe, polling `stop_`): >0,
  // 0 at the end, -1 on failure (failure_ or interrupted_ set).
  ssize_t ReadFd(uint8_t* buf, size_t n);
  ssize_t Inflate(char* buf, size_t n);
  bool FillInput();

  const int fd_;
  const bool own_fd_;
  const bool gzip_;
  const bool regular_;  // fd is a regular file (reads never wait)
  const std::atomic<bool>* const stop_;
  uint64_t source_size_ = 0;
  std::vector<uint8_t> in_;  // compressed input (gzip) or peeked bytes
  size_t in_pos_ = 0, in_len_ = 0;
  bool in_eof_ = false;
  uint64_t consumed_ = 0;   // bytes read from fd
  uint64_t delivered_ = 0;  // bytes returned by Read
  struct Zlib;
  std::unique_ptr<Zlib> z_;
  bool member_done_ = false;  // between two gzip members
  bool done_ = false;
  std::string failure_;
  bool interrupted_ = false;
  std::function<void(const uint8_t*, size_t)> observer_;
};

/// What the first bytes of a file say it is, for a clear error when it is
/// compressed with something ctkit does not read ("xz", "zstd", "bzip2"),
/// or "gzip"; "" otherwise.
std::string CompressionOf(const uint8_t* magic, size_t n);

}  // namespace ctkit::detail

#endif  // CTKIT_NET_INPUT_STREAM_H_
