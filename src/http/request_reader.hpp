#pragma once
// One HTTP/1.1 request out of the bytes a connection delivers, with every bound the server keeps:
// the step between the socket and Beast's parser, without I/O, so that the fuzzer and the unit
// tests drive exactly what a connection does.
//
// Bounds: the header (request line and fields) within header_limit; the body within body_limit;
// what the parser has to hold at once (a chunk line, the trailers) within header_limit too, so
// trailer fields cannot grow memory past the header's bound. Refused outright: obsolete line
// folding, HTTP/1.1 without exactly one Host. Trailer fields are read and dropped.
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace partyline::http {

struct RequestLimits {
  std::size_t header_limit = 8 * 1024;
  std::size_t body_limit = 64 * 1024;
};

class RequestReader {
 public:
  using Message = boost::beast::http::request<boost::beast::http::string_body>;
  enum class Status {
    kNeedMore,  // give it more bytes (none of what it was given so far is lost)
    kHeader,    // the header is complete (once per request; feed again to read the body)
    kComplete,  // the whole request is here: message()
    kRejected,  // answer rejection() and close the connection
  };
  struct Rejection {
    int status = 0;      // 400, 413 or 431
    std::string reason;  // for the log line
  };

  explicit RequestReader(RequestLimits limits);

  // Ready for the next request on the same connection.
  void reset();

  // Reads what it can from `data` (the bytes not yet consumed, oldest first) and sets `consumed`:
  // the caller drops that many and passes the rest again, with more, on the next call. The caller
  // never needs to keep more than buffer_limit() bytes: past that it is a rejection.
  Status feed(std::string_view data, std::size_t& consumed);

  std::size_t buffer_limit() const { return limits_.header_limit; }
  bool got_some() const { return got_some_; }
  bool header_done() const { return header_done_; }
  Message& message() { return parser_->get(); }
  // The fields of the header proper, in order: the first header_fields() of message().
  std::size_t header_fields() const { return header_fields_; }
  const Rejection& rejection() const { return rejection_; }
  const RequestLimits& limits() const { return limits_; }

 private:
  Status reject(int status, std::string reason);
  Status read_header(std::string_view data, std::size_t& consumed);
  Status read_body(std::string_view data, std::size_t& consumed);

  RequestLimits limits_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::size_t scanned_ = 0;  // bytes already searched for the header's end
  std::size_t header_fields_ = 0;
  bool got_some_ = false;
  bool header_done_ = false;
  Status status_ = Status::kNeedMore;
  Rejection rejection_;
};

// The answer for a parse error of Beast's (also used for errors met while reading).
RequestReader::Rejection rejection_for(const boost::system::error_code& ec,
                                       const RequestLimits& limits);

}  // namespace partyline::http
