#include "auth/sign_in_limiter.hpp"

#include <algorithm>

namespace partyline::auth {
namespace {

// Names and addresses share one table: a prefix keeps a name from standing for an address.
std::string user_key(std::string_view user) {
  return "u:" + std::string(user);
}
std::string address_key(std::string_view address) {
  return "a:" + std::string(address);
}

}  // namespace

SignInLimiter::SignInLimiter(util::Clock clock, SignInLimits limits)
    : clock_(std::move(clock)), limits_(limits) {}

void SignInLimiter::forget_expired(Entry& entry, Time now) const {
  while (!entry.failures.empty() && entry.failures.front() + limits_.window <= now)
    entry.failures.pop_front();
}

std::optional<std::chrono::seconds> SignInLimiter::wait_for(const std::string& key, Time now) {
  const auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  Entry& entry = it->second;
  recency_.splice(recency_.begin(), recency_, entry.recency);
  forget_expired(entry, now);
  if (entry.failures.size() < limits_.failures) return std::nullopt;
  const auto left = entry.failures.front() + limits_.window - now;
  const auto seconds = std::chrono::ceil<std::chrono::seconds>(left);
  return std::max(seconds, std::chrono::seconds(1));
}

void SignInLimiter::record(const std::string& key, Time now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= limits_.max_keys && !recency_.empty()) {
      entries_.erase(recency_.back());
      recency_.pop_back();
    }
    recency_.push_front(key);
    it = entries_.emplace(key, Entry{{}, recency_.begin()}).first;
  } else {
    recency_.splice(recency_.begin(), recency_, it->second.recency);
  }
  Entry& entry = it->second;
  forget_expired(entry, now);
  entry.failures.push_back(now);
  while (entry.failures.size() > limits_.failures)
    entry.failures.pop_front();
}

std::optional<std::chrono::seconds> SignInLimiter::refused(std::string_view user,
                                                           std::string_view address) {
  std::lock_guard lock(mutex_);
  const Time now = clock_();
  const auto by_user = user.empty() ? std::nullopt : wait_for(user_key(user), now);
  const auto by_address = wait_for(address_key(address), now);
  if (!by_user) return by_address;
  if (!by_address) return by_user;
  return std::max(*by_user, *by_address);
}

void SignInLimiter::failed(std::string_view user, std::string_view address) {
  std::lock_guard lock(mutex_);
  const Time now = clock_();
  if (!user.empty()) record(user_key(user), now);
  record(address_key(address), now);
}

void SignInLimiter::succeeded(std::string_view user) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(user_key(user));
  if (it == entries_.end()) return;
  recency_.erase(it->second.recency);
  entries_.erase(it);
}

}  // namespace partyline::auth
