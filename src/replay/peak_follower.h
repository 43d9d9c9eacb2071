// PeakFollower: the table's composition at the peak for an input that can
// be read only once (standard input, a live capture), identical to what a
// second pass over a file gives.
//
// A second engine (the follower) runs the same packets, but only up to the
// packet after which the peak was last reached, so that when the input
// ends it holds exactly the table of that moment. The packets after the
// peak wait in a buffer (their L4 bytes, which is all the engine reads)
// until either a new peak moves the follower on, or the buffer outgrows its
// budget: then the composition at the current peak is taken (one table
// walk) and the follower runs the buffer, so memory stays bounded. Once the
// peak equals nf_conntrack_max it can never move again (the count never
// exceeds max): the composition is taken and the follower stops.
#ifndef CTKIT_REPLAY_PEAK_FOLLOWER_H_
#define CTKIT_REPLAY_PEAK_FOLLOWER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "ctkit/engine.h"
#include "ctkit/result.h"
#include "replay/replay.h"

namespace ctkit {

class PeakFollower {
 public:
  /// compose(engine, now_ns): the composition of the engine's table.
  using Compose = std::function<TableComposition(const Engine&, uint64_t)>;

  /// An engine with `t` and `opts` (events off), buffering at most about
  /// `budget_bytes` of packets past the peak.
  [[nodiscard]] static Result<std::unique_ptr<PeakFollower>> Create(
      const Tunables& t, EngineOptions opts, size_t budget_bytes,
      Compose compose);

  /// The main engine ran these decoded packets: `index[i]` is packet i's
  /// 1-based position in the capture (skipped packets count too).
  void Add(const PacketView* views, const uint64_t* ts, const uint64_t* index,
           size_t n);

  /// After Add: the peak so far (count `peak_count`, first reached after
  /// packet `peak_index` at `peak_ts`) and the last packet read.
  void Update(uint64_t peak_index, uint32_t peak_count, uint64_t peak_ts,
              uint64_t last_index);

  /// The composition at the final peak (after the last Update).
  TableComposition Finish(uint64_t peak_index, uint64_t peak_ts);

 private:
  struct Held {
    PacketView view;  // view.l4 is rebased when fed
    uint64_t ts;
    uint64_t index;
    size_t l4_offset;  // into bytes_
  };
  PeakFollower(std::unique_ptr<Engine> e, uint32_t max, size_t budget,
               Compose compose);
  // Runs the held packets up to and including packet `upto`.
  void Feed(uint64_t upto);
  size_t HeldBytes() const;

  std::unique_ptr<Engine> engine_;
  const uint32_t max_;  // 0: no limit
  const size_t budget_;
  const Compose compose_;
  std::vector<Held> held_;
  std::vector<uint8_t> bytes_;
  std::vector<PacketView> views_;  // scratch for ProcessBatch
  std::vector<uint64_t> times_;
  std::vector<Verdict> verdicts_;
  uint64_t position_ = 0;  // packets up to this index have been run
  std::optional<TableComposition> composed_;
  uint64_t composed_index_ = 0;  // the peak composed_ was taken at
  bool finished_ = false;        // the peak is final and composed_ taken
};

}  // namespace ctkit

#endif  // CTKIT_REPLAY_PEAK_FOLLOWER_H_
