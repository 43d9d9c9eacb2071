// Helpers for the exporter's tests: metric families flattened to
// "name{label=value,...}" -> value, so a test states a series as it would
// read it on /metrics (a histogram's samples carry their _bucket, _sum or
// _count suffix).
#ifndef CTKIT_TESTING_METRICS_TEST_UTIL_H_
#define CTKIT_TESTING_METRICS_TEST_UTIL_H_

#include <map>
#include <string>
#include <vector>

#include "watch/exposition.h"

namespace ctkit::watchtest {

inline std::map<std::string, double> Series(
    const std::vector<watch::MetricFamily>& families) {
  std::map<std::string, double> out;
  for (const watch::MetricFamily& f : families) {
    for (const watch::Sample& s : f.samples) {
      std::string key = f.name + s.suffix + "{";
      for (const auto& [k, v] : s.labels) {
        key.append(k).append("=").append(v).append(",");
      }
      key += "}";
      out[key] = s.value;
    }
  }
  return out;
}

}  // namespace ctkit::watchtest

#endif  // CTKIT_TESTING_METRICS_TEST_UTIL_H_
