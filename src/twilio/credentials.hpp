#pragma once
// Who the service is at Twilio: the account and its auth token. Built once at start (app/runtime:
// from the configuration, or DATA_DIR's local credentials in local mode) and handed to whatever
// signs, checks or authenticates with it.
#include <string>

#include "config/config.hpp"

namespace partyline::twilio {

struct Credentials {
  std::string account_sid;  // AC…; also the Basic auth user of the REST API and the media
  config::Secret auth_token;
};

}  // namespace partyline::twilio
