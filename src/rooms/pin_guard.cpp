#include "rooms/pin_guard.hpp"

namespace partyline::rooms {

PinGuard::PinGuard(util::Clock clock, Limits limits) : clock_(std::move(clock)), limits_(limits) {}

void PinGuard::expire(Entry& e, TimePoint now) const {
  if (e.locked_until != TimePoint{} && e.locked_until <= now) {
    // A lock served wipes the slate: the next wrong PIN starts a new count.
    e.locked_until = {};
    e.failures.clear();
  }
  while (!e.failures.empty() && e.failures.front() + limits_.window <= now)
    e.failures.pop_front();
}

PinGuard::List::iterator PinGuard::touch(std::string_view number, bool create) {
  if (auto it = index_.find(number); it != index_.end()) {
    entries_.splice(entries_.begin(), entries_, it->second);
    return it->second;
  }
  if (!create) return entries_.end();
  // The cap: forget the number seen longest ago (a caller still being refused keeps its place,
  // as each refused call touches it).
  if (entries_.size() >= limits_.max_numbers && !entries_.empty()) {
    index_.erase(entries_.back().number);
    entries_.pop_back();
  }
  entries_.push_front(Entry{std::string(number), {}, {}});
  index_.emplace(entries_.front().number, entries_.begin());
  return entries_.begin();
}

bool PinGuard::locked(std::string_view number) {
  const TimePoint now = clock_();
  std::lock_guard lock(mutex_);
  const auto it = touch(number, false);
  if (it == entries_.end()) return false;
  Entry& e = *it;
  expire(e, now);
  return e.locked_until != TimePoint{};
}

bool PinGuard::wrong_pin(std::string_view number) {
  if (limits_.max_numbers == 0) return false;
  const TimePoint now = clock_();
  std::lock_guard lock(mutex_);
  Entry& e = *touch(number, true);
  expire(e, now);
  if (e.locked_until != TimePoint{}) return false;
  e.failures.push_back(now);
  if (e.failures.size() < limits_.failures) return false;
  e.locked_until = now + limits_.lockout;
  e.failures.clear();
  return true;
}

std::size_t PinGuard::tracked() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace partyline::rooms
