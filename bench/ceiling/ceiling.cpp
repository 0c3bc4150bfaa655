// The loopback ceiling of bench/run: the least an HTTP/1.1 server on Boost.Beast can do per
// request (read it, answer a fixed "200 OK" with a 3-byte body, keep the connection), on as many
// io_context threads as Partyline uses. Whatever Partyline spends beyond this is its own work.
// Shaped like Beast 1.81's example/http/server/async/http_server_async.cpp.
//
//   g++ -O2 -std=c++20 -o ceiling ceiling.cpp -pthread
//   PORT=8080 HTTP_THREADS=2 ./ceiling        (HOST defaults to 127.0.0.1)
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket&& socket) : stream_(std::move(socket)) {}

  void run() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::read, shared_from_this()));
  }

 private:
  void read() {
    request_ = {};
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, request_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return close();
    response_ = {};
    response_.result(http::status::ok);
    response_.version(request_.version());
    response_.set(http::field::content_type, "text/plain");
    response_.body() = "OK\n";
    response_.keep_alive(request_.keep_alive());
    response_.prepare_payload();
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return close();
    if (!response_.keep_alive()) return close();
    read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& ioc, const tcp::endpoint& endpoint)
      : ioc_(ioc), acceptor_(asio::make_strand(ioc)) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  void accept() {
    acceptor_.async_accept(asio::make_strand(ioc_),
                           beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }

 private:
  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (!ec) std::make_shared<Session>(std::move(socket))->run();
    accept();
  }

  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
};

const char* env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

}  // namespace

int main() {
  const auto address = asio::ip::make_address(env_or("HOST", "127.0.0.1"));
  const auto port = static_cast<unsigned short>(std::atoi(env_or("PORT", "8080")));
  unsigned threads = static_cast<unsigned>(std::atoi(env_or("HTTP_THREADS", "0")));
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());

  asio::io_context ioc(static_cast<int>(threads));
  auto listener = std::make_shared<Listener>(ioc, tcp::endpoint{address, port});
  listener->accept();
  std::printf("{\"evt\":\"http.listen\",\"port\":%u,\"threads\":%u}\n", listener->port(), threads);
  std::fflush(stdout);

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) { ioc.stop(); });

  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i)
    pool.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : pool)
    t.join();
  return 0;
}
