// A tiny reader over a fuzzer's input: integers and byte runs taken from the
// front, zeros once the input is used up (so every input is a valid program).
#ifndef CTKIT_FUZZ_FUZZ_INPUT_H_
#define CTKIT_FUZZ_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>

namespace ctkit::fuzz {

class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  bool empty() const { return pos_ >= size_; }
  size_t remaining() const { return pos_ < size_ ? size_ - pos_ : 0; }

  uint8_t U8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t U16() {
    return static_cast<uint16_t>(U8() | static_cast<uint16_t>(U8()) << 8);
  }
  uint32_t U32() {
    return static_cast<uint32_t>(U16()) | static_cast<uint32_t>(U16()) << 16;
  }
  /// A value in [0, n) (n > 0) from one byte.
  uint32_t Below(uint32_t n) { return U8() % n; }
  /// Up to `max` bytes: the next byte says how many, then the bytes.
  const uint8_t* Bytes(size_t max, size_t* len) {
    size_t want = U8();
    if (want > max) want = max;
    if (want > remaining()) want = remaining();
    *len = want;
    const uint8_t* p = data_ + pos_;
    pos_ += want;
    return p;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace ctkit::fuzz

#endif  // CTKIT_FUZZ_FUZZ_INPUT_H_
