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

// Every answer above, built once: each depends only on the configuration and on which branch
// the webhook's digits take (the PINs are still compared per request, in constant time).
class Answers {
 public:
  Answers(const config::Config& config, const std::string& base);
  const Answer& voice() const { return voice_; }
  const Answer& consent(const std::string* digits) const;
  const Answer& check_pin(const std::string* digits) const;
  const std::string& silence() const { return silence_; }

 private:
  const config::Config& config_;
  Answer voice_, consent_given_, consent_refused_, producer_, speaker_, invalid_pin_;
  std::string silence_;
};

}  // namespace partyline::call_flow
