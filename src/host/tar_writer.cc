// ustar (POSIX.1-1988) headers are 512-byte blocks of NUL-padded ASCII
// fields with octal numbers and a checksum computed with the checksum field
// taken as spaces; data follows padded to 512, and two zero blocks end the
// archive. zlib compresses it into a gzip member (RFC 1952).
#include "host/tar_writer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

namespace ctkit {
namespace {

void PutField(char* block, size_t off, size_t len, const std::string& s) {
  // A tar field is fixed-width and need not end in NUL when full.
  // NOLINTNEXTLINE(bugprone-not-null-terminated-result)
  std::memcpy(block + off, s.data(), std::min(len, s.size()));
}

void PutOctal(char* block, size_t off, size_t len, uint64_t v) {
  // len-1 octal digits, then NUL.
  std::string s = fmt::format("{:0{}o}", v, len - 1);
  PutField(block, off, len - 1, s);
}

}  // namespace

[[nodiscard]] Result<std::string> MakeTar(
    const std::map<std::string, std::string>& files, uint64_t mtime) {
  std::string out;
  for (const auto& [raw_path, data] : files) {
    std::string path = raw_path;
    while (!path.empty() && path[0] == '/') path.erase(0, 1);
    char h[512] = {};
    std::string name = path, prefix;
    if (name.size() > 100) {
      size_t cut = path.rfind('/', 155);
      if (cut == std::string::npos || path.size() - cut - 1 > 100) {
        return fail(
            Error::invalid_argument("path too long for ustar: " + path));
      }
      prefix = path.substr(0, cut);
      name = path.substr(cut + 1);
    }
    PutField(h, 0, 100, name);
    PutOctal(h, 100, 8, 0644);
    PutOctal(h, 108, 8, 0);
    PutOctal(h, 116, 8, 0);
    PutOctal(h, 124, 12, data.size());
    PutOctal(h, 136, 12, mtime);
    std::memset(h + 148, ' ', 8);
    h[156] = '0';
    PutField(h, 257, 6, std::string("ustar\0", 6));
    PutField(h, 263, 2, "00");
    PutField(h, 265, 32, "root");
    PutField(h, 297, 32, "root");
    PutField(h, 345, 155, prefix);
    unsigned sum = 0;
    for (char c : h) sum += static_cast<unsigned char>(c);
    std::string cs = fmt::format("{:06o}", sum);
    PutField(h, 148, 6, cs);
    h[154] = '\0';
    h[155] = ' ';
    out.append(h, 512);
    out += data;
    out.append((512 - data.size() % 512) % 512, '\0');
  }
  out.append(1024, '\0');
  return out;
}

[[nodiscard]] Result<std::string> Gzip(const std::string& data) {
  z_stream zs{};
  // windowBits 15 + 16: a gzip header and trailer around the deflate data.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return fail(Error::io("cannot start gzip compression"));
  }
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return fail(Error::io("gzip compression failed"));
  return out;
}

[[nodiscard]] Result<void> WriteTarGz(
    const std::string& path, const std::map<std::string, std::string>& files,
    uint64_t mtime) {
  auto tar = MakeTar(files, mtime);
  if (!tar) return fail(tar.error());
  auto gzipped = Gzip(*tar);
  if (!gzipped) return fail(gzipped.error());
  const std::string& gz = *gzipped;
  std::string tmp = path + ".ctkit-tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return fail(
        Error::io("cannot create " + tmp + ": " + std::strerror(errno)));
  }
  size_t off = 0;
  while (off < gz.size()) {
    ssize_t n = write(fd, gz.data() + off, gz.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      unlink(tmp.c_str());
      return fail(Error::io("cannot write " + tmp + ": " + std::strerror(e)));
    }
    off += static_cast<size_t>(n);
  }
  fsync(fd);
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    return fail(
        Error::io("cannot rename to " + path + ": " + std::strerror(e)));
  }
  return {};
}

}  // namespace ctkit
