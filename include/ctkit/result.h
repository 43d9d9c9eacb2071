// Errors for fallible setup (opening captures, parsing settings).
//
// The library throws nothing; every fallible call that is not on the packet
// hot path returns Result<T>, an std::expected-compatible value. The hot path
// never returns errors: bad packets are data (a Verdict and a counter).
#ifndef CTKIT_RESULT_H_
#define CTKIT_RESULT_H_

#include <string>
#include <tl/expected.hpp>
#include <utility>

namespace ctkit {

/// What kind of failure an Error is; the CLI maps these to exit codes.
enum class ErrorCode : int {
  kInvalidArgument = 1,  ///< a setting name or value is wrong
  kIo = 2,               ///< a file could not be opened or read
  kCorrupt = 3,          ///< a file's contents are malformed or truncated
  kUnsupported = 4,      ///< a valid input this build cannot handle
  kPermission = 5,       ///< the OS refused (EACCES/EPERM): needs privileges
};

/// A failure with a message meant for the user (names file, offset, field).
struct Error {
  ErrorCode code;
  std::string message;

  [[nodiscard]] static Error invalid_argument(std::string m) {
    return {ErrorCode::kInvalidArgument, std::move(m)};
  }
  [[nodiscard]] static Error io(std::string m) {
    return {ErrorCode::kIo, std::move(m)};
  }
  [[nodiscard]] static Error corrupt(std::string m) {
    return {ErrorCode::kCorrupt, std::move(m)};
  }
  [[nodiscard]] static Error unsupported(std::string m) {
    return {ErrorCode::kUnsupported, std::move(m)};
  }
  [[nodiscard]] static Error permission(std::string m) {
    return {ErrorCode::kPermission, std::move(m)};
  }
};

template <class T>
using Result = tl::expected<T, Error>;

/// Shorthand for returning an error from a function returning Result<T>.
inline tl::unexpected<Error> fail(Error e) {
  return tl::unexpected<Error>(std::move(e));
}

}  // namespace ctkit

#endif  // CTKIT_RESULT_H_
