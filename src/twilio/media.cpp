#include "twilio/media.hpp"

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

#include "net/http_client.hpp"
#include "util/crypto.hpp"
#include "util/digest.hpp"

namespace partyline::twilio {
namespace {

// libcurl's largest receive buffer (CURL_MAX_READ_SIZE): a 1 GiB recording then costs a few
// thousand write callbacks, writes and digest updates instead of 65,536 of each at the default 16
// KiB.
constexpr std::size_t kReceiveBuffer = 512 * 1024;

constexpr int kMaxRedirects = 5;
// Error pages are held in memory (and dropped) up to this size; Twilio's are a few hundred bytes.
constexpr std::size_t kMaxErrorBody = 1024 * 1024;

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

// Shared between fetch_media and the HTTP client's callbacks.
struct Transfer {
  int fd = -1;
  const MediaRequest* request = nullptr;
  std::unique_ptr<SpoolHasher> hasher;  // started when a 2xx response's headers are in
  std::uint64_t bytes = 0;
  int write_errno = 0;       // set when writing the spool file failed
  std::string hasher_error;  // set when the hasher could not start
};

bool is_success(int status) {
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

bool start_hasher(Transfer& transfer, const net::ResponseHead& head) {
  try {
    util::DigestPlan plan;
    if (transfer.request->digest_plan) plan = transfer.request->digest_plan(head.content_length);
    transfer.hasher = std::make_unique<SpoolHasher>(transfer.fd, plan, transfer.request->on_part);
    return true;
  } catch (const std::exception& e) {
    transfer.hasher_error = std::string("cannot start hashing: ") + e.what();
    return false;
  }
}

// Only the body of a 2xx response reaches the spool file: the HTTP client keeps error and
// redirect bodies apart, so an error page never lands there.
bool write_body(Transfer& transfer, std::string_view data) {
  if (!write_all(transfer.fd, data.data(), data.size(), transfer.write_errno)) return false;
  transfer.bytes += data.size();
  transfer.hasher->written(transfer.bytes);
  return true;
}

net::HttpRequest http_request(const MediaRequest& request, Transfer& transfer) {
  net::HttpRequest http;
  http.url = request.url;
  http.username = request.username;
  http.password = request.password;
  http.allow_http = request.allow_http;
  http.max_redirects = kMaxRedirects;
  http.connect_timeout = request.connect_timeout;
  http.stall_timeout = request.stall_timeout;
  http.total_timeout = request.total_timeout;
  http.receive_buffer = kReceiveBuffer;
  http.max_body = kMaxErrorBody;
  http.on_headers = [&transfer](const net::ResponseHead& head) {
    return start_hasher(transfer, head);
  };
  http.on_body = [&transfer](std::string_view data) { return write_body(transfer, data); };
  return http;
}

// Fills in kind and error from the finished transfer; the spool file is still open.
void classify(MediaResult& result, const util::Result<net::HttpResponse>& response,
              const Transfer& transfer) {
  if (transfer.write_errno != 0) {
    result.error =
        "cannot write the spool file: " + std::string(std::strerror(transfer.write_errno));
    return;
  }
  if (!transfer.hasher_error.empty()) {
    result.error = transfer.hasher_error;
    return;
  }
  if (!response) {
    result.error = response.error().reason;
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
  const auto& length = response->content_length;
  if (length && *length != transfer.bytes) {
    result.error = "Content-Length " + std::to_string(*length) + " but received " +
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
  Transfer transfer;
  transfer.fd = file.fd;
  transfer.request = &request;
  const auto response = net::perform(http_request(request, transfer));
  result.http_status = response ? response->status : response.error().http_status;
  if (response) result.content_type = response->content_type;
  result.bytes = transfer.bytes;

  classify(result, response, transfer);
  if (result.kind != MediaResult::Kind::kOk) {
    discard_contents(file.fd);
    result.error = util::scrub_secret(std::move(result.error), request.password);
    return result;
  }
  util::StreamDigests digests;
  try {
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
