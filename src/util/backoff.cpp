#include "util/backoff.hpp"

#include <algorithm>

namespace partyline::util {

std::chrono::milliseconds Backoff::failed() {
  auto delay = min_;
  for (unsigned i = 0; i < failures_ && delay < max_; ++i)
    delay *= 2;
  ++failures_;
  return std::min(delay, max_);
}

}  // namespace partyline::util
