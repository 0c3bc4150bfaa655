#include <gtest/gtest.h>

#include "config/config.hpp"
#include "config/env_file.hpp"

namespace partyline::config {
namespace {

const std::string kAc = "AC" + std::string(32, 'a');

Env production() {
  return {{"TWILIO_ACCOUNT_SID", kAc},
          {"TWILIO_AUTH_TOKEN", std::string(32, 'f')},
          {"PUBLIC_BASE_URL", "https://calls.example.com/"}};
}

std::string error_variable(const Env& env) {
  try {
    load(env);
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(e.variable), std::string::npos);
    return e.variable;
  }
  return "";
}

TEST(Config, EmptyEnvironmentIsLocalMode) {
  const Config c = load({});
  EXPECT_TRUE(c.local_mode);
  EXPECT_TRUE(c.validate_signature);
  EXPECT_EQ(c.port, 8080);
  EXPECT_EQ(c.host, "0.0.0.0");
  EXPECT_EQ(c.data_dir, "data");
  EXPECT_EQ(c.twilio_api_base, "https://api.twilio.com");
  EXPECT_FALSE(c.pin_gate());
  EXPECT_FALSE(c.production_gaps.empty());
}

TEST(Config, ProductionValues) {
  Env env = production();
  env["PIN_SPEAKER"] = "1234";
  env["PIN_PRODUCER"] = "9876";
  env["CONSENT_MODE"] = "press1";
  env["PORT"] = "9000";
  env["S3_BUCKET"] = "partyline-recordings";
  env["AWS_ACCESS_KEY_ID"] = "AKIAIOSFODNN7EXAMPLE";
  env["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  env["AWS_REGION"] = "us-east-1";
  env["S3_ENDPOINT"] = "http://127.0.0.1:9000";
  const Config c = load(env);
  EXPECT_FALSE(c.local_mode);
  EXPECT_EQ(c.public_base_url, "https://calls.example.com");  // trailing slash dropped
  EXPECT_TRUE(c.pin_gate());
  EXPECT_EQ(c.consent_mode, ConsentMode::kPress1);
  EXPECT_EQ(c.port, 9000);
  EXPECT_TRUE(c.s3_force_path_style);  // a custom endpoint defaults to path-style
  EXPECT_EQ(c.pin_speaker.reveal(), "1234");
}

TEST(Config, BadValuesNameTheirVariable) {
  struct Case {
    const char* name;
    const char* value;
    const char* variable;
  } cases[] = {
      {"PIN_SPEAKER", "12a4", "PIN_SPEAKER"},
      {"PIN_SPEAKER", "12345", "PIN_SPEAKER"},
      {"PIN_PRODUCER", "123", "PIN_PRODUCER"},
      {"PORT", "99999", "PORT"},
      {"PORT", "80x", "PORT"},
      {"HOST", "example.com", "HOST"},
      {"TWILIO_ACCOUNT_SID", "AC123", "TWILIO_ACCOUNT_SID"},
      {"TWILIO_AUTH_TOKEN", "short", "TWILIO_AUTH_TOKEN"},
      {"PUBLIC_BASE_URL", "ftp://calls.example.com", "PUBLIC_BASE_URL"},
      {"PUBLIC_BASE_URL", "calls.example.com", "PUBLIC_BASE_URL"},
      {"PUBLIC_BASE_URL", "https://calls.example.com/?x=1", "PUBLIC_BASE_URL"},
      {"TWILIO_API_BASE", "https://api.twilio.com/2010-04-01", "TWILIO_API_BASE"},
      {"TWILIO_VALIDATE_SIGNATURE", "maybe", "TWILIO_VALIDATE_SIGNATURE"},
      {"CONSENT_MODE", "always", "CONSENT_MODE"},
      {"LOG_LEVEL", "loud", "LOG_LEVEL"},
      {"S3_BUCKET", "Bad_Bucket", "S3_BUCKET"},
      {"TWILIO_API_KEY", "SK", "TWILIO_API_SECRET"},
      {"HTTP_THREADS", "0", "HTTP_THREADS"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.name) + "=" + c.value);
    Env env = production();
    env[c.name] = c.value;
    EXPECT_EQ(error_variable(env), c.variable);
  }
}

TEST(Config, CrossVariableRules) {
  EXPECT_EQ(error_variable({{"TWILIO_ACCOUNT_SID", kAc}}), "TWILIO_AUTH_TOKEN");
  EXPECT_EQ(error_variable({{"TWILIO_AUTH_TOKEN", std::string(32, 'f')}}), "TWILIO_ACCOUNT_SID");
  Env no_base = production();
  no_base.erase("PUBLIC_BASE_URL");
  EXPECT_EQ(error_variable(no_base), "PUBLIC_BASE_URL");
  Env same = production();
  same["PIN_SPEAKER"] = same["PIN_PRODUCER"] = "1234";
  EXPECT_EQ(error_variable(same), "PIN_PRODUCER");
  Env bucket_only = production();
  bucket_only["S3_BUCKET"] = "partyline-recordings";
  EXPECT_EQ(error_variable(bucket_only), "AWS_ACCESS_KEY_ID");
  Env keys_only = production();
  keys_only["AWS_ACCESS_KEY_ID"] = "AKIAIOSFODNN7EXAMPLE";
  EXPECT_EQ(error_variable(keys_only), "S3_BUCKET");
  Env app_without_key = production();
  app_without_key["TWILIO_TWIML_APP_SID"] = "AP" + std::string(32, '1');
  EXPECT_EQ(error_variable(app_without_key), "TWILIO_TWIML_APP_SID");
  Env key_in_local = {{"TWILIO_API_KEY", "SK" + std::string(32, '1')},
                      {"TWILIO_API_SECRET", "secretsecret"}};
  EXPECT_EQ(error_variable(key_in_local), "TWILIO_API_KEY");
}

TEST(Config, SignatureValidationCanBeTurnedOffExplicitly) {
  Env env = production();
  env["TWILIO_VALIDATE_SIGNATURE"] = "false";
  const Config c = load(env);
  EXPECT_FALSE(c.validate_signature);
  EXPECT_FALSE(c.production_gaps.empty());
}

TEST(EnvFile, ParsesTheUsualForms) {
  const Env env = parse_env_file(
      "# comment\n"
      "\n"
      "PLAIN=value\n"
      "export EXPORTED=yes\n"
      "SPACED = padded  \n"
      "SINGLE='it''s # not a comment'\n"
      "DOUBLE=\"line\\nnext \\\"q\\\"\"\n"
      "INLINE=abc # trailing comment\n"
      "EMPTY=\n"
      "WINDOWS=crlf\r\n"
      "LAST=no-newline");
  EXPECT_EQ(env.at("PLAIN"), "value");
  EXPECT_EQ(env.at("EXPORTED"), "yes");
  EXPECT_EQ(env.at("SPACED"), "padded");
  EXPECT_EQ(env.at("SINGLE"), "it''s # not a comment");
  EXPECT_EQ(env.at("DOUBLE"), "line\nnext \"q\"");
  EXPECT_EQ(env.at("INLINE"), "abc");
  EXPECT_EQ(env.at("EMPTY"), "");
  EXPECT_EQ(env.at("WINDOWS"), "crlf");
  EXPECT_EQ(env.at("LAST"), "no-newline");
}

TEST(EnvFile, MalformedLinesAreErrors) {
  for (const char* text : {"NOEQUALS\n", "1BAD=x\n", "BAD-NAME=x\n", "Q=\"unterminated\n"}) {
    SCOPED_TRACE(text);
    EXPECT_THROW(parse_env_file(text), ConfigError);
  }
}

}  // namespace
}  // namespace partyline::config
