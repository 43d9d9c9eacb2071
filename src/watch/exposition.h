// The Prometheus text exposition format, version 0.0.4: what `ctkit
// exporter` serves on /metrics. A family is one metric name with its HELP,
// TYPE and samples; Expose() writes families in the order given, each
// sample as `name{label="value",...} value`, with the escapes the format
// asks for (HELP: backslash and newline; label values: backslash, double
// quote and newline) and Go's spellings of the special values (NaN, +Inf,
// -Inf). Names are checked when a family is made, not when it is written:
// a bad name is a bug in ctkit, not in its input.
#ifndef CTKIT_WATCH_EXPOSITION_H_
#define CTKIT_WATCH_EXPOSITION_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ctkit::watch {

/// The Content-Type of the format, as Prometheus expects it.
inline constexpr char kExpositionContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";

enum class MetricType { kCounter, kGauge, kHistogram, kUntyped };

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Sample {
  Labels labels;
  double value = 0;
  /// Appended to the family's name: a histogram's "_bucket", "_sum" and
  /// "_count" samples; "" for every other type.
  std::string suffix;
};

struct MetricFamily {
  std::string name;
  std::string help;
  MetricType type = MetricType::kGauge;
  std::vector<Sample> samples;

  /// Adds a sample; returns *this so a family reads as one expression.
  MetricFamily& Add(double value, Labels labels = {}) {
    samples.push_back(Sample{std::move(labels), value, {}});
    return *this;
  }

  /// Adds one histogram's samples (a kHistogram family): a cumulative
  /// `_bucket` per upper bound in `bounds` (`at_most[i]` observations at
  /// most bounds[i]), the +Inf bucket (= `count`), `_sum` and `_count`,
  /// each with `labels` (and `le` on the buckets).
  MetricFamily& AddHistogram(const std::vector<double>& bounds,
                             const std::vector<uint64_t>& at_most,
                             uint64_t count, double sum, const Labels& labels);
};

/// Appends `more` to `into`: a family already there (same name) takes the
/// new samples, after its own; the others are added in order.
void MergeFamilies(std::vector<MetricFamily>* into,
                   std::vector<MetricFamily> more);

/// [a-zA-Z_:][a-zA-Z0-9_:]*
bool ValidMetricName(std::string_view name);
/// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved).
bool ValidLabelName(std::string_view name);

/// The families as the text format, every line ending in '\n'. A family
/// with no samples is left out (its HELP/TYPE alone say nothing). Aborts on
/// an invalid metric or label name (see the top of this file).
std::string Expose(const std::vector<MetricFamily>& families);

/// A value as the format spells it: shortest round-trip decimal, NaN,
/// +Inf or -Inf.
std::string FormatValue(double v);

}  // namespace ctkit::watch

#endif  // CTKIT_WATCH_EXPOSITION_H_
