#pragma once
// The one scripted HTTP server of the unit tests, on 127.0.0.1 and a free port. It records every
// request and answers what the test's handler returns; an answer can also misbehave the ways real
// servers do (late, slow, cut off, never), so the clients' timeouts and checks can be tested.
//
// One thread per connection with blocking I/O: a handler may block (to hold one answer until
// another request arrives), connections stay open between requests as the client wishes, and
// several requests may be in flight at once. Handlers may run on several threads at a time.
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace partyline::fake {

struct Request {
  std::string method;
  std::string target;                          // path?query as sent
  std::map<std::string, std::string> headers;  // lowercase names; repeated ones joined by ", "
  std::string body{};
  std::size_t connection = 0;  // 1 for the first connection accepted, 2 for the next, …

  std::string header(const std::string& lowercase_name) const {
    const auto it = headers.find(lowercase_name);
    return it == headers.end() ? std::string() : it->second;
  }
  bool has(const std::string& lowercase_name) const { return headers.contains(lowercase_name); }
  std::string path() const { return target.substr(0, target.find('?')); }
  bool query_has(std::string_view part) const {
    const auto q = target.find('?');
    return q != std::string::npos && target.find(part, q) != std::string::npos;
  }
};

struct Response {
  int status = 200;
  std::string body{};
  std::vector<std::pair<std::string, std::string>> headers{};
  // Announced instead of body.size() (a HEAD answer's size, or a body cut short below).
  std::optional<std::uint64_t> content_length = std::nullopt;

  // --- Misbehaviour ---------------------------------------------------------------------------
  std::chrono::milliseconds delay{0};  // before anything is sent
  bool drop = false;                   // after `delay`, close the connection without answering
  std::optional<std::size_t> cut_after =
      std::nullopt;  // send only this many body bytes, then close
  // Send the body in pieces of `pace_bytes` with `pace_interval` between them (a slow server).
  std::size_t pace_bytes = 0;
  std::chrono::milliseconds pace_interval{0};
  // After the last byte sent, keep the connection open and silent this long before closing it
  // (a stalled server, when the announced length is not yet reached).
  std::chrono::milliseconds hold_open{0};
  bool close = false;  // close after answering even if the client would keep the connection

  static Response redirect(std::string location, int status = 302) {
    return {status, "moved", {{"Location", std::move(location)}, {"Content-Type", "text/plain"}}};
  }
  static Response text(int status, std::string body, std::string content_type = "text/plain") {
    return {status, std::move(body), {{"Content-Type", std::move(content_type)}}};
  }
};

class HttpServer {
 public:
  using Handler = std::function<Response(const Request&)>;

  explicit HttpServer(Handler handler = {})
      : handler_(std::move(handler)),
        acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~HttpServer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      // Ends blocking reads on connections the client keeps open.
      for (int fd : open_fds_)
        ::shutdown(fd, SHUT_RDWR);
    }
    changed_.notify_all();  // ends delays, paced bodies and held-open connections
    boost::system::error_code ec;
    tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ec);  // a blocking accept is not woken by close()
    accept_thread_.join();
    for (auto& thread : connection_threads_)
      thread.join();
  }
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Replaces the handler for requests that arrive from now on.
  void set_handler(Handler handler) {
    std::lock_guard lock(mutex_);
    handler_ = std::move(handler);
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string base(std::string_view host = "127.0.0.1") const {
    return "http://" + std::string(host) + ":" + std::to_string(port());
  }
  std::string url(std::string_view path, std::string_view host = "127.0.0.1") const {
    return base(host) + std::string(path);
  }

  std::vector<Request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::size_t connections() const {
    std::lock_guard lock(mutex_);
    return accepted_;
  }
  // True once at least `n` requests have arrived; false if they have not within `timeout`.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
  }

 private:
  using tcp = boost::asio::ip::tcp;

  void accept_loop() {
    for (;;) {
      auto socket = std::make_shared<tcp::socket>(io_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      if (ec) continue;
      const std::size_t number = ++accepted_;
      open_fds_.insert(socket->native_handle());
      connection_threads_.emplace_back([this, socket, number] {
        serve(*socket, number);
        // Forgotten before the socket closes, so ~HttpServer never shuts a reused descriptor.
        std::lock_guard lock(mutex_);
        open_fds_.erase(socket->native_handle());
      });
    }
  }

  // Waits `duration` unless the server is stopping; false: it is.
  bool pause(std::chrono::milliseconds duration) {
    if (duration <= std::chrono::milliseconds(0)) return !stopping_now();
    std::unique_lock lock(mutex_);
    return !changed_.wait_for(lock, duration, [&] { return stopping_; });
  }
  bool stopping_now() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  static Request to_request(const boost::beast::http::request<boost::beast::http::string_body>& req,
                            std::size_t connection) {
    Request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    for (const auto& field : req) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      auto [it, inserted] = r.headers.emplace(name, std::string(field.value()));
      if (!inserted) it->second += ", " + std::string(field.value());
    }
    r.body = req.body();
    r.connection = connection;
    return r;
  }

  static std::string head_of(const Response& response, std::uint64_t length, bool close) {
    std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " +
                      std::string(boost::beast::http::obsolete_reason(
                          static_cast<boost::beast::http::status>(response.status))) +
                      "\r\n";
    bool has_length = false;
    for (const auto& [name, value] : response.headers) {
      out += name + ": " + value + "\r\n";
      has_length = has_length || boost::beast::iequals(name, "Content-Length") ||
                   boost::beast::iequals(name, "Transfer-Encoding");
    }
    if (!has_length) out += "Content-Length: " + std::to_string(length) + "\r\n";
    if (close) out += "Connection: close\r\n";
    return out + "\r\n";
  }

  // Sends one answer; false when the connection must close afterwards.
  bool answer(tcp::socket& socket, const Request& request, const Response& response,
              bool keep_alive) {
    if (!pause(response.delay) || response.drop) return false;
    const bool head = request.method == "HEAD";
    const std::uint64_t length = response.content_length.value_or(response.body.size());
    const std::size_t cut =
        std::min(response.cut_after.value_or(response.body.size()), response.body.size());
    // The client cannot reuse a connection that ends before the body it was promised.
    const bool short_body = !head && cut < length;
    const bool close =
        response.close || !keep_alive || short_body || response.hold_open.count() > 0;
    const std::string_view body =
        head ? std::string_view() : std::string_view(response.body).substr(0, cut);
    boost::system::error_code ec;
    boost::asio::write(socket, boost::asio::buffer(head_of(response, length, close)), ec);
    const std::size_t step = response.pace_bytes > 0 ? response.pace_bytes : body.size();
    for (std::size_t sent = 0; !ec && sent < body.size(); sent += step) {
      if (sent > 0 && !pause(response.pace_interval)) return false;
      boost::asio::write(socket, boost::asio::buffer(body.substr(sent, step)), ec);
    }
    if (ec) return false;
    pause(response.hold_open);
    return !close;
  }

  void serve(tcp::socket& socket, std::size_t connection) {
    boost::beast::flat_buffer buffer;
    for (;;) {
      boost::beast::http::request_parser<boost::beast::http::string_body> parser;
      parser.body_limit(64u << 20);
      boost::system::error_code ec;
      boost::beast::http::read(socket, buffer, parser, ec);
      if (ec) break;
      const Request request = to_request(parser.get(), connection);
      Handler handler;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
        handler = handler_;
      }
      changed_.notify_all();
      const Response response = handler ? handler(request) : Response{};
      if (!answer(socket, request, response, parser.get().keep_alive())) break;
    }
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
  }

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;  // a request arrived, or the server is stopping
  Handler handler_;                          // guarded by mutex_
  std::vector<Request> requests_;            // guarded by mutex_
  std::size_t accepted_ = 0;                 // guarded by mutex_
  std::set<int> open_fds_;                   // guarded by mutex_
  bool stopping_ = false;                    // guarded by mutex_
  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> connection_threads_;  // the accept thread's, then the destructor's
  std::thread accept_thread_;
};

}  // namespace partyline::fake
