#pragma once
// Waits, with a deadline, for what a test asserts to become true (never a sleep standing in for
// synchronisation): polls `ready` every millisecond for up to `deadline`.
#include <chrono>
#include <thread>

namespace partyline::testing {

template <class Ready>
bool eventually(Ready ready, std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!ready()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace partyline::testing
