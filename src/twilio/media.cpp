#include "twilio/media.hpp"
#include "util/crypto.hpp"

#include <curl/curl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "util/digest.hpp"

namespace partyline::twilio {
namespace {

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// Shared between fetch_media and the write callback.
struct Transfer {
  CURL* curl = nullptr;
  std::FILE* file = nullptr;
  util::Digest digest;
  std::uint64_t bytes = 0;
  int write_errno = 0;  // set when writing the spool file failed
};

bool is_success(long status) {
  return status >= 200 && status < 300;
}

// Writes only the body of a 2xx response. Bodies of redirects and errors are read and dropped, so
// an error page never lands in the spool file.
std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(transfer.curl, CURLINFO_RESPONSE_CODE, &status);
  if (!is_success(status)) return n;
  if (std::fwrite(data, 1, n, transfer.file) != n) {
    transfer.write_errno = errno != 0 ? errno : EIO;
    return 0;  // makes curl abort with CURLE_WRITE_ERROR
  }
  try {
    transfer.digest.update(data, n);
  } catch (const std::exception&) {
    return 0;  // must not unwind through libcurl's C frames
  }
  transfer.bytes += n;
  return n;
}

// Only what curl_easy_setopt can refuse in practice (an option unknown to an old libcurl).
CURLcode configure(CURL* curl, const MediaRequest& request, Transfer& transfer, char* errors) {
  const char* protocols = request.allow_http ? "http,https" : "https";
  const auto seconds = [](std::chrono::seconds s) { return static_cast<long>(s.count()); };
  const std::pair<CURLoption, long> longs[] = {
      {CURLOPT_NOSIGNAL, 1L},  // no SIGALRM for DNS timeouts: we run on worker threads
      {CURLOPT_HTTPGET, 1L},
      {CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC)},
      {CURLOPT_FOLLOWLOCATION, 1L},
      {CURLOPT_MAXREDIRS, 5L},
      // Already libcurl's default; explicit because sending the auth token to a CDN or any other
      // host a redirect names would leak the account's master credential.
      {CURLOPT_UNRESTRICTED_AUTH, 0L},
      {CURLOPT_CONNECTTIMEOUT, seconds(request.connect_timeout)},
      {CURLOPT_LOW_SPEED_LIMIT, 1L},
      {CURLOPT_LOW_SPEED_TIME, seconds(request.stall_timeout)},
      {CURLOPT_TIMEOUT, seconds(request.total_timeout)},
  };
  for (const auto& [option, value] : longs) {
    if (CURLcode rc = curl_easy_setopt(curl, option, value); rc != CURLE_OK) return rc;
  }
  const std::pair<CURLoption, const char*> strings[] = {
      {CURLOPT_URL, request.url.c_str()},
      {CURLOPT_USERNAME, request.username.c_str()},
      {CURLOPT_PASSWORD, request.password.c_str()},
      {CURLOPT_PROTOCOLS_STR, protocols},
      {CURLOPT_REDIR_PROTOCOLS_STR, protocols},
      {CURLOPT_USERAGENT, "partyline/" PARTYLINE_VERSION},
  };
  for (const auto& [option, value] : strings) {
    if (CURLcode rc = curl_easy_setopt(curl, option, value); rc != CURLE_OK) return rc;
  }
  if (CURLcode rc = curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errors); rc != CURLE_OK) return rc;
  if (CURLcode rc = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body); rc != CURLE_OK) {
    return rc;
  }
  return curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
}

std::string describe(CURLcode rc, const char* errors) {
  return std::string(curl_easy_strerror(rc)) + (errors[0] ? std::string(": ") + errors : "");
}

// Fills in kind and error from the finished transfer; the spool file is still open.
void classify(MediaResult& result, CURLcode rc, const char* errors, const Transfer& transfer,
              curl_off_t content_length) {
  if (transfer.write_errno != 0) {
    result.error =
        "cannot write the spool file: " + std::string(std::strerror(transfer.write_errno));
    return;
  }
  if (rc != CURLE_OK) {
    result.error = describe(rc, errors);
    if (result.http_status != 0)
      result.error += " (HTTP " + std::to_string(result.http_status) + ")";
    return;
  }
  if (result.http_status == 404) {
    result.kind = MediaResult::Kind::kNotReady;
    result.error = "HTTP 404";
    return;
  }
  if (!is_success(result.http_status)) {
    result.error = "HTTP " + std::to_string(result.http_status);
    return;
  }
  // curl normally reports a short body itself (CURLE_PARTIAL_FILE); this catches what slips by.
  if (content_length >= 0 && static_cast<std::uint64_t>(content_length) != transfer.bytes) {
    result.error = "Content-Length " + std::to_string(content_length) + " but received " +
                   std::to_string(transfer.bytes) + " bytes";
    return;
  }
  result.kind = MediaResult::Kind::kOk;
}

// Hands the bytes to the kernel. No fsync: the spool file is a scratch copy that a restart
// deletes and fetches again, so making it durable would only slow every copy down.
bool flush_to_disk(std::FILE* file, std::string& error) {
  if (std::fflush(file) != 0) {
    error = "cannot flush the spool file: " + std::string(std::strerror(errno));
    return false;
  }
  return true;
}

void discard_contents(std::FILE* file) {
  std::fflush(file);
  if (::ftruncate(::fileno(file), 0) != 0) {
    // Nothing better to do: the result is kFailed anyway and the caller removes the file.
  }
}

}  // namespace

MediaResult fetch_media(const MediaRequest& request) {
  MediaResult result;
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(request.spool.c_str(), "wb"));
  if (!file) {
    result.error =
        "cannot open the spool file " + request.spool.string() + ": " + std::strerror(errno);
    return result;
  }
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    result.error = "curl_easy_init failed";
    return result;
  }

  Transfer transfer;
  transfer.curl = curl.get();
  transfer.file = file.get();
  char errors[CURL_ERROR_SIZE] = {};
  CURLcode rc = configure(curl.get(), request, transfer, errors);
  if (rc != CURLE_OK) {
    result.error = "curl_easy_setopt: " + std::string(curl_easy_strerror(rc));
    return result;
  }
  rc = curl_easy_perform(curl.get());

  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  result.http_status = static_cast<int>(status);
  const char* content_type = nullptr;
  if (curl_easy_getinfo(curl.get(), CURLINFO_CONTENT_TYPE, &content_type) == CURLE_OK &&
      content_type) {
    result.content_type = content_type;
  }
  curl_off_t content_length = -1;
  curl_easy_getinfo(curl.get(), CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &content_length);
  result.bytes = transfer.bytes;

  classify(result, rc, errors, transfer, content_length);
  if (result.kind == MediaResult::Kind::kOk && !flush_to_disk(file.get(), result.error)) {
    result.kind = MediaResult::Kind::kFailed;
  }
  if (result.kind != MediaResult::Kind::kOk) {
    discard_contents(file.get());
    result.error = util::scrub_secret(std::move(result.error), request.password);
    return result;
  }
  result.sha256_hex = transfer.digest.sha256_hex();
  result.md5_hex = transfer.digest.md5_hex();
  return result;
}

}  // namespace partyline::twilio
