#pragma once
// Twilio Access Token (a JWT) for the Voice JS client, as twilio-node's AccessToken builds it
// (reference twilio.md §7). Hand-written: it is a few lines of JSON and HMAC, no JWT library is
// packaged for C++ in Debian 12.
#include <chrono>
#include <string>

namespace partyline::twilio {

struct AccessTokenRequest {
  std::string account_sid;    // sub
  std::string api_key;        // iss, and the jti prefix
  std::string api_secret;     // HS256 key
  std::string identity;       // grants.identity
  std::string twiml_app_sid;  // grants.voice.outgoing.application_sid, when set
  std::chrono::system_clock::time_point now;
  std::chrono::seconds ttl{3600};
};

std::string make_access_token(const AccessTokenRequest& request);

}  // namespace partyline::twilio
