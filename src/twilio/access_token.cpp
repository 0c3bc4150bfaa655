#include "twilio/access_token.hpp"

#include <boost/json.hpp>

#include "util/crypto.hpp"

namespace partyline::twilio {

std::string make_access_token(const AccessTokenRequest& r) {
  using namespace std::chrono;
  const auto iat = duration_cast<seconds>(r.now.time_since_epoch()).count();

  boost::json::object header{{"alg", "HS256"}, {"typ", "JWT"}, {"cty", "twilio-fpa;v=1"}};

  boost::json::object voice{{"incoming", boost::json::object{{"allow", true}}}};
  if (!r.twiml_app_sid.empty()) {
    voice["outgoing"] = boost::json::object{{"application_sid", r.twiml_app_sid}};
  }
  boost::json::object payload{
      {"jti", r.api_key + "-" + std::to_string(iat)},
      {"grants", boost::json::object{{"identity", r.identity}, {"voice", std::move(voice)}}},
      {"iat", iat},
      {"exp", iat + r.ttl.count()},
      {"iss", r.api_key},
      {"sub", r.account_sid},
  };
  const std::string signing_input = util::base64url(boost::json::serialize(header)) + "." +
                                    util::base64url(boost::json::serialize(payload));
  return signing_input + "." + util::base64url(util::hmac_sha256(r.api_secret, signing_input));
}

}  // namespace partyline::twilio
