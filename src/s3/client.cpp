#include "s3/client.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include "net/curl.hpp"
#include "s3/xml.hpp"
#include "util/backoff.hpp"

namespace partyline::s3 {
namespace {

// The reason with each run of digits as '#': curl's "after 12 ms" or a port must not make every
// repeat a new reason for the rate limit.
std::string without_numbers(std::string_view reason) {
  std::string out;
  out.reserve(reason.size());
  for (const char c : reason) {
    const bool digit = c >= '0' && c <= '9';
    if (!digit) {
      out.push_back(c);
    } else if (out.empty() || out.back() != '#') {
      out.push_back('#');
    }
  }
  return out;
}

constexpr std::size_t kMaxResponseBody = 1 << 20;
// libcurl reads the body in chunks of this size (default 64 KiB): fewer read callbacks and preads.
constexpr long kUploadBuffer = 512 * 1024;
// Idle handles kept for reuse: one per worker thread normally uses the store at a time.
constexpr std::size_t kMaxIdleHandles = 8;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// What libcurl reads the request body from.
struct BodyReader {
  const std::string* text = nullptr;
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint64_t pos = 0;
  int read_errno = 0;
};

BodyReader reader_of(const Body& body) {
  BodyReader reader;
  if (const auto* text = std::get_if<std::string>(&body)) {
    reader.text = text;
    reader.length = text->size();
  } else if (const auto* range = std::get_if<FileRange>(&body)) {
    reader.fd = range->fd;
    reader.offset = range->offset;
    reader.length = range->length;
  }
  return reader;
}

size_t read_body(char* buffer, size_t size, size_t nitems, void* userdata) {
  auto* body = static_cast<BodyReader*>(userdata);
  const std::uint64_t left = body->length - body->pos;
  const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, size * nitems));
  if (n == 0) return 0;
  if (body->text != nullptr) {
    std::memcpy(buffer, body->text->data() + body->pos, n);
    body->pos += n;
    return n;
  }
  for (;;) {
    const ssize_t r = ::pread(body->fd, buffer, n, static_cast<off_t>(body->offset + body->pos));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      body->read_errno = r < 0 ? errno : EIO;  // a shrinking file must not send a short body
      return CURL_READFUNC_ABORT;
    }
    body->pos += static_cast<std::uint64_t>(r);
    return static_cast<std::size_t>(r);
  }
}

// libcurl rewinds the body when it has to resend it (e.g. a reused connection that closed).
int seek_body(void* userdata, curl_off_t offset, int origin) {
  auto* body = static_cast<BodyReader*>(userdata);
  if (origin != SEEK_SET || offset < 0 || static_cast<std::uint64_t>(offset) > body->length)
    return CURL_SEEKFUNC_FAIL;
  body->pos = static_cast<std::uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t write_body(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* out = static_cast<std::string*>(userdata);
  const std::size_t n = size * nmemb;
  if (out->size() < kMaxResponseBody)
    out->append(data, std::min(n, kMaxResponseBody - out->size()));
  return n;
}

size_t write_header(char* data, size_t size, size_t nitems, void* userdata) {
  auto* headers = static_cast<Pairs*>(userdata);
  const std::size_t n = size * nitems;
  const std::string_view line(data, n);
  // A new status line (after "100 Continue" or a redirect) starts a new header block.
  if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();
    return n;
  }
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    headers->emplace_back(lower(trim(line.substr(0, colon))),
                          std::string(trim(line.substr(colon + 1))));
  }
  return n;
}

bool transient_status(int status) {
  return status >= 500 || status == 429;
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (n == name) return v;
  return "";
}

// Idle easy handles. Each keeps its own connection cache (which curl_easy_reset leaves alone), so
// the next request on a handle reuses its open connection instead of a new TCP (and TLS)
// handshake per request, and its slow-start.
struct Client::HandlePool {
  std::mutex mutex;
  std::vector<net::Easy> idle;

  net::Easy take() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        net::Easy h = std::move(idle.back());
        idle.pop_back();
        return h;
      }
    }
    return net::make_easy();
  }
  void give_back(net::Easy h) {
    curl_easy_reset(h.get());  // drops the options pointing into the finished request
    std::lock_guard lock(mutex);
    if (idle.size() < kMaxIdleHandles) idle.push_back(std::move(h));
  }
};

Client::Client(ClientOptions options, log::Logger& log)
    : options_(std::move(options)), retry_log_(log), handles_(std::make_unique<HandlePool>()) {
  options_.retry.attempts = std::max(options_.retry.attempts, 1u);
}

Client::~Client() = default;

std::string Client::path(std::string_view key) const {
  if (key.empty()) return options_.base_path.empty() ? "/" : options_.base_path;
  return options_.base_path + "/" + std::string(key);
}

std::chrono::milliseconds jittered(std::chrono::milliseconds pause,
                                   const util::RandomBytes& random) {
  const std::string bytes = random(2);
  const unsigned r =
      bytes.size() == 2
          ? (static_cast<unsigned char>(bytes[0]) << 8 | static_cast<unsigned char>(bytes[1]))
          : 0xffffu;
  const auto half = pause / 2;
  return half + std::chrono::milliseconds((pause - half).count() * r / 0xffff);
}

util::Result<HttpResponse> Client::send(const HttpRequest& request) const {
  const std::string_view op = request.op.empty() ? request.method : request.op;
  util::Backoff backoff(options_.retry.first_pause, options_.retry.max_pause);
  const unsigned attempts = request.idempotent ? options_.retry.attempts : 1;
  for (unsigned attempt = 1;; ++attempt) {
    util::Result<HttpResponse> result = send_once(request);
    if (result) return result;
    util::Failure failure = result.error();
    if (!failure.transient() || attempt >= attempts) {
      // "PUT part 2 500 InternalError", "HEAD: curl: Timeout was reached"
      failure.reason = std::string(op) + (failure.http_status != 0 ? " " : ": ") + failure.reason;
      return failure;
    }
    // The reason without the request's name: one flaky server makes one line per interval, not
    // one per part.
    retry_log_.warn("s3.request.retry", failure.reason,
                    {{"bucket", options_.bucket},
                     {"method", request.method},
                     {"key", request.key},
                     {"op", op},
                     {"attempt", attempt},
                     {"status", failure.http_status}},
                    without_numbers(failure.reason));
    std::this_thread::sleep_for(jittered(backoff.failed(), options_.retry.random));
  }
}

// One attempt; a failure's reason does not name the request yet.
util::Result<HttpResponse> Client::send_once(const HttpRequest& request) const {
  s3::Request to_sign;
  to_sign.method = request.method;
  to_sign.host = options_.host;
  to_sign.path = path(request.key);
  to_sign.query = request.query;
  to_sign.headers = request.headers;
  to_sign.payload_sha256_hex = request.payload_sha256;
  const Signed signed_request =
      sign(to_sign, options_.credentials, options_.region, options_.clock());

  std::string url = options_.scheme + "://" + options_.host + signed_request.encoded_path;
  if (!signed_request.canonical_query.empty()) url += "?" + signed_request.canonical_query;

  net::Headers header_list;
  bool has_content_type = false;
  bool headers_ok = true;
  for (const auto& [name, value] : signed_request.headers) {
    if (lower(name) == "content-type") has_content_type = true;
    // "name;" is libcurl's spelling of a header with an empty value ("name:" would remove it).
    headers_ok &= net::append_header(header_list, value.empty() ? name + ";" : name + ": " + value);
  }
  headers_ok &= net::append_header(header_list, "Expect:");  // no 100-continue round trip
  // Drops libcurl's POST default, which would go unsigned.
  if (!has_content_type) headers_ok &= net::append_header(header_list, "Content-Type:");
  if (!headers_ok) return util::Failure::soon("out of memory for the request headers");

  net::Easy handle = handles_->take();
  if (!handle) return util::Failure::later(net::curl_init_error());
  CURL* h = handle.get();
  HttpResponse response;
  char errbuf[CURL_ERROR_SIZE] = {};
  BodyReader body = reader_of(request.body);
  const bool has_body = !std::holds_alternative<std::monostate>(request.body);
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.stall_timeout.count()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, write_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &response.headers);
  if (has_body) {
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, kUploadBuffer);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(h, CURLOPT_READDATA, &body);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_body);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, &body);
  }
  const auto length = static_cast<curl_off_t>(body.length);
  if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT") {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, length);
  } else if (request.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, length);
  } else if (request.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  const CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    // The handle goes, with whatever state its connection is in.
    std::string reason = "curl: " + net::transfer_error(rc, errbuf);
    if (body.read_errno != 0) {
      // The spool file, not the network: another attempt would read the same.
      return util::Failure::later(reason + "; read spool file: " + std::strerror(body.read_errno));
    }
    if (net::transient_error(rc)) return util::Failure::soon(std::move(reason));
    return util::Failure::later(std::move(reason));
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  handles_->give_back(std::move(handle));

  if ((response.status >= 200 && response.status < 300) ||
      std::find(request.answers.begin(), request.answers.end(), response.status) !=
          request.answers.end())
    return response;
  std::string reason = std::to_string(response.status);
  if (const std::string code = xml::error_code(response.body); !code.empty()) reason += " " + code;
  if (transient_status(response.status))
    return util::Failure::soon(std::move(reason), response.status);
  return util::Failure::later(std::move(reason), response.status);
}

}  // namespace partyline::s3
