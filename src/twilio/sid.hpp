#pragma once
#include <string_view>

namespace partyline::twilio {

// Twilio SIDs: a 2-letter prefix and 32 hex digits (AC account, CA call, CF conference,
// RE recording, SK API key, AP TwiML app).
bool is_sid(std::string_view value, std::string_view prefix);

}  // namespace partyline::twilio
