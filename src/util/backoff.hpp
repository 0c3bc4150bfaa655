#pragma once
// Exponential backoff for a resource that fails as a whole (the disk, the database, a service
// that does not answer): the first failure waits `min`, each further one twice as long, up to
// `max`; a success starts again from `min`. No jitter: one thread backs off from one resource,
// there is no herd to spread. Pure (the caller owns the clock), so tests are exact.
#include <chrono>

namespace partyline::util {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max) : min_(min), max_(max) {}

  // Records a failure; returns how long to wait before the next try.
  std::chrono::milliseconds failed();
  void succeeded() { failures_ = 0; }
  // Consecutive failures since the last success.
  unsigned failures() const { return failures_; }

 private:
  std::chrono::milliseconds min_, max_;
  unsigned failures_ = 0;
};

}  // namespace partyline::util
