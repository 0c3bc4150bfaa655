#pragma once
// application/x-www-form-urlencoded bodies, as Twilio sends them. Hand-written because
// Boost.URL's params view decodes queries (where '+' is literal), not form bodies ('+' = space),
// and accepts malformed percent-escapes leniently; a webhook must reject them.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace partyline::http {

using Params = std::vector<std::pair<std::string, std::string>>;  // in body order

struct FormResult {
  std::optional<Params> params;
  std::string error;  // why parsing failed (no input echoed)
};

// '+' is a space, %XX is decoded, a pair without '=' has an empty value, empty pairs are skipped.
// A '%' not followed by two hex digits fails.
FormResult parse_form(std::string_view body);

// The first value of `name`, or nullptr.
const std::string* find_param(const Params& params, std::string_view name);

// Percent-encoding for form bodies (used by tools and tests).
std::string form_encode(const Params& params);

}  // namespace partyline::http
