#pragma once
// What the S3 tests add to the shared scripted server: S3's error bodies, counting requests of
// one kind, and an answer cut off by a dropped connection.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "../support/fake_http_server.hpp"

namespace partyline::fake {

inline std::string error_xml(const std::string& code) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code +
         "</Code><Message>m</Message></Error>";
}

// Requests of `method` whose query contains `query` ("partNumber=2&").
inline std::size_t count(const std::vector<Request>& requests, std::string_view method,
                         std::string_view query) {
  std::size_t n = 0;
  for (const auto& r : requests)
    if (r.method == method && r.query_has(query)) ++n;
  return n;
}

// The connection drops in the middle of the answer: its headers promise a body that never comes.
// (An answer dropped before its first byte, on a reused connection, libcurl sends again by
// itself: that would not test the client's own repeat.)
inline Response cut_off() {
  Response r{200, std::string(100, 'x')};
  r.cut_after = 7;
  return r;
}

}  // namespace partyline::fake
