// FillForecast: when will a namespace's table be full, at its recent
// growth? A least-squares line through the (time, count) samples of the
// last `window` seconds; the answer is the time until that line's count at
// the newest sample reaches the limit. There is no answer (nullopt) while
// the table is not growing, with fewer than two samples, or over less than
// a tenth of the window: a forecast from two scrapes a second apart would
// be noise. At or above the limit it is 0.
//
// The samples are whatever the caller adds (the exporter adds one per
// scrape); at most kMaxSamples are kept, the oldest dropped first, so the
// memory is fixed whatever the scrape rate.
#ifndef CTKIT_WATCH_FORECAST_H_
#define CTKIT_WATCH_FORECAST_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

namespace ctkit::watch {

class FillForecast {
 public:
  static constexpr size_t kMaxSamples = 1024;

  explicit FillForecast(double window_seconds) : window_(window_seconds) {}

  /// A count at `t` seconds (any monotonic origin); earlier samples than
  /// the newest are ignored.
  void Add(double t, uint64_t count);

  /// Seconds until the count reaches `limit` at the fitted growth.
  std::optional<double> SecondsUntil(uint64_t limit) const;

 private:
  struct Point {
    double t;
    double count;
  };
  double window_;
  std::deque<Point> points_;
};

}  // namespace ctkit::watch

#endif  // CTKIT_WATCH_FORECAST_H_
