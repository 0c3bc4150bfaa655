#pragma once
// Time and randomness are injected so that tokens, keys and backoff are exact in tests.
#include <chrono>
#include <functional>
#include <string>

namespace partyline::util {

using Clock = std::function<std::chrono::system_clock::time_point()>;
using RandomBytes = std::function<std::string(std::size_t)>;

Clock system_clock();
RandomBytes system_random();

// "2025-10-25T19:17:43.123Z" (milliseconds, UTC) for log lines.
std::string iso8601_millis(std::chrono::system_clock::time_point t);

}  // namespace partyline::util
