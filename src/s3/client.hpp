#pragma once
// Talks to S3: one executor that signs a request (s3/signer.hpp), sends it on a pooled libcurl
// handle and classifies the answer, repeating an idempotent request after a transient failure.
// Requests and responses are plain data; what a request means (create-only writes, multipart
// uploads) is decided by the callers (s3/multipart.hpp, storage/s3_store.hpp).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "log/logger.hpp"
#include "log/rate_limit.hpp"
#include "s3/signer.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace partyline::s3 {

// Bytes [offset, offset + length) of an open file, read while they are sent (memory stays small
// whatever the object size) and read again from the start when the request is repeated.
struct FileRange {
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

// No body (GET, HEAD, DELETE), a string (XML; "" is an explicit empty body, as POST needs), or
// a file range.
using Body = std::variant<std::monostate, std::string, FileRange>;

struct HttpRequest {
  std::string method = {};  // "GET", "HEAD", "PUT", "POST", "DELETE"
  std::string key = {};     // object key, unencoded; "" = the bucket itself
  Pairs query = {};         // raw; "?uploads" is {"uploads", ""}
  Pairs headers = {};       // signed and sent, besides those the signer adds
  std::string payload_sha256 = std::string(kEmptyPayloadSha256);
  Body body = {};
  // Sending it twice has the effect of sending it once (a part PUT, HEAD, GET, DELETE, abort):
  // the client repeats it after a transient failure. Never set for a create-only write, whose
  // second attempt could find its own first one.
  bool idempotent = false;
  // Statuses the caller handles itself (a HEAD's 404, a conditional write's 412 or 501): returned
  // as responses, never repeated.
  std::vector<int> answers = {};
  std::string op = {};  // names the request in failures: "PUT part 3", "HEAD"; default: the method
};

struct HttpResponse {
  int status = 0;
  std::string body;  // cut at 1 MiB: S3's answers are small XML documents
  Pairs headers;     // names lowercased
  // The first header of that (lowercase) name, or "".
  std::string header(std::string_view name) const;
};

struct RetryOptions {
  unsigned attempts = 3;  // in all, the first included
  // Before the second attempt a random pause between half of first_pause and first_pause, then
  // twice as long each time, up to max_pause; random between clients that fail together.
  std::chrono::milliseconds first_pause{250};
  std::chrono::milliseconds max_pause{2000};
  util::RandomBytes random = util::system_random();
};

struct ClientOptions {
  std::string scheme = {};     // "http" or "https"
  std::string host = {};       // the Host header: with a non-default port
  std::string base_path = {};  // "/bucket" (path-style) or "", plus an endpoint's path
  std::string bucket = {};     // for the log
  std::string region = {};
  Credentials credentials = {};
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds stall_timeout{60};  // CURLOPT_LOW_SPEED_LIMIT 1 byte/s for this long
  util::Clock clock = util::system_clock();
  RetryOptions retry = {};
};

// A pause between half of `pause` and `pause`, placed by two bytes of `random`: clients that
// failed together do not come back together.
std::chrono::milliseconds jittered(std::chrono::milliseconds pause,
                                   const util::RandomBytes& random);

// Thread-safe: a request takes a libcurl handle from a small pool and gives it back after, so
// requests on any threads run concurrently while consecutive ones (the parts of an upload) reuse
// the handle's open connection.
class Client {
 public:
  Client(ClientOptions options, log::Logger& log);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // A 2xx answer or one of request.answers. Otherwise a Failure naming the request, its status
  // and S3's error code ("PUT part 2 500 InternalError", "HEAD: curl: …"), never a secret:
  // kSoon for a timeout, a failed connection, 5xx and 429; kLater for other statuses and for a
  // body that could not be read. An idempotent request is sent up to retry.attempts times while
  // its failure is kSoon, each repeat logged (s3.request.retry).
  util::Result<HttpResponse> send(const HttpRequest& request) const;

  // The unencoded request path of a key: "/bucket/key" (path-style) or "/key"; of "": the
  // bucket's.
  std::string path(std::string_view key) const;
  const ClientOptions& options() const { return options_; }
  log::Logger& logger() const { return retry_log_.logger(); }

 private:
  struct HandlePool;
  util::Result<HttpResponse> send_once(const HttpRequest& request) const;

  ClientOptions options_;
  mutable log::RateLimitedLog retry_log_;
  std::unique_ptr<HandlePool> handles_;
};

}  // namespace partyline::s3
