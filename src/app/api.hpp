#pragma once
// What the console's JSON routes share: answers, errors, path segments and times.
#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace partyline::app::api {

// JSON, never cached, never sniffed.
http::Response json_response(int status, const boost::json::value& v, std::string reason = {});
// {"error": message}; the message is also the log line's reason.
http::Response error(int status, const std::string& message);
// "/api/rooms/x" -> {"api", "rooms", "x"}
std::vector<std::string> segments(std::string_view path);
// Milliseconds since the epoch as "2026-12-01T10:00:00.000Z".
std::string iso(std::int64_t ms);

}  // namespace partyline::app::api
