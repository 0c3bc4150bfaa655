#include "twilio/rest.hpp"
#include "util/crypto.hpp"
#include "net/curl.hpp"

#include <curl/curl.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "twilio/sid.hpp"

namespace partyline::twilio {
namespace {

namespace json = boost::json;

constexpr int kMaxPages = 1000;
// A page of 1000 recordings is about 1 MB; anything far larger is not Twilio talking.
constexpr std::size_t kMaxBody = 32 * 1024 * 1024;
constexpr std::size_t kMaxMessage = 300;  // of Twilio's error text copied into our errors

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

struct Response {
  bool transported = false;  // a complete HTTP response arrived
  int status = 0;
  std::string body;
  std::string error;  // transport failure, when !transported
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& body = *static_cast<std::string*>(user);
  const std::size_t n = size * count;
  if (body.size() + n > kMaxBody) return 0;  // makes curl abort with CURLE_WRITE_ERROR
  try {
    body.append(data, n);
  } catch (const std::exception&) {
    return 0;  // must not unwind through libcurl's C frames
  }
  return n;
}

CURLcode configure(CURL* curl, const RestOptions& options, const char* method,
                   const std::string& url, curl_slist* headers, std::string& body, char* errors) {
  const char* protocols = options.allow_http ? "http,https" : "https";
  const std::pair<CURLoption, long> longs[] = {
      {CURLOPT_NOSIGNAL, 1L},  // no SIGALRM for DNS timeouts: we run on worker threads
      {CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC)},
      // The REST API answers directly; a redirect would be something else speaking for it.
      {CURLOPT_FOLLOWLOCATION, 0L},
      {CURLOPT_CONNECTTIMEOUT, 10L},
      {CURLOPT_TIMEOUT, static_cast<long>(options.timeout.count())},
  };
  for (const auto& [option, value] : longs) {
    if (CURLcode rc = curl_easy_setopt(curl, option, value); rc != CURLE_OK) return rc;
  }
  const std::pair<CURLoption, const char*> strings[] = {
      {CURLOPT_URL, url.c_str()},
      {CURLOPT_CUSTOMREQUEST, method},
      {CURLOPT_USERNAME, options.username.c_str()},
      {CURLOPT_PASSWORD, options.password.c_str()},
      {CURLOPT_PROTOCOLS_STR, protocols},
      {CURLOPT_USERAGENT, "partyline/" PARTYLINE_VERSION},
  };
  for (const auto& [option, value] : strings) {
    if (CURLcode rc = curl_easy_setopt(curl, option, value); rc != CURLE_OK) return rc;
  }
  if (CURLcode rc = curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers); rc != CURLE_OK) return rc;
  if (CURLcode rc = curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errors); rc != CURLE_OK) return rc;
  if (CURLcode rc = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body); rc != CURLE_OK) {
    return rc;
  }
  return curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
}

// One request on its own easy handle, so a RestClient is safe to share between threads.
Response perform(const RestOptions& options, const char* method, const std::string& url) {
  Response response;
  if (!options.allow_http && !url.starts_with("https://")) {
    response.error = "refusing a non-https URL for the Twilio REST API";
    return response;
  }
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    response.error = net::curl_init_error();
    return response;
  }
  std::unique_ptr<curl_slist, SlistDeleter> headers(
      curl_slist_append(nullptr, "Accept: application/json"));
  char errors[CURL_ERROR_SIZE] = {};
  CURLcode rc = configure(curl.get(), options, method, url, headers.get(), response.body, errors);
  if (rc != CURLE_OK) {
    response.error = "curl_easy_setopt: " + std::string(curl_easy_strerror(rc));
    return response;
  }
  rc = curl_easy_perform(curl.get());
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  if (rc != CURLE_OK) {
    response.error =
        std::string(curl_easy_strerror(rc)) + (errors[0] ? std::string(": ") + errors : "");
    response.error = util::scrub_secret(std::move(response.error), options.password);
    return response;
  }
  response.transported = true;
  return response;
}

// "HTTP 401: Authenticate" from Twilio's JSON error ({"code","message","more_info","status"}),
// or just "HTTP 401" when the body says nothing usable.
std::string http_error(const Response& response, std::string_view secret) {
  std::string error = "HTTP " + std::to_string(response.status);
  boost::system::error_code ec;
  const json::value body = json::parse(response.body, ec);
  if (ec || !body.is_object()) return error;
  const json::object& object = body.get_object();
  if (const json::value* message = object.if_contains("message"); message && message->is_string()) {
    std::string text(message->get_string());
    if (text.size() > kMaxMessage) text = text.substr(0, kMaxMessage) + "…";
    error += ": " + text;
  }
  if (const json::value* code = object.if_contains("code"); code && code->is_int64()) {
    error += " (Twilio error " + std::to_string(code->get_int64()) + ")";
  }
  return util::scrub_secret(std::move(error), secret);
}

// Strings as sent; numbers (fakes and older API versions send some) as their decimal text;
// null, absent or anything else as "".
std::string text_field(const json::object& object, std::string_view name) {
  const json::value* v = object.if_contains(name);
  if (!v) return {};
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_int64()) return std::to_string(v->get_int64());
  if (v->is_uint64()) return std::to_string(v->get_uint64());
  return {};
}

// Every SID is checked before it can end up in a URL, a storage key or a log line.
std::optional<RecordingInfo> parse_recording(const json::value& value,
                                             std::string_view account_sid) {
  if (!value.is_object()) return std::nullopt;
  const json::object& o = value.get_object();
  RecordingInfo r;
  r.sid = text_field(o, "sid");
  r.account_sid = text_field(o, "account_sid");
  r.call_sid = text_field(o, "call_sid");
  r.conference_sid = text_field(o, "conference_sid");
  r.status = text_field(o, "status");
  r.source = text_field(o, "source");
  r.start_time = text_field(o, "start_time");
  r.date_created = text_field(o, "date_created");
  r.duration = text_field(o, "duration");
  r.error_code = text_field(o, "error_code");
  if (!is_sid(r.sid, "RE")) return std::nullopt;
  if (!r.account_sid.empty() && r.account_sid != account_sid) return std::nullopt;
  if (!r.call_sid.empty() && !is_sid(r.call_sid, "CA")) return std::nullopt;
  if (!r.conference_sid.empty() && !is_sid(r.conference_sid, "CF")) return std::nullopt;
  if (const json::value* channels = o.if_contains("channels"); channels && channels->is_int64()) {
    const std::int64_t n = channels->get_int64();
    if (n >= 1 && n <= 2) r.channels = static_cast<int>(n);
  }
  return r;
}

// YYYY-MM-DD of `t` in UTC: Twilio's DateCreated filters take GMT dates.
std::string utc_date(std::chrono::system_clock::time_point t) {
  const std::chrono::year_month_day day{std::chrono::floor<std::chrono::days>(t)};
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(day.year()),
                static_cast<unsigned>(day.month()), static_cast<unsigned>(day.day()));
  return text;
}

}  // namespace

RestClient::RestClient(RestOptions options) : options_(std::move(options)) {
  while (options_.api_base.ends_with('/'))
    options_.api_base.pop_back();
}

ListRecordingsResult RestClient::list_recordings(
    std::chrono::system_clock::time_point since) const {
  ListRecordingsResult result;
  if (!is_sid(options_.account_sid, "AC")) {
    result.error = "the account SID is not 'AC' followed by 32 hex digits";
    return result;
  }
  const std::string collection = "/2010-04-01/Accounts/" + options_.account_sid + "/Recordings";
  std::string path = collection + ".json?PageSize=1000&DateCreated%3E=" + utc_date(since);
  while (true) {
    if (result.pages == kMaxPages) {
      result.error = "stopped after " + std::to_string(kMaxPages) + " pages of recordings";
      return result;
    }
    const Response response = perform(options_, "GET", options_.api_base + path);
    if (!response.transported) {
      result.error = response.error;
      return result;
    }
    if (response.status != 200) {
      result.error = http_error(response, options_.password);
      return result;
    }
    ++result.pages;
    boost::system::error_code ec;
    const json::value page = json::parse(response.body, ec);
    const json::object* object = !ec ? page.if_object() : nullptr;
    const json::value* recordings = object ? object->if_contains("recordings") : nullptr;
    if (!recordings || !recordings->is_array()) {
      result.error = "page " + std::to_string(result.pages) + " of recordings is not a list";
      return result;
    }
    for (const json::value& entry : recordings->get_array()) {
      if (auto recording = parse_recording(entry, options_.account_sid)) {
        result.recordings.push_back(std::move(*recording));
      } else {
        ++result.skipped;
      }
    }
    const json::value* next = object->if_contains("next_page_uri");
    if (!next || next->is_null()) break;
    // next_page_uri is a path that we prefix with api_base ourselves; only this account's
    // recordings, so the credentials cannot be steered to another resource or host.
    if (!next->is_string() || !next->get_string().starts_with(collection + ".json?") ||
        std::string_view(next->get_string()) == path) {
      result.error = "next_page_uri is not a further page of this account's recordings";
      return result;
    }
    path = std::string(next->get_string());
  }
  result.ok = true;
  return result;
}

RestResult RestClient::delete_recording(const std::string& recording_sid) const {
  RestResult result;
  if (!is_sid(options_.account_sid, "AC") || !is_sid(recording_sid, "RE")) {
    result.error = "malformed account or recording SID";
    return result;
  }
  const Response response =
      perform(options_, "DELETE",
              options_.api_base + "/2010-04-01/Accounts/" + options_.account_sid + "/Recordings/" +
                  recording_sid + ".json");
  result.http_status = response.status;
  if (!response.transported) {
    result.error = response.error;
    return result;
  }
  // 404: an earlier attempt (or someone in the console) already deleted it; the goal is met.
  if (response.status == 204 || response.status == 200 || response.status == 404) {
    result.ok = true;
    return result;
  }
  result.error = http_error(response, options_.password);
  return result;
}

AccountInfo RestClient::fetch_account() const {
  AccountInfo result;
  if (!is_sid(options_.account_sid, "AC")) {
    result.error = "the account SID is not 'AC' followed by 32 hex digits";
    return result;
  }
  const Response response =
      perform(options_, "GET",
              options_.api_base + "/2010-04-01/Accounts/" + options_.account_sid + ".json");
  result.http_status = response.status;
  if (!response.transported) {
    result.error = response.error;
    return result;
  }
  if (response.status != 200) {
    result.error = http_error(response, options_.password);
    return result;
  }
  boost::system::error_code ec;
  const json::value body = json::parse(response.body, ec);
  if (ec || !body.is_object()) {
    result.error = "the account response is not a JSON object";
    return result;
  }
  result.friendly_name = text_field(body.get_object(), "friendly_name");
  result.status = text_field(body.get_object(), "status");
  result.ok = true;
  return result;
}

}  // namespace partyline::twilio
