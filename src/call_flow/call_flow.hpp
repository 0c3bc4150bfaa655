#pragma once
// What a caller meets: the TwiML each voice webhook answers. Pure: configuration and the
// webhook's fields in, a TwiML document and the event to log out.
#include <string>

#include "config/config.hpp"

namespace partyline::call_flow {

inline constexpr std::string_view kRoom = "partyline";
inline constexpr int kMaxParticipants = 15;

struct Answer {
  std::string twiml;
  std::string evt;   // e.g. "pin.producer"; empty when nothing beyond the request line is logged
  std::string role;  // "producer", "speaker" or "" (for the log and, later, call records)
};

// base: PUBLIC_BASE_URL (origin plus optional path prefix), used for every callback URL.
Answer voice(const config::Config& config, const std::string& base);
Answer consent(const config::Config& config, const std::string& base, const std::string* digits);
Answer check_pin(const config::Config& config, const std::string& base, const std::string* digits);
// The target of waitUrl="silence": a long pause, so a lone caller hears nothing and Twilio does
// not re-request the document in a tight loop.
std::string silence();

}  // namespace partyline::call_flow
