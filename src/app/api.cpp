#include "app/api.hpp"

#include <boost/asio/post.hpp>
#include <chrono>

#include "util/clock.hpp"

namespace partyline::app::api {

http::Response json_response(int status, const boost::json::value& v, std::string reason) {
  http::Response r = http::Response::json(status, boost::json::serialize(v), std::move(reason));
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

http::Response error(int status, const std::string& message) {
  return json_response(status, boost::json::object{{"error", message}}, message);
}

std::vector<std::string> segments(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto end = path.find('/');
    out.emplace_back(path.substr(0, end));
    if (end == std::string_view::npos) break;
    path.remove_prefix(end);
  }
  return out;
}

void Workers::run(const http::Respond& respond, std::function<http::Response()> work) {
  if (queued_.fetch_add(1) >= max_queued_) {
    queued_.fetch_sub(1);
    return respond(error(503, busy_));
  }
  boost::asio::post(pool_, [this, respond, work = std::move(work)] {
    http::Response r;
    try {
      r = work();
    } catch (const std::exception& e) {
      r = error(500, e.what());
    }
    queued_.fetch_sub(1);
    respond(std::move(r));
  });
}

std::string iso(std::int64_t ms) {
  return util::iso8601_millis(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

}  // namespace partyline::app::api
