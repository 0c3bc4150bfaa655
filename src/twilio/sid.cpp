#include "twilio/sid.hpp"

#include "config/config.hpp"

namespace partyline::twilio {

bool is_sid(std::string_view value, std::string_view prefix) {
  return config::is_sid(value, prefix);
}

}  // namespace partyline::twilio
