#include "net/http_client.hpp"

#include <exception>
#include <string>
#include <utility>

#include "net/curl.hpp"
#include "util/crypto.hpp"

namespace partyline::net {
namespace {

bool is_success(long status) {
  return status >= 200 && status < 300;
}

// Shared between perform() and libcurl's write callback.
struct Transfer {
  CURL* curl = nullptr;
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  bool head_reported = false;
  bool over_limit = false;  // the kept body would pass max_body
  bool refused = false;     // a callback returned false or threw
};

ResponseHead head_of(CURL* curl) {
  ResponseHead head;
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  head.status = static_cast<int>(status);
  const char* content_type = nullptr;
  if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &content_type) == CURLE_OK && content_type)
    head.content_type = content_type;
  curl_off_t length = -1;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  if (length >= 0) head.content_length = static_cast<std::uint64_t>(length);
  return head;
}

// Callbacks must not unwind through libcurl's C frames: an exception counts as a refusal.
template <typename Callback, typename Argument>
bool call(Transfer& transfer, const Callback& callback, const Argument& argument) {
  try {
    if (callback(argument)) return true;
  } catch (const std::exception&) {
  }
  transfer.refused = true;
  return false;
}

bool report_head(Transfer& transfer) {
  transfer.head_reported = true;
  if (!transfer.request->on_headers) return true;
  return call(transfer, transfer.request->on_headers, head_of(transfer.curl));
}

// Returning less than it was given makes libcurl abort with CURLE_WRITE_ERROR.
std::size_t on_data(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(transfer.curl, CURLINFO_RESPONSE_CODE, &status);
  const bool success = is_success(status);
  if (success && !transfer.head_reported && !report_head(transfer)) return 0;
  if (success && transfer.request->on_body) {
    if (!call(transfer, transfer.request->on_body, std::string_view(data, n))) return 0;
  } else {
    std::string& body = transfer.response->body;
    if (body.size() + n > transfer.request->max_body) {
      transfer.over_limit = true;
      return 0;
    }
    try {
      body.append(data, n);
    } catch (const std::exception&) {
      return 0;
    }
  }
  transfer.response->body_bytes += n;
  return n;
}

// The one place every transfer's options are set. Fails only on what curl_easy_setopt can refuse
// in practice: an option unknown to an old libcurl, or no memory.
CURLcode configure(CURL* curl, const HttpRequest& request, curl_slist* headers, Transfer& transfer,
                   char* errors) {
  const char* protocols = request.allow_http ? "http,https" : "https";
  const auto seconds = [](std::chrono::seconds s) { return static_cast<long>(s.count()); };
  const std::pair<CURLoption, long> longs[] = {
      {CURLOPT_NOSIGNAL, 1L},  // no SIGALRM for DNS timeouts: we run on worker threads
      {CURLOPT_FOLLOWLOCATION, request.max_redirects > 0 ? 1L : 0L},
      {CURLOPT_MAXREDIRS, static_cast<long>(request.max_redirects)},
      // Already libcurl's default; explicit because sending the auth token to a CDN or any other
      // origin a redirect names would leak the account's master credential.
      {CURLOPT_UNRESTRICTED_AUTH, 0L},
      {CURLOPT_CONNECTTIMEOUT, seconds(request.connect_timeout)},
      {CURLOPT_TIMEOUT, seconds(request.total_timeout)},
      {CURLOPT_LOW_SPEED_LIMIT, request.stall_timeout.count() > 0 ? 1L : 0L},
      {CURLOPT_LOW_SPEED_TIME, seconds(request.stall_timeout)},
  };
  for (const auto& [option, value] : longs) {
    if (CURLcode rc = curl_easy_setopt(curl, option, value); rc != CURLE_OK) return rc;
  }
  const std::pair<CURLoption, const char*> strings[] = {
      {CURLOPT_URL, request.url.c_str()},
      {CURLOPT_PROTOCOLS_STR, protocols},
      {CURLOPT_REDIR_PROTOCOLS_STR, protocols},
      {CURLOPT_USERAGENT, "partyline/" PARTYLINE_VERSION},
  };
  for (const auto& [option, value] : strings) {
    if (CURLcode rc = curl_easy_setopt(curl, option, value); rc != CURLE_OK) return rc;
  }
  CURLcode rc = CURLE_OK;
  if (request.receive_buffer > 0) {
    rc = curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, static_cast<long>(request.receive_buffer));
  }
  if (rc == CURLE_OK && !request.username.empty()) {
    rc = curl_easy_setopt(curl, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_USERNAME, request.username.c_str());
    if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_PASSWORD, request.password.c_str());
  }
  if (rc == CURLE_OK && request.method == "HEAD") rc = curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (rc == CURLE_OK && (!request.body.empty() || request.method == "POST")) {
    rc = curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                          static_cast<curl_off_t>(request.body.size()));
    if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
  }
  if (rc == CURLE_OK && request.method != "GET" && request.method != "HEAD" &&
      request.method != "POST") {
    rc = curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errors);
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  return rc;
}

util::Failure failure(const HttpRequest& request, const Transfer& transfer, CURLcode code,
                      const char* errors, int status) {
  std::string reason;
  if (transfer.over_limit) {
    reason = "the response body is larger than " + std::to_string(request.max_body) + " bytes";
  } else if (transfer.refused) {
    reason = "the response was refused by its reader";
  } else {
    reason = transfer_error(code, errors);
  }
  reason = util::scrub_secret(std::move(reason), request.password);
  if (transient_error(code)) return util::Failure::soon(std::move(reason), status);
  return util::Failure::later(std::move(reason), status);
}

}  // namespace

util::Result<HttpResponse> perform(const HttpRequest& request) {
  if (!request.allow_http && !request.url.starts_with("https://")) {
    return util::Failure::later("refusing a URL that is not https");
  }
  Easy curl = make_easy();
  if (!curl) return util::Failure::later(curl_init_error());
  Headers headers;
  for (const std::string& line : request.headers) {
    if (!append_header(headers, line)) return util::Failure::later("out of memory for headers");
  }
  HttpResponse response;
  Transfer transfer{.curl = curl.get(), .request = &request, .response = &response};
  char errors[CURL_ERROR_SIZE] = {};
  if (CURLcode rc = configure(curl.get(), request, headers.get(), transfer, errors);
      rc != CURLE_OK) {
    return util::Failure::later("curl_easy_setopt: " + std::string(curl_easy_strerror(rc)));
  }
  const CURLcode rc = curl_easy_perform(curl.get());
  static_cast<ResponseHead&>(response) = head_of(curl.get());
  if (rc != CURLE_OK) return failure(request, transfer, rc, errors, response.status);
  if (is_success(response.status) && !transfer.head_reported && !report_head(transfer)) {
    return failure(request, transfer, rc, errors, response.status);
  }
  return response;
}

}  // namespace partyline::net
