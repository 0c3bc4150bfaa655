// The real server on a loopback port, driven by a real client: what happens when a handler throws.
#include "http/server.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "../support/eventually.hpp"
#include "log/logger.hpp"
#include "util/clock.hpp"

namespace partyline::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Every wait below ends on an event; this only bounds a test that would otherwise hang.
constexpr auto kDeadline = std::chrono::seconds(10);

// What the server logs, through a pipe the test reads.
class LogPipe {
 public:
  LogPipe() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  }
  ~LogPipe() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  LogPipe(const LogPipe&) = delete;
  LogPipe& operator=(const LogPipe&) = delete;

  int write_fd() const { return fds_[1]; }

  // The next line (after those already returned) whose `evt` is `evt`, parsed; waits for it
  // until the deadline, then returns an empty object.
  boost::json::object next(std::string_view evt) {
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    for (;;) {
      for (auto nl = text_.find('\n', scanned_); nl != std::string::npos;
           nl = text_.find('\n', scanned_)) {
        auto line = boost::json::parse(std::string_view(text_).substr(scanned_, nl - scanned_));
        scanned_ = nl + 1;
        const auto* name = line.as_object().if_contains("evt");
        if (name && name->is_string() && name->get_string() == evt) {
          return std::move(line.as_object());
        }
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return {};
      pollfd p{fds_[0], POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds_[0], buf, sizeof buf);
      if (n > 0) text_.append(buf, static_cast<std::size_t>(n));
    }
  }

  // Everything read so far.
  const std::string& text() const { return text_; }

 private:
  int fds_[2] = {-1, -1};
  std::string text_;
  std::size_t scanned_ = 0;
};

struct Reply {
  beast::error_code ec;
  unsigned status = 0;
  std::string body;
  bool keep_alive = false;
};

// One client connection. Asynchronous operations under a deadline, so that a server that never
// answers fails the test instead of hanging it.
class Client {
 public:
  explicit Client(std::uint16_t port) : stream_(ioc_) {
    stream_.expires_after(kDeadline);
    stream_.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                          [this](beast::error_code ec) { ec_ = ec; });
    run();
  }

  // A POST carrying what must never reach the log: a signature header and a form body.
  Reply send(const std::string& target, bool keep_alive) {
    Reply reply;
    if (ec_) {
      reply.ec = ec_;
      return reply;
    }
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    req.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
    req.set("X-Twilio-Signature", "header-secret");
    req.body() = "Token=body-secret";
    req.keep_alive(keep_alive);
    req.prepare_payload();
    bhttp::response<bhttp::string_body> res;
    stream_.expires_after(kDeadline);
    bhttp::async_write(stream_, req, [&](beast::error_code ec, std::size_t) {
      if (ec) {
        reply.ec = ec;
        return;
      }
      bhttp::async_read(stream_, buffer_, res,
                        [&](beast::error_code ec2, std::size_t) { reply.ec = ec2; });
    });
    run();
    reply.status = res.result_int();
    reply.body = res.body();
    reply.keep_alive = res.keep_alive();
    return reply;
  }

  // What the server sends after the last answer, until it closes the connection: `ec` is how
  // the reading ended (eof: the server closed it).
  std::string rest(beast::error_code& ec) {
    std::string extra = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    stream_.expires_after(kDeadline);
    read_rest(extra, ec);
    run();
    return extra;
  }

  // Sends a GET and returns; the answer is read with read_until.
  bool send_get(const std::string& target) {
    if (ec_) return false;
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    beast::error_code ec;
    stream_.expires_after(kDeadline);
    bhttp::async_write(stream_, req, [&](beast::error_code e, std::size_t) { ec = e; });
    run();
    return !ec;
  }

  // Reads until `needle` has arrived (everything read so far is returned, and kept out of later
  // reads), or the connection ends or the deadline passes (then what arrived, without it).
  std::string read_until(const std::string& needle) {
    std::string got = std::move(pending_);
    pending_.clear();
    stream_.expires_after(kDeadline);
    bool done = got.find(needle) != std::string::npos;
    std::function<void()> more = [&] {
      stream_.async_read_some(buffer_.prepare(4096), [&](beast::error_code e, std::size_t n) {
        buffer_.commit(n);
        got += beast::buffers_to_string(buffer_.data());
        buffer_.consume(buffer_.size());
        if (e || got.find(needle) != std::string::npos) return;
        more();
      });
    };
    if (!done) more();
    run();
    const auto at = got.find(needle);
    if (at == std::string::npos) return got;
    pending_ = got.substr(at + needle.size());
    return got.substr(0, at + needle.size());
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

 private:
  std::string pending_;
  void read_rest(std::string& extra, beast::error_code& ec) {
    stream_.async_read_some(buffer_.prepare(4096),
                            [this, &extra, &ec](beast::error_code e, std::size_t n) {
                              buffer_.commit(n);
                              extra += beast::buffers_to_string(buffer_.data());
                              buffer_.consume(buffer_.size());
                              if (e) {
                                ec = e;
                                return;
                              }
                              read_rest(extra, ec);
                            });
  }

  void run() {
    ioc_.restart();
    ioc_.run();
  }

  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  beast::error_code ec_;
};

// The server on an ephemeral loopback port, run (it blocks) on its own thread.
class HttpServerTest : public ::testing::Test {
 protected:
  void start(Server::RequestHandler handler) {
    server_ = std::make_unique<Server>(ServerOptions{.host = "127.0.0.1",
                                                     .port = 0,
                                                     .threads = 2,
                                                     .shutdown_grace = std::chrono::seconds(5)},
                                       log_);
    port_ = server_->listen();
    thread_ = std::thread(
        [this, handler = std::move(handler)]() mutable { server_->run(std::move(handler)); });
  }

  void TearDown() override {
    if (!thread_.joinable()) return;
    server_->stop();
    thread_.join();
  }

  // The server must still answer, on a new connection.
  void expect_still_serving() {
    Client client(port_);
    const Reply reply = client.send("/fine", true);
    ASSERT_FALSE(reply.ec) << reply.ec.message();
    EXPECT_EQ(reply.status, 200u);
    EXPECT_EQ(reply.body, "ok\n");
  }

  // The client got exactly one answer: after it, the server closed the connection cleanly.
  static void expect_nothing_more(Client& client) {
    beast::error_code ec;
    EXPECT_EQ(client.rest(ec), "");
    EXPECT_EQ(ec, net::error::eof) << ec.message();
  }

  // Declared in this order so that the server goes first, then its logger, then the pipe.
  LogPipe log_pipe_;
  log::Logger log_{log_pipe_.write_fd(), log::LogLevel::kInfo, util::system_clock()};
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// "/fine" answers 200; anything else throws.
void throw_unless_fine(const Request& request, const Respond& respond) {
  if (request.path() != "/fine") throw std::runtime_error("HMAC key setup failed");
  respond(Response::text(200, "ok\n"));
}

TEST_F(HttpServerTest, ThrowingHandlerGets500AndTheServerKeepsServing) {
  start(throw_unless_fine);
  Client client(port_);
  const Reply reply = client.send("/boom?Token=query-secret", true);
  ASSERT_FALSE(reply.ec) << reply.ec.message();
  EXPECT_EQ(reply.status, 500u);
  EXPECT_EQ(reply.body, "Internal Server Error\n");
  EXPECT_FALSE(reply.keep_alive);
  expect_nothing_more(client);

  const auto line = log_pipe_.next("http.handler_error");
  ASSERT_FALSE(line.empty()) << log_pipe_.text();
  EXPECT_EQ(line.at("level"), "error");
  EXPECT_EQ(line.at("method"), "POST");
  EXPECT_EQ(line.at("path"), "/boom");
  EXPECT_EQ(line.at("reason"), "HMAC key setup failed");
  EXPECT_EQ(line.at("answered"), false);

  expect_still_serving();
  EXPECT_EQ(log_pipe_.text().find("secret"), std::string::npos) << log_pipe_.text();
}

TEST_F(HttpServerTest, SomethingThrownThatIsNoExceptionIsCaughtToo) {
  start([](const Request& request, const Respond& respond) {
    if (request.path() != "/fine") throw 42;
    respond(Response::text(200, "ok\n"));
  });
  Client client(port_);
  const Reply reply = client.send("/boom", true);
  ASSERT_FALSE(reply.ec) << reply.ec.message();
  EXPECT_EQ(reply.status, 500u);

  const auto line = log_pipe_.next("http.handler_error");
  ASSERT_FALSE(line.empty()) << log_pipe_.text();
  EXPECT_EQ(line.at("reason"), "unknown exception");
  expect_still_serving();
}

TEST_F(HttpServerTest, HandlerThatAnsweredThenThrewSendsOnlyItsAnswer) {
  start([](const Request& request, const Respond& respond) {
    respond(Response::text(200, "ok\n"));
    if (request.path() != "/fine") throw std::runtime_error("failed after answering");
  });
  Client client(port_);
  const Reply reply = client.send("/answer-then-throw", false);
  ASSERT_FALSE(reply.ec) << reply.ec.message();
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.body, "ok\n");
  expect_nothing_more(client);

  const auto line = log_pipe_.next("http.handler_error");
  ASSERT_FALSE(line.empty()) << log_pipe_.text();
  EXPECT_EQ(line.at("path"), "/answer-then-throw");
  EXPECT_EQ(line.at("reason"), "failed after answering");
  EXPECT_EQ(line.at("answered"), true);
  expect_still_serving();
}

// The answer, given from another thread just before the throw, reaches the session only after
// the 500 has started: it must be dropped, not written over the 500 in flight.
TEST_F(HttpServerTest, AnswerArrivingAfterThe500IsDropped) {
  start([](const Request& request, const Respond& respond) {
    if (request.path() == "/fine") return respond(Response::text(200, "ok\n"));
    std::thread([respond] { respond(Response::text(200, "late\n")); }).join();
    throw std::runtime_error("failed after handing the answer over");
  });
  Client client(port_);
  const Reply reply = client.send("/late", true);
  ASSERT_FALSE(reply.ec) << reply.ec.message();
  EXPECT_EQ(reply.status, 500u);
  EXPECT_EQ(reply.body, "Internal Server Error\n");
  expect_nothing_more(client);
  expect_still_serving();
}

TEST_F(HttpServerTest, SecondAnswerToOneRequestIsDropped) {
  start([](const Request&, const Respond& respond) {
    respond(Response::text(200, "ok\n"));
    respond(Response::text(200, "again\n"));
  });
  Client client(port_);
  const Reply reply = client.send("/twice", false);
  ASSERT_FALSE(reply.ec) << reply.ec.message();
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.body, "ok\n");
  expect_nothing_more(client);
  expect_still_serving();
}

}  // namespace
}  // namespace partyline::http

namespace partyline::http {
namespace {

using partyline::testing::eventually;

// A streamed answer (Server-Sent Events): the head without a length, then what the sink sends,
// in order, from another thread; the sink reports the client gone once it closes the connection.
TEST_F(HttpServerTest, AStreamCarriesWhatItsSinkSendsUntilTheClientLeaves) {
  std::mutex mutex;
  std::shared_ptr<StreamSink> sink;
  start([&](const Request& request, const Respond& respond) {
    if (request.path() != "/events") return respond(Response::text(200, "ok\n"));
    Response r;
    r.content_type = "text/event-stream";
    r.stream = [&](std::shared_ptr<StreamSink> s) {
      std::lock_guard lock(mutex);
      sink = std::move(s);
    };
    respond(std::move(r));
  });
  Client client(port_);
  ASSERT_TRUE(client.send_get("/events"));
  const std::string head = client.read_until("\r\n\r\n");
  EXPECT_NE(head.find("HTTP/1.1 200"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Type: text/event-stream"), std::string::npos) << head;
  EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return sink != nullptr;
  }));
  std::shared_ptr<StreamSink> s;
  {
    std::lock_guard lock(mutex);
    s = sink;
  }
  std::thread([s] {
    EXPECT_TRUE(s->send("event: room\ndata: 1\n\n"));
    EXPECT_TRUE(s->send("event: room\ndata: 2\n\n"));
  }).join();
  EXPECT_EQ(client.read_until("data: 2\n\n"), "event: room\ndata: 1\n\nevent: room\ndata: 2\n\n");
  EXPECT_TRUE(s->open());
  client.close();
  EXPECT_TRUE(eventually([&] { return !s->open(); }));
  EXPECT_FALSE(s->send("too late"));
  expect_still_serving();
}

// A stream holds its connection open: the server's shutdown closes it rather than waiting out the
// grace period, and the client sees the end.
TEST_F(HttpServerTest, ShutdownClosesAnOpenStream) {
  std::atomic<bool> streaming{false};
  start([&](const Request&, const Respond& respond) {
    Response r;
    r.content_type = "text/event-stream";
    r.stream = [&](std::shared_ptr<StreamSink> s) {
      s->send(": hello\n\n");
      streaming = true;
    };
    respond(std::move(r));
  });
  Client client(port_);
  ASSERT_TRUE(client.send_get("/events"));
  EXPECT_NE(client.read_until(": hello\n\n").find(": hello"), std::string::npos);
  const auto started = std::chrono::steady_clock::now();
  server_->stop();
  thread_.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));
  beast::error_code ec;
  client.rest(ec);
  EXPECT_TRUE(ec) << "the connection ended";
}

}  // namespace
}  // namespace partyline::http
