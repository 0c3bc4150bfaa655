#include "call_flow/current.hpp"

namespace partyline::call_flow {

CurrentAnswers::CurrentAnswers(rooms::Rooms rooms, unsigned pin_attempts, std::string base)
    : pin_attempts_(pin_attempts), base_(std::move(base)) {
  sets_.push_back(std::make_unique<const Answers>(std::move(rooms), pin_attempts_, base_));
  current_.store(sets_.back().get(), std::memory_order_release);
}

void CurrentAnswers::replace(rooms::Rooms rooms) {
  auto next = std::make_unique<const Answers>(std::move(rooms), pin_attempts_, base_);
  std::lock_guard lock(replace_mutex_);
  sets_.push_back(std::move(next));
  current_.store(sets_.back().get(), std::memory_order_release);
}

}  // namespace partyline::call_flow
