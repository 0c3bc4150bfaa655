#pragma once
// JSON-lines logging on stdout: one object per line with `ts` (UTC) and `evt`. Phone numbers are
// redacted here, at the boundary, to their last 4 digits; secrets never get here (config::Secret
// cannot be formatted).
#include <boost/json/object.hpp>
#include <mutex>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "util/clock.hpp"

namespace partyline::log {

using config::LogLevel;

class Logger {
 public:
  // fd: where lines go (1 = stdout). Each line is written with one write(2) call.
  Logger(int fd, LogLevel min_level, util::Clock clock);

  void debug(std::string_view evt, boost::json::object fields = {}) {
    write(LogLevel::kDebug, evt, std::move(fields));
  }
  void info(std::string_view evt, boost::json::object fields = {}) {
    write(LogLevel::kInfo, evt, std::move(fields));
  }
  void warn(std::string_view evt, boost::json::object fields = {}) {
    write(LogLevel::kWarn, evt, std::move(fields));
  }
  void error(std::string_view evt, boost::json::object fields = {}) {
    write(LogLevel::kError, evt, std::move(fields));
  }

  void write(LogLevel level, std::string_view evt, boost::json::object fields);
  bool enabled(LogLevel level) const { return level >= min_level_; }

  // The exact line write() would emit (without the newline): used by tests.
  std::string format(LogLevel level, std::string_view evt, boost::json::object fields) const;

 private:
  int fd_;
  LogLevel min_level_;
  util::Clock clock_;
  std::mutex mutex_;
};

// "***4567": the last 4 digits of whatever digits the value holds; "***" when it has fewer than 4.
std::string redact_phone(std::string_view value);

// Field names that carry phone numbers in Twilio webhooks.
bool is_phone_field(std::string_view key);

// Redacts phone fields by name and any string value shaped like a phone number (+ and 7-15
// digits), recursively.
void redact(boost::json::object& fields);

}  // namespace partyline::log
