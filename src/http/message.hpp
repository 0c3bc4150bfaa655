#pragma once
// The request and response as the application sees them: plain data, no Beast types, so that
// routing and every handler are pure functions testable without sockets.
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace partyline::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // raw request target as received: path plus "?query"
  Headers headers;
  std::string body;

  std::string_view path() const;
  // First header with this name (case-insensitive), or empty.
  std::string_view header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type;
  std::string body;
  Headers headers;
  std::string reason;  // why a 4xx/5xx happened: for the log line only, never sent

  static Response text(int status, std::string body, std::string reason = {});
  static Response xml(std::string body);
  static Response json(int status, std::string body, std::string reason = {});
  static Response empty(int status);
};

// Handlers answer through a callback so that one can wait (e.g. for a recording job) without
// blocking an I/O thread; most call it before returning.
using Respond = std::function<void(Response)>;
using Handler = std::function<void(const Request&, Respond)>;

bool iequals(std::string_view a, std::string_view b);

}  // namespace partyline::http
