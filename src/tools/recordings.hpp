#pragma once
// The commands that act on the service's state in DATA_DIR: `partyline reconcile` (queue what
// Twilio has and we do not) and `partyline recordings list|show|retry`.
#include <string>

#include "config/config.hpp"

namespace partyline::tools {

// `since_text`: a duration such as 72h or 7d. Returns the exit status.
int reconcile(const config::Config& config, const std::string& since_text);

// `action`: list, show or retry (`sid` for the last two). Returns the exit status.
int recordings(const config::Config& config, const std::string& action, const std::string& sid);

// `partyline transcribe SID`: the stored recording owes its transcription again, due now (the
// running service's transcriber takes it within a second). Returns the exit status.
int transcribe(const config::Config& config, const std::string& sid);

}  // namespace partyline::tools
