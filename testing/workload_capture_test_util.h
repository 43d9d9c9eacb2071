// A test helper: a generated workload (gen/workloads.h) written to a
// temporary raw-IP pcap, for tests that replay a capture whose rates and
// flows the generator fixes. The file is removed with the object.
#ifndef CTKIT_TESTING_WORKLOAD_CAPTURE_TEST_UTIL_H_
#define CTKIT_TESTING_WORKLOAD_CAPTURE_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

#include "gen/pcap_writer.h"
#include "gen/workloads.h"

namespace ctkit {

class WorkloadCapture {
 public:
  explicit WorkloadCapture(const WorkloadSpec& spec) {
    path_ = ::testing::TempDir() + "/workload_" + spec.kind + "_" +
            std::to_string(getpid()) + "_" + std::to_string(++serial_) +
            ".pcap";
    auto w = PcapWriter::Create(path_, 101);
    EXPECT_TRUE(w.has_value());
    auto gen =
        GenerateWorkload(spec, [&](uint64_t ts, std::span<const uint8_t> pkt) {
          auto r = (*w)->Write(ts, pkt);
          EXPECT_TRUE(r.has_value());
        });
    EXPECT_TRUE(gen.has_value());
    EXPECT_TRUE((*w)->Close().has_value());
  }
  ~WorkloadCapture() { std::remove(path_.c_str()); }
  WorkloadCapture(const WorkloadCapture&) = delete;
  WorkloadCapture& operator=(const WorkloadCapture&) = delete;

  const std::string& path() const { return path_; }

 private:
  static inline int serial_ = 0;
  std::string path_;
};

}  // namespace ctkit

#endif  // CTKIT_TESTING_WORKLOAD_CAPTURE_TEST_UTIL_H_
