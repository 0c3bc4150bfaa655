// The transfer is set up here rather than through net::perform: it needs a multipart body
// streamed from a file (curl_mime) and the Retry-After header, which that client does not offer;
// the safety settings are the same (https only unless allowed, no redirects, no signals, timeouts,
// a cap on the answer).
#include "transcribe/client.hpp"

#include <boost/json.hpp>
#include <cctype>
#include <cmath>
#include <exception>
#include <string>
#include <system_error>
#include <utility>

#include "net/curl.hpp"
#include "util/crypto.hpp"

namespace partyline::transcribe {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxMessage = 300;  // of a server's error text copied into our reasons
constexpr long kMaxRetryAfter = 24 * 3600;

ApiFailure soon(std::string reason, int status = 0,
                std::optional<std::chrono::seconds> retry_after = std::nullopt) {
  return {util::Failure::soon(std::move(reason), status), retry_after};
}
ApiFailure later(std::string reason, int status = 0) {
  return {util::Failure::later(std::move(reason), status)};
}

// One request as sent: a JSON body, or the multipart form when `form` is set.
struct Request {
  std::string json_body{};
  curl_mime* form = nullptr;
};

// What came back: the status, the body (within kMaxAnswerBytes) and Retry-After.
struct Answer {
  int status = 0;
  std::string body;
  std::optional<std::chrono::seconds> retry_after;
};

// Shared with libcurl's callbacks.
struct Transfer {
  Answer answer;
  bool over_limit = false;
};

std::size_t on_data(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (transfer.answer.body.size() + n > kMaxAnswerBytes) {
    transfer.over_limit = true;
    return 0;  // less than given: libcurl aborts with CURLE_WRITE_ERROR
  }
  try {
    transfer.answer.body.append(data, n);
  } catch (const std::exception&) {
    return 0;
  }
  return n;
}

// Header lines arrive one by one, for every response of the transfer (a "100 Continue" first).
std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  const std::string_view line(data, n);
  constexpr std::string_view kName = "retry-after:";
  if (line.starts_with("HTTP/")) {
    transfer.answer.retry_after.reset();
  } else if (line.size() > kName.size()) {
    bool match = true;
    for (std::size_t i = 0; i < kName.size() && match; ++i)
      match = std::tolower(static_cast<unsigned char>(line[i])) == kName[i];
    if (match) transfer.answer.retry_after = parse_retry_after(line.substr(kName.size()));
  }
  return n;
}

CURLcode configure(CURL* curl, const ClientOptions& options, const Request& request,
                   curl_slist* headers, Transfer& transfer, char* errors) {
  const char* protocols = options.allow_http ? "http,https" : "https";
  const std::pair<CURLoption, long> longs[] = {
      {CURLOPT_NOSIGNAL, 1L},  // no SIGALRM for DNS timeouts: we run on worker threads
      {CURLOPT_FOLLOWLOCATION, 0L},
      {CURLOPT_CONNECTTIMEOUT, static_cast<long>(options.connect_timeout.count())},
      {CURLOPT_TIMEOUT, static_cast<long>(options.timeout.count())},
  };
  for (const auto& [option, value] : longs) {
    if (CURLcode rc = curl_easy_setopt(curl, option, value); rc != CURLE_OK) return rc;
  }
  const std::pair<CURLoption, const char*> strings[] = {
      {CURLOPT_URL, options.url.c_str()},
      {CURLOPT_PROTOCOLS_STR, protocols},
      {CURLOPT_USERAGENT, "partyline/" PARTYLINE_VERSION},
  };
  for (const auto& [option, value] : strings) {
    if (CURLcode rc = curl_easy_setopt(curl, option, value); rc != CURLE_OK) return rc;
  }
  CURLcode rc = CURLE_OK;
  if (request.form != nullptr) {
    rc = curl_easy_setopt(curl, CURLOPT_MIMEPOST, request.form);
  } else {
    rc = curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                          static_cast<curl_off_t>(request.json_body.size()));
    if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.json_body.data());
  }
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errors);
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  return rc;
}

// `text` cut to at most `limit` bytes, not inside a UTF-8 sequence.
std::string cut(std::string text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t at = limit;
  while (at > 0 && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80)
    --at;
  return text.substr(0, at) + "…";
}

// The server's own words on a refused request: OpenAI's {"error":{"message"}}, whisper.cpp's
// {"error"}, FastAPI's {"detail"}, a plain {"message"}, or a short non-JSON body as it is.
std::string server_message(const std::string& body) {
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (ec) return body.size() <= kMaxMessage ? body : std::string();
  const json::object* o = v.if_object();
  if (o == nullptr) return {};
  const json::value* error = o->if_contains("error");
  if (error && error->is_object()) {
    const json::value* message = error->get_object().if_contains("message");
    if (message && message->is_string()) return std::string(message->get_string());
  }
  for (const char* name : {"error", "detail", "message"}) {
    const json::value* text = o->if_contains(name);
    if (text && text->is_string()) return std::string(text->get_string());
  }
  return {};
}

ApiFailure refused(const Answer& answer, std::string_view secret) {
  std::string reason = "HTTP " + std::to_string(answer.status);
  std::string message = server_message(answer.body);
  for (char& c : message)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  if (!message.empty()) reason += ": " + cut(std::move(message), kMaxMessage);
  reason = util::scrub_secret(std::move(reason), secret);
  if (answer.status == 429 || answer.status == 408 || answer.status >= 500) {
    return soon(std::move(reason), answer.status, answer.retry_after);
  }
  return later(std::move(reason), answer.status);
}

// One POST to options.url on `curl`; any HTTP status is an Answer, a transfer that did not finish
// a failure.
ApiResult<Answer> post(const ClientOptions& options, const net::Easy& curl, const Request& request,
                       const std::string& content_type) {
  net::Headers headers;
  bool ok = net::append_header(headers, "Accept: application/json");
  if (!content_type.empty())
    ok = ok && net::append_header(headers, "Content-Type: " + content_type);
  if (!options.api_key.empty()) {
    ok = ok && net::append_header(headers, "Authorization: Bearer " + options.api_key.reveal());
  }
  if (!ok) return later("out of memory for headers");
  Transfer transfer;
  char errors[CURL_ERROR_SIZE] = {};
  if (CURLcode rc = configure(curl.get(), options, request, headers.get(), transfer, errors);
      rc != CURLE_OK) {
    return later("curl_easy_setopt: " + std::string(curl_easy_strerror(rc)));
  }
  const CURLcode rc = curl_easy_perform(curl.get());
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  transfer.answer.status = static_cast<int>(status);
  if (rc == CURLE_OK) return std::move(transfer.answer);
  const std::string& key = options.api_key.reveal();
  if (transfer.over_limit) {
    return later("the answer is larger than 16 MiB", transfer.answer.status);
  }
  std::string reason = util::scrub_secret(net::transfer_error(rc, errors), key);
  if (net::transient_error(rc)) return soon(std::move(reason), transfer.answer.status);
  return later(std::move(reason), transfer.answer.status);
}

// A form field's value must not be able to end its part's header or the form.
bool header_safe(std::string_view text) {
  for (const char c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == '"') return false;
  return true;
}

bool add_field(curl_mime* form, const char* name, const std::string& value) {
  curl_mimepart* part = curl_mime_addpart(form);
  return part != nullptr && curl_mime_name(part, name) == CURLE_OK &&
         curl_mime_data(part, value.data(), value.size()) == CURLE_OK;
}

}  // namespace

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back())))
    value.remove_suffix(1);
  // Digits, then at most one fraction: "2", "1.5" (strtod would also take "inf", "1e9", "0x10").
  const std::size_t dot = value.find('.');
  const std::string_view whole = value.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? "" : value.substr(dot + 1);
  const auto digits = [](std::string_view s) {
    for (const char c : s)
      if (c < '0' || c > '9') return false;
    return true;
  };
  if (whole.empty() || !digits(whole) || !digits(fraction)) return std::nullopt;
  if (dot != std::string_view::npos && fraction.empty()) return std::nullopt;
  if (whole.size() > 9) return std::chrono::seconds(kMaxRetryAfter);
  long seconds = std::stol(std::string(whole));
  if (fraction.find_first_not_of('0') != std::string_view::npos) ++seconds;
  return std::chrono::seconds(std::min(seconds, kMaxRetryAfter));
}

Client::Client(ClientOptions options) : options_(std::move(options)) {}

ApiResult<Transcript> Client::transcribe(const std::filesystem::path& file,
                                         const std::string& content_type) const {
  if (!options_.allow_http && !options_.url.starts_with("https://")) {
    return later("refusing a URL that is not https");
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return later("the audio file " + file.filename().string() + " is missing");
  }
  if (!header_safe(file.filename().string()) || !header_safe(content_type)) {
    return later("the audio file's name or content type has a quote or a control character");
  }
  const net::Easy curl = net::make_easy();
  if (!curl) return later(net::curl_init_error());
  net::Mime form(curl_mime_init(curl.get()));  // a form belongs to the handle that sends it
  if (!form) return later("curl_mime_init failed");
  bool ok = add_field(form.get(), "model", options_.model) &&
            add_field(form.get(), "response_format", "verbose_json") &&
            add_field(form.get(), "timestamp_granularities[]", "segment");
  if (ok && !options_.language.empty()) ok = add_field(form.get(), "language", options_.language);
  // The file last, so a server reading the form as it arrives knows the other fields first.
  curl_mimepart* part = ok ? curl_mime_addpart(form.get()) : nullptr;
  // curl_mime_filedata also names the part's file after the path's last component.
  ok = part != nullptr && curl_mime_name(part, "file") == CURLE_OK &&
       curl_mime_filedata(part, file.c_str()) == CURLE_OK &&
       curl_mime_type(part, content_type.c_str()) == CURLE_OK;
  if (!ok) return later("could not build the multipart form");

  auto answer = post(options_, curl, Request{.form = form.get()}, "");
  if (!answer) return answer.error();
  if (answer->status < 200 || answer->status > 299) {
    return refused(*answer, options_.api_key.reveal());
  }
  auto transcript = parse(answer->body);
  if (!transcript) return later(transcript.error().reason, answer->status);
  return std::move(*transcript);
}

ApiResult<std::string> Client::summarize(const std::string& prompt, const std::string& text) const {
  const json::object body{
      {"model", options_.model},
      {"messages", json::array{json::object{{"role", "system"}, {"content", prompt}},
                               json::object{{"role", "user"}, {"content", text}}}}};
  if (!options_.allow_http && !options_.url.starts_with("https://")) {
    return later("refusing a URL that is not https");
  }
  const net::Easy curl = net::make_easy();
  if (!curl) return later(net::curl_init_error());
  auto answer =
      post(options_, curl, Request{.json_body = json::serialize(body)}, "application/json");
  if (!answer) return answer.error();
  if (answer->status < 200 || answer->status > 299) {
    return refused(*answer, options_.api_key.reveal());
  }
  boost::system::error_code ec;
  const json::value document = json::parse(answer->body, ec);
  const json::value* content =
      ec ? nullptr : document.find_pointer("/choices/0/message/content", ec);
  if (content == nullptr || !content->is_string() || content->get_string().empty()) {
    return later("the summary answer has no choices[0].message.content", answer->status);
  }
  return std::string(content->get_string());
}

}  // namespace partyline::transcribe
