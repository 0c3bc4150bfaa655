#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "twilio/signature.hpp"

namespace partyline::twilio {
namespace {

const std::string kSid3 = "CA" + std::string(32, '3');

http::Params params_of(const boost::json::object& o) {
  http::Params p;
  for (const auto& [k, v] : o)
    p.emplace_back(std::string(k), std::string(v.as_string()));
  return p;
}

boost::json::object vectors() {
  std::ifstream in(std::string(PARTYLINE_TEST_DATA) + "/signature_vectors.json");
  EXPECT_TRUE(in) << "tests/data/signature_vectors.json (generated with the twilio npm library)";
  std::stringstream s;
  s << in.rdbuf();
  return boost::json::parse(s.str()).as_object();
}

// Twilio's documented examples (reference twilio.md §1.8 rows 1-3).
TEST(Signature, MatchesTwilioDocumentationExamples) {
  const std::string url = "https://mycompany.com/myapp.php?foo=1&bar=2";
  http::Params p{{"CallSid", "CA1234567890ABCDE"},
                 {"Caller", "+12349013030"},
                 {"Digits", "1234"},
                 {"From", "+12349013030"},
                 {"To", "+18005551212"}};
  EXPECT_EQ(compute_signature("12345", url, p), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  http::Params p2{{"CallSid", "CA1234567890ABCDE"},
                  {"Caller", "+14158675309"},
                  {"Digits", "1234"},
                  {"From", "+14158675309"},
                  {"To", "+18005551212"}};
  EXPECT_EQ(compute_signature("12345", url, p2), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
  // Parameter order in the body does not matter: they are sorted.
  http::Params p3{
      {"To", "+18005550100"}, {"Digits", "9876"}, {"From", "+15551230000"}, {"CallSid", kSid3}};
  EXPECT_EQ(compute_signature("12345", "https://calls.example.com/check-pin", p3),
            "Nf9FBLSdOmG+bovRwl2QYxIFCvg=");
}

TEST(Signature, ComputesWhatTheTwilioLibraryComputes) {
  const auto v = vectors();
  const auto& cases = v.at("compute").as_array();
  ASSERT_GE(cases.size(), 10u);
  for (const auto& item : cases) {
    const auto& c = item.as_object();
    SCOPED_TRACE(std::string(c.at("url").as_string()));
    EXPECT_EQ(compute_signature(c.at("auth_token").as_string(), c.at("url").as_string(),
                                params_of(c.at("params").as_object())),
              c.at("signature").as_string());
  }
}

TEST(Signature, ValidatesWhatTheTwilioLibraryValidates) {
  const auto v = vectors();
  const auto& cases = v.at("validate").as_array();
  ASSERT_GE(cases.size(), 8u);
  int valid = 0, invalid = 0;
  for (const auto& item : cases) {
    const auto& c = item.as_object();
    SCOPED_TRACE(std::string(c.at("url").as_string()));
    const bool expected = c.at("valid").as_bool();
    (expected ? valid : invalid)++;
    EXPECT_EQ(validate_signature(c.at("auth_token").as_string(), c.at("signature").as_string(),
                                 c.at("url").as_string(), params_of(c.at("params").as_object())),
              expected);
  }
  EXPECT_GT(valid, 0);
  EXPECT_GT(invalid, 0);
}

TEST(Signature, TheKeyedValidatorAgreesWithTheTwilioLibrary) {
  const auto v = vectors();
  int checked = 0;
  for (const auto& item : v.at("validate").as_array()) {
    const auto& c = item.as_object();
    SCOPED_TRACE(std::string(c.at("url").as_string()));
    const SignatureValidator validator(c.at("auth_token").as_string());
    EXPECT_EQ(validator.valid(c.at("signature").as_string(), c.at("url").as_string(),
                              params_of(c.at("params").as_object())),
              c.at("valid").as_bool());
    ++checked;
  }
  EXPECT_GE(checked, 8);
  const http::Params p{{"CallSid", kSid3}};
  const SignatureValidator tok("tok");
  const std::string sig = compute_signature("tok", "https://calls.example.com:443/voice", p);
  EXPECT_TRUE(tok.valid(sig, "https://calls.example.com/voice", p));
  EXPECT_FALSE(tok.valid(sig, "https://calls.example.com/voice2", p));
  EXPECT_FALSE(tok.valid("", "https://calls.example.com/voice", p));
  EXPECT_FALSE(SignatureValidator("").valid(sig, "https://calls.example.com/voice", p));
}

TEST(Signature, AcceptsWithAndWithoutDefaultPort) {
  const http::Params p{{"CallSid", kSid3}};
  const std::string sig = compute_signature("tok", "https://calls.example.com:443/voice", p);
  EXPECT_TRUE(validate_signature("tok", sig, "https://calls.example.com/voice", p));
  EXPECT_TRUE(validate_signature("tok", sig, "https://calls.example.com:443/voice", p));
  EXPECT_FALSE(validate_signature("tok", sig, "http://calls.example.com/voice", p));
  EXPECT_FALSE(validate_signature("tok", sig, "https://calls.example.com/voice2", p));
  EXPECT_FALSE(validate_signature("other", sig, "https://calls.example.com/voice", p));
  EXPECT_FALSE(validate_signature("tok", "", "https://calls.example.com/voice", p));
  EXPECT_FALSE(
      validate_signature("tok", sig, "https://calls.example.com/voice", {{"CallSid", "CA"}}));
}

TEST(Signature, UrlVariants) {
  EXPECT_EQ(url_variants("https://a.example/x?y=1"),
            (std::vector<std::string>{"https://a.example/x?y=1", "https://a.example:443/x?y=1"}));
  EXPECT_EQ(url_variants("http://a.example/x"),
            (std::vector<std::string>{"http://a.example/x", "http://a.example:80/x"}));
  EXPECT_EQ(url_variants("https://a.example:8443/x"),
            (std::vector<std::string>{"https://a.example:8443/x", "https://a.example/x"}));
  EXPECT_EQ(url_variants("https://[::1]/x"),
            (std::vector<std::string>{"https://[::1]/x", "https://[::1]:443/x"}));
  EXPECT_EQ(url_variants("not a url"), (std::vector<std::string>{"not a url"}));
}

}  // namespace
}  // namespace partyline::twilio
