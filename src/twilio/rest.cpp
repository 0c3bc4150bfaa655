#include "twilio/rest.hpp"

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

#include "net/http_client.hpp"
#include "twilio/sid.hpp"
#include "util/crypto.hpp"

namespace partyline::twilio {
namespace {

namespace json = boost::json;

constexpr int kMaxPages = 1000;
// A page of 1000 recordings is about 1 MB; anything far larger is not Twilio talking.
constexpr std::size_t kMaxBody = 32 * 1024 * 1024;
constexpr std::size_t kMaxMessage = 300;  // of Twilio's error text copied into our errors
constexpr const char* kBadAccountSid = "the account SID is not 'AC' followed by 32 hex digits";

// One request on its own transfer, so a RestClient is safe to share between threads. Any answer
// is a response here; the callers say which statuses they accept.
util::Result<net::HttpResponse> send(const RestOptions& options, std::string method,
                                     std::string url, std::string form_body = {}) {
  net::HttpRequest request;
  request.method = std::move(method);
  request.url = std::move(url);
  request.headers = {"Accept: application/json"};
  if (!form_body.empty()) {
    request.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    request.body = std::move(form_body);
  }
  request.username = options.credentials.account_sid;
  request.password = options.credentials.auth_token.reveal();
  request.allow_http = options.allow_http;
  // The REST API answers directly; a redirect would be something else speaking for it.
  request.max_redirects = 0;
  request.total_timeout = options.timeout;
  request.max_body = kMaxBody;
  return net::perform(request);
}

// "HTTP 401: Authenticate (Twilio error 20003)" from Twilio's JSON error ({"code","message",
// "more_info","status"}), or just "HTTP 401" when the body says nothing usable. Transient for a
// 5xx or a 429.
util::Failure http_error(const net::HttpResponse& response, std::string_view secret) {
  std::string error = "HTTP " + std::to_string(response.status);
  boost::system::error_code ec;
  const json::value body = json::parse(response.body, ec);
  if (!ec && body.is_object()) {
    const json::object& object = body.get_object();
    if (const json::value* message = object.if_contains("message");
        message && message->is_string()) {
      std::string text(message->get_string());
      if (text.size() > kMaxMessage) text = text.substr(0, kMaxMessage) + "…";
      error += ": " + text;
    }
    if (const json::value* code = object.if_contains("code"); code && code->is_int64()) {
      error += " (Twilio error " + std::to_string(code->get_int64()) + ")";
    }
  }
  error = util::scrub_secret(std::move(error), secret);
  if (response.status >= 500 || response.status == 429)
    return util::Failure::soon(std::move(error), response.status);
  return util::Failure::later(std::move(error), response.status);
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

util::Result<RecordingList> RestClient::list_recordings(
    std::chrono::system_clock::time_point since) const {
  const std::string& account_sid = options_.credentials.account_sid;
  if (!is_sid(account_sid, "AC")) return util::Failure::later(kBadAccountSid);
  RecordingList result;
  const std::string collection = "/2010-04-01/Accounts/" + account_sid + "/Recordings";
  std::string path = collection + ".json?PageSize=1000&DateCreated%3E=" + utc_date(since);
  while (true) {
    if (result.pages == kMaxPages) {
      return util::Failure::later("stopped after " + std::to_string(kMaxPages) +
                                  " pages of recordings");
    }
    const auto response = send(options_, "GET", options_.api_base + path);
    if (!response) return response.error();
    if (response->status != 200) return http_error(*response, password());
    ++result.pages;
    boost::system::error_code ec;
    const json::value page = json::parse(response->body, ec);
    const json::object* object = !ec ? page.if_object() : nullptr;
    const json::value* recordings = object ? object->if_contains("recordings") : nullptr;
    if (!recordings || !recordings->is_array()) {
      return util::Failure::later("page " + std::to_string(result.pages) +
                                  " of recordings is not a list");
    }
    for (const json::value& entry : recordings->get_array()) {
      if (auto recording = parse_recording(entry, account_sid)) {
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
      return util::Failure::later(
          "next_page_uri is not a further page of this account's recordings");
    }
    path = std::string(next->get_string());
  }
  return result;
}

util::Result<Deletion> RestClient::delete_recording(const std::string& recording_sid) const {
  const std::string& account_sid = options_.credentials.account_sid;
  if (!is_sid(account_sid, "AC") || !is_sid(recording_sid, "RE")) {
    return util::Failure::later("malformed account or recording SID");
  }
  const auto response = send(options_, "DELETE",
                             options_.api_base + "/2010-04-01/Accounts/" + account_sid +
                                 "/Recordings/" + recording_sid + ".json");
  if (!response) return response.error();
  if (response->status == 204 || response->status == 200) return Deletion::kDeleted;
  if (response->status == 404) return Deletion::kAlreadyGone;
  return http_error(*response, password());
}

util::Result<AccountInfo> RestClient::fetch_account() const {
  const std::string& account_sid = options_.credentials.account_sid;
  if (!is_sid(account_sid, "AC")) return util::Failure::later(kBadAccountSid);
  const auto response =
      send(options_, "GET", options_.api_base + "/2010-04-01/Accounts/" + account_sid + ".json");
  if (!response) return response.error();
  if (response->status != 200) return http_error(*response, password());
  boost::system::error_code ec;
  const json::value body = json::parse(response->body, ec);
  if (ec || !body.is_object()) {
    return util::Failure::later("the account response is not a JSON object", response->status);
  }
  return AccountInfo{.friendly_name = text_field(body.get_object(), "friendly_name"),
                     .status = text_field(body.get_object(), "status")};
}

util::Result<net::HttpResponse> RestClient::request(std::string method, const std::string& path,
                                                    std::string form_body) const {
  return send(options_, std::move(method), options_.api_base + path, std::move(form_body));
}

util::Failure RestClient::failure(const net::HttpResponse& response) const {
  return http_error(response, password());
}

const std::string& RestClient::password() const {
  return options_.credentials.auth_token.reveal();
}

}  // namespace partyline::twilio
