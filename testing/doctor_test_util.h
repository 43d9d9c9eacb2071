// Helpers for the doctor tests: the fixture directory, temporary trees
// (healthy/ with one finding's overlay), and whole-tree snapshots for the
// byte-exact rollback checks.
#ifndef CTKIT_TESTING_DOCTOR_TEST_UTIL_H_
#define CTKIT_TESTING_DOCTOR_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace ctkit::doctortest {

namespace fs = std::filesystem;

inline fs::path FixtureDir() {
  return fs::path(__FILE__).parent_path().parent_path() / "tests" / "doctor";
}

/// A temporary directory removed on destruction.
class TempTree {
 public:
  TempTree() {
    std::string t = ::testing::TempDir() + "/ctkit_doctor_XXXXXX";
    if (mkdtemp(t.data()) == nullptr) ADD_FAILURE() << "mkdtemp";
    path_ = t;
  }
  ~TempTree() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// healthy/ copied into `dir`, then `overlay` (a fixture name or "") over it.
inline void BuildTree(const std::string& dir, const std::string& overlay) {
  const auto opts =
      fs::copy_options::recursive | fs::copy_options::overwrite_existing;
  fs::copy(FixtureDir() / "healthy", dir, opts);
  if (!overlay.empty()) fs::copy(FixtureDir() / overlay, dir, opts);
}

inline std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteAll(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

/// Every file and directory under `dir`: relative path -> contents ("<dir>"
/// for directories) plus the permission bits.
inline std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> m;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    std::string rel = fs::relative(e.path(), dir).string();
    auto perms = static_cast<unsigned>(e.status().permissions());
    m[rel] = (e.is_directory() ? std::string("<dir>") : ReadAll(e.path())) +
             "|mode=" + std::to_string(perms);
  }
  return m;
}

}  // namespace ctkit::doctortest

#endif  // CTKIT_TESTING_DOCTOR_TEST_UTIL_H_
