// ConntrackEventCounter: the entries a namespace's conntrack makes, counted
// from its NEW events, for `ctkit top --events` (new/s and destroyed/s).
//
// The kernel keeps no count of the entries it makes or destroys (its new,
// delete and insert statistics stay 0: docs/kernel-model.md §5.1, §5.3), so
// the only exact source is an event listener. Listening has a price, which
// is why top asks for it: with nf_conntrack_events at its default 2, every
// entry made while a listener exists carries the event extension (a block
// of at least 128 bytes when it has no other extension, §10), and the
// kernel builds a message per new entry (§12.1). Only NEW events are
// counted: entries made before the listener came carry no extension and
// would never send DESTROY, so destroyed/s is new/s less the count's growth
// instead, right whatever the entries' age.
//
// The socket is non-blocking with a large receive buffer; what overflows
// it is lost (events are best effort, §12.1), and overrun() says so rather
// than show a rate that is too low as if it were right. It never asks for
// reliable delivery: a reliable listener that falls behind makes the
// kernel keep destroyed entries counted (§3.4).
#ifndef CTKIT_WATCH_EVENT_COUNTER_H_
#define CTKIT_WATCH_EVENT_COUNTER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "ctkit/result.h"

namespace ctkit::watch {

class ConntrackEventCounter {
 public:
  /// Listens in the namespace at `netns_path` ("" for this thread's own).
  [[nodiscard]] static Result<std::unique_ptr<ConntrackEventCounter>> Open(
      const std::string& netns_path);
  ~ConntrackEventCounter();
  ConntrackEventCounter(const ConntrackEventCounter&) = delete;
  ConntrackEventCounter& operator=(const ConntrackEventCounter&) = delete;

  /// Reads every event that has arrived, without waiting; returns the NEW
  /// events counted since Open.
  uint64_t Drain();
  /// Some events were lost to a full socket buffer: made() is too low.
  bool overrun() const { return overrun_; }

 private:
  explicit ConntrackEventCounter(int fd) : fd_(fd) {}
  int fd_;
  uint64_t made_ = 0;
  bool overrun_ = false;
};

}  // namespace ctkit::watch

#endif  // CTKIT_WATCH_EVENT_COUNTER_H_
