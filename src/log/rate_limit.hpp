#pragma once
// Repeated warnings and errors, rate-limited: one line per (event, reason) per interval, the next
// line carrying how many were held back. A flood (refused connections, a full disk) then costs a
// few lines a minute instead of thousands a second, and still says how much happened.
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "log/logger.hpp"

namespace partyline::log {

class RateLimitedLog {
 public:
  using SteadyNow = std::function<std::chrono::steady_clock::time_point()>;
  static constexpr auto kDefaultInterval = std::chrono::seconds(10);
  static constexpr std::size_t kMaxKeys = 1024;  // distinct reasons remembered (then reset)

  explicit RateLimitedLog(
      Logger& log, std::chrono::steady_clock::duration interval = kDefaultInterval,
      SteadyNow now = [] { return std::chrono::steady_clock::now(); });

  // Writes `evt` with `fields` plus "reason" unless a line with the same event and reason was
  // written less than an interval ago; a written line carries "suppressed": n when n were held
  // back since the previous one. Returns whether the line was written. `group`, when given,
  // stands for the reason in that comparison (a reason that carries a varying time or port).
  bool write(LogLevel level, std::string_view evt, std::string_view reason,
             boost::json::object fields = {}, std::string_view group = {});
  bool warn(std::string_view evt, std::string_view reason, boost::json::object fields = {},
            std::string_view group = {}) {
    return write(LogLevel::kWarn, evt, reason, std::move(fields), group);
  }
  bool error(std::string_view evt, std::string_view reason, boost::json::object fields = {}) {
    return write(LogLevel::kError, evt, reason, std::move(fields));
  }

  Logger& logger() { return log_; }

 private:
  struct State {
    std::chrono::steady_clock::time_point last;
    std::uint64_t suppressed = 0;
  };
  Logger& log_;
  std::chrono::steady_clock::duration interval_;
  SteadyNow now_;
  std::mutex mutex_;
  std::unordered_map<std::string, State> states_;
};

}  // namespace partyline::log
