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
      {"RETENTION_DAYS", "0", "RETENTION_DAYS"},
      {"RETENTION_DAYS", "forever", "RETENTION_DAYS"},
      {"TRANSCRIBE_URL", "whisper.local/v1/audio/transcriptions", "TRANSCRIBE_URL"},
      {"TRANSCRIBE_LANGUAGE", "english", "TRANSCRIBE_LANGUAGE"},
      {"TRANSCRIBE_MAX_BYTES", "1KB", "TRANSCRIBE_MAX_BYTES"},
      {"TRANSCRIBE_TIMEOUT", "0s", "TRANSCRIBE_TIMEOUT"},
      {"SUMMARY_PROMPT_FILE", "/nonexistent/prompt.txt", "SUMMARY_PROMPT_FILE"},
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
  Env summary_alone = production();
  summary_alone["SUMMARY_URL"] = "https://api.openai.com/v1/chat/completions";
  EXPECT_EQ(error_variable(summary_alone), "SUMMARY_URL");
}

TEST(Config, TranscriptsAndRetention) {
  Env env = production();
  env["RETENTION_DAYS"] = "30";
  env["TRANSCRIBE_URL"] = "https://api.openai.com/v1/audio/transcriptions";
  env["TRANSCRIBE_API_KEY"] = "sk-test";
  env["TRANSCRIBE_LANGUAGE"] = "en";
  env["SUMMARY_URL"] = "https://api.openai.com/v1/chat/completions";
  const Config c = load(env);
  EXPECT_EQ(c.retention_days, 30);
  EXPECT_EQ(c.transcribe_url, "https://api.openai.com/v1/audio/transcriptions");
  EXPECT_EQ(c.transcribe_model, "whisper-1");
  EXPECT_EQ(c.transcribe_language, "en");
  EXPECT_EQ(c.transcribe_max_bytes, 25'000'000u);
  // The summary takes the transcription's key unless it has its own.
  EXPECT_EQ(c.summary_api_key.reveal(), "sk-test");
  EXPECT_FALSE(load(production()).retention_days.has_value());
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

namespace partyline::config {
namespace {

TEST(Config, RecordingPipelineSettings) {
  const Config defaults = load({});
  EXPECT_EQ(defaults.s3_prefix, "partyline/");
  EXPECT_EQ(defaults.recording_callback_wait, std::chrono::seconds(10));
  EXPECT_EQ(defaults.recording_workers, 2u);
  EXPECT_EQ(defaults.s3_multipart_threshold, 64ull << 20);
  EXPECT_EQ(defaults.s3_part_size, 16ull << 20);
  EXPECT_EQ(defaults.recording_max_age, std::chrono::hours(24 * 7));
  EXPECT_TRUE(defaults.media_from_loopback);  // local mode, no TWILIO_API_BASE

  const Config c = load({{"S3_PREFIX", "calls/"},
                         {"RECORDING_CALLBACK_WAIT", "500ms"},
                         {"RECORDING_FORMAT", "wav"},
                         {"S3_MULTIPART_THRESHOLD", "6MiB"},
                         {"S3_PART_SIZE", "5MiB"},
                         {"RECORDING_MAX_AGE", "72h"},
                         {"TWILIO_API_BASE", "http://127.0.0.1:9"}});
  EXPECT_EQ(c.s3_prefix, "calls/");
  EXPECT_EQ(c.recording_callback_wait, std::chrono::milliseconds(500));
  EXPECT_EQ(c.recording_format, "wav");
  EXPECT_EQ(c.s3_multipart_threshold, 6ull << 20);
  EXPECT_EQ(c.recording_max_age, std::chrono::hours(72));
  EXPECT_FALSE(c.media_from_loopback);

  for (auto [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"S3_PREFIX", "/abs"},
                                                        {"S3_PREFIX", "a/../b"},
                                                        {"RECORDING_CALLBACK_WAIT", "20s"},
                                                        {"RECORDING_CALLBACK_WAIT", "soon"},
                                                        {"RECORDING_FORMAT", "ogg"},
                                                        {"S3_PART_SIZE", "1MiB"},
                                                        {"S3_MULTIPART_THRESHOLD", "12 parsecs"},
                                                        {"S3_SSE", "rot13"},
                                                        {"S3_SSE_KMS_KEY_ID", "key"},
                                                        {"RECORDING_WORKERS", "0"}}) {
    SCOPED_TRACE(name + "=" + value);
    try {
      load({{name, value}});
      ADD_FAILURE() << "accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.variable, name);
    }
  }
}

TEST(Config, ParsesDurationsAndSizes) {
  EXPECT_EQ(parse_duration("10"), std::chrono::seconds(10));
  EXPECT_EQ(parse_duration("15m"), std::chrono::minutes(15));
  EXPECT_EQ(parse_duration("7d"), std::chrono::hours(168));
  EXPECT_FALSE(parse_duration("").has_value());
  EXPECT_FALSE(parse_duration("-1s").has_value());
  EXPECT_FALSE(parse_duration("3w").has_value());
  EXPECT_EQ(parse_size("65536"), 65536u);
  EXPECT_EQ(parse_size("16MiB"), 16ull << 20);
  EXPECT_EQ(parse_size("1GiB"), 1ull << 30);
  EXPECT_FALSE(parse_size("MiB").has_value());
  EXPECT_FALSE(parse_size("1TiB").has_value());
}

}  // namespace
}  // namespace partyline::config

namespace partyline::config {
namespace {

TEST(Config, RoomsFileAndPinAttempts) {
  const Config plain = load({});
  EXPECT_TRUE(plain.rooms_file.empty());
  EXPECT_EQ(plain.pin_attempts, 1u);
  const Config c = load({{"ROOMS_FILE", "/etc/partyline/rooms.toml"}, {"PIN_ATTEMPTS", "3"}});
  EXPECT_EQ(c.rooms_file, "/etc/partyline/rooms.toml");
  EXPECT_EQ(c.pin_attempts, 3u);
  EXPECT_EQ(load({{"PIN_ATTEMPTS", "5"}}).pin_attempts, 5u);
  for (const char* bad : {"0", "6", "two", "-1"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(error_variable({{"PIN_ATTEMPTS", bad}}), "PIN_ATTEMPTS");
  }
}

TEST(Config, RoomsFileWithEnvironmentPinsNamesBoth) {
  for (const char* pin : {"PIN_SPEAKER", "PIN_PRODUCER"}) {
    SCOPED_TRACE(pin);
    try {
      load({{"ROOMS_FILE", "rooms.toml"}, {pin, "1234"}});
      ADD_FAILURE() << "accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.variable, "ROOMS_FILE");
      EXPECT_NE(std::string(e.what()).find(pin), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace partyline::config
