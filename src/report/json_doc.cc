// The shared start, stamp and printing of ctkit's JSON documents.
#include "report/json_doc.h"

#include <sys/utsname.h>
#include <time.h>

#include <cstring>
#include <ctime>

namespace ctkit {

Json StartJsonDocument(std::string_view tool) {
  Json doc = Json::object();
  doc["schema_version"] = kJsonSchemaVersion;
  doc["tool"] = std::string(tool);
  return doc;
}

LiveMoment LocalMoment() {
  LiveMoment m;
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  m.unix_ns = static_cast<uint64_t>(ts.tv_sec) * 1000000000u +
              static_cast<uint64_t>(ts.tv_nsec);
  utsname u{};
  if (uname(&u) == 0) {
    m.hostname =
        std::string(u.nodename, strnlen(u.nodename, sizeof u.nodename));
    m.kernel_release =
        std::string(u.release, strnlen(u.release, sizeof u.release));
  }
  return m;
}

void StampLiveMoment(Json* doc, const LiveMoment& m) {
  auto opt = [](const std::optional<std::string>& s) {
    return s ? Json(*s) : Json(nullptr);
  };
  (*doc)["generated_at"] = FormatRfc3339Utc(m.unix_ns);
  (*doc)["hostname"] = opt(m.hostname);
  (*doc)["kernel_release"] = opt(m.kernel_release);
}

std::string FormatRfc3339Utc(uint64_t unix_ns) {
  std::time_t secs = static_cast<std::time_t>(unix_ns / 1000000000u);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

double Ratio(uint64_t part, uint64_t whole) {
  return whole ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

std::string DumpJson(const Json& doc) {
  return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace ctkit
