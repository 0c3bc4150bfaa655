#pragma once
// The service's one HTTP client for talking to others (Twilio's media and REST API, notices,
// `partyline simulate`): a plain request in, the response or a Failure out. Every transfer gets the
// same safety settings here: https only unless allowed (redirects too), no signals, a user agent,
// credentials only for the first URL's origin, timeouts, a cap on what is kept in memory.
// S3 has its own client (s3/), which signs requests and keeps connections open between them.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace partyline::net {

// What is known of a response once its headers are in.
struct ResponseHead {
  int status = 0;
  std::string content_type;                     // "" when absent
  std::optional<std::uint64_t> content_length;  // nullopt when absent
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // extra "Name: value" lines
  std::string body;                  // sent as is (with its length) when not empty
  // Basic auth when `username` is not empty. Sent to the first URL's scheme, host and port only,
  // never to another origin a redirect names. `password` never appears in an error text.
  std::string username, password;
  bool allow_http = false;  // otherwise https only, for the first URL and every redirect
  int max_redirects = 0;    // 0: a 3xx is the response, not followed
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds total_timeout{30};
  std::chrono::seconds stall_timeout{0};  // > 0: abort when < 1 byte/s arrives for this long
  std::size_t max_body = 1024 * 1024;     // of a body kept in memory; more aborts the transfer
  std::size_t receive_buffer = 0;         // bytes per read; 0: libcurl's default (16 KiB)
  // Streaming: the body of a 2xx response goes here, piece by piece, instead of into
  // HttpResponse::body (bodies of other statuses are still kept, up to max_body). false aborts.
  std::function<bool(std::string_view)> on_body;
  // Called once for a 2xx response, before its first byte reaches on_body (for an empty body,
  // once the transfer is done). false aborts.
  std::function<bool(const ResponseHead&)> on_headers;
};

struct HttpResponse : ResponseHead {
  std::uint64_t body_bytes = 0;  // received, whether streamed or kept
  std::string body;              // empty when streamed to on_body
};

// Blocking; one libcurl handle per call, so calls may run on any threads at once. Every HTTP
// status is a response: the caller says what a 404 or a 503 means to it. A Failure is a transfer
// that did not complete: kSoon when it may well work again shortly (connection refused or dropped,
// timeout, name lookup), kLater otherwise (refused URL or protocol, too many redirects, a body over
// max_body, a callback that returned false). Its http_status is the last response's, 0 if none.
util::Result<HttpResponse> perform(const HttpRequest& request);

}  // namespace partyline::net
