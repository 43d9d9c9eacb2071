// A minimal .tar.gz writer for `doctor --collect`: POSIX ustar members,
// gzip-compressed by zlib (already the capture reader's dependency). Any
// tar(1) extracts it.
#ifndef CTKIT_HOST_TAR_WRITER_H_
#define CTKIT_HOST_TAR_WRITER_H_

#include <map>
#include <string>

#include "ctkit/result.h"

namespace ctkit {

/// The ustar archive (uncompressed) of `files` (relative path -> bytes),
/// regular files of mode 0644 dated `mtime` (seconds since the epoch).
/// Paths longer than ustar's 100+155 characters fail.
[[nodiscard]] Result<std::string> MakeTar(
    const std::map<std::string, std::string>& files, uint64_t mtime);

/// `data` as one gzip member (zlib's default compression level).
[[nodiscard]] Result<std::string> Gzip(const std::string& data);

/// MakeTar + Gzip, written atomically to `path`.
[[nodiscard]] Result<void> WriteTarGz(
    const std::string& path, const std::map<std::string, std::string>& files,
    uint64_t mtime);

}  // namespace ctkit

#endif  // CTKIT_HOST_TAR_WRITER_H_
