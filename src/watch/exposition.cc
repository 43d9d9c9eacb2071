// The text exposition format (see exposition.h).
#include "watch/exposition.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ctkit::watch {
namespace {

bool NameChar(char c, bool first, bool colon) {
  const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  const bool digit = c >= '0' && c <= '9';
  return letter || c == '_' || (colon && c == ':') || (!first && digit);
}

bool ValidName(std::string_view name, bool colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!NameChar(name[i], i == 0, colon)) return false;
  }
  return true;
}

[[noreturn]] void BadName(std::string_view what, std::string_view name) {
  std::fprintf(stderr, "ctkit: internal error: invalid %.*s name '%.*s'\n",
               static_cast<int>(what.size()), what.data(),
               static_cast<int>(name.size()), name.data());
  std::abort();
}

const char* TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kUntyped:
      break;
  }
  return "untyped";
}

void AppendEscaped(std::string* out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (quote && c == '"') {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
  }
}

}  // namespace

void MergeFamilies(std::vector<MetricFamily>* into,
                   std::vector<MetricFamily> more) {
  for (MetricFamily& m : more) {
    auto it =
        std::find_if(into->begin(), into->end(),
                     [&m](const MetricFamily& f) { return f.name == m.name; });
    if (it == into->end()) {
      into->push_back(std::move(m));
    } else {
      for (Sample& s : m.samples) it->samples.push_back(std::move(s));
    }
  }
}

MetricFamily& MetricFamily::AddHistogram(const std::vector<double>& bounds,
                                         const std::vector<uint64_t>& at_most,
                                         uint64_t count, double sum,
                                         const Labels& labels) {
  auto with_le = [&labels](const std::string& le) {
    Labels l = labels;
    l.emplace_back("le", le);
    return l;
  };
  for (size_t i = 0; i < bounds.size() && i < at_most.size(); ++i) {
    samples.push_back(Sample{with_le(FormatValue(bounds[i])),
                             static_cast<double>(at_most[i]), "_bucket"});
  }
  samples.push_back(
      Sample{with_le("+Inf"), static_cast<double>(count), "_bucket"});
  samples.push_back(Sample{labels, sum, "_sum"});
  samples.push_back(Sample{labels, static_cast<double>(count), "_count"});
  return *this;
}

bool ValidMetricName(std::string_view name) { return ValidName(name, true); }

bool ValidLabelName(std::string_view name) {
  return ValidName(name, false) && name.substr(0, 2) != "__";
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

std::string Expose(const std::vector<MetricFamily>& families) {
  std::string out;
  for (const MetricFamily& f : families) {
    if (!ValidMetricName(f.name)) BadName("metric", f.name);
    if (f.samples.empty()) continue;
    out += "# HELP ";
    out += f.name;
    out += ' ';
    AppendEscaped(&out, f.help, false);
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += TypeName(f.type);
    out += '\n';
    for (const Sample& s : f.samples) {
      out += f.name;
      out += s.suffix;
      if (!s.labels.empty()) {
        out += '{';
        for (size_t i = 0; i < s.labels.size(); ++i) {
          if (!ValidLabelName(s.labels[i].first)) {
            BadName("label", s.labels[i].first);
          }
          if (i != 0) out += ',';
          out += s.labels[i].first;
          out += "=\"";
          AppendEscaped(&out, s.labels[i].second, true);
          out += '"';
        }
        out += '}';
      }
      out += ' ';
      out += FormatValue(s.value);
      out += '\n';
    }
  }
  return out;
}

}  // namespace ctkit::watch
