#pragma once
// The answers of the room set in force. A reload (SIGHUP) swaps in a new set while requests are
// being answered: each request uses the set it started with until it is done, so a call in
// progress never sees half of one set and half of another.
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "call_flow/call_flow.hpp"
#include "rooms/rooms.hpp"

namespace partyline::call_flow {

class CurrentAnswers {
 public:
  CurrentAnswers(rooms::Rooms rooms, unsigned pin_attempts, std::string base);

  // Lock-free; the set stays valid until this object goes.
  const Answers* get() const { return current_.load(std::memory_order_acquire); }
  // Builds the answers of the new set, then swaps them in.
  void replace(rooms::Rooms rooms);

 private:
  unsigned pin_attempts_;
  std::string base_;
  std::mutex replace_mutex_;
  // Every set is kept until the service stops (a reload is rare and a set is a few KiB): no
  // request can hold a set that goes away under it, and reading the current one takes no lock.
  std::vector<std::unique_ptr<const Answers>> sets_;
  std::atomic<const Answers*> current_;
};

}  // namespace partyline::call_flow
