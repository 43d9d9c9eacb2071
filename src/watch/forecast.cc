// The fill forecast (see forecast.h).
#include "watch/forecast.h"

namespace ctkit::watch {

void FillForecast::Add(double t, uint64_t count) {
  if (!points_.empty() && t <= points_.back().t) return;
  points_.push_back(Point{t, static_cast<double>(count)});
  while (!points_.empty() && points_.front().t < t - window_) {
    points_.pop_front();
  }
  while (points_.size() > kMaxSamples) points_.pop_front();
}

std::optional<double> FillForecast::SecondsUntil(uint64_t limit) const {
  if (points_.size() < 2) return std::nullopt;
  const Point& last = points_.back();
  if (last.count >= static_cast<double>(limit)) return 0.0;
  if (last.t - points_.front().t < window_ / 10) return std::nullopt;
  // Least squares around the means (times relative to the newest sample,
  // so large clock values lose no precision).
  double mt = 0, mc = 0;
  for (const Point& p : points_) {
    mt += p.t - last.t;
    mc += p.count;
  }
  const double n = static_cast<double>(points_.size());
  mt /= n;
  mc /= n;
  double stt = 0, stc = 0;
  for (const Point& p : points_) {
    const double dt = p.t - last.t - mt;
    stt += dt * dt;
    stc += dt * (p.count - mc);
  }
  if (stt <= 0) return std::nullopt;
  const double slope = stc / stt;  // entries per second
  if (slope <= 0) return std::nullopt;
  // The fitted count now, not the last sample: one noisy scrape should not
  // move the answer by its whole deviation.
  const double now = mc + slope * (0 - mt);
  const double left = static_cast<double>(limit) - now;
  return left <= 0 ? 0.0 : left / slope;
}

}  // namespace ctkit::watch
