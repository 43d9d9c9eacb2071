// InputStream: standard input, gzip data and pcapng files as a FILE* for
// libpcap.
//
// libpcap reads savefiles from a FILE* (pcap_fopen_offline), so these
// reach it through glibc's fopencookie (pcapng files so that an observer,
// the interface walk, sees every byte). The stream's read function serves
// the bytes already peeked to tell the format, then reads the file
// descriptor, inflating with zlib when the data is gzip. Its seek function only
// answers "where am I" (SEEK_CUR by 0), which is all ftell() needs, so record
// offsets stay exact for pcapng too; offsets are those of the uncompressed
// stream.
//
// Errors libpcap would only see as a short read — a read error, gzip data
// that is corrupt or ends before its end marker — are recorded here, with
// the offset in the compressed file, so the capture reader can say what
// went wrong. A pipe is polled in 100 ms steps so that a stop request (a
// signal handler setting a flag) ends a read that is waiting for data even
// when the signal was delivered to another thread.
#include "net/input_stream.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

namespace ctkit::detail {
namespace {

constexpr size_t kInputBytes = 256u << 10;
constexpr size_t kStdioBuffer = 256u << 10;
constexpr int kPollMs = 100;
constexpr int kPipeBytes = 1 << 20;

}  // namespace

struct InputStream::Zlib {
  z_stream z{};
  bool ready = false;
  Zlib() = default;
  Zlib(const Zlib&) = delete;
  Zlib& operator=(const Zlib&) = delete;
  ~Zlib() {
    if (ready) inflateEnd(&z);
  }
};

InputStream::InputStream(int fd, bool own_fd, std::vector<uint8_t> peeked,
                         bool gzip, const std::atomic<bool>* stop)
    : fd_(fd),
      own_fd_(own_fd),
      gzip_(gzip),
      regular_([fd] {
        struct stat st {};
        return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
      }()),
      stop_(stop),
      in_(std::move(peeked)) {
  struct stat st {};
  if (regular_ && fstat(fd, &st) == 0) {
    source_size_ = static_cast<uint64_t>(st.st_size);
  }
  // A larger pipe (best effort; 1 MiB is the default limit for any user)
  // means fewer wake-ups of reader and writer per megabyte.
  if (!regular_ && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) {
    (void)fcntl(fd, F_SETPIPE_SZ, kPipeBytes);
  }
  in_len_ = in_.size();
  consumed_ = in_len_;
  if (gzip_) {
    in_.resize(std::max(kInputBytes, in_len_));
    z_ = std::make_unique<Zlib>();
    // 16 + 15: gzip framing only (header and CRC trailer), 32 KiB window.
    z_->ready = inflateInit2(&z_->z, 16 + MAX_WBITS) == Z_OK;
    if (!z_->ready) failure_ = "cannot initialise zlib";
  }
}

InputStream::~InputStream() {
  if (own_fd_) close(fd_);
}

ssize_t InputStream::ReadFd(uint8_t* buf, size_t n) {
  for (;;) {
    if (stop_ != nullptr && stop_->load(std::memory_order_relaxed)) {
      interrupted_ = true;
      errno = EINTR;
      return -1;
    }
    if (!regular_) {
      pollfd p{fd_, POLLIN, 0};
      const int pr = poll(&p, 1, kPollMs);
      if (pr == 0 || (pr < 0 && errno == EINTR)) continue;
    }
    const ssize_t got = read(fd_, buf, n);
    if (got >= 0) {
      consumed_ += static_cast<uint64_t>(got);
      return got;
    }
    if (errno == EINTR || errno == EAGAIN) continue;
    failure_ = std::string("read error after ") + std::to_string(consumed_) +
               " bytes: " + std::strerror(errno);
    return -1;
  }
}

// Makes input available at in_[in_pos_..in_len_) (at least two bytes when
// the source has them). False on a read failure.
bool InputStream::FillInput() {
  if (in_eof_) return true;
  if (in_pos_ > 0) {
    std::memmove(in_.data(), in_.data() + in_pos_, in_len_ - in_pos_);
    in_len_ -= in_pos_;
    in_pos_ = 0;
  }
  while (in_len_ < 2) {
    const ssize_t got = ReadFd(in_.data() + in_len_, in_.size() - in_len_);
    if (got < 0) return false;
    if (got == 0) {
      in_eof_ = true;
      break;
    }
    in_len_ += static_cast<size_t>(got);
  }
  return true;
}

ssize_t InputStream::Inflate(char* buf, size_t n) {
  z_stream& z = z_->z;
  z.next_out = reinterpret_cast<Bytef*>(buf);
  z.avail_out = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
  const uInt room = z.avail_out;
  while (z.avail_out == room) {
    if (in_len_ - in_pos_ < 2 && !in_eof_) {
      if (!FillInput()) return -1;
    }
    // Offset in the compressed file of the next byte inflate reads.
    const uint64_t at = consumed_ - (in_len_ - in_pos_);
    if (in_pos_ == in_len_) {
      if (member_done_) {
        done_ = true;
        return 0;
      }
      failure_ =
          "the gzip data ends early: the compressed file ends at "
          "byte " +
          std::to_string(at) + " inside a compressed block";
      return -1;
    }
    if (member_done_) {
      // Another member follows (as `cat a.gz b.gz` makes), or not gzip.
      if (in_len_ - in_pos_ < 2 || in_[in_pos_] != 0x1f ||
          in_[in_pos_ + 1] != 0x8b) {
        failure_ = "data after the end of the gzip stream, at byte " +
                   std::to_string(at) + " of the compressed file, is not gzip";
        return -1;
      }
      inflateReset(&z);
      member_done_ = false;
    }
    z.next_in = in_.data() + in_pos_;
    z.avail_in = static_cast<uInt>(in_len_ - in_pos_);
    const int rc = inflate(&z, Z_NO_FLUSH);
    in_pos_ = in_len_ - z.avail_in;
    if (rc == Z_STREAM_END) {
      member_done_ = true;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      // Where inflate stopped; what it produced before is still good, and
      // the failure shows at the next read.
      failure_ =
          "corrupt gzip data at byte " +
          std::to_string(consumed_ - (in_len_ - in_pos_)) +
          " of the compressed file: " +
          (z.msg != nullptr ? z.msg : "zlib error " + std::to_string(rc));
      if (z.avail_out == room) return -1;
      break;
    } else if (in_pos_ == in_len_) {
      if (!FillInput()) return -1;
    }
  }
  const size_t produced = room - z.avail_out;
  delivered_ += produced;
  return static_cast<ssize_t>(produced);
}

ssize_t InputStream::Read(char* buf, size_t n) {
  const ssize_t got = ReadSome(buf, n);
  if (got > 0 && observer_) {
    observer_(reinterpret_cast<const uint8_t*>(buf), static_cast<size_t>(got));
  }
  return got;
}

ssize_t InputStream::ReadSome(char* buf, size_t n) {
  if (!failure_.empty() || interrupted_) return -1;
  if (done_ || n == 0) return 0;
  if (gzip_) return Inflate(buf, n);
  if (in_pos_ < in_len_) {  // the peeked bytes first
    const size_t k = std::min(n, in_len_ - in_pos_);
    std::memcpy(buf, in_.data() + in_pos_, k);
    in_pos_ += k;
    delivered_ += k;
    return static_cast<ssize_t>(k);
  }
  const ssize_t got = ReadFd(reinterpret_cast<uint8_t*>(buf), n);
  if (got > 0) delivered_ += static_cast<uint64_t>(got);
  if (got == 0) done_ = true;
  return got;
}

std::FILE* InputStream::ToFile(std::unique_ptr<InputStream> s) {
  cookie_io_functions_t io{};
  io.read = [](void* c, char* buf, size_t n) -> ssize_t {
    return static_cast<InputStream*>(c)->Read(buf, n);
  };
  io.seek = [](void* c, off64_t* pos, int whence) -> int {
    if (whence != SEEK_CUR || *pos != 0) return -1;  // tell only
    *pos = static_cast<off64_t>(static_cast<InputStream*>(c)->delivered());
    return 0;
  };
  io.close = [](void* c) -> int {
    delete static_cast<InputStream*>(c);
    return 0;
  };
  std::FILE* f = fopencookie(s.get(), "rb", io);
  if (f == nullptr) return nullptr;
  (void)s.release();  // the FILE owns it now
  setvbuf(f, nullptr, _IOFBF, kStdioBuffer);
  return f;
}

std::string CompressionOf(const uint8_t* m, size_t n) {
  auto is = [&](std::initializer_list<uint8_t> magic) {
    if (n < magic.size()) return false;
    size_t i = 0;
    for (uint8_t b : magic) {
      if (m[i++] != b) return false;
    }
    return true;
  };
  if (is({0x1f, 0x8b})) return "gzip";
  if (is({0xfd, '7', 'z', 'X', 'Z', 0x00})) return "xz";
  if (is({0x28, 0xb5, 0x2f, 0xfd})) return "zstd";
  if (is({'B', 'Z', 'h'})) return "bzip2";
  if (is({0x04, 0x22, 0x4d, 0x18})) return "lz4";
  if (is({0x1f, 0x9d})) return "compress";
  return "";
}

}  // namespace ctkit::detail
