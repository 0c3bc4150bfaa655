#pragma once
// Brute-force guard for the PIN gate: a caller number that enters too many wrong PINs in a short
// time is refused for a while, without a prompt. Memory is bounded: beyond a cap the numbers
// seen longest ago are forgotten. Thread-safe.
#include <chrono>
#include <cstddef>
#include <deque>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "util/clock.hpp"

namespace partyline::rooms {

class PinGuard {
 public:
  struct Limits {
    unsigned failures = 5;                  // wrong PINs ...
    std::chrono::seconds window{10 * 60};   // ... within this time ...
    std::chrono::seconds lockout{10 * 60};  // ... refuse the number for this long
    std::size_t max_numbers = 10'000;       // numbers tracked at most
  };

  explicit PinGuard(util::Clock clock) : PinGuard(std::move(clock), Limits{}) {}
  PinGuard(util::Clock clock, Limits limits);

  // Whether calls from this number are refused now.
  bool locked(std::string_view number);
  // Counts a wrong PIN; true when this one locks the number (log it once: pin.lockout).
  bool wrong_pin(std::string_view number);
  std::size_t tracked() const;

 private:
  using TimePoint = std::chrono::system_clock::time_point;
  struct Entry {
    std::string number;
    std::deque<TimePoint> failures;  // within the window, at most Limits::failures
    TimePoint locked_until{};
  };
  using List = std::list<Entry>;  // most recently touched first

  // The number's entry, moved to the front; created when absent and create is set.
  List::iterator touch(std::string_view number, bool create);
  void expire(Entry& e, TimePoint now) const;

  util::Clock clock_;
  Limits limits_;
  mutable std::mutex mutex_;
  List entries_;
  std::unordered_map<std::string_view, List::iterator> index_;  // keys point into entries_
};

}  // namespace partyline::rooms
