#include "log/rate_limit.hpp"

namespace partyline::log {

RateLimitedLog::RateLimitedLog(Logger& log, std::chrono::steady_clock::duration interval,
                               SteadyNow now)
    : log_(log), interval_(interval), now_(std::move(now)) {}

bool RateLimitedLog::write(LogLevel level, std::string_view evt, std::string_view reason,
                           boost::json::object fields, std::string_view group) {
  if (!log_.enabled(level)) return false;
  std::uint64_t suppressed = 0;
  {
    const std::string_view same = group.empty() ? reason : group;
    std::string key;
    key.reserve(evt.size() + 1 + same.size());
    key.append(evt).append(1, '\0').append(same);
    const auto now = now_();
    std::lock_guard lock(mutex_);
    auto it = states_.find(key);
    if (it != states_.end() && now - it->second.last < interval_) {
      ++it->second.suppressed;
      return false;
    }
    if (it == states_.end()) {
      // A flood of ever-new reasons must not grow memory without bound.
      if (states_.size() >= kMaxKeys) states_.clear();
      it = states_.emplace(std::move(key), State{}).first;
    }
    suppressed = it->second.suppressed;
    it->second = State{now, 0};
  }
  fields["reason"] = reason;
  if (suppressed > 0) fields["suppressed"] = suppressed;
  log_.write(level, evt, std::move(fields));
  return true;
}

}  // namespace partyline::log
