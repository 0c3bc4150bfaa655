#pragma once
// JSON-lines logging on stdout: one object per line with `ts` (UTC) and `evt`. Phone numbers are
// redacted here, at the boundary, to their last 4 digits; secrets never get here (config::Secret
// cannot be formatted).
#include <boost/json/object.hpp>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "config/config.hpp"
#include "util/clock.hpp"

namespace partyline::log {

using config::LogLevel;

class Logger {
 public:
  // Whether lines wait in memory for a background writer (at most kLinger, or until a warning
  // or error comes, which writes everything pending at once and in order) or are written by the
  // caller. The service buffers: two write(2) calls per webhook were a tenth of its CPU.
  enum class Mode { kDirect, kBuffered };

  // fd: where lines go (1 = stdout). In kDirect mode each line is one write(2) call.
  Logger(int fd, LogLevel min_level, util::Clock clock, Mode mode = Mode::kDirect);
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

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
  // Writes what is pending (kBuffered); returns when it has been handed to the kernel.
  void flush();

  // The exact line write() would emit (without the newline): used by tests.
  std::string format(LogLevel level, std::string_view evt, boost::json::object fields) const;

  static constexpr auto kLinger = std::chrono::milliseconds(5);
  static constexpr std::size_t kMaxPending = 4 << 20;  // then writers wait: back-pressure
  static constexpr std::size_t kBufferReserve = 128 << 10;

 private:
  void format_into(std::string& out, LogLevel level, std::string_view evt,
                   boost::json::object& fields) const;
  void write_out(const std::string& text);  // under write_mutex_
  void writer_loop();

  int fd_;
  LogLevel min_level_;
  util::Clock clock_;
  Mode mode_;
  std::mutex write_mutex_;  // one writer of fd_ at a time, in the order lines were queued
  std::mutex mutex_;        // pending_ and the flags below
  std::condition_variable wake_, room_;
  std::string pending_;
  bool writer_idle_ = false;
  bool stopping_ = false;
  std::thread writer_;
};

// "***4567": the last 4 digits of whatever digits the value holds; "***" when it has fewer than 4.
std::string redact_phone(std::string_view value);

// Field names that carry phone numbers in Twilio webhooks.
bool is_phone_field(std::string_view key);

// Redacts phone fields by name and any string value shaped like a phone number (+ and 7-15
// digits), recursively.
void redact(boost::json::object& fields);

}  // namespace partyline::log
