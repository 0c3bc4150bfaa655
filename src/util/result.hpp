#pragma once
// Expected failures as values. A function that can fail for reasons outside the program (the
// network, a server, the disk) returns Result<T>: the value, or a Failure that says what went wrong
// and whether trying again can help. Exceptions stay for broken invariants and start-up errors.
#include <boost/system/result.hpp>
#include <stdexcept>
#include <string>
#include <utility>

namespace partyline::util {

struct Failure {
  enum class Retry {
    kSoon,   // transient (timeout, dropped connection, 5xx, 429): the same request, sent again
             // after a short pause, may well succeed
    kLater,  // refused as it stands (4xx, a refusal, unexpected data): the request is not repeated
             // at once; the job it belongs to is tried again later, with backoff
  };
  std::string reason;   // for the log: never a secret
  int http_status = 0;  // of the last response, 0 when none arrived
  Retry retry = Retry::kLater;

  static Failure soon(std::string reason, int status = 0) {
    return {std::move(reason), status, Retry::kSoon};
  }
  static Failure later(std::string reason, int status = 0) {
    return {std::move(reason), status, Retry::kLater};
  }
  bool transient() const { return retry == Retry::kSoon; }
};

// result.value() on a Failure throws this (found by boost::system through ADL).
[[noreturn]] inline void throw_exception_from_error(const Failure& failure,
                                                    const boost::source_location&) {
  throw std::runtime_error(failure.reason);
}

template <typename T>
using Result = boost::system::result<T, Failure>;

}  // namespace partyline::util
