// PeakFollower: see peak_follower.h for why. The held packets keep only
// their L4 bytes: a PacketView's contract is that l4..l4+l4_caplen is all
// that may be read (addresses, lengths and flags are in the view itself),
// so each view is copied with l4 pointing into the follower's own buffer.
#include "replay/peak_follower.h"

#include <algorithm>
#include <cstring>

namespace ctkit {
namespace {

constexpr size_t kChunk = 4096;  // packets per ProcessBatch call

}  // namespace

Result<std::unique_ptr<PeakFollower>> PeakFollower::Create(const Tunables& t,
                                                           EngineOptions opts,
                                                           size_t budget_bytes,
                                                           Compose compose) {
  opts.on_event = nullptr;
  auto e = Engine::Create(t, opts);
  if (!e) return fail(e.error());
  const uint32_t max = (*e)->tunables().max;
  return std::unique_ptr<PeakFollower>(
      new PeakFollower(std::move(*e), max, budget_bytes, std::move(compose)));
}

PeakFollower::PeakFollower(std::unique_ptr<Engine> e, uint32_t max,
                           size_t budget, Compose compose)
    : engine_(std::move(e)),
      max_(max),
      budget_(budget),
      compose_(std::move(compose)),
      views_(kChunk),
      times_(kChunk),
      verdicts_(kChunk) {}

void PeakFollower::Add(const PacketView* views, const uint64_t* ts,
                       const uint64_t* index, size_t n) {
  if (finished_) return;
  for (size_t i = 0; i < n; ++i) {
    Held h{views[i], ts[i], index[i], bytes_.size()};
    if (views[i].l4 != nullptr && views[i].l4_caplen != 0) {
      bytes_.insert(bytes_.end(), views[i].l4,
                    views[i].l4 + views[i].l4_caplen);
    }
    held_.push_back(h);
  }
}

size_t PeakFollower::HeldBytes() const {
  return bytes_.size() + held_.size() * sizeof(Held);
}

void PeakFollower::Feed(uint64_t upto) {
  size_t k = 0;
  while (k < held_.size() && held_[k].index <= upto) {
    size_t n = 0;
    for (; n < kChunk && k < held_.size() && held_[k].index <= upto; ++n, ++k) {
      PacketView v = held_[k].view;
      if (v.l4 != nullptr) v.l4 = bytes_.data() + held_[k].l4_offset;
      views_[n] = v;
      times_[n] = held_[k].ts;
    }
    engine_->ProcessBatch(views_.data(), times_.data(), n, verdicts_.data());
  }
  if (upto > position_) position_ = upto;
  if (k == 0) return;
  // Drop what ran; the rest moves to the front.
  const size_t cut = k < held_.size() ? held_[k].l4_offset : bytes_.size();
  bytes_.erase(bytes_.begin(), bytes_.begin() + static_cast<ptrdiff_t>(cut));
  held_.erase(held_.begin(), held_.begin() + static_cast<ptrdiff_t>(k));
  for (Held& h : held_) h.l4_offset -= cut;
}

void PeakFollower::Update(uint64_t peak_index, uint32_t peak_count,
                          uint64_t peak_ts, uint64_t last_index) {
  if (finished_ || peak_index == 0) {
    if (!finished_) {  // no entry yet: nothing to keep
      Feed(last_index);
    }
    return;
  }
  if (peak_index > position_) Feed(peak_index);
  if (max_ != 0 && peak_count >= max_) {
    // The count never exceeds max: this peak is the last.
    composed_ = compose_(*engine_, peak_ts);
    composed_index_ = peak_index;
    finished_ = true;
    held_.clear();
    held_.shrink_to_fit();
    bytes_.clear();
    bytes_.shrink_to_fit();
    return;
  }
  if (HeldBytes() > budget_) {
    if (position_ == peak_index && composed_index_ != peak_index) {
      composed_ = compose_(*engine_, peak_ts);
      composed_index_ = peak_index;
    }
    Feed(last_index);
  }
}

TableComposition PeakFollower::Finish(uint64_t peak_index, uint64_t peak_ts) {
  if (!finished_ && position_ < peak_index) Feed(peak_index);
  if (composed_ && composed_index_ == peak_index) return *composed_;
  // position_ == peak_index: the follower holds the table of the peak.
  return compose_(*engine_, peak_ts);
}

}  // namespace ctkit
