#pragma once
// Slows down password guessing: after `failures` failed sign-ins for one user name, or from one
// client address, within `window`, further attempts for that name or from that address are refused
// until the oldest of those failures is older than `window`. In memory (a restart forgets it), with
// at most `max_keys` names and addresses tracked: beyond that the least recently seen is forgotten.
// Every method is safe to call from several threads at once.
#include <chrono>
#include <cstddef>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "util/clock.hpp"

namespace partyline::auth {

struct SignInLimits {
  std::size_t failures = 5;
  std::chrono::seconds window = std::chrono::minutes(15);
  std::size_t max_keys = 10000;
};

class SignInLimiter {
 public:
  explicit SignInLimiter(util::Clock clock = util::system_clock(), SignInLimits limits = {});

  // An empty `user` stands for a name that cannot exist: only the address counts.
  // nullopt: the attempt may go ahead. Otherwise how long to wait (at least 1 s): the longer of
  // the name's and the address's waits.
  std::optional<std::chrono::seconds> refused(std::string_view user, std::string_view address);
  void failed(std::string_view user, std::string_view address);
  // Clears the name's failures only: one good password must not let its holder keep guessing
  // other users' passwords from the same address.
  void succeeded(std::string_view user);

 private:
  using Time = std::chrono::system_clock::time_point;
  struct Entry {
    std::deque<Time> failures;  // the latest `failures` ones, oldest first
    std::list<std::string>::iterator recency;
  };
  // Under mutex_: the wait for one key, and the key marked as seen; nullopt when it may go ahead.
  std::optional<std::chrono::seconds> wait_for(const std::string& key, Time now);
  void record(const std::string& key, Time now);
  void forget_expired(Entry& entry, Time now) const;

  std::mutex mutex_;
  util::Clock clock_;
  SignInLimits limits_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> recency_;  // most recently seen first
};

}  // namespace partyline::auth
