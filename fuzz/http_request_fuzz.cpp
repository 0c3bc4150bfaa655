// libFuzzer target: the bytes of one connection into the RequestReader the server reads every
// connection with, with the server's default limits. The first input byte is how many bytes each
// read delivers (0: the server's 16 KiB), so that requests split anywhere are tried; the rest is
// the stream. As the server does: a complete request that keeps the connection alive is followed
// by a reset() and the next request from the bytes left over; a rejection ends the connection.
// Beyond "no crash, no exception, no sanitizer report": the reader never asks for more bytes than
// the server's buffer may hold, a rejection is a 400, 413 or 431, and a complete body is within
// the body limit.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/message.hpp"
#include "http/request_reader.hpp"
#include "http/server.hpp"

namespace {

using partyline::http::RequestReader;

// What Session::on_request copies out of a complete request (the handler's http::Request).
void copy_out(RequestReader& reader, partyline::http::Request& request) {
  auto& message = reader.message();
  request.method.assign(message.method_string());
  request.target.assign(message.target());
  request.headers.clear();
  for (const auto& field : message) {
    if (request.headers.size() == reader.header_fields()) break;
    request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  request.body = std::move(message.body());
  (void)request.path();
  (void)request.header("content-type");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const partyline::http::ServerOptions kOptions;  // the service's defaults
  constexpr std::size_t kServerRead = 16 * 1024;         // Session::read_some's largest read
  const std::size_t read_size = data[0] == 0 ? kServerRead : data[0];
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);

  RequestReader reader({kOptions.header_limit, kOptions.body_limit});
  partyline::http::Request request;
  std::string buffer;  // the session's buffer: bytes read, not yet consumed
  for (;;) {
    std::size_t consumed = 0;
    const RequestReader::Status status = reader.feed(buffer, consumed);
    if (consumed > buffer.size()) std::abort();
    buffer.erase(0, consumed);
    switch (status) {
      case RequestReader::Status::kHeader:
        if (!reader.header_done()) std::abort();
        continue;
      case RequestReader::Status::kComplete:
        if (reader.message().body().size() > kOptions.body_limit) std::abort();
        copy_out(reader, request);
        if (!reader.message().keep_alive()) return 0;
        reader.reset();
        continue;
      case RequestReader::Status::kRejected: {
        const int code = reader.rejection().status;
        if (code != 400 && code != 413 && code != 431) std::abort();
        return 0;
      }
      case RequestReader::Status::kNeedMore: {
        // The server reads at most the room below buffer_limit(); with none left it would drop
        // the connection unanswered, which the reader promises never to cause.
        if (buffer.size() >= reader.buffer_limit()) std::abort();
        if (stream.empty()) return 0;  // the peer closed the connection
        const std::size_t room = reader.buffer_limit() - buffer.size();
        const std::size_t n = std::min({room, read_size, kServerRead, stream.size()});
        buffer.append(stream.substr(0, n));
        stream.remove_prefix(n);
        continue;
      }
    }
  }
}
