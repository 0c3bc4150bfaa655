#pragma once
// The service's configuration: read once at start from the environment (and an optional .env
// file) into an immutable Config. A bad value is a ConfigError naming the variable.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace partyline::config {

// A value that must never reach a log line: no streaming operator, explicit access only.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }

 private:
  std::string value_;
};

enum class ConsentMode { kNotice, kPress1 };
enum class LogLevel { kDebug, kInfo, kWarn, kError };

struct Config {
  // Twilio
  std::string twilio_account_sid;
  Secret twilio_auth_token;
  bool local_mode = false;  // no Twilio credentials: a random token in DATA_DIR signs webhooks
  bool validate_signature = true;
  std::string twilio_api_base = "https://api.twilio.com";  // origin, no trailing slash
  std::string public_base_url;  // origin + optional path prefix, no trailing slash

  // GET /token (Voice JS access tokens)
  std::string twilio_api_key;
  Secret twilio_api_secret;
  std::string twilio_twiml_app_sid;
  Secret app_bearer_token;

  // Storage
  std::string aws_access_key_id;
  Secret aws_secret_access_key;
  Secret aws_session_token;
  std::string aws_region;
  std::string s3_bucket;
  std::string s3_endpoint;  // empty: AWS
  bool s3_force_path_style = false;

  std::string s3_prefix = "partyline/";
  std::uint64_t s3_multipart_threshold = 64ull << 20;
  std::uint64_t s3_part_size = 16ull << 20;
  std::string s3_sse;  // "", "AES256" or "aws:kms"
  std::string s3_sse_kms_key_id;

  // Recording pipeline
  std::chrono::milliseconds recording_callback_wait{10'000};
  unsigned recording_workers = 2;
  std::string recording_format = "mp3";  // or "wav"
  std::chrono::seconds recording_max_age{7 * 24 * 3600};
  // RETENTION_DAYS: recordings that started longer ago are deleted (a daily sweep); none: kept.
  std::optional<int> retention_days;

  // Transcripts (TRANSCRIBE_URL: an OpenAI-compatible /v1/audio/transcriptions; "" = off) and a
  // summary of each session (SUMMARY_URL: /v1/chat/completions).
  std::string transcribe_url;
  Secret transcribe_api_key;
  std::string transcribe_model = "whisper-1";
  std::string transcribe_language;  // ISO-639-1, "" = detected
  std::uint64_t transcribe_max_bytes = 25'000'000;
  std::chrono::milliseconds transcribe_timeout{600'000};  // one request, upload to answer
  std::string summary_url;
  Secret summary_api_key;  // default: TRANSCRIBE_API_KEY
  std::string summary_model = "gpt-4o-mini";
  std::string summary_prompt;  // SUMMARY_PROMPT_FILE's text, "" = the built-in prompt
  std::chrono::milliseconds retry_min{1'000};
  std::chrono::milliseconds retry_max{600'000};
  std::string recording_notify_url;       // POST a JSON notice when stored / dead-lettered
  bool twilio_delete_after_copy = false;  // delete Twilio's copy once ours is verified
  std::chrono::milliseconds reconcile_interval{15 * 60 * 1000};  // 0: off
  Secret metrics_token;  // bearer for GET /metrics on the public port, optional
  // A listener of its own for GET /metrics (host and port; port 0 picks a free one). Empty: none.
  std::string metrics_host;
  std::optional<std::uint16_t> metrics_port;

  // Local mode without TWILIO_API_BASE: media may come from any loopback port (the simulator).
  bool media_from_loopback = false;

  // Call flow
  Secret pin_speaker;
  Secret pin_producer;
  ConsentMode consent_mode = ConsentMode::kNotice;
  // Several rooms, their PINs and options (rooms::load reads it); empty: the one room of the
  // variables above.
  std::filesystem::path rooms_file;
  unsigned pin_attempts = 1;  // PIN entries a caller gets before the hangup

  // HTTP server
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;
  unsigned http_threads = 2;
  std::size_t max_connections = 1024;
  std::size_t max_connections_per_ip = 0;  // 0: no per-address limit
  std::chrono::seconds request_timeout{10};

  std::filesystem::path data_dir = "data";
  LogLevel log_level = LogLevel::kInfo;

  // What a production set-up still lacks (logged at start; empty when complete).
  std::vector<std::string> production_gaps;

  bool pin_gate() const { return !pin_speaker.empty() || !pin_producer.empty(); }
  bool token_enabled() const { return !twilio_api_key.empty(); }
};

// Thrown by load(): the variable and what is wrong with it, for one clear line at start.
struct ConfigError : std::runtime_error {
  ConfigError(std::string variable, const std::string& problem)
      : std::runtime_error(variable + ": " + problem), variable(std::move(variable)) {}
  std::string variable;
};

using Env = std::map<std::string, std::string>;

// Pure: the environment in, a validated Config out (or ConfigError).
Config load(const Env& env);

// The process environment as an Env.
Env process_env();

// "10s", "500ms", "15m", "72h", "7d" or a bare number of seconds.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
// "65536", "64KiB", "16MiB", "1GiB" (also KB/MB/GB as powers of 1024).
std::optional<std::uint64_t> parse_size(std::string_view text);

// Shape checks shared with request validation.
bool is_sid(std::string_view value, std::string_view prefix);  // prefix + 32 hex digits

}  // namespace partyline::config
