#pragma once
// The answers of the room set in force. A reload (SIGHUP) swaps in a new set while requests are
// being answered: each request holds the set it started with until it is done, so a call in
// progress never sees half of one set and half of another.
#include <memory>
#include <mutex>
#include <string>

#include "call_flow/call_flow.hpp"
#include "rooms/rooms.hpp"

namespace partyline::call_flow {

class CurrentAnswers {
 public:
  CurrentAnswers(rooms::Rooms rooms, unsigned pin_attempts, std::string base);

  std::shared_ptr<const Answers> get() const;
  // Builds the answers of the new set, then swaps them in.
  void replace(rooms::Rooms rooms);

 private:
  unsigned pin_attempts_;
  std::string base_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Answers> answers_;
};

}  // namespace partyline::call_flow
