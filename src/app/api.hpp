#pragma once
// What the console's JSON routes share: answers, errors, path segments and times.
#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace partyline::app::api {

// JSON, never cached, never sniffed.
http::Response json_response(int status, const boost::json::value& v, std::string reason = {});
// {"error": message}; the message is also the log line's reason.
http::Response error(int status, const std::string& message);
// "/api/rooms/x" -> {"api", "rooms", "x"}
std::vector<std::string> segments(std::string_view path);
// Milliseconds since the epoch as "2026-12-01T10:00:00.000Z".
std::string iso(std::int64_t ms);

// A few threads for what must not run on an I/O thread (Twilio's answers, the database, the
// store), with a bound on what waits: past it, 503 with `busy` at once.
class Workers {
 public:
  Workers(std::size_t threads, int max_queued, std::string busy)
      : pool_(threads), max_queued_(max_queued), busy_(std::move(busy)) {}
  ~Workers() { pool_.join(); }
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  // `work` on a worker, its answer (500 with the reason when it throws) to `respond`.
  void run(const http::Respond& respond, std::function<http::Response()> work);
  // Waits for what was posted (before the members it uses go).
  void join() { pool_.join(); }

 private:
  boost::asio::thread_pool pool_;
  std::atomic<int> queued_{0};
  const int max_queued_;
  const std::string busy_;
};

}  // namespace partyline::app::api
