#include "call_flow/current.hpp"

namespace partyline::call_flow {

CurrentAnswers::CurrentAnswers(rooms::Rooms rooms, unsigned pin_attempts, std::string base)
    : pin_attempts_(pin_attempts),
      base_(std::move(base)),
      answers_(std::make_shared<const Answers>(std::move(rooms), pin_attempts_, base_)) {}

std::shared_ptr<const Answers> CurrentAnswers::get() const {
  std::lock_guard lock(mutex_);
  return answers_;
}

void CurrentAnswers::replace(rooms::Rooms rooms) {
  auto next = std::make_shared<const Answers>(std::move(rooms), pin_attempts_, base_);
  std::lock_guard lock(mutex_);
  answers_.swap(next);
}

}  // namespace partyline::call_flow
