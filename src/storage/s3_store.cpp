#include "storage/s3_store.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/url/parse.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "storage/s3_xml.hpp"
#include "util/crypto.hpp"
#include "net/curl.hpp"
#include "util/digest.hpp"

namespace partyline::storage {
namespace {

// S3 allows at most 10,000 parts per upload.
constexpr std::uint64_t kMaxParts = 10000;
// Error bodies are small XML documents; anything bigger is cut (only <Code> is needed).
constexpr std::size_t kMaxResponseBody = 1 << 20;
constexpr std::size_t kHashBuffer = 256 * 1024;
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

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// "" when hex is not an even-length hex string.
std::string from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return "";
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int v = 0;
    for (std::size_t j = i; j < i + 2; ++j) {
      const char c = hex[j];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= c - '0';
      else if (c >= 'a' && c <= 'f')
        v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        v |= c - 'A' + 10;
      else
        return "";
    }
    out += static_cast<char>(v);
  }
  return out;
}

// SHA-256 and MD5 of part.offset..+part.size of fd in one pass with a small buffer, so that a
// part's payload hash is known before it is streamed (UNSIGNED-PAYLOAD is not safe over http).
bool hash_range(int fd, util::PartDigest& part, std::string& error) {
  try {
    util::Digest digest;
    std::vector<char> buffer(
        static_cast<std::size_t>(std::min<std::uint64_t>(kHashBuffer, part.size)));
    std::uint64_t done = 0;
    while (done < part.size) {
      const auto want =
          static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), part.size - done));
      const ssize_t r = ::pread(fd, buffer.data(), want, static_cast<off_t>(part.offset + done));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        error = r < 0 ? std::string("read spool file: ") + std::strerror(errno)
                      : std::string("spool file shorter than expected");
        return false;
      }
      digest.update(buffer.data(), static_cast<std::size_t>(r));
      done += static_cast<std::uint64_t>(r);
    }
    part.sha256_hex = digest.sha256_hex();
    part.md5_base64 = digest.md5_base64();
    return true;
  } catch (const std::exception& e) {  // OpenSSL could not set up a context
    error = std::string("hashing the spool file: ") + e.what();
    return false;
  }
}

// The request body: a string (XML) or a byte range of the spool file, streamed by libcurl's read
// callback so that memory stays small whatever the object size.
struct BodyReader {
  const std::string* text = nullptr;
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint64_t pos = 0;
  int read_errno = 0;
};

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
  auto* headers = static_cast<s3::Pairs*>(userdata);
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

struct CurlDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

using Handle = std::unique_ptr<CURL, CurlDeleter>;

PutResult failure(std::string error, int status) {
  PutResult result;
  result.error = std::move(error);
  result.http_status = status;
  return result;
}

PutResult success(PutOutcome outcome, int status) {
  PutResult result;
  result.ok = true;
  result.outcome = outcome;
  result.http_status = status;
  return result;
}

}  // namespace

// Idle easy handles. Each keeps its own connection cache (which curl_easy_reset leaves alone), so
// the next request on a handle reuses its open connection instead of a new TCP (and TLS)
// handshake per request, and its slow-start.
struct S3Store::HandlePool {
  std::mutex mutex;
  std::vector<Handle> idle;

  Handle take() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        Handle h = std::move(idle.back());
        idle.pop_back();
        return h;
      }
    }
    return Handle(curl_easy_init());
  }
  void give_back(Handle h) {
    curl_easy_reset(h.get());  // drops the options pointing into the finished request
    std::lock_guard lock(mutex);
    if (idle.size() < kMaxIdleHandles) idle.push_back(std::move(h));
  }
};

struct S3Store::Request {
  std::string method;
  std::string path;  // unencoded
  s3::Pairs query;
  s3::Pairs headers;  // signed, besides those the signer adds
  std::string payload_sha256 = std::string(s3::kEmptyPayloadSha256);
  bool has_body = false;  // PUT/POST: body below (possibly empty)
  BodyReader body;
};

struct S3Store::Response {
  int status = 0;
  std::string transport_error;  // non-empty: no HTTP response
  std::string body;
  s3::Pairs headers;  // names lowercased

  std::string header(std::string_view name) const {
    for (const auto& [n, v] : headers)
      if (n == name) return v;
    return "";
  }
  // "PUT 403 SignatureDoesNotMatch", "HEAD 500", "PUT: curl: Timeout was reached ..."
  std::string describe(std::string_view op) const {
    if (!transport_error.empty()) return std::string(op) + ": " + transport_error;
    std::string out = std::string(op) + " " + std::to_string(status);
    const std::string code = s3_xml::error_code(body);
    if (!code.empty()) out += " " + code;
    return out;
  }
};

S3Store::~S3Store() = default;

S3Store::S3Store(S3Options options, log::Logger& logger)
    : options_(std::move(options)), log_(logger), handles_(std::make_unique<HandlePool>()) {
  if (options_.endpoint.empty()) {
    scheme_ = "https";
    const std::string regional = "s3." + options_.region + ".amazonaws.com";
    host_ = options_.path_style ? regional : options_.bucket + "." + regional;
  } else {
    auto url = boost::urls::parse_uri(options_.endpoint);
    if (!url || (url->scheme() != "http" && url->scheme() != "https") || !url->has_authority() ||
        url->host().empty() || url->has_query() || url->has_userinfo()) {
      throw std::invalid_argument("S3 endpoint must be an http(s) origin: " + options_.endpoint);
    }
    scheme_ = url->scheme();
    const std::string host(url->encoded_host_and_port());
    // The signed host must match what libcurl sends: it drops the scheme's default port.
    const std::string default_port = scheme_ == "https" ? "443" : "80";
    const std::string bare = url->has_port() && url->port() != default_port
                                 ? host
                                 : std::string(url->encoded_host_address());
    host_ = options_.path_style ? bare : options_.bucket + "." + bare;
    std::string path(url->encoded_path());
    while (!path.empty() && path.back() == '/')
      path.pop_back();
    base_path_ = path;
  }
  if (options_.path_style) base_path_ += "/" + options_.bucket;
  if (options_.part_size == 0) options_.part_size = 16ull << 20;
}

util::DigestPlan S3Store::digest_plan(std::optional<std::uint64_t> size) const {
  if (!size) return {.whole_md5 = true, .part_size = options_.part_size};
  if (*size <= options_.multipart_threshold) return {.whole_md5 = true, .part_size = 0};
  return {.whole_md5 = false, .part_size = options_.part_size};
}

std::string S3Store::object_path(const std::string& key) const {
  return base_path_ + "/" + key;
}

std::string S3Store::location(const std::string& key) const {
  return "s3://" + options_.bucket + "/" + key;
}

S3Store::Response S3Store::send(const Request& request) const {
  Response response;
  s3::Request to_sign;
  to_sign.method = request.method;
  to_sign.host = host_;
  to_sign.path = request.path.empty() ? "/" : request.path;
  to_sign.query = request.query;
  to_sign.headers = request.headers;
  to_sign.payload_sha256_hex = request.payload_sha256;
  const s3::Signed signed_request =
      s3::sign(to_sign, options_.credentials, options_.region, options_.clock());

  std::string url = scheme_ + "://" + host_ + signed_request.encoded_path;
  if (!signed_request.canonical_query.empty()) url += "?" + signed_request.canonical_query;

  std::unique_ptr<curl_slist, SlistDeleter> header_list;
  auto add_header = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(header_list.get(), line.c_str());
    if (next != nullptr) {
      (void)header_list.release();
      header_list.reset(next);
    }
  };
  bool has_content_type = false;
  for (const auto& [name, value] : signed_request.headers) {
    if (lower(name) == "content-type") has_content_type = true;
    // "name;" is libcurl's spelling of a header with an empty value ("name:" would remove it).
    add_header(value.empty() ? name + ";" : name + ": " + value);
  }
  add_header("Expect:");                               // no 100-continue round trip
  if (!has_content_type) add_header("Content-Type:");  // drop libcurl's POST default (unsigned)

  Handle handle = handles_->take();
  if (!handle) {
    response.transport_error = net::curl_init_error();
    return response;
  }
  CURL* h = handle.get();
  char errbuf[CURL_ERROR_SIZE] = {};
  BodyReader body = request.body;
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
  if (request.has_body) {
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
    response.transport_error = std::string("curl: ") + curl_easy_strerror(rc);
    if (errbuf[0] != '\0') response.transport_error += std::string(" (") + errbuf + ")";
    if (body.read_errno != 0)
      response.transport_error +=
          std::string("; read spool file: ") + std::strerror(body.read_errno);
    return response;  // the handle goes, with whatever state its connection is in
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  handles_->give_back(std::move(handle));
  return response;
}

s3::Pairs S3Store::object_headers(const Object& object) const {
  s3::Pairs headers;
  if (!object.content_type.empty()) headers.emplace_back("content-type", object.content_type);
  for (const auto& [name, value] : object.metadata)
    headers.emplace_back("x-amz-meta-" + name, value);
  if (!options_.sse.empty()) {
    headers.emplace_back("x-amz-server-side-encryption", options_.sse);
    if (options_.sse == "aws:kms" && !options_.sse_kms_key_id.empty()) {
      headers.emplace_back("x-amz-server-side-encryption-aws-kms-key-id", options_.sse_kms_key_id);
    }
  }
  return headers;
}

HeadResult S3Store::head(const std::string& key) {
  Request request;
  request.method = "HEAD";
  request.path = object_path(key);
  const Response response = send(request);
  HeadResult result;
  if (response.status == 404) {
    result.ok = true;
    return result;
  }
  if (response.status != 200) {
    result.error = response.describe("HEAD");
    return result;
  }
  const std::string length = response.header("content-length");
  char* end = nullptr;
  errno = 0;
  const unsigned long long size = std::strtoull(length.c_str(), &end, 10);
  if (length.empty() || *end != '\0' || errno != 0) {
    result.error = "HEAD 200 without a valid Content-Length";
    return result;
  }
  result.ok = true;
  result.exists = true;
  result.size = size;
  return result;
}

ReadResult S3Store::read_small(const std::string& key) {
  Request request;
  request.method = "GET";
  request.path = object_path(key);
  const Response response = send(request);
  if (response.status != 200) return {false, {}, response.describe("GET")};
  return {true, response.body, {}};
}

RemoveResult S3Store::remove(const std::string& key) {
  Request request;
  request.method = "DELETE";
  request.path = object_path(key);
  const Response response = send(request);
  if (response.status != 204 && response.status != 200) return {false, response.describe("DELETE")};
  return {true, {}};
}

PutResult S3Store::resolve_existing(const std::string& key, std::uint64_t size, int status) {
  const HeadResult existing = head(key);
  if (!existing.ok) return failure(existing.error, status);
  // A 412 for a key that HEAD cannot see: a concurrent writer or an eventually consistent listing.
  if (!existing.exists) return failure("object reported as existing but HEAD says 404", status);
  return compare_existing(existing, size, status);
}

PutResult S3Store::compare_existing(const HeadResult& existing, std::uint64_t size, int status) {
  // Keys are deterministic per RecordingSid: the same size is taken as the same recording.
  if (existing.size != size) {
    return failure("object exists with size " + std::to_string(existing.size) + ", local size " +
                       std::to_string(size) + "; not overwritten",
                   status);
  }
  return success(PutOutcome::kAlreadyExists, status);
}

void S3Store::note_conditional_unsupported(int status) {
  if (conditional_unsupported_.exchange(true)) return;
  log_.warn("s3.conditional_put_unsupported",
            {{"bucket", options_.bucket},
             {"status", status},
             {"reason",
              "server rejects If-None-Match (501): falling back to HEAD-then-PUT, which cannot "
              "guarantee create-only writes (a concurrent writer of the same key may be "
              "overwritten)"}});
}

PutResult S3Store::put_if_absent(const std::string& key, const Object& object) {
  const int fd = ::open(object.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failure(std::string("open spool file: ") + std::strerror(errno), 0);
  struct stat st {};
  PutResult result;
  if (::fstat(fd, &st) != 0) {
    result = failure(std::string("stat spool file: ") + std::strerror(errno), 0);
  } else if (static_cast<std::uint64_t>(st.st_size) != object.size) {
    result = failure("spool file has " + std::to_string(st.st_size) + " bytes, expected " +
                         std::to_string(object.size),
                     0);
  } else if (object.size <= options_.multipart_threshold) {
    result = put_single(key, object, fd);
  } else {
    result = put_multipart(key, object, fd);
  }
  ::close(fd);
  return result;
}

PutResult S3Store::put_single(const std::string& key, const Object& object, int fd) {
  Request request;
  request.method = "PUT";
  request.path = object_path(key);
  request.headers = object_headers(object);
  request.has_body = true;
  request.body.fd = fd;
  request.body.length = object.size;
  const std::string md5 = from_hex(object.md5_hex);
  if (md5.size() == 16 && object.sha256_hex.size() == 64) {
    request.payload_sha256 = lower(object.sha256_hex);
    request.headers.emplace_back("content-md5", util::base64(md5));
  } else {
    // The caller normally hashes while spooling; without the digests, compute them here.
    util::PartDigest whole;
    whole.size = object.size;
    std::string error;
    if (!hash_range(fd, whole, error)) return failure(error, 0);
    request.payload_sha256 = std::move(whole.sha256_hex);
    request.headers.emplace_back("content-md5", std::move(whole.md5_base64));
  }

  if (!conditional_unsupported_.load()) {
    Request conditional = request;
    conditional.headers.emplace_back("if-none-match", "*");
    const Response response = send(conditional);
    if (response.status == 200) return success(PutOutcome::kStored, 200);
    if (response.status == 412) return resolve_existing(key, object.size, 412);
    if (response.status != 501) return failure(response.describe("PUT"), response.status);
    note_conditional_unsupported(501);
  }

  const HeadResult existing = head(key);
  if (!existing.ok) return failure(existing.error, 0);
  if (existing.exists) return compare_existing(existing, object.size, 200);
  const Response response = send(request);
  if (response.status == 200) return success(PutOutcome::kStored, 200);
  return failure(response.describe("PUT"), response.status);
}

void S3Store::abort_upload(const std::string& key, const std::string& upload_id) const {
  Request request;
  request.method = "DELETE";
  request.path = object_path(key);
  request.query = {{"uploadId", upload_id}};
  const Response response = send(request);
  if (response.status == 204 || response.status == 200 || response.status == 404) return;
  // A leftover upload costs storage until the bucket's AbortIncompleteMultipartUpload rule.
  log_.warn("s3.abort_failed", {{"bucket", options_.bucket},
                                {"key", key},
                                {"reason", response.describe("DELETE uploadId")}});
}

PutResult S3Store::send_part(const std::string& key, int fd, const std::string& upload_id,
                             std::uint64_t n, const util::PartDigest& digests,
                             std::string& etag) const {
  Request part;
  part.method = "PUT";
  part.path = object_path(key);
  part.query = {{"partNumber", std::to_string(n)}, {"uploadId", upload_id}};
  part.headers = {{"content-md5", digests.md5_base64}};
  part.payload_sha256 = digests.sha256_hex;
  part.has_body = true;
  part.body.fd = fd;
  part.body.offset = digests.offset;
  part.body.length = digests.size;
  const Response uploaded = send(part);
  etag = uploaded.header("etag");
  if (uploaded.status == 200 && !etag.empty()) return success(PutOutcome::kStored, 200);
  const std::string op = "PUT part " + std::to_string(n);
  return failure(uploaded.status == 200 ? op + " 200 without an ETag" : uploaded.describe(op),
                 uploaded.status);
}

bool S3Store::found_before_upload(const std::string& key, std::uint64_t size, PutResult& result) {
  if (!conditional_unsupported_.load()) return false;
  const HeadResult existing = head(key);
  if (!existing.ok) {
    result = failure(existing.error, 0);
    return true;
  }
  if (!existing.exists) return false;
  result = compare_existing(existing, size, 200);
  return true;
}

PutResult S3Store::create_upload(const std::string& key, const Object& object,
                                 std::string& upload_id) const {
  Request create;
  create.method = "POST";
  create.path = object_path(key);
  create.query = {{"uploads", ""}};
  create.headers = object_headers(object);
  create.has_body = true;  // empty: POST needs an explicit zero length
  const Response created = send(create);
  if (created.status != 200) return failure(created.describe("POST uploads"), created.status);
  upload_id = s3_xml::upload_id(created.body);
  if (upload_id.empty()) return failure("POST uploads 200 without an UploadId", 200);
  return success(PutOutcome::kStored, 200);
}

PutResult S3Store::complete_upload(const std::string& key, std::uint64_t size,
                                   const std::string& upload_id,
                                   const std::vector<std::string>& etags) {
  std::string complete_body =
      "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (std::size_t n = 1; n <= etags.size(); ++n) {
    complete_body += "<Part><PartNumber>" + std::to_string(n) + "</PartNumber><ETag>" +
                     xml_escape(etags[n - 1]) + "</ETag></Part>";
  }
  complete_body += "</CompleteMultipartUpload>";

  Request complete;
  complete.method = "POST";
  complete.path = object_path(key);
  complete.query = {{"uploadId", upload_id}};
  complete.payload_sha256 = util::sha256_hex(complete_body);
  complete.has_body = true;
  complete.body.text = &complete_body;
  complete.body.length = complete_body.size();

  Response completed;
  if (!conditional_unsupported_.load()) {
    Request conditional = complete;
    conditional.headers.emplace_back("if-none-match", "*");
    completed = send(conditional);
    if (completed.status == 412) {
      abort_upload(key, upload_id);
      return resolve_existing(key, size, 412);
    }
    if (completed.status == 501) {
      note_conditional_unsupported(501);
      const HeadResult existing = head(key);
      if (!existing.ok || existing.exists) abort_upload(key, upload_id);
      if (!existing.ok) return failure(existing.error, 0);
      if (existing.exists) return compare_existing(existing, size, 200);
      completed = send(complete);
    }
  } else {
    completed = send(complete);
  }

  if (completed.status != 200) {
    abort_upload(key, upload_id);
    return failure(completed.describe("POST complete"), completed.status);
  }
  // S3 may answer 200 and report the failure in the body (the response streams while it works).
  const s3_xml::CompleteAnswer answer = s3_xml::complete_answer(completed.body);
  if (!answer.completed) {
    abort_upload(key, upload_id);
    const std::string& code = answer.error_code;
    return failure("POST complete 200 with " +
                       (code.empty() ? std::string("an unexpected body") : "error " + code),
                   200);
  }
  return success(PutOutcome::kStored, 200);
}

// The parts of a file still being written. A driver thread checks (HEAD, when the server has no
// conditional writes) and creates the upload, then sends parts on parts_in_flight lanes; each
// lane waits for its next part to be written and hashed. finish() hands over the last part,
// joins and completes; the destructor of an unfinished upload stops the lanes and aborts it.
class S3Store::StreamedUpload final : public PartUpload {
 public:
  // Owns fd (the file, opened for reading).
  StreamedUpload(S3Store& store, std::string key, Object object, int fd)
      : store_(store),
        key_(std::move(key)),
        object_(std::move(object)),
        fd_(fd),
        part_size_(store.options_.part_size),
        etags_((object_.size + part_size_ - 1) / part_size_) {
    ready_.reserve(etags_.size());
    driver_ = std::thread([this] { run(); });
  }

  ~StreamedUpload() override {
    stop_and_join();
    if (!finished_ && !upload_id_.empty()) store_.abort_upload(key_, upload_id_);
    ::close(fd_);
  }

  void part_ready(const util::PartDigest& part) override {
    {
      std::lock_guard lock(mutex_);
      // In order, each once: anything else is not a part of this upload's layout.
      if (ready_.size() >= etags_.size() || part.offset != ready_.size() * part_size_ ||
          part.size != expected_size(ready_.size()))
        return;
      ready_.push_back(part);
    }
    cv_.notify_all();
  }

  PutResult finish(const Object& object) override {
    std::string mismatch;
    if (object.size != object_.size) {
      mismatch = "the file has " + std::to_string(object.size) + " bytes, the upload expected " +
                 std::to_string(object_.size);
    } else if (object.part_size != part_size_ || object.parts.size() != etags_.size()) {
      mismatch = "the file's part digests do not match the upload's parts";
    }
    {
      std::lock_guard lock(mutex_);
      for (std::size_t i = ready_.size(); mismatch.empty() && i < etags_.size(); ++i) {
        const auto& part = object.parts[i];
        if (part.offset != i * part_size_ || part.size != expected_size(i)) {
          mismatch = "the file's part digests do not match the upload's parts";
        } else {
          ready_.push_back(part);
        }
      }
      if (!mismatch.empty()) stop_ = true;
    }
    cv_.notify_all();
    if (driver_.joinable()) driver_.join();
    finished_ = true;  // from here on, this function settles the upload
    if (!mismatch.empty() || failed_) {
      if (!upload_id_.empty()) store_.abort_upload(key_, upload_id_);
      return mismatch.empty() ? failure_ : failure(mismatch, 0);
    }
    if (settled_) return *settled_;
    return store_.complete_upload(key_, object_.size, upload_id_, etags_);
  }

 private:
  std::uint64_t expected_size(std::size_t i) const {
    return std::min(part_size_, object_.size - i * part_size_);
  }

  void stop_and_join() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    if (driver_.joinable()) driver_.join();
  }

  void fail(PutResult result) {
    {
      std::lock_guard lock(mutex_);
      if (!failed_) failure_ = std::move(result);
      failed_ = stop_ = true;
    }
    cv_.notify_all();
  }

  bool stopped() {
    std::lock_guard lock(mutex_);
    return stop_;
  }

  void run() {
    try {
      if (PutResult found; store_.found_before_upload(key_, object_.size, found)) {
        settled_ = std::move(found);
        return;
      }
      if (stopped()) return;  // the fetch failed already: nothing to create
      if (PutResult created = store_.create_upload(key_, object_, upload_id_); !created.ok) {
        upload_id_.clear();
        return fail(std::move(created));
      }
      std::vector<std::jthread> helpers;
      const std::uint64_t lanes =
          std::clamp<std::uint64_t>(store_.options_.parts_in_flight, 1, etags_.size());
      for (std::uint64_t i = 1; i < lanes; ++i) {
        try {
          helpers.emplace_back([this] { lane(); });
        } catch (const std::system_error&) {
          break;  // no thread to be had: fewer lanes
        }
      }
      lane();
    } catch (const std::exception& e) {
      fail(failure(std::string("multipart upload: ") + e.what(), 0));
    }
  }

  void lane() {
    for (;;) {
      const std::uint64_t i = next_.fetch_add(1);
      if (i >= etags_.size()) return;
      util::PartDigest part;
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return stop_ || ready_.size() > i; });
        if (stop_) return;
        part = ready_[i];
      }
      PutResult result;
      try {
        result = store_.send_part(key_, fd_, upload_id_, i + 1, part, etags_[i]);
      } catch (const std::exception& e) {
        result = failure("PUT part " + std::to_string(i + 1) + ": " + e.what(), 0);
      }
      if (!result.ok) return fail(std::move(result));
    }
  }

  S3Store& store_;
  const std::string key_;
  const Object object_;  // the size, content type and metadata; no digests
  const int fd_;
  const std::uint64_t part_size_;
  std::vector<std::string> etags_;  // one per part, each written by the lane that sends it
  std::atomic<std::uint64_t> next_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<util::PartDigest> ready_;  // guarded by mutex_
  bool stop_ = false;                    // guarded by mutex_
  bool failed_ = false;                  // guarded by mutex_; read after the join
  PutResult failure_;                    // likewise
  // Set by the driver, read after it is joined:
  std::string upload_id_;
  std::optional<PutResult> settled_;  // the HEAD-first check answered (the key exists, or failed)
  bool finished_ = false;             // finish() ran: nothing left for the destructor
  std::thread driver_;                // last: starts once the members above exist
};

std::unique_ptr<PartUpload> S3Store::begin_upload(const std::string& key, const Object& object) {
  const std::uint64_t parts = (object.size + options_.part_size - 1) / options_.part_size;
  // At or below the threshold a single PUT; too many parts: put_if_absent says why.
  if (object.size <= options_.multipart_threshold || parts > kMaxParts) return nullptr;
  const int fd = ::open(object.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;  // put_if_absent reports it once the file is complete
  Object shape = object;
  shape.parts.clear();
  try {
    return std::make_unique<StreamedUpload>(*this, key, std::move(shape), fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
}

// The whole file is here: the same upload as begin_upload's, with every part ready at once (the
// caller's part digests when they fit this upload's parts, else hashed here, part by part, while
// the lanes send the parts already hashed).
PutResult S3Store::put_multipart(const std::string& key, const Object& object, int fd) {
  const std::uint64_t part_size = options_.part_size;
  const std::uint64_t parts = (object.size + part_size - 1) / part_size;
  if (parts > kMaxParts) {
    return failure("object needs " + std::to_string(parts) + " parts (max 10000); raise part_size",
                   0);
  }
  bool given_parts = object.part_size == part_size && object.parts.size() == parts;
  for (std::uint64_t n = 0; given_parts && n < parts; ++n) {
    const auto& p = object.parts[n];
    given_parts =
        p.offset == n * part_size && p.size == std::min(part_size, object.size - p.offset);
  }
  const int own = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);  // the upload closes its own descriptor
  if (own < 0) return failure(std::string("dup spool file: ") + std::strerror(errno), 0);
  Object shape = object;
  shape.parts.clear();
  StreamedUpload upload(*this, key, std::move(shape), own);
  if (given_parts) return upload.finish(object);
  Object complete = object;
  complete.part_size = part_size;
  complete.parts.clear();
  for (std::uint64_t n = 0; n < parts; ++n) {
    util::PartDigest part;
    part.offset = n * part_size;
    part.size = std::min(part_size, object.size - part.offset);
    // On failure the upload, dropped unfinished, is aborted.
    if (std::string error; !hash_range(fd, part, error)) return failure(error, 0);
    upload.part_ready(part);
    complete.parts.push_back(std::move(part));
  }
  return upload.finish(complete);
}

PutResult S3Store::create_bucket() {
  Request request;
  request.method = "PUT";
  request.path = base_path_.empty() ? "/" : base_path_;
  std::string body;
  if (options_.region != "us-east-1" && !options_.region.empty()) {
    body =
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<LocationConstraint>" +
        xml_escape(options_.region) + "</LocationConstraint></CreateBucketConfiguration>";
  }
  request.payload_sha256 = util::sha256_hex(body);
  request.has_body = true;
  request.body.text = &body;
  request.body.length = body.size();
  const Response response = send(request);
  if (response.status == 200) return success(PutOutcome::kStored, 200);
  const std::string code = s3_xml::error_code(response.body);
  if (response.status == 409 &&
      (code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists"))
    return success(PutOutcome::kAlreadyExists, 409);
  return failure(response.describe("PUT bucket"), response.status);
}

}  // namespace partyline::storage
