// The doctor's streaming digest of a table (see table_digest.h).
#include "host/table_digest.h"

#include <algorithm>
#include <cstring>

namespace ctkit {

void TableDigestBuilder::Prepare(int klass, const char* sysctl,
                                 uint64_t value_s) {
  ClassUse& u = classes_[static_cast<size_t>(klass)];
  u.sysctl = sysctl;
  u.value_s = value_s;
  // What an operator would try: a day and an hour instead of five days for
  // ESTABLISHED; half and a quarter of any other timeout.
  std::array<uint64_t, kMaxShorter> candidates{};
  size_t n = 0;
  if (std::strcmp(sysctl, "nf_conntrack_tcp_timeout_established") == 0) {
    for (uint64_t v : {uint64_t{86400}, uint64_t{3600}}) {
      if (v < value_s) candidates[n++] = v;
    }
  } else {
    if (value_s / 2 > 0) candidates[n++] = value_s / 2;
    if (value_s / 4 > 0) candidates[n++] = value_s / 4;
  }
  u.shorter_count = n;
  for (size_t i = 0; i < n; ++i) u.shorter[i].value_s = candidates[i];
}

void TableDigestBuilder::Add(const SummaryEntry& e) {
  composition_.Add(e);
  const TimeoutClass c =
      TimeoutClassOf(EntryFacts{e.l4_proto, e.state, e.assured, e.seen_reply});
  ClassUse& u = classes_[static_cast<size_t>(c)];
  if (u.sysctl == nullptr) return;  // no sysctl to shorten
  ++u.entries;
  u.max_left_s = std::max<uint64_t>(u.max_left_s, e.timeout_s);
  const bool capped =
      c == TimeoutClass::kTcpEstablished && e.timeout_s <= cap_s_;
  const bool idle_known = !(e.timeout_s > u.value_s || capped);
  if (!idle_known) ++u.unknown_idle;
  for (size_t i = 0; i < u.shorter_count; ++i) {
    ShorterTimeout& st = u.shorter[i];
    if (e.timeout_s > st.value_s) ++st.more_left;
    if (idle_known && u.value_s - e.timeout_s >= st.value_s) ++st.idle_at_least;
  }
}

TableDigest TableDigestBuilder::Finish() const {
  TableDigest d;
  d.composition = composition_.Finish(5);
  if (d.composition.by_protocol.size() > 16)
    d.composition.by_protocol.resize(16);
  if (d.composition.by_tcp_state.size() > 16)
    d.composition.by_tcp_state.resize(16);
  // Classes that share a sysctl (UDP with and without a reply) are one
  // use: the sysctl is what can be changed.
  std::map<std::string, TimeoutUse> uses;
  for (const ClassUse& c : classes_) {
    if (c.sysctl == nullptr || c.entries == 0) continue;
    TimeoutUse& u = uses[c.sysctl];
    if (u.sysctl.empty()) {
      u.sysctl = c.sysctl;
      u.value_s = c.value_s;
      u.shorter.assign(
          c.shorter.begin(),
          c.shorter.begin() + static_cast<std::ptrdiff_t>(c.shorter_count));
    } else {
      for (size_t i = 0; i < c.shorter_count && i < u.shorter.size(); ++i) {
        u.shorter[i].more_left += c.shorter[i].more_left;
        u.shorter[i].idle_at_least += c.shorter[i].idle_at_least;
      }
    }
    u.entries += c.entries;
    u.max_left_s = std::max(u.max_left_s, c.max_left_s);
    u.unknown_idle += c.unknown_idle;
  }
  for (auto& [name, u] : uses) d.timeouts.push_back(std::move(u));
  std::stable_sort(d.timeouts.begin(), d.timeouts.end(),
                   [](const TimeoutUse& a, const TimeoutUse& b) {
                     return a.entries > b.entries;
                   });
  return d;
}

}  // namespace ctkit
