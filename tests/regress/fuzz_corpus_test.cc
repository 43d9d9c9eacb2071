// Every committed fuzz input, replayed through its fuzzer's entry point as
// an ordinary test, so that the normal and the ASan+UBSan suites (built
// with gcc, no libFuzzer needed) rerun them on every `make test`. The
// corpora under fuzz/corpus/<target>/ hold the seeds and each input that
// once found a problem, named after it (regress-*); a target's checks abort
// on any broken invariant, which fails the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

// The fuzzers' LLVMFuzzerTestOneInput, renamed per target at compile time
// (CMakeLists.txt).
extern "C" int CtkitFuzz_decode(const uint8_t* data, size_t size);
extern "C" int CtkitFuzz_capture(const uint8_t* data, size_t size);
extern "C" int CtkitFuzz_sysctl(const uint8_t* data, size_t size);
extern "C" int CtkitFuzz_engine(const uint8_t* data, size_t size);
extern "C" int CtkitFuzz_ctnetlink(const uint8_t* data, size_t size);
extern "C" int CtkitFuzz_doctor(const uint8_t* data, size_t size);
extern "C" int CtkitFuzz_kmsg(const uint8_t* data, size_t size);
extern "C" int CtkitFuzz_web_config(const uint8_t* data, size_t size);
extern "C" int CtkitFuzz_history(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;
using FuzzFn = int (*)(const uint8_t*, size_t);

/// Runs every file of fuzz/corpus/<target>; returns how many ran.
size_t Replay(const char* target, FuzzFn fn) {
  const fs::path dir = fs::path(CTKIT_SOURCE_DIR) / "fuzz" / "corpus" / target;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    SCOPED_TRACE(f.string());
    std::ifstream in(f, std::ios::binary);
    std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in),
                               std::istreambuf_iterator<char>()};
    EXPECT_EQ(fn(bytes.data(), bytes.size()), 0);
  }
  return files.size();
}

TEST(FuzzCorpus, Decode) { EXPECT_GT(Replay("decode", CtkitFuzz_decode), 0u); }
TEST(FuzzCorpus, Capture) {
  EXPECT_GT(Replay("capture", CtkitFuzz_capture), 0u);
}
TEST(FuzzCorpus, Sysctl) { EXPECT_GT(Replay("sysctl", CtkitFuzz_sysctl), 0u); }
TEST(FuzzCorpus, Engine) { EXPECT_GT(Replay("engine", CtkitFuzz_engine), 0u); }
TEST(FuzzCorpus, Ctnetlink) {
  EXPECT_GT(Replay("ctnetlink", CtkitFuzz_ctnetlink), 0u);
}
TEST(FuzzCorpus, Doctor) { EXPECT_GT(Replay("doctor", CtkitFuzz_doctor), 0u); }
TEST(FuzzCorpus, Kmsg) { EXPECT_GT(Replay("kmsg", CtkitFuzz_kmsg), 0u); }
TEST(FuzzCorpus, WebConfig) {
  EXPECT_GT(Replay("web_config", CtkitFuzz_web_config), 0u);
}
TEST(FuzzCorpus, History) {
  EXPECT_GT(Replay("history", CtkitFuzz_history), 0u);
}

}  // namespace
