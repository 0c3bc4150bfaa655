#include "log/logger.hpp"

#include <unistd.h>

#include <array>
#include <boost/json/serialize.hpp>
#include <cerrno>

namespace partyline::log {
namespace {

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

bool looks_like_phone(std::string_view v) {
  if (!v.empty() && v.front() == '+') v.remove_prefix(1);
  if (v.size() < 7 || v.size() > 15) return false;
  return std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void redact_value(boost::json::value& v, bool phone_key) {
  if (v.is_string()) {
    std::string_view s = v.get_string();
    if (phone_key || looks_like_phone(s)) v = redact_phone(s);
  } else if (v.is_object()) {
    redact(v.get_object());
  } else if (v.is_array()) {
    for (auto& item : v.get_array())
      redact_value(item, phone_key);
  }
}

}  // namespace

Logger::Logger(int fd, LogLevel min_level, util::Clock clock)
    : fd_(fd), min_level_(min_level), clock_(std::move(clock)) {}

std::string Logger::format(LogLevel level, std::string_view evt, boost::json::object fields) const {
  redact(fields);
  boost::json::object line;
  line.reserve(fields.size() + 3);
  line["ts"] = util::iso8601_millis(clock_());
  line["level"] = level_name(level);
  line["evt"] = evt;
  for (auto& [k, v] : fields) {
    if (k == "ts" || k == "level" || k == "evt") continue;
    line[k] = std::move(v);
  }
  return boost::json::serialize(line);
}

void Logger::write(LogLevel level, std::string_view evt, boost::json::object fields) {
  if (!enabled(level)) return;
  std::string text = format(level, evt, std::move(fields));
  text += '\n';
  std::lock_guard lock(mutex_);
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to log to: never take the service down for it
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

std::string redact_phone(std::string_view value) {
  std::string digits;
  for (char c : value) {
    if (c >= '0' && c <= '9') digits += c;
  }
  if (digits.size() < 4) return "***";
  return "***" + digits.substr(digits.size() - 4);
}

bool is_phone_field(std::string_view key) {
  static constexpr std::array<std::string_view, 10> kKeys = {
      "From",      "To",       "Caller", "Called", "ForwardedFrom",
      "CalledVia", "CallerId", "phone",  "from",   "to"};
  return std::find(kKeys.begin(), kKeys.end(), key) != kKeys.end();
}

void redact(boost::json::object& fields) {
  for (auto& [k, v] : fields)
    redact_value(v, is_phone_field(k));
}

}  // namespace partyline::log
