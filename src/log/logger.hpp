#pragma once
// JSON-lines logging on stdout: one object per line with `ts` (UTC) and `evt`. Phone numbers are
// redacted here, at the boundary, to their last 4 digits; secrets never get here (config::Secret
// cannot be formatted).
#include <boost/json/object.hpp>
#include <concepts>
#include <condition_variable>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>

#include "config/config.hpp"
#include "util/clock.hpp"

namespace partyline::log {

using config::LogLevel;

// One field of a log line, given as a brace list at the call site ({"CallSid", sid}): a name and
// a string, integer, boolean or floating-point value, viewed rather than copied. A line of such
// fields is written without building a boost::json::object (about ten allocations per line on the
// webhook path); any other value (an object, an array) makes the call take the json::object
// overload instead, and both give the same line.
class Field {
 public:
  enum class Kind { kString, kSigned, kUnsigned, kBool, kDouble, kAbsent };
  Field(std::string_view name, std::string_view value)
      : name_(name), kind_(Kind::kString), string_(value) {}
  Field(std::string_view name, const std::string& value) : Field(name, std::string_view(value)) {}
  Field(std::string_view name, const char* value) : Field(name, std::string_view(value)) {}
  template <std::integral T>
  requires(!std::same_as<T, bool>) Field(std::string_view name, T value) : name_(name) {
    if constexpr (std::is_signed_v<T>) {
      kind_ = Kind::kSigned;
      signed_ = value;
    } else {
      kind_ = Kind::kUnsigned;
      unsigned_ = value;
    }
  }
  Field(std::string_view name, bool value) : name_(name), kind_(Kind::kBool), bool_(value) {}
  Field(std::string_view name, double value) : name_(name), kind_(Kind::kDouble), double_(value) {}
  // A field written only when `value` is not empty (e.g. the reason of an error answer).
  static Field unless_empty(std::string_view name, std::string_view value) {
    Field f(name, value);
    if (value.empty()) f.kind_ = Kind::kAbsent;
    return f;
  }

  std::string_view name() const { return name_; }
  Kind kind() const { return kind_; }
  std::string_view string() const { return string_; }
  std::int64_t signed_value() const { return signed_; }
  std::uint64_t unsigned_value() const { return unsigned_; }
  bool bool_value() const { return bool_; }
  double double_value() const { return double_; }

 private:
  std::string_view name_;
  Kind kind_ = Kind::kString;
  std::string_view string_;
  std::int64_t signed_ = 0;
  std::uint64_t unsigned_ = 0;
  bool bool_ = false;
  double double_ = 0;
};
using Fields = std::initializer_list<Field>;

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

  // The same lines from a brace list of plain fields (chosen by overload resolution whenever
  // every field is a Field).
  void debug(std::string_view evt, Fields fields) { write(LogLevel::kDebug, evt, fields); }
  void info(std::string_view evt, Fields fields) { write(LogLevel::kInfo, evt, fields); }
  void warn(std::string_view evt, Fields fields) { write(LogLevel::kWarn, evt, fields); }
  void error(std::string_view evt, Fields fields) { write(LogLevel::kError, evt, fields); }

  void write(LogLevel level, std::string_view evt, boost::json::object fields);
  void write(LogLevel level, std::string_view evt, Fields fields);
  bool enabled(LogLevel level) const { return level >= min_level_; }
  // Writes what is pending (kBuffered); returns when it has been handed to the kernel.
  void flush();

  // The exact line write() would emit (without the newline): used by tests.
  std::string format(LogLevel level, std::string_view evt, boost::json::object fields) const;
  std::string format(LogLevel level, std::string_view evt, Fields fields) const;

  static constexpr auto kLinger = std::chrono::milliseconds(5);
  static constexpr std::size_t kMaxPending = 4 << 20;  // then writers wait: back-pressure
  static constexpr std::size_t kBufferReserve = 128 << 10;
  static constexpr std::size_t kLineKeep = 16 << 10;  // a thread's line buffer, kept up to this

 private:
  void format_into(std::string& out, LogLevel level, std::string_view evt,
                   boost::json::object& fields) const;
  void format_into(std::string& out, LogLevel level, std::string_view evt, Fields fields) const;
  void append_head(std::string& out, LogLevel level, std::string_view evt) const;
  template <typename FieldList>  // boost::json::object or Fields; defined in logger.cpp
  void write_line(LogLevel level, std::string_view evt, FieldList& fields);
  // Hands a formatted line (with its newline) to the output: at once or through the buffer.
  void emit(LogLevel level, std::string& line);
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
