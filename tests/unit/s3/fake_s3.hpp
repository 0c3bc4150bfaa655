#pragma once
// A scripted S3 for the S3 client's and store's tests: one thread per connection on
// 127.0.0.1:<free port>, recording every request and answering what the test's handler says.
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
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

namespace partyline::s3::fake {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

struct Recorded {
  std::string method;
  std::string target;                          // path?query as sent
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;

  std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  bool has(const std::string& name) const { return headers.count(name) != 0; }
  bool query_has(std::string_view part) const {
    const auto q = target.find('?');
    return q != std::string::npos && target.find(part, q) != std::string::npos;
  }
};

struct Reply {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::uint64_t> head_length;  // Content-Length of a HEAD answer
  // The connection drops in the middle of the answer: its headers promise a body that never
  // comes (libcurl then fails the transfer instead of sending the request again by itself).
  bool drop = false;
};

inline std::string error_xml(const std::string& code) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code +
         "</Code><Message>m</Message></Error>";
}

// A scripted S3 on 127.0.0.1:<free port>: records every request and answers what the test's
// handler says. One thread per connection, as the store keeps connections open between requests
// and sends parts on several at once; the handler may be called on any of them.
class FakeS3 {
 public:
  using Handler = std::function<Reply(const Recorded&)>;

  explicit FakeS3(Handler handler)
      : handler_(std::move(handler)), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { run(); });
  }
  ~FakeS3() {
    stopping_ = true;
    boost::system::error_code ec;
    tcp::socket poke(ioc_);
    poke.connect(acceptor_.local_endpoint(), ec);  // wakes the blocking accept
    thread_.join();
    {
      // Connections the client still keeps open: end their blocking reads.
      std::lock_guard lock(mutex_);
      for (int fd : open_fds_)
        ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : connections_)
      t.join();
  }

  std::string endpoint() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::vector<Recorded> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::size_t connections() const {
    std::lock_guard lock(mutex_);
    return accepted_;
  }

 private:
  void run() {
    while (!stopping_) {
      auto socket = std::make_shared<tcp::socket>(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      if (ec || stopping_) continue;
      {
        std::lock_guard lock(mutex_);
        ++accepted_;
        open_fds_.insert(socket->native_handle());
      }
      connections_.emplace_back([this, socket] {
        serve(*socket);
        std::lock_guard lock(mutex_);
        open_fds_.erase(socket->native_handle());
      });
    }
  }

  void serve(tcp::socket& socket) {
    boost::beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64u << 20);
      boost::system::error_code ec;
      http::read(socket, buffer, parser, ec);
      if (ec) return;
      const auto& req = parser.get();
      Recorded recorded;
      recorded.method = std::string(req.method_string());
      recorded.target = std::string(req.target());
      for (const auto& field : req) {
        std::string name(field.name_string());
        for (auto& c : name)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        recorded.headers[name] = std::string(field.value());
      }
      recorded.body = req.body();
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(recorded);
      }
      const Reply reply = handler_(recorded);
      if (reply.drop) {
        const std::string cut = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial";
        asio::write(socket, asio::buffer(cut), ec);
        return;
      }
      if (recorded.method == "HEAD") {
        http::response<http::empty_body> res{static_cast<http::status>(reply.status), 11};
        res.set(http::field::content_length, std::to_string(reply.head_length.value_or(0)));
        for (const auto& [n, v] : reply.headers)
          res.set(n, v);
        http::write(socket, res, ec);
      } else {
        http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
        for (const auto& [n, v] : reply.headers)
          res.set(n, v);
        res.body() = reply.body;
        res.prepare_payload();
        http::write(socket, res, ec);
      }
      if (ec) return;
    }
  }

  Handler handler_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<Recorded> requests_;
  std::size_t accepted_ = 0;
  std::set<int> open_fds_;
  std::vector<std::thread> connections_;  // only touched by thread_ and, after it ends, ~FakeS3
  std::thread thread_;
};

// Requests of `method` whose query contains `query` ("partNumber=2&").
inline std::size_t count(const std::vector<Recorded>& requests, std::string_view method,
                         std::string_view query) {
  std::size_t n = 0;
  for (const auto& r : requests)
    if (r.method == method && r.query_has(query)) ++n;
  return n;
}

}  // namespace partyline::s3::fake
