// A minimal .tar.gz writer for `doctor --collect`: POSIX ustar members in a
// gzip stream of stored (uncompressed) deflate blocks. Any tar(1) extracts
// it; no compression library is needed for a few hundred kilobytes.
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

/// `data` wrapped as a gzip member of stored deflate blocks.
std::string GzipStored(const std::string& data);

/// MakeTar + GzipStored, written atomically to `path`.
[[nodiscard]] Result<void> WriteTarGz(
    const std::string& path, const std::map<std::string, std::string>& files,
    uint64_t mtime);

}  // namespace ctkit

#endif  // CTKIT_HOST_TAR_WRITER_H_
