// Small text helpers the parsers and reports share: trimming, splitting
// (at a separator or into words), numbers, NAME=VALUE assignments and
// percentages. Views only: nothing here
// allocates beyond the returned vector, and nothing judges the text.
#ifndef CTKIT_CORE_TEXT_H_
#define CTKIT_CORE_TEXT_H_

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace ctkit {

/// `s` without the blanks (space, tab, CR, LF) at either end.
inline std::string_view Trim(std::string_view s) {
  auto blank = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
  };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

/// The parts of `s` between `sep`s, untrimmed: "a,,b" is {"a", "", "b"}, ""
/// is {""}, and a trailing separator gives a last empty part.
inline std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
}

/// The blank-separated (space, tab) words of `s`: "a  b\tc" is {"a", "b",
/// "c"}, "" and "  " are {}.
inline std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

/// `s` (trimmed) as an unsigned number in `base`; nullopt when empty, not
/// a number throughout, or out of range.
inline std::optional<uint64_t> ToU64(std::string_view s, int base = 10) {
  s = Trim(s);
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return v;
}

/// One NAME=VALUE, split at the first '=' (the value may hold more), both
/// sides as given (untrimmed).
struct Assignment {
  std::string_view name;
  std::string_view value;
};

/// `text` split at its first '='; nullopt when it has none.
inline std::optional<Assignment> SplitAssignment(std::string_view text) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  return Assignment{text.substr(0, eq), text.substr(eq + 1)};
}

/// 100 x part / whole, 0 when whole is 0.
inline double Percent(uint64_t part, uint64_t whole) {
  return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole)
               : 0.0;
}

}  // namespace ctkit

#endif  // CTKIT_CORE_TEXT_H_
