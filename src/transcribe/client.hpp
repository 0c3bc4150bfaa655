#pragma once
// A client for OpenAI-compatible speech and chat endpoints (OpenAI, Groq, a self-hosted
// faster-whisper or whisper.cpp server): one audio file, streamed from disk as a multipart form,
// in; its transcript out. Also a summary of a transcript from /v1/chat/completions. Failures say
// whether to retry soon or later, and how long a 429 asked us to wait; none carries the API key.
#include <boost/system/result.hpp>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "transcribe/transcript.hpp"
#include "util/result.hpp"

namespace partyline::transcribe {

struct ClientOptions {
  std::string url;  // the full endpoint URL: …/v1/audio/transcriptions or …/v1/chat/completions
  config::Secret api_key;  // sent as "Authorization: Bearer <key>" when not empty
  std::string model = "whisper-1";
  std::string language;  // ISO-639-1 ("en") for transcriptions; "" lets the server detect it
  std::chrono::seconds timeout{600};  // the whole request: upload, the server's work, the answer
  std::chrono::seconds connect_timeout{10};
  bool allow_http = false;  // otherwise https only (tests: http://127.0.0.1)
};

// A request that did not give a usable answer: util::Failure (reason, HTTP status, retry soon or
// later) and, when the server sent Retry-After in seconds (a 429 or a 503), how long it asked
// us to wait before the next attempt. Slices to util::Failure where only that is wanted.
struct ApiFailure : util::Failure {
  std::optional<std::chrono::seconds> retry_after{};
};

// result.value() on an ApiFailure throws this (found by boost::system through ADL).
[[noreturn]] inline void throw_exception_from_error(const ApiFailure& failure,
                                                    const boost::source_location& location) {
  util::throw_exception_from_error(failure, location);
}

template <typename T>
using ApiResult = boost::system::result<T, ApiFailure>;

// A Retry-After value in delta-seconds ("2", also "1.5", rounded up), capped at one day;
// nullopt for anything else (an HTTP date included: the caller's own backoff applies then).
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value);

// Blocking; each call is one transfer on its own libcurl handle, so one Client may serve several
// threads at once. Outcomes of both calls: a 2xx with the expected JSON -> the value; a 2xx
// without it -> later; 429 -> soon with retry_after; 408 and 5xx -> soon (retry_after when
// given); any other status -> later, with the server's error message (OpenAI's
// {"error":{"message"}}, or "error", "detail", "message"), cut to 300 bytes; a timeout, a refused
// or dropped connection -> soon; an answer over 16 MiB, a URL that is not https (unless
// allow_http) or an unreadable file -> later. No redirects are followed.
class Client {
 public:
  explicit Client(ClientOptions options);

  // POST url as multipart/form-data: `file` (streamed from disk; its file name and
  // `content_type`, e.g. "audio/mpeg": servers tell the format by the name's extension), `model`,
  // `response_format=verbose_json`, `timestamp_granularities[]=segment`, and `language` when set.
  ApiResult<Transcript> transcribe(const std::filesystem::path& file,
                                   const std::string& content_type) const;

  // POST url as JSON: {"model","messages":[{"role":"system","content":prompt},{"role":"user",
  // "content":text}]}; the answer's choices[0].message.content (not empty).
  ApiResult<std::string> summarize(const std::string& prompt, const std::string& text) const;

  const ClientOptions& options() const { return options_; }

 private:
  ClientOptions options_;
};

}  // namespace partyline::transcribe
