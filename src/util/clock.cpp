#include "util/clock.hpp"

#include <cstdio>
#include <ctime>

#include "util/crypto.hpp"

namespace partyline::util {

Clock system_clock() {
  return [] { return std::chrono::system_clock::now(); };
}

RandomBytes system_random() {
  return [](std::size_t n) { return random_bytes(n); };
}

std::string iso8601_millis(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace partyline::util
