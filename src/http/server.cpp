#include "http/server.hpp"

#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "http/request_reader.hpp"
#include "log/rate_limit.hpp"

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
  Shared(ServerOptions o, log::Logger& l) : options(std::move(o)), log(l), limited(l) {}
  ServerOptions options;
  log::Logger& log;
  log::RateLimitedLog limited;  // for what an attacker can repeat at will
  Server::RequestHandler handler;
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> stopping{false};
  ServerCounters counters;
  std::mutex mutex;  // sessions and per_address
  std::unordered_map<const Session*, std::weak_ptr<Session>> sessions;
  std::unordered_map<net::ip::address, std::size_t> per_address;
};

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

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
  Session(tcp::socket&& socket, net::ip::address peer, std::shared_ptr<Shared> shared)
      : stream_(std::move(socket)),
        deadline_(stream_.get_executor()),
        peer_(std::move(peer)),
        peer_text_(peer_.to_string()),
        shared_(std::move(shared)),
        reader_({shared_->options.header_limit, shared_->options.body_limit}) {}

  ~Session() {
    std::lock_guard lock(shared_->mutex);
    shared_->sessions.erase(this);
    if (auto it = shared_->per_address.find(peer_); it != shared_->per_address.end()) {
      if (--it->second == 0) shared_->per_address.erase(it);
    }
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
      if (self->streaming_ || (self->waiting_ && !self->reader_.got_some())) self->close();
    });
  }

  // The sink's side (any thread): queued on the session's strand.
  bool stream_send(std::string bytes) {
    if (stream_closed_.load()) return false;
    const std::size_t pending = stream_pending_.fetch_add(bytes.size()) + bytes.size();
    if (pending > kStreamPendingLimit) {
      shared_->limited.warn("http.stream_slow", "a stream's client does not read: closed",
                            {{"pending_bytes", pending}});
      stream_close();
      return false;
    }
    net::post(stream_.get_executor(),
              [self = shared_from_this(), bytes = std::move(bytes)]() mutable {
                if (self->stream_closed_.load()) return;
                self->stream_queue_.push_back(std::move(bytes));
                if (self->stream_queue_.size() == 1) self->stream_write();
              });
    return true;
  }
  bool stream_open() const { return !stream_closed_.load(); }
  void stream_close() {
    stream_closed_.store(true);
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->close(); });
  }

  // For the listener at the connection limit: whether this connection may be closed to make room
  // (it waits for a request and has sent none of it, or has not finished its header within
  // kHeaderGrace), and since when it waits (older ones go first). Read from the listener's
  // thread, hence atomics.
  struct Evictable {
    bool yes = false;
    bool idle = false;
    std::int64_t since_ns = 0;
  };
  Evictable evictable(std::int64_t now_ns) const {
    const std::int64_t since = waiting_since_ns_.load(std::memory_order_relaxed);
    if (since == 0 || evicted_.load(std::memory_order_relaxed)) return {};
    const bool idle = !has_bytes_.load(std::memory_order_relaxed);
    const bool slow = now_ns - since >= std::chrono::nanoseconds(kHeaderGrace).count();
    return {idle || slow, idle, since};
  }

  // Closes the connection to make room for a new one, unless it has moved on meanwhile.
  void evict() {
    evicted_.store(true, std::memory_order_relaxed);
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->waiting_ || self->reader_.header_done()) {
        self->evicted_.store(false, std::memory_order_relaxed);
        return;
      }
      self->shared_->counters.evicted.fetch_add(1, std::memory_order_relaxed);
      self->close();
    });
  }

  const net::ip::address& peer() const { return peer_; }

  static constexpr auto kHeaderGrace = std::chrono::seconds(1);
  static constexpr std::size_t kStreamPendingLimit = 256 * 1024;

 private:
  // Waits for the next request on this connection (bytes of it may already be buffered).
  void read() {
    if (shared_->stopping) return close();
    reader_.reset();
    waiting_ = true;
    timed_out_ = false;
    has_bytes_.store(buffer_.size() > 0, std::memory_order_relaxed);
    waiting_since_ns_.store(steady_ns(), std::memory_order_relaxed);
    deadline_.expires_after(shared_->options.request_timeout);
    deadline_.async_wait([weak = weak_from_this()](error_code ec) {
      auto self = weak.lock();
      if (ec || !self || !self->waiting_) return;
      // Cancel the read; its handler answers 408 (or closes an idle connection).
      self->timed_out_ = true;
      error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
    parse();
  }

  // Hands the buffered bytes to the reader until it needs more, then reads from the socket.
  void parse() {
    for (;;) {
      std::size_t consumed = 0;
      RequestReader::Status status;
      try {
        const auto data = buffer_.data();
        status = reader_.feed({static_cast<const char*>(data.data()), data.size()}, consumed);
      } catch (const std::exception& e) {
        return on_connection_error(e.what());
      }
      buffer_.consume(consumed);
      switch (status) {
        case RequestReader::Status::kHeader:
          waiting_since_ns_.store(0, std::memory_order_relaxed);  // no longer evictable
          if (beast::iequals(reader_.message()[bhttp::field::expect], "100-continue") &&
              buffer_.size() == 0) {
            return send_continue();
          }
          continue;
        case RequestReader::Status::kComplete:
          return on_request();
        case RequestReader::Status::kRejected: {
          waiting_ = false;
          deadline_.cancel();
          const auto& r = reader_.rejection();
          return reject(r.status, r.reason);
        }
        case RequestReader::Status::kNeedMore:
          return read_some();
      }
    }
  }

  void read_some() {
    // The reader bounds what it needs buffered; it has refused the request before asking for
    // more with a full buffer, so there is always room.
    const std::size_t room =
        reader_.buffer_limit() - std::min(buffer_.size(), reader_.buffer_limit());
    if (room == 0) return on_connection_error("read buffer full");
    stream_.socket().async_read_some(
        buffer_.prepare(std::min<std::size_t>(room, 16 * 1024)),
        beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(error_code ec, std::size_t n) {
    if (ec) return on_read_error(ec);
    buffer_.commit(n);
    if (n > 0) has_bytes_.store(true, std::memory_order_relaxed);
    parse();
  }

  void send_continue() {
    auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
    // The stream's deadline was last set by the previous answer's write: set it for this one.
    stream_.expires_after(shared_->options.request_timeout);
    bhttp::async_write(stream_, *cont,
                       [self = shared_from_this(), cont](error_code ec, std::size_t) {
                         if (ec) return self->close();
                         self->read_some();
                       });
  }

  void on_read_error(error_code) {
    const bool timed_out = timed_out_;
    waiting_ = false;
    deadline_.cancel();
    if (timed_out) {
      if (!reader_.got_some() && buffer_.size() == 0) return close();  // idle keep-alive: normal
      return reject(408, "request not received within " +
                             std::to_string(shared_->options.request_timeout.count()) + " s");
    }
    // The peer went away (or we closed it to make room): nothing to answer.
    return close();
  }

  // Something threw while reading this connection's bytes: it ends this connection, not the
  // process. (The reader turns what it knows into a 4xx; this is the net under it.)
  void on_connection_error(const char* reason) {
    shared_->limited.error("http.connection_error", reason);
    waiting_ = false;
    deadline_.cancel();
    close();
  }

  void on_request() {
    waiting_ = false;
    deadline_.cancel();
    auto& req = reader_.message();
    keep_alive_ = req.keep_alive();
    head_ = req.method() == bhttp::verb::head;

    // The session's Request is filled in place: on a kept-alive connection its strings and header
    // list keep their capacity, so a request costs no allocations here after the first. Trailer
    // fields (after the header's own) are dropped.
    Request& request = request_;
    request.method.assign(req.method_string());
    request.target.assign(req.target());
    std::size_t n = 0;
    for (const auto& field : req) {
      if (n == reader_.header_fields()) break;
      if (n == request.headers.size()) request.headers.emplace_back();
      request.headers[n].first.assign(field.name_string());
      request.headers[n].second.assign(field.value());
      ++n;
    }
    request.headers.resize(n);
    request.body = std::move(req.body());
    request.remote.assign(peer_text_);

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

  // A request refused before it reached the application: answer, log (rate-limited: anyone can
  // send these at will), count, and close.
  void reject(int status, std::string reason) {
    boost::json::object fields{{"status", status}};
    if (!reader_.message().method_string().empty()) {  // the request line was read
      fields["method"] = std::string(reader_.message().method_string());
      fields["path"] = loggable_path(reader_.message().target());
    }
    fields["us"] = 0;
    shared_->limited.warn("http.request", reason, std::move(fields));
    if (shared_->options.on_rejected) shared_->options.on_rejected(status);
    Response r = Response::text(
        status, std::string(bhttp::obsolete_reason(static_cast<bhttp::status>(status))) + "\n",
        std::move(reason));
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
    if (response.stream && !head_ && response.status == 200) {
      return write_stream_head(std::move(response.stream));
    }
    if (close_now) head += "Connection: close\r\n";
    head += "Content-Length: ";
    append_number(head, response.file ? response.file->length : response.body.size());
    head += "\r\n\r\n";
    if (response.file && !head_) return write_file(std::move(response.file), close_now);
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

  // The head, then the file in chunks read as the previous one is sent (as Beast's file_body
  // does), each write within the request timeout: one slow reader holds one chunk, not the file.
  void write_file(std::shared_ptr<FileBody> file, bool close_now) {
    body_.clear();
    stream_.expires_after(shared_->options.request_timeout);
    net::async_write(stream_, net::buffer(head_buffer_),
                     [self = shared_from_this(), file = std::move(file), close_now](
                         error_code ec, std::size_t) mutable {
                       if (ec) return self->close();
                       self->write_file_chunk(std::move(file), 0, close_now);
                     });
  }

  void write_file_chunk(std::shared_ptr<FileBody> file, std::uint64_t sent, bool close_now) {
    if (sent == file->length) {
      if (close_now) return close();
      return read();
    }
    constexpr std::size_t kChunk = 64 * 1024;
    body_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, file->length - sent)));
    const ssize_t n =
        ::pread(file->fd, body_.data(), body_.size(), static_cast<off_t>(file->offset + sent));
    // The file shrank or cannot be read: the length is promised already, so the connection goes.
    if (n <= 0) return close();
    body_.resize(static_cast<std::size_t>(n));
    stream_.expires_after(shared_->options.request_timeout);
    net::async_write(stream_, net::buffer(body_),
                     [self = shared_from_this(), file = std::move(file), sent, close_now](
                         error_code ec, std::size_t written) mutable {
                       if (ec) return self->close();
                       self->write_file_chunk(std::move(file), sent + written, close_now);
                     });
  }

  // A streamed answer: no length (the body ends when the connection closes), not kept alive.
  // Once the head is out the sink is handed over; a read of the socket notices the client
  // leaving (it sends nothing more on this connection).
  void write_stream_head(std::function<void(std::shared_ptr<StreamSink>)> start) {
    head_buffer_ += "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
    streaming_ = true;
    stream_.expires_after(shared_->options.request_timeout);
    net::async_write(
        stream_, net::buffer(head_buffer_),
        [self = shared_from_this(), start = std::move(start)](error_code ec, std::size_t) {
          if (ec) return self->close();
          self->stream_.expires_never();
          self->watch_peer();
          start(std::make_shared<Sink>(self));
        });
  }

  struct Sink : StreamSink {
    explicit Sink(const std::shared_ptr<Session>& s) : session(s) {}
    bool send(std::string bytes) override {
      auto s = session.lock();
      return s && s->stream_send(std::move(bytes));
    }
    bool open() const override {
      auto s = session.lock();
      return s && s->stream_open();
    }
    void close() override {
      if (auto s = session.lock()) s->stream_close();
    }
    std::weak_ptr<Session> session;
  };

  void watch_peer() {
    if (!drain_buffer_) drain_buffer_ = std::make_shared<std::vector<char>>(1024);
    stream_.socket().async_read_some(net::buffer(*drain_buffer_),
                                     [self = shared_from_this()](error_code, std::size_t) {
                                       // Data or EOF alike: a stream's client has nothing more
                                       // to say on this connection.
                                       self->close();
                                     });
  }

  // On the strand: sends the queue's front, then the next, each within the request timeout.
  void stream_write() {
    if (stream_queue_.empty() || stream_closed_.load()) return;
    stream_.expires_after(shared_->options.request_timeout);
    net::async_write(stream_, net::buffer(stream_queue_.front()),
                     [self = shared_from_this()](error_code ec, std::size_t n) {
                       if (ec) return self->close();
                       self->stream_pending_.fetch_sub(n);
                       self->stream_queue_.pop_front();
                       if (self->stream_queue_.empty()) {
                         self->stream_.expires_never();
                         return;
                       }
                       self->stream_write();
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
    stream_closed_.store(true);
    waiting_ = false;
    waiting_since_ns_.store(0, std::memory_order_relaxed);
    deadline_.cancel();
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  net::steady_timer deadline_;  // to receive one whole request (or sit idle)
  net::ip::address peer_;
  std::string peer_text_;
  beast::flat_buffer buffer_;
  std::shared_ptr<Shared> shared_;
  RequestReader reader_;
  Request request_;          // the request being served (reused, see on_request)
  std::string head_buffer_;  // the answer's status line and headers (reused)
  std::string body_;         // the answer's body, kept until the write completes
  std::shared_ptr<std::vector<char>> drain_buffer_;
  std::size_t drained_ = 0;
  bool waiting_ = false;    // reading a request (not handling or answering one)
  bool timed_out_ = false;  // the request deadline cancelled the read
  bool keep_alive_ = false;
  bool head_ = false;
  bool writing_ = false;    // the answer to the current request is being written
  bool streaming_ = false;  // the answer is a stream (see write_stream_head)
  std::deque<std::string> stream_queue_;
  std::atomic<std::size_t> stream_pending_{0};
  std::atomic<bool> stream_closed_{false};
  std::uint64_t request_id_ = 0;  // which request a Respond belongs to (see on_request)
  std::atomic<std::int64_t> waiting_since_ns_{0};  // 0: not evictable (see evictable())
  std::atomic<bool> has_bytes_{false};
  std::atomic<bool> evicted_{false};
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
        shared->limited.warn("http.accept_error", ec.message());
      } else {
        admit(std::move(socket));
      }
      accept();
    });
  }

  // A new connection gets a session unless a limit says no. At the overall limit, a connection
  // that only holds a place (idle keep-alive, or a header that has not finished within the
  // grace period) is closed to make room, the longest-waiting first, as nginx does with its
  // reusable connections: idle and slow clients cannot lock the webhooks out.
  void admit(tcp::socket socket) {
    error_code peer_ec;
    const auto peer = socket.remote_endpoint(peer_ec).address();
    if (peer_ec) return;  // already gone
    const auto& o = shared->options;
    std::shared_ptr<Session> victim;
    const char* refused = nullptr;
    std::size_t limit = 0;
    {
      std::lock_guard lock(shared->mutex);
      auto it = shared->per_address.find(peer);
      if (o.max_connections_per_address > 0 && it != shared->per_address.end() &&
          it->second >= o.max_connections_per_address) {
        refused = "per-address connection limit reached";
        limit = o.max_connections_per_address;
      } else if (shared->connections.load() >= o.max_connections && !(victim = pick_victim())) {
        refused = "connection limit reached";
        limit = o.max_connections;
      } else {
        ++shared->per_address[peer];
        shared->connections.fetch_add(1);
      }
    }
    if (refused) return refuse(std::move(socket), refused, limit);
    if (victim) victim->evict();
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<Session>(std::move(socket), peer, shared)->start();
  }

  // Under shared->mutex. The address that holds the most connections gives one up first (a
  // flood from one address cannot push out anyone else's); then idle connections go before slow
  // ones, and older before newer. A session in the map is whole while the mutex is held (its
  // destructor erases it under the mutex before anything of it is destroyed), so it is read
  // through the key; only the one chosen is locked, and the caller drops that reference after
  // unlocking (a last reference dropped here would run the destructor, which takes the mutex).
  std::shared_ptr<Session> pick_victim() {
    const net::ip::address* heaviest = nullptr;
    std::size_t most = 0;
    for (const auto& [address, count] : shared->per_address) {
      if (count > most) {
        most = count;
        heaviest = &address;
      }
    }
    const std::int64_t now = steady_ns();
    const std::weak_ptr<Session>* best = nullptr;
    Session::Evictable best_state;
    for (const bool from_heaviest : {true, false}) {
      for (const auto& [session, weak] : shared->sessions) {
        if (from_heaviest && (!heaviest || session->peer() != *heaviest)) continue;
        const auto e = session->evictable(now);
        if (!e.yes) continue;
        if (!best || (e.idle && !best_state.idle) ||
            (e.idle == best_state.idle && e.since_ns < best_state.since_ns)) {
          best = &weak;
          best_state = e;
        }
      }
      if (best) break;
    }
    return best ? best->lock() : nullptr;
  }

  void refuse(tcp::socket socket, const char* reason, std::size_t limit) {
    shared->counters.refused.fetch_add(1, std::memory_order_relaxed);
    shared->limited.warn("http.reject", reason, {{"limit", limit}});
    error_code ignored;
    socket.close(ignored);
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

  // The last net under every connection: an exception out of a completion handler unwinds that
  // handler (and with it the connection it held), is logged, and the thread serves on.
  void run_io() {
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        shared->limited.error("http.internal_error", e.what());
      } catch (...) {
        shared->limited.error("http.internal_error", "unknown exception");
      }
    }
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
    threads.emplace_back([this] { impl_->run_io(); });
  impl_->run_io();
  for (auto& t : threads)
    t.join();
}

const ServerCounters& Server::counters() const {
  return impl_->shared->counters;
}

void Server::stop() {
  net::post(impl_->ioc, [this] { impl_->begin_shutdown(); });
}

}  // namespace partyline::http
