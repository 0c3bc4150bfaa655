#pragma once
// The request and response as the application sees them: plain data, no Beast types, so that
// routing and every handler are pure functions testable without sockets.
#include <cstdint>
#include <functional>
#include <memory>
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
  std::string remote{};  // the peer's address, as text (set by the server)

  std::string_view path() const;
  // First header with this name (case-insensitive), or empty.
  std::string_view header(std::string_view name) const;
};

// The open end of a streamed answer (Server-Sent Events). Safe to use from any thread, and after
// the connection is gone (sends then fail).
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Queues bytes for the client. False when the connection is gone, or when too much is still
  // unsent: a client that does not read is closed rather than buffered for.
  virtual bool send(std::string bytes) = 0;
  virtual bool open() const = 0;
  virtual void close() = 0;
};

// Bytes of an open file to send as the body (a recording of the local store): read and sent in
// chunks, never whole in memory. Owns the descriptor.
struct FileBody {
  FileBody(int fd, std::uint64_t offset, std::uint64_t length)
      : fd(fd), offset(offset), length(length) {}
  ~FileBody();
  FileBody(const FileBody&) = delete;
  FileBody& operator=(const FileBody&) = delete;
  int fd;
  std::uint64_t offset, length;
};

struct Response {
  int status = 200;
  std::string content_type;
  std::string body;
  Headers headers;
  std::string reason;  // why a 4xx/5xx happened: for the log line only, never sent
  // Set: the head goes out without a length, then the connection carries what the sink given to
  // this callback sends, until either side closes it (`body` is not sent).
  std::function<void(std::shared_ptr<StreamSink>)> stream;
  // Set: Content-Length is file->length and the body is those bytes of the file (`body` is not
  // sent).
  std::shared_ptr<FileBody> file;

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
