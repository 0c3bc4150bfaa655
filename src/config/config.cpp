#include "config/config.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>

#include <arpa/inet.h>

#include <boost/url/parse.hpp>
#include <charconv>
#include <thread>

extern char** environ;  // NOLINT: POSIX

namespace partyline::config {
namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

class Reader {
 public:
  explicit Reader(const Env& env) : env_(env) {}

  // The value, or empty when unset; a set-but-empty variable counts as unset.
  std::string get(const std::string& name) const {
    auto it = env_.find(name);
    return it == env_.end() ? std::string() : it->second;
  }
  bool has(const std::string& name) const { return !get(name).empty(); }

  bool boolean(const std::string& name, bool fallback) const {
    std::string v = get(name);
    if (v.empty()) return fallback;
    for (auto& c : v)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
    if (v == "false" || v == "0" || v == "no" || v == "off") return false;
    throw ConfigError(name, "expected true or false, got '" + get(name) + "'");
  }

  unsigned long long number(const std::string& name, unsigned long long fallback,
                            unsigned long long min, unsigned long long max) const {
    const std::string v = get(name);
    if (v.empty()) return fallback;
    unsigned long long n = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || ptr != v.data() + v.size()) {
      throw ConfigError(name, "expected a whole number, got '" + v + "'");
    }
    if (n < min || n > max) {
      throw ConfigError(name, "must be between " + std::to_string(min) + " and " +
                                  std::to_string(max) + ", got " + v);
    }
    return n;
  }

 private:
  const Env& env_;
};

void require_sid(const std::string& name, const std::string& value, std::string_view prefix) {
  if (!is_sid(value, prefix)) {
    throw ConfigError(name, "expected '" + std::string(prefix) + "' followed by 32 hex digits");
  }
}

void require_token_shape(const std::string& name, const std::string& value) {
  if (value.size() < 8) throw ConfigError(name, "too short to be a real secret");
  for (unsigned char c : value) {
    if (c <= ' ' || c >= 127)
      throw ConfigError(name, "contains whitespace or non-ASCII characters");
  }
}

void require_pin(const std::string& name, const std::string& value) {
  if (value.size() != 4 ||
      !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    throw ConfigError(name, "expected exactly 4 digits");
  }
}

// scheme://host[:port][/path], http or https, nothing else; returned without a trailing slash.
std::string require_http_url(const std::string& name, const std::string& value, bool allow_path) {
  auto url = boost::urls::parse_absolute_uri(value);
  if (!url) throw ConfigError(name, "not an absolute URL");
  if (url->scheme() != "http" && url->scheme() != "https") {
    throw ConfigError(name, "must start with http:// or https://");
  }
  if (url->encoded_host().empty()) throw ConfigError(name, "has no host");
  if (url->has_userinfo()) throw ConfigError(name, "must not contain user:password@");
  if (url->has_query() || url->has_fragment()) {
    throw ConfigError(name, "must not contain a query or fragment");
  }
  std::string out = value;
  while (!out.empty() && out.back() == '/')
    out.pop_back();
  if (!allow_path && !url->encoded_path().empty() && url->encoded_path() != "/") {
    throw ConfigError(name, "must be an origin without a path (e.g. https://api.twilio.com)");
  }
  return out;
}

void require_bucket(const std::string& value) {
  const bool ok_len = value.size() >= 3 && value.size() <= 63;
  const bool ok_chars = std::all_of(value.begin(), value.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!ok_len || !ok_chars || !alnum(value.front()) || !alnum(value.back())) {
    throw ConfigError("S3_BUCKET",
                      "not a valid bucket name (3-63 lowercase letters, digits, '-' or '.')");
  }
}

void require_region(const std::string& value) {
  const bool ok =
      !value.empty() && value.size() <= 32 && std::all_of(value.begin(), value.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      });
  if (!ok) throw ConfigError("AWS_REGION", "expected a region name such as us-east-1");
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr == text.data()) return std::nullopt;
  const std::string_view unit(ptr, static_cast<std::size_t>(text.data() + text.size() - ptr));
  std::uint64_t ms_per = 0;
  if (unit == "ms") {
    ms_per = 1;
  } else if (unit.empty() || unit == "s") {
    ms_per = 1000;
  } else if (unit == "m") {
    ms_per = 60'000;
  } else if (unit == "h") {
    ms_per = 3'600'000;
  } else if (unit == "d") {
    ms_per = 86'400'000;
  } else {
    return std::nullopt;
  }
  if (n > (1ull << 40) / ms_per) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(n * ms_per));
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr == text.data()) return std::nullopt;
  const std::string_view unit(ptr, static_cast<std::size_t>(text.data() + text.size() - ptr));
  unsigned shift = 0;
  if (unit.empty() || unit == "B") {
    shift = 0;
  } else if (unit == "KiB" || unit == "KB" || unit == "K") {
    shift = 10;
  } else if (unit == "MiB" || unit == "MB" || unit == "M") {
    shift = 20;
  } else if (unit == "GiB" || unit == "GB" || unit == "G") {
    shift = 30;
  } else {
    return std::nullopt;
  }
  if (n > (1ull << (50 - shift))) return std::nullopt;
  return n << shift;
}

bool is_sid(std::string_view value, std::string_view prefix) {
  if (value.size() != prefix.size() + 32 || !value.starts_with(prefix)) return false;
  return std::all_of(value.begin() + static_cast<long>(prefix.size()), value.end(), is_hex);
}

Env process_env() {
  Env env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

Config load(const Env& env) {
  const Reader r(env);
  Config c;

  // --- Twilio account: both or neither (neither = local mode)
  const bool has_sid = r.has("TWILIO_ACCOUNT_SID");
  const bool has_token = r.has("TWILIO_AUTH_TOKEN");
  if (has_sid != has_token) {
    throw ConfigError(has_sid ? "TWILIO_AUTH_TOKEN" : "TWILIO_ACCOUNT_SID",
                      "must be set together with " +
                          std::string(has_sid ? "TWILIO_ACCOUNT_SID" : "TWILIO_AUTH_TOKEN"));
  }
  c.local_mode = !has_sid;
  if (has_sid) {
    c.twilio_account_sid = r.get("TWILIO_ACCOUNT_SID");
    require_sid("TWILIO_ACCOUNT_SID", c.twilio_account_sid, "AC");
    const std::string token = r.get("TWILIO_AUTH_TOKEN");
    require_token_shape("TWILIO_AUTH_TOKEN", token);
    c.twilio_auth_token = Secret(token);
  }
  c.validate_signature = r.boolean("TWILIO_VALIDATE_SIGNATURE", true);
  if (r.has("TWILIO_API_BASE")) {
    c.twilio_api_base = require_http_url("TWILIO_API_BASE", r.get("TWILIO_API_BASE"), false);
  }

  // --- public origin: signatures are checked against it, TwiML callbacks built from it
  if (r.has("PUBLIC_BASE_URL")) {
    c.public_base_url = require_http_url("PUBLIC_BASE_URL", r.get("PUBLIC_BASE_URL"), true);
  } else if (!c.local_mode) {
    throw ConfigError("PUBLIC_BASE_URL",
                      "required with Twilio credentials: the public https origin Twilio calls "
                      "(e.g. https://calls.example.com); signatures are checked against it");
  }

  // --- /token
  const bool has_key = r.has("TWILIO_API_KEY");
  const bool has_secret = r.has("TWILIO_API_SECRET");
  if (has_key != has_secret) {
    throw ConfigError(has_key ? "TWILIO_API_SECRET" : "TWILIO_API_KEY",
                      "TWILIO_API_KEY and TWILIO_API_SECRET must be set together");
  }
  if (has_key) {
    if (c.local_mode) {
      throw ConfigError("TWILIO_API_KEY", "needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN");
    }
    c.twilio_api_key = r.get("TWILIO_API_KEY");
    require_sid("TWILIO_API_KEY", c.twilio_api_key, "SK");
    require_token_shape("TWILIO_API_SECRET", r.get("TWILIO_API_SECRET"));
    c.twilio_api_secret = Secret(r.get("TWILIO_API_SECRET"));
  }
  if (r.has("TWILIO_TWIML_APP_SID")) {
    if (!has_key)
      throw ConfigError("TWILIO_TWIML_APP_SID", "needs TWILIO_API_KEY and TWILIO_API_SECRET");
    c.twilio_twiml_app_sid = r.get("TWILIO_TWIML_APP_SID");
    require_sid("TWILIO_TWIML_APP_SID", c.twilio_twiml_app_sid, "AP");
  }
  if (r.has("APP_BEARER_TOKEN")) {
    require_token_shape("APP_BEARER_TOKEN", r.get("APP_BEARER_TOKEN"));
    c.app_bearer_token = Secret(r.get("APP_BEARER_TOKEN"));
  }

  // --- storage
  c.s3_bucket = r.get("S3_BUCKET");
  c.aws_access_key_id = r.get("AWS_ACCESS_KEY_ID");
  if (!c.s3_bucket.empty()) {
    require_bucket(c.s3_bucket);
    for (const char* name : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"}) {
      if (!r.has(name)) throw ConfigError(name, "required when S3_BUCKET is set");
    }
  } else {
    for (const char* name : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "S3_ENDPOINT"}) {
      if (r.has(name)) {
        throw ConfigError("S3_BUCKET", std::string("must be set when ") + name +
                                           " is (recordings would otherwise stay local)");
      }
    }
  }
  if (!c.aws_access_key_id.empty()) {
    const auto& k = c.aws_access_key_id;
    if (k.size() < 3 || k.size() > 128 ||
        std::any_of(k.begin(), k.end(), [](unsigned char ch) { return ch <= ' ' || ch >= 127; })) {
      throw ConfigError("AWS_ACCESS_KEY_ID", "not a valid access key id");
    }
    const std::string secret = r.get("AWS_SECRET_ACCESS_KEY");
    if (std::any_of(secret.begin(), secret.end(),
                    [](unsigned char ch) { return ch <= ' ' || ch >= 127; })) {
      throw ConfigError("AWS_SECRET_ACCESS_KEY", "contains whitespace or non-ASCII characters");
    }
    c.aws_secret_access_key = Secret(secret);
  }
  if (r.has("AWS_SESSION_TOKEN")) {
    if (c.aws_access_key_id.empty())
      throw ConfigError("AWS_SESSION_TOKEN", "needs AWS_ACCESS_KEY_ID");
    c.aws_session_token = Secret(r.get("AWS_SESSION_TOKEN"));
  }
  if (r.has("AWS_REGION")) {
    c.aws_region = r.get("AWS_REGION");
    require_region(c.aws_region);
  }
  if (r.has("S3_ENDPOINT"))
    c.s3_endpoint = require_http_url("S3_ENDPOINT", r.get("S3_ENDPOINT"), false);
  c.s3_force_path_style = r.boolean("S3_FORCE_PATH_STYLE", !c.s3_endpoint.empty());

  if (r.has("S3_PREFIX") || env.count("S3_PREFIX")) {
    c.s3_prefix = r.get("S3_PREFIX");
    const auto& p = c.s3_prefix;
    if (p.size() > 256 || p.starts_with("/") || p.find("..") != std::string::npos ||
        p.find("//") != std::string::npos || std::any_of(p.begin(), p.end(), [](unsigned char ch) {
          return ch < ' ' || ch >= 127 || ch == '\\';
        })) {
      throw ConfigError("S3_PREFIX",
                        "expected a plain key prefix such as partyline/ (no leading '/', no '..')");
    }
  }
  const auto size = [&](const char* name, std::uint64_t fallback) {
    if (!r.has(name)) return fallback;
    auto v = parse_size(r.get(name));
    if (!v) throw ConfigError(name, "expected a size such as 16MiB or a number of bytes");
    return *v;
  };
  c.s3_multipart_threshold = size("S3_MULTIPART_THRESHOLD", c.s3_multipart_threshold);
  c.s3_part_size = size("S3_PART_SIZE", c.s3_part_size);
  if (c.s3_part_size < (5ull << 20) || c.s3_part_size > (5ull << 30)) {
    throw ConfigError("S3_PART_SIZE", "S3 parts must be between 5MiB and 5GiB");
  }
  if (c.s3_multipart_threshold < (1ull << 20)) {
    throw ConfigError("S3_MULTIPART_THRESHOLD", "must be at least 1MiB");
  }
  c.s3_sse = r.get("S3_SSE");
  if (!c.s3_sse.empty() && c.s3_sse != "AES256" && c.s3_sse != "aws:kms") {
    throw ConfigError("S3_SSE", "expected AES256 or aws:kms");
  }
  c.s3_sse_kms_key_id = r.get("S3_SSE_KMS_KEY_ID");
  if (!c.s3_sse_kms_key_id.empty() && c.s3_sse != "aws:kms") {
    throw ConfigError("S3_SSE_KMS_KEY_ID", "needs S3_SSE=aws:kms");
  }

  // --- recording pipeline
  const auto duration = [&](const char* name, std::chrono::milliseconds fallback,
                            std::chrono::milliseconds min, std::chrono::milliseconds max) {
    if (!r.has(name)) return fallback;
    auto v = parse_duration(r.get(name));
    if (!v) throw ConfigError(name, "expected a duration such as 10s, 500ms, 15m, 72h or 7d");
    if (*v < min || *v > max) {
      throw ConfigError(name, "out of range (" + std::to_string(min.count()) + " ms to " +
                                  std::to_string(max.count()) + " ms)");
    }
    return *v;
  };
  using std::chrono::milliseconds;
  c.recording_callback_wait = duration("RECORDING_CALLBACK_WAIT", c.recording_callback_wait,
                                       milliseconds(0), milliseconds(14'000));
  c.recording_max_age = std::chrono::duration_cast<std::chrono::seconds>(
      duration("RECORDING_MAX_AGE", c.recording_max_age, milliseconds(1'000),
               milliseconds(365ll * 86'400'000)));
  c.retry_min =
      duration("RECORDING_RETRY_MIN", c.retry_min, milliseconds(10), milliseconds(3'600'000));
  c.retry_max = duration("RECORDING_RETRY_MAX", c.retry_max, c.retry_min, milliseconds(86'400'000));
  c.recording_workers = static_cast<unsigned>(r.number("RECORDING_WORKERS", 2, 1, 64));
  if (r.has("RETENTION_DAYS")) {
    c.retention_days = static_cast<int>(r.number("RETENTION_DAYS", 0, 1, 36'500));
  }
  if (r.has("TRANSCRIBE_URL")) {
    c.transcribe_url = require_http_url("TRANSCRIBE_URL", r.get("TRANSCRIBE_URL"), true);
  }
  if (r.has("TRANSCRIBE_API_KEY")) c.transcribe_api_key = Secret(r.get("TRANSCRIBE_API_KEY"));
  if (r.has("TRANSCRIBE_MODEL")) c.transcribe_model = r.get("TRANSCRIBE_MODEL");
  if (r.has("TRANSCRIBE_LANGUAGE")) {
    c.transcribe_language = r.get("TRANSCRIBE_LANGUAGE");
    if (c.transcribe_language.size() != 2 ||
        !std::all_of(c.transcribe_language.begin(), c.transcribe_language.end(),
                     [](char ch) { return ch >= 'a' && ch <= 'z'; })) {
      throw ConfigError("TRANSCRIBE_LANGUAGE", "expected an ISO-639-1 code such as en");
    }
  }
  c.transcribe_max_bytes = size("TRANSCRIBE_MAX_BYTES", c.transcribe_max_bytes);
  c.transcribe_timeout = duration("TRANSCRIBE_TIMEOUT", c.transcribe_timeout, milliseconds(1'000),
                                  milliseconds(3'600'000));
  if (c.transcribe_max_bytes < (64ull << 10)) {
    throw ConfigError("TRANSCRIBE_MAX_BYTES", "must be at least 64KiB");
  }
  if (r.has("SUMMARY_URL")) {
    c.summary_url = require_http_url("SUMMARY_URL", r.get("SUMMARY_URL"), true);
    if (c.transcribe_url.empty()) throw ConfigError("SUMMARY_URL", "needs TRANSCRIBE_URL");
  }
  c.summary_api_key =
      r.has("SUMMARY_API_KEY") ? Secret(r.get("SUMMARY_API_KEY")) : c.transcribe_api_key;
  if (r.has("SUMMARY_MODEL")) c.summary_model = r.get("SUMMARY_MODEL");
  if (r.has("SUMMARY_PROMPT_FILE")) {
    std::ifstream in(r.get("SUMMARY_PROMPT_FILE"));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in && !in.eof()) throw ConfigError("SUMMARY_PROMPT_FILE", "cannot be read");
    if (text.empty() || text.size() > 16 * 1024) {
      throw ConfigError("SUMMARY_PROMPT_FILE", "must hold a prompt of 1 byte to 16 KiB");
    }
    c.summary_prompt = std::move(text);
  }
  c.recording_format = r.has("RECORDING_FORMAT") ? r.get("RECORDING_FORMAT") : "mp3";
  if (c.recording_format != "mp3" && c.recording_format != "wav") {
    throw ConfigError("RECORDING_FORMAT", "expected mp3 or wav");
  }
  c.media_from_loopback = c.local_mode && !r.has("TWILIO_API_BASE");
  if (r.has("RECORDING_NOTIFY_URL")) {
    c.recording_notify_url =
        require_http_url("RECORDING_NOTIFY_URL", r.get("RECORDING_NOTIFY_URL"), true);
  }
  c.twilio_delete_after_copy = r.boolean("TWILIO_DELETE_AFTER_COPY", false);
  if (c.twilio_delete_after_copy && c.local_mode) {
    throw ConfigError("TWILIO_DELETE_AFTER_COPY", "needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN");
  }
  c.reconcile_interval = duration("RECONCILE_INTERVAL", c.reconcile_interval, milliseconds(0),
                                  milliseconds(7ll * 86'400'000));
  if (c.reconcile_interval.count() > 0 && c.reconcile_interval < std::chrono::seconds(1)) {
    throw ConfigError("RECONCILE_INTERVAL", "at least 1s (or 0 to turn the reconciler off)");
  }
  if (r.has("METRICS_TOKEN")) {
    require_token_shape("METRICS_TOKEN", r.get("METRICS_TOKEN"));
    c.metrics_token = Secret(r.get("METRICS_TOKEN"));
  }

  // --- call flow
  if (r.has("PIN_SPEAKER")) {
    require_pin("PIN_SPEAKER", r.get("PIN_SPEAKER"));
    c.pin_speaker = Secret(r.get("PIN_SPEAKER"));
  }
  if (r.has("PIN_PRODUCER")) {
    require_pin("PIN_PRODUCER", r.get("PIN_PRODUCER"));
    c.pin_producer = Secret(r.get("PIN_PRODUCER"));
  }
  if (!c.pin_speaker.empty() && c.pin_speaker.reveal() == c.pin_producer.reveal()) {
    throw ConfigError("PIN_PRODUCER", "must differ from PIN_SPEAKER");
  }
  if (r.has("ROOMS_FILE")) {
    for (const char* pin : {"PIN_SPEAKER", "PIN_PRODUCER"}) {
      if (r.has(pin)) {
        throw ConfigError("ROOMS_FILE", std::string("cannot be set together with ") + pin +
                                            ": with a rooms file, every PIN is in the file");
      }
    }
    c.rooms_file = r.get("ROOMS_FILE");
  }
  c.pin_attempts = static_cast<unsigned>(r.number("PIN_ATTEMPTS", 1, 1, 5));
  const std::string consent = r.get("CONSENT_MODE");
  if (consent.empty() || consent == "notice") {
    c.consent_mode = ConsentMode::kNotice;
  } else if (consent == "press1") {
    c.consent_mode = ConsentMode::kPress1;
  } else {
    throw ConfigError("CONSENT_MODE", "expected 'notice' or 'press1', got '" + consent + "'");
  }

  // --- HTTP server and process
  if (r.has("HOST")) {
    c.host = r.get("HOST");
    if (!is_ip_literal(c.host))
      throw ConfigError("HOST", "expected an IP address such as 0.0.0.0 or 127.0.0.1");
  }
  c.port = static_cast<std::uint16_t>(r.number("PORT", 8080, 0, 65535));
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  c.http_threads = static_cast<unsigned>(r.number("HTTP_THREADS", cores, 1, 256));
  c.max_connections = r.number("HTTP_MAX_CONNECTIONS", 1024, 1, 1'000'000);
  c.max_connections_per_ip = r.number("HTTP_MAX_CONNECTIONS_PER_IP", 0, 0, 1'000'000);
  c.request_timeout = std::chrono::seconds(r.number("HTTP_REQUEST_TIMEOUT", 10, 1, 3600));
  // /metrics tells how busy the line is: in production it has a loopback listener of its own
  // (or METRICS_TOKEN on the public port); local mode keeps it on the public port only.
  const std::string metrics_listen =
      r.has("METRICS_LISTEN") ? r.get("METRICS_LISTEN") : (c.local_mode ? "off" : "127.0.0.1:9464");
  if (metrics_listen != "off") {
    const auto colon = metrics_listen.rfind(':');
    std::string host = colon == std::string::npos ? "" : metrics_listen.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    const std::string port = colon == std::string::npos ? "" : metrics_listen.substr(colon + 1);
    unsigned long value = 0;
    const bool port_ok = !port.empty() && port.size() <= 5 &&
                         port.find_first_not_of("0123456789") == std::string::npos &&
                         (value = std::stoul(port)) <= 65535;
    if (!is_ip_literal(host) || !port_ok) {
      throw ConfigError("METRICS_LISTEN", "expected IP:PORT such as 127.0.0.1:9464, or off");
    }
    c.metrics_host = host;
    c.metrics_port = static_cast<std::uint16_t>(value);
  }
  if (r.has("DATA_DIR")) c.data_dir = r.get("DATA_DIR");

  const std::string level = r.get("LOG_LEVEL");
  if (level.empty() || level == "info") {
    c.log_level = LogLevel::kInfo;
  } else if (level == "debug") {
    c.log_level = LogLevel::kDebug;
  } else if (level == "warn") {
    c.log_level = LogLevel::kWarn;
  } else if (level == "error") {
    c.log_level = LogLevel::kError;
  } else {
    throw ConfigError("LOG_LEVEL", "expected debug, info, warn or error, got '" + level + "'");
  }

  // --- what production still lacks
  if (c.local_mode) {
    c.production_gaps.push_back(
        "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (webhooks are checked against a local token in "
        "DATA_DIR/local-credentials.json)");
  }
  if (c.s3_bucket.empty()) {
    c.production_gaps.push_back(
        "S3_BUCKET and AWS credentials (recordings stay in DATA_DIR/recordings)");
  }
  if (c.public_base_url.empty()) {
    c.production_gaps.push_back("PUBLIC_BASE_URL (the public https origin Twilio calls)");
  } else if (c.public_base_url.starts_with("http://")) {
    c.production_gaps.push_back("PUBLIC_BASE_URL over https (Twilio should reach you over TLS)");
  }
  if (!c.validate_signature) c.production_gaps.push_back("TWILIO_VALIDATE_SIGNATURE=true");
  return c;
}

}  // namespace partyline::config
