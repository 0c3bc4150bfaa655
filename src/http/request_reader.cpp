#include "http/request_reader.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

namespace partyline::http {
namespace bhttp = boost::beast::http;

namespace {

constexpr std::string_view kHeaderEnd = "\r\n\r\n";

// A field line that starts with a space or tab continues the previous one (obs-fold, RFC 9112
// 5.2): Beast joins such lines; we refuse them, as the RFC allows, so that no two parsers on
// the way can disagree about where a field ends.
bool has_obs_fold(std::string_view header) {
  for (auto nl = header.find('\n'); nl != std::string_view::npos && nl + 1 < header.size();
       nl = header.find('\n', nl + 1)) {
    if (header[nl + 1] == ' ' || header[nl + 1] == '\t') return true;
  }
  return false;
}

}  // namespace

RequestReader::Rejection rejection_for(const boost::system::error_code& ec,
                                       const RequestLimits& limits) {
  if (ec == bhttp::error::body_limit) {
    return {413, "body exceeds the " + std::to_string(limits.body_limit) + "-byte limit"};
  }
  if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
    return {431, "headers exceed the " + std::to_string(limits.header_limit) + "-byte limit"};
  }
  return {400, "malformed HTTP request: " + ec.message()};
}

RequestReader::RequestReader(RequestLimits limits) : limits_(limits) {
  reset();
}

void RequestReader::reset() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(limits_.header_limit));
  parser_->body_limit(limits_.body_limit);
  parser_->eager(true);
  scanned_ = 0;
  header_fields_ = 0;
  got_some_ = false;
  header_done_ = false;
  status_ = Status::kNeedMore;
  rejection_ = {};
}

RequestReader::Status RequestReader::reject(int status, std::string reason) {
  rejection_ = {status, std::move(reason)};
  return status_ = Status::kRejected;
}

RequestReader::Status RequestReader::feed(std::string_view data, std::size_t& consumed) {
  consumed = 0;
  if (status_ == Status::kRejected || status_ == Status::kComplete) return status_;
  if (!data.empty()) got_some_ = true;
  try {
    if (!header_done_) return read_header(data, consumed);
    return read_body(data, consumed);
  } catch (const std::exception& e) {
    // Beast throws for what its field container cannot hold; the bounds above should keep it
    // from ever getting there, and if not, it is this request's end, not the process's.
    return reject(400, std::string("malformed HTTP request: ") + e.what());
  }
}

RequestReader::Status RequestReader::read_header(std::string_view data, std::size_t& consumed) {
  // Only the new bytes are searched (less the 3 that could start the terminator): a client that
  // sends its header a byte at a time costs linear work, not quadratic.
  const std::size_t from = scanned_ >= 3 ? scanned_ - 3 : 0;
  const auto end = data.find(kHeaderEnd, from);
  if (end == std::string_view::npos) {
    scanned_ = data.size();
    if (data.size() >= limits_.header_limit) {
      return reject(431,
                    "headers exceed the " + std::to_string(limits_.header_limit) + "-byte limit");
    }
    return Status::kNeedMore;
  }
  const std::size_t size = end + kHeaderEnd.size();
  if (size > limits_.header_limit) {
    return reject(431,
                  "headers exceed the " + std::to_string(limits_.header_limit) + "-byte limit");
  }
  if (has_obs_fold(data.substr(0, end + 2))) {
    return reject(400, "obsolete line folding in the header");
  }
  boost::system::error_code ec;
  const std::size_t used = parser_->put(boost::asio::buffer(data.data(), size), ec);
  if (ec && ec != bhttp::error::need_more) {
    auto r = rejection_for(ec, limits_);
    return reject(r.status, std::move(r.reason));
  }
  if (!parser_->is_header_done() || used != size) {
    return reject(400, "malformed HTTP request: header not understood");
  }
  consumed = size;
  const Message& m = parser_->get();
  std::size_t hosts = 0;
  for (const auto& field : m) {
    ++header_fields_;
    if (field.name() == bhttp::field::host) ++hosts;
  }
  if (m.version() >= 11 && hosts != 1) {
    return reject(400, hosts == 0 ? "HTTP/1.1 request without Host" : "more than one Host field");
  }
  if (hosts > 1) return reject(400, "more than one Host field");
  header_done_ = true;
  return status_ = Status::kHeader;
}

RequestReader::Status RequestReader::read_body(std::string_view data, std::size_t& consumed) {
  while (!parser_->is_done() && consumed < data.size()) {
    // Beast 1.81 asserts (debug builds; corrected upstream in its pull request 2861) that once it
    // has seen the final chunk line it is handed at least 5 bytes again. What is left of an
    // unfinished chunked message is never shorter ("0\r\n\r\n"), so wait for that many.
    if (parser_->chunked() && data.size() - consumed < 5) break;
    boost::system::error_code ec;
    const std::size_t used =
        parser_->put(boost::asio::buffer(data.data() + consumed, data.size() - consumed), ec);
    consumed += used;
    if (ec == bhttp::error::need_more) break;
    if (ec) {
      auto r = rejection_for(ec, limits_);
      return reject(r.status, std::move(r.reason));
    }
    if (used == 0) break;
  }
  if (parser_->is_done()) return status_ = Status::kComplete;
  // What the parser needs whole (a chunk line, the trailers) has outgrown the bound.
  if (data.size() - consumed >= limits_.header_limit) {
    return reject(431, "chunk line or trailers exceed the " + std::to_string(limits_.header_limit) +
                           "-byte limit");
  }
  return Status::kNeedMore;
}

}  // namespace partyline::http
