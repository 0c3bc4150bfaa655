#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "twilio/access_token.hpp"
#include "util/crypto.hpp"

namespace partyline::twilio {
namespace {

std::string b64url_decode(std::string_view in) {
  std::string s(in);
  for (auto& c : s)
    c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (s.size() % 4)
    s += '=';
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : s) {
    if (c == '=') break;
    val = (val << 6) + static_cast<int>(kAlphabet.find(c));
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((val >> bits) & 0xFF);
      bits -= 8;
    }
  }
  return out;
}

TEST(AccessToken, HasTwilioHeaderClaimsAndSignature) {
  const std::string key = "SK" + std::string(32, 'a');
  const std::string account = "AC" + std::string(32, 'b');
  const std::string app = "AP" + std::string(32, 'c');
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1795501781));
  const std::string jwt =
      make_access_token({account, key, "s3cret-s3cret", "web-1a2b3c4d", app, now});

  const auto dot1 = jwt.find('.');
  const auto dot2 = jwt.find('.', dot1 + 1);
  ASSERT_NE(dot2, std::string::npos);
  const auto header = boost::json::parse(b64url_decode(jwt.substr(0, dot1))).as_object();
  const auto payload =
      boost::json::parse(b64url_decode(jwt.substr(dot1 + 1, dot2 - dot1 - 1))).as_object();

  EXPECT_EQ(header.at("alg"), "HS256");
  EXPECT_EQ(header.at("typ"), "JWT");
  EXPECT_EQ(header.at("cty"), "twilio-fpa;v=1");
  EXPECT_EQ(payload.at("iss").as_string(), key);
  EXPECT_EQ(payload.at("sub").as_string(), account);
  EXPECT_EQ(payload.at("jti").as_string(), key + "-1795501781");
  EXPECT_EQ(payload.at("iat").as_int64(), 1795501781);
  EXPECT_EQ(payload.at("exp").as_int64(), 1795501781 + 3600);
  const auto& grants = payload.at("grants").as_object();
  EXPECT_EQ(grants.at("identity"), "web-1a2b3c4d");
  EXPECT_EQ(grants.at("voice").at("outgoing").at("application_sid").as_string(), app);
  EXPECT_EQ(grants.at("voice").at("incoming").at("allow"), true);

  const std::string expected_sig =
      util::base64url(util::hmac_sha256("s3cret-s3cret", jwt.substr(0, dot2)));
  EXPECT_EQ(jwt.substr(dot2 + 1), expected_sig);
  // Signed with the API secret, not anything else.
  EXPECT_NE(jwt.substr(dot2 + 1), util::base64url(util::hmac_sha256("other", jwt.substr(0, dot2))));
}

TEST(AccessToken, OmitsOutgoingWithoutTwimlApp) {
  const std::string jwt =
      make_access_token({"AC" + std::string(32, '0'), "SK" + std::string(32, '0'), "secretsecret",
                         "web-00000000", "", std::chrono::system_clock::time_point{}});
  const auto dot1 = jwt.find('.');
  const auto payload =
      boost::json::parse(b64url_decode(jwt.substr(dot1 + 1, jwt.find('.', dot1 + 1) - dot1 - 1)));
  EXPECT_FALSE(payload.at("grants").at("voice").as_object().contains("outgoing"));
}

}  // namespace
}  // namespace partyline::twilio
