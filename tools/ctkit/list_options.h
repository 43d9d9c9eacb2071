// The list options of replay and kernel-replay (--dump, --verdicts,
// --events, --timeline): in text mode each prints its list bare on stdout,
// so that it can be diffed against another run or against conntrack's own
// output. Two lists would run into each other, so text mode takes one; JSON
// carries each under its own key.
#ifndef CTKIT_TOOLS_LIST_OPTIONS_H_
#define CTKIT_TOOLS_LIST_OPTIONS_H_

#include <fmt/format.h>

#include <cstdio>
#include <initializer_list>
#include <string>
#include <utility>

namespace ctkit::cli {

/// `lists` pairs each list option's name with whether it was given. Returns
/// true when at most one was; otherwise prints a usage error naming them
/// (the caller exits with kExitUsage).
inline bool AtMostOneList(
    std::initializer_list<std::pair<const char*, bool>> lists) {
  std::string given;
  int n = 0;
  for (const auto& [name, on] : lists) {
    if (!on) continue;
    given += n == 0 ? "" : " and ";
    given += name;
    ++n;
  }
  if (n <= 1) return true;
  fmt::print(stderr,
             "ctkit: error: {} each print a list on stdout; give one at a "
             "time, or add --json to get each under its own key\n",
             given);
  return false;
}

}  // namespace ctkit::cli

#endif  // CTKIT_TOOLS_LIST_OPTIONS_H_
