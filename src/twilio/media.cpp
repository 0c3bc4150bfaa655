#include "twilio/media.hpp"
#include "util/crypto.hpp"
#include "net/curl.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "util/digest.hpp"

namespace partyline::twilio {
namespace {

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};

// libcurl's largest receive buffer (CURL_MAX_READ_SIZE): a 1 GiB recording then costs a few
// thousand write callbacks, writes and digest updates instead of 65,536 of each at the default 16
// KiB.
constexpr long kReceiveBuffer = 512 * 1024;

// Bytes read back per digest update.
constexpr std::size_t kHashChunk = 1024 * 1024;

// Hashes the spool file on a thread of its own, following the receive path's writes (it reads them
// back from the page cache). The transfer then runs at the network's pace while the digests, the
// bulk of a fetch's CPU (≈ 2.5 s per GiB for SHA-256 plus per-part SHA-256 and MD5), use another
// core; inline in the write callback they stalled the transfer.
class SpoolHasher {
 public:
  SpoolHasher(int fd, util::DigestPlan plan, std::function<void(const util::PartDigest&)> on_part)
      : fd_(fd), digest_(plan), on_part_(std::move(on_part)), thread_([this] { run(); }) {}
  SpoolHasher(const SpoolHasher&) = delete;
  SpoolHasher& operator=(const SpoolHasher&) = delete;
  // Without finish() (a failed transfer): stops the thread where it is.
  ~SpoolHasher() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock(mutex_);
      cancelled_ = true;
    }
    stop_ = true;
    cv_.notify_one();
    thread_.join();
  }

  // The file now holds `total` bytes.
  void written(std::uint64_t total) {
    {
      std::lock_guard lock(mutex_);
      written_ = total;
    }
    cv_.notify_one();
  }

  // Every byte is written: waits until all are hashed. Throws std::runtime_error if reading the
  // file back or hashing failed.
  util::StreamDigests finish() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
    if (!error_.empty()) throw std::runtime_error(error_);
    return digest_.finish();
  }

 private:
  void run() {
    std::vector<char> buffer;
    std::uint64_t hashed = 0;
    try {
      buffer.resize(kHashChunk);
      for (;;) {
        std::uint64_t available = 0;
        {
          std::unique_lock lock(mutex_);
          cv_.wait(lock, [&] { return written_ > hashed || done_ || cancelled_; });
          if (cancelled_) return;
          available = written_;
          if (available == hashed) return;  // done_, all hashed
        }
        while (hashed < available && !stop_.load(std::memory_order_relaxed)) {
          const auto want =
              static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), available - hashed));
          const ssize_t r = ::pread(fd_, buffer.data(), want, static_cast<off_t>(hashed));
          if (r < 0 && errno == EINTR) continue;
          if (r <= 0) {
            error_ = "cannot read back the spool file: " +
                     std::string(r < 0 ? std::strerror(errno) : "it is shorter than written");
            return;
          }
          digest_.update(buffer.data(), static_cast<std::size_t>(r));
          hashed += static_cast<std::uint64_t>(r);
          if (on_part_) {
            while (published_ < digest_.parts().size())
              on_part_(digest_.parts()[published_++]);
          }
        }
      }
    } catch (const std::exception& e) {
      error_ = std::string("hashing the spool file: ") + e.what();
    }
  }

  const int fd_;
  util::StreamDigest digest_;
  const std::function<void(const util::PartDigest&)> on_part_;
  std::size_t published_ = 0;  // parts given to on_part_ (the thread's own)
  std::mutex mutex_;
  std::condition_variable cv_;
  std::uint64_t written_ = 0;      // guarded by mutex_
  bool done_ = false;              // guarded by mutex_
  bool cancelled_ = false;         // guarded by mutex_
  std::atomic<bool> stop_{false};  // cancelled_, for the hashing loop (no lock per chunk)
  std::string error_;              // set by the thread, read after join
  std::thread thread_;             // last: starts once the members above exist
};

// Shared between fetch_media and the write callback.
struct Transfer {
  CURL* curl = nullptr;
  int fd = -1;
  const MediaRequest* request = nullptr;
  std::unique_ptr<SpoolHasher> hasher;  // started at the first byte of a 2xx body
  std::uint64_t bytes = 0;
  int write_errno = 0;  // set when writing the spool file failed
};

bool is_success(long status) {
  return status >= 200 && status < 300;
}

bool write_all(int fd, const char* data, std::size_t n, int& error) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      error = w < 0 ? errno : EIO;
      return false;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

std::unique_ptr<SpoolHasher> start_hasher(const Transfer& transfer) {
  util::DigestPlan plan;
  if (transfer.request->digest_plan) {
    curl_off_t length = -1;
    curl_easy_getinfo(transfer.curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    plan = transfer.request->digest_plan(
        length >= 0 ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(length))
                    : std::nullopt);
  }
  return std::make_unique<SpoolHasher>(transfer.fd, plan, transfer.request->on_part);
}

// Writes only the body of a 2xx response. Bodies of redirects and errors are read and dropped, so
// an error page never lands in the spool file.
std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(transfer.curl, CURLINFO_RESPONSE_CODE, &status);
  if (!is_success(status)) return n;
  try {
    if (!transfer.hasher) transfer.hasher = start_hasher(transfer);
  } catch (const std::exception&) {
    return 0;  // must not unwind through libcurl's C frames; aborts with CURLE_WRITE_ERROR
  }
  if (!write_all(transfer.fd, data, n, transfer.write_errno)) return 0;
  transfer.bytes += n;
  transfer.hasher->written(transfer.bytes);
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
      {CURLOPT_BUFFERSIZE, kReceiveBuffer},
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

// No fsync: the spool file is a scratch copy that a restart deletes and fetches again, so making
// it durable would only slow every copy down. Writes go straight to the descriptor (no stdio
// buffer), so once the transfer is done the bytes are with the kernel.
void discard_contents(int fd) {
  if (::ftruncate(fd, 0) != 0) {
    // Nothing better to do: the result is kFailed anyway and the caller removes the file.
  }
}

struct FdCloser {
  int fd = -1;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

MediaResult fetch_media(const MediaRequest& request) {
  MediaResult result;
  const FdCloser file{::open(request.spool.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)};
  if (file.fd < 0) {
    result.error =
        "cannot open the spool file " + request.spool.string() + ": " + std::strerror(errno);
    return result;
  }
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    result.error = net::curl_init_error();
    return result;
  }

  Transfer transfer;
  transfer.curl = curl.get();
  transfer.fd = file.fd;
  transfer.request = &request;
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
  if (result.kind != MediaResult::Kind::kOk) {
    discard_contents(file.fd);
    result.error = util::scrub_secret(std::move(result.error), request.password);
    return result;
  }
  util::StreamDigests digests;
  try {
    if (!transfer.hasher) transfer.hasher = start_hasher(transfer);  // an empty body
    digests = transfer.hasher->finish();
  } catch (const std::exception& e) {
    result.kind = MediaResult::Kind::kFailed;
    result.error = e.what();
    discard_contents(file.fd);
    return result;
  }
  result.sha256_hex = std::move(digests.sha256_hex);
  result.md5_hex = std::move(digests.md5_hex);
  result.part_size = digests.part_size;
  result.parts = std::move(digests.parts);
  return result;
}

}  // namespace partyline::twilio
