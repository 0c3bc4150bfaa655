#pragma once
// The network edge: a Boost.Beast HTTP/1.1 server (keep-alive, limits, deadlines, clean
// shutdown) that turns each request into an http::Request and hands it to a handler.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "http/message.hpp"
#include "log/logger.hpp"

namespace partyline::http {

// What the server refused before any handler saw it (for /metrics).
struct ServerCounters {
  std::atomic<std::uint64_t> refused{0};  // connections closed at accept (a limit)
  std::atomic<std::uint64_t> evicted{0};  // idle or slow connections closed to make room
};

struct ServerOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;
  unsigned threads = 2;
  std::size_t max_connections = 1024;
  std::size_t max_connections_per_address = 0;  // 0: no per-address limit
  std::size_t header_limit = 8 * 1024;
  std::size_t body_limit = 64 * 1024;
  std::chrono::seconds request_timeout{10};  // to receive one whole request (or sit idle)
  std::chrono::seconds shutdown_grace{10};   // in-flight work gets this long after SIGTERM
  // Called (from an I/O thread) for every request refused before the handler: 400, 408, 413, 431.
  std::function<void(int status)> on_rejected = {};
};

class Server {
 public:
  using RequestHandler = std::function<void(const Request&, Respond)>;

  Server(ServerOptions options, log::Logger& log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; returns the bound port (useful with port 0). Throws on failure.
  std::uint16_t listen();
  // Serves until SIGTERM/SIGINT (then drains) or stop(); blocks the calling thread.
  void run(RequestHandler handler);
  const ServerCounters& counters() const;
  // Stop accepting, close idle connections, finish in-flight requests (thread-safe).
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace partyline::http
