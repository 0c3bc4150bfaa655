#include "http/server.hpp"

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

namespace partyline::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

class Session;

// What the listener and every session share.
struct Shared {
  Shared(ServerOptions o, log::Logger& l) : options(std::move(o)), log(l) {}
  ServerOptions options;
  log::Logger& log;
  Server::RequestHandler handler;
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::unordered_map<const Session*, std::weak_ptr<Session>> sessions;
};

// The session whose handler is running on this thread: an answer given from inside the handler is
// written at once, with no dispatch through the strand's executor.
thread_local const Session* t_in_handler = nullptr;

struct InHandler {
  explicit InHandler(const Session* session) : previous(t_in_handler) { t_in_handler = session; }
  ~InHandler() { t_in_handler = previous; }
  InHandler(const InHandler&) = delete;
  InHandler& operator=(const InHandler&) = delete;
  const Session* previous;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<Shared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {}

  ~Session() {
    std::lock_guard lock(shared_->mutex);
    shared_->sessions.erase(this);
    shared_->connections.fetch_sub(1);
  }

  void start() {
    {
      std::lock_guard lock(shared_->mutex);
      shared_->sessions.emplace(this, weak_from_this());
    }
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::read, shared_from_this()));
  }

  // Called on shutdown: a connection waiting for its next request is closed now; one with a
  // request in flight closes after answering it.
  void shutdown() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->waiting_ && !self->parser_->got_some()) self->close();
    });
  }

 private:
  void read() {
    if (shared_->stopping) return close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_->options.header_limit));
    parser_->body_limit(shared_->options.body_limit);
    waiting_ = true;
    stream_.expires_after(shared_->options.request_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    auto& req = parser_->get();
    if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
      auto cont =
          std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
      bhttp::async_write(stream_, *cont,
                         [self = shared_from_this(), cont](error_code ec2, std::size_t) {
                           if (ec2) return self->close();
                           self->read_body();
                         });
      return;
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::on_request, shared_from_this()));
  }

  void on_read_error(error_code ec) {
    waiting_ = false;
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted ||
        ec == net::error::bad_descriptor) {
      return close();
    }
    if (ec == beast::error::timeout) {
      if (!parser_->got_some()) return close();  // an idle keep-alive connection: normal
      return reject(408, "Request Timeout",
                    "request not received within " +
                        std::to_string(shared_->options.request_timeout.count()) + " s");
    }
    if (ec == bhttp::error::body_limit) {
      return reject(
          413, "Payload Too Large",
          "body exceeds the " + std::to_string(shared_->options.body_limit) + "-byte limit");
    }
    if (ec == bhttp::error::header_limit) {
      return reject(
          431, "Request Header Fields Too Large",
          "headers exceed the " + std::to_string(shared_->options.header_limit) + "-byte limit");
    }
    return reject(400, "Bad Request", "malformed HTTP request: " + ec.message());
  }

  void on_request(error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    waiting_ = false;
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    head_ = req.method() == bhttp::verb::head;

    // The session's Request is filled in place: on a kept-alive connection its strings and header
    // list keep their capacity, so a request costs no allocations here after the first.
    Request& request = request_;
    request.method.assign(req.method_string());
    request.target.assign(req.target());
    std::size_t n = 0;
    for (const auto& field : req) {
      if (n == request.headers.size()) request.headers.emplace_back();
      request.headers[n].first.assign(field.name_string());
      request.headers[n].second.assign(field.value());
      ++n;
    }
    request.headers.resize(n);
    request.body = std::move(req.body());

    // Answered at once (the usual case), the write starts right here on the session's strand;
    // an answer from another thread (a recording callback) is posted to it.
    writing_ = false;
    const std::uint64_t id = ++request_id_;
    try {
      const InHandler in_handler(this);
      shared_->handler(request, [self = shared_from_this(), id](Response response) {
        // Answered synchronously from inside the handler: already on the session's strand.
        if (t_in_handler == self.get()) {
          if (id == self->request_id_ && !self->writing_) self->write(std::move(response), false);
          return;
        }
        net::dispatch(self->stream_.get_executor(),
                      [self, id, response = std::move(response)]() mutable {
                        // Only the first answer to the request being served is written: a second
                        // one (a handler that answered and then threw, so we answered 500, and
                        // still answers later; or one answering twice) would replace the answer
                        // under a write in flight, or answer the connection's next request.
                        if (id != self->request_id_ || self->writing_) return;
                        self->write(std::move(response), false);
                      });
      });
    } catch (const std::exception& e) {
      return on_handler_error(request, e.what());
    } catch (...) {
      return on_handler_error(request, "unknown exception");
    }
    // Not answered yet (a recording callback waits for its copy): the handler may take its time,
    // so the request's deadline must not run out meanwhile; the write sets its own. (Answered at
    // once, the write has already re-armed it: one timer operation fewer per request.)
    if (!writing_) stream_.expires_never();
  }

  // The handler threw (an internal failure: OpenSSL, the RNG, memory). Left to unwind through
  // io_context::run(), that would end the whole process; instead the request gets a 500, unless
  // it was already answered. Method and path only: headers and body can hold secrets.
  void on_handler_error(const Request& request, const char* reason) {
    shared_->log.error("http.handler_error", {{"method", request.method},
                                              {"path", loggable_path(request.target)},
                                              {"reason", reason},
                                              {"answered", writing_}});
    if (writing_) return;
    // Close after the 500: what the handler left behind is unknown. The body was read whole, so
    // a plain close (no linger) loses nothing the client sent.
    keep_alive_ = false;
    write(Response::text(500, "Internal Server Error\n", reason), false);
  }

  // The target as log lines carry it: no query string (it can hold anything), bounded.
  static std::string loggable_path(std::string_view target) {
    return std::string(target.substr(0, std::min<std::size_t>(target.find('?'), 256)));
  }

  // A request refused before it reached the application: answer, log, and close.
  void reject(int status, const char* text, std::string reason) {
    boost::json::object fields{{"status", status}, {"reason", reason}};
    if (parser_ && !parser_->get().method_string().empty()) {
      fields["method"] = std::string(parser_->get().method_string());
      fields["path"] = loggable_path(parser_->get().target());
    }
    fields["us"] = 0;
    shared_->log.warn("http.request", std::move(fields));
    Response r = Response::text(status, std::string(text) + "\n", std::move(reason));
    head_ = false;
    write(std::move(r), true);
  }

  // The answer's head is written here rather than by Beast's serializer: one string reused for
  // every answer on the connection, no header container to build and free per request.
  void write(Response response, bool force_close) {
    writing_ = true;
    const bool close_now = force_close || !keep_alive_ || shared_->stopping;
    std::string& head = head_buffer_;
    head.clear();
    head += "HTTP/1.1 ";
    append_number(head, static_cast<std::uint64_t>(response.status));
    head += ' ';
    head += bhttp::obsolete_reason(static_cast<bhttp::status>(response.status));
    head += "\r\nServer: partyline\r\n";
    if (!response.content_type.empty()) append_field(head, "Content-Type", response.content_type);
    for (const auto& [name, value] : response.headers)
      append_field(head, name, value);
    if (close_now) head += "Connection: close\r\n";
    head += "Content-Length: ";
    append_number(head, response.body.size());
    head += "\r\n\r\n";
    body_ = head_ ? std::string() : std::move(response.body);
    stream_.expires_after(shared_->options.request_timeout);
    const std::array<net::const_buffer, 2> buffers{net::buffer(head_buffer_), net::buffer(body_)};
    net::async_write(
        stream_, buffers,
        [self = shared_from_this(), close_now, force_close](error_code ec, std::size_t) {
          if (ec) return self->close();
          if (force_close) return self->linger_close();
          if (close_now) return self->close();
          self->read();
        });
  }

  static void append_number(std::string& out, std::uint64_t value) {
    char digits[20];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    out.append(digits, end);
  }

  // Header names and values come from our own handlers; a CR or LF in one would still split the
  // answer (response splitting), so such a field is left out rather than sent.
  static void append_field(std::string& out, std::string_view name, std::string_view value) {
    if (name.find_first_of("\r\n:") != std::string_view::npos ||
        value.find_first_of("\r\n") != std::string_view::npos)
      return;
    out.append(name).append(": ").append(value).append("\r\n");
  }

  // After refusing a request whose body may still be arriving, read and drop what the client
  // sends (bounded) before closing, so it sees our answer rather than a reset.
  void linger_close() {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(2));
    drain();
  }

  void drain() {
    if (!drain_buffer_) drain_buffer_ = std::make_shared<std::vector<char>>(16 * 1024);
    stream_.async_read_some(net::buffer(*drain_buffer_),
                            [self = shared_from_this()](error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > 8 * 1024 * 1024) return self->close();
                              self->drain();
                            });
  }

  void close() {
    waiting_ = false;
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<Shared> shared_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request request_;          // the request being served (reused, see on_request)
  std::string head_buffer_;  // the answer's status line and headers (reused)
  std::string body_;         // the answer's body, kept until the write completes
  std::shared_ptr<std::vector<char>> drain_buffer_;
  std::size_t drained_ = 0;
  bool waiting_ = false;
  bool keep_alive_ = false;
  bool head_ = false;
  bool writing_ = false;          // the answer to the current request is being written
  std::uint64_t request_id_ = 0;  // which request a Respond belongs to (see on_request)
};

}  // namespace

struct Server::Impl {
  Impl(ServerOptions options, log::Logger& log)
      : ioc(static_cast<int>(options.threads)),
        acceptor(net::make_strand(ioc)),
        signals(ioc, SIGINT, SIGTERM),
        shared(std::make_shared<Shared>(std::move(options), log)) {}

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](error_code ec, tcp::socket socket) {
      if (ec) {
        if (!acceptor.is_open()) return;
        shared->log.warn("http.accept_error", {{"reason", ec.message()}});
      } else if (shared->connections.load() >= shared->options.max_connections) {
        shared->log.warn("http.reject", {{"reason", "connection limit reached"},
                                         {"limit", shared->options.max_connections}});
        error_code ignored;
        socket.close(ignored);
      } else {
        shared->connections.fetch_add(1);
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::make_shared<Session>(std::move(socket), shared)->start();
      }
      accept();
    });
  }

  void begin_shutdown() {
    if (shared->stopping.exchange(true)) return;
    shared->log.info("http.shutdown", {{"in_flight", shared->connections.load()}});
    net::post(acceptor.get_executor(), [this] {
      error_code ignored;
      acceptor.close(ignored);
    });
    signals.cancel();
    std::vector<std::shared_ptr<Session>> live;
    {
      std::lock_guard lock(shared->mutex);
      for (auto& [_, weak] : shared->sessions) {
        if (auto s = weak.lock()) live.push_back(std::move(s));
      }
    }
    for (auto& s : live)
      s->shutdown();
    deadline = std::chrono::steady_clock::now() + shared->options.shutdown_grace;
    poll_drain();
  }

  // ioc.run() returns by itself once the last connection is gone; past the grace period the
  // remaining ones are dropped.
  void poll_drain() {
    if (shared->connections.load() == 0) return;
    if (std::chrono::steady_clock::now() >= deadline) {
      shared->log.warn("http.shutdown_forced", {{"open_connections", shared->connections.load()}});
      ioc.stop();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(20));
    drain_timer.async_wait([this](error_code) { poll_drain(); });
  }

  net::io_context ioc;
  tcp::acceptor acceptor;
  net::signal_set signals;
  net::steady_timer drain_timer{ioc};
  std::chrono::steady_clock::time_point deadline;
  std::shared_ptr<Shared> shared;
};

Server::Server(ServerOptions options, log::Logger& log)
    : impl_(std::make_unique<Impl>(std::move(options), log)) {}

Server::~Server() = default;

std::uint16_t Server::listen() {
  const auto& o = impl_->shared->options;
  const tcp::endpoint endpoint(net::ip::make_address(o.host), o.port);
  auto& a = impl_->acceptor;
  a.open(endpoint.protocol());
  a.set_option(net::socket_base::reuse_address(true));
  a.bind(endpoint);
  a.listen(net::socket_base::max_listen_connections);
  return a.local_endpoint().port();
}

void Server::run(RequestHandler handler) {
  impl_->shared->handler = std::move(handler);
  impl_->signals.async_wait([this](error_code ec, int signal) {
    if (ec) return;
    impl_->shared->log.info("signal", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
    impl_->begin_shutdown();
  });
  impl_->accept();
  std::vector<std::thread> threads;
  const unsigned n = std::max(1u, impl_->shared->options.threads);
  threads.reserve(n - 1);
  for (unsigned i = 1; i < n; ++i)
    threads.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : threads)
    t.join();
}

void Server::stop() {
  net::post(impl_->ioc, [this] { impl_->begin_shutdown(); });
}

}  // namespace partyline::http
