#include "storage/s3_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "s3/multipart.hpp"
#include "s3/xml.hpp"
#include "util/crypto.hpp"
#include "util/digest.hpp"

namespace partyline::storage {
namespace {

constexpr std::size_t kHashBuffer = 256 * 1024;

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

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
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

// Not the server's doing (the spool file, an object of another size): not repeated at once.
util::Failure failure(std::string reason, int status) {
  return util::Failure::later(std::move(reason), status);
}

// Where the requests of `options` go: scheme, Host header and the path before the key.
s3::ClientOptions client_options(const S3Options& options) {
  s3::ClientOptions client{.bucket = options.bucket,
                           .region = options.region,
                           .credentials = options.credentials,
                           .connect_timeout = options.connect_timeout,
                           .stall_timeout = options.stall_timeout,
                           .clock = options.clock,
                           .retry = options.retry};
  if (options.endpoint.empty()) {
    client.scheme = "https";
    const std::string regional = "s3." + options.region + ".amazonaws.com";
    client.host = options.path_style ? regional : options.bucket + "." + regional;
  } else {
    auto url = boost::urls::parse_uri(options.endpoint);
    if (!url || (url->scheme() != "http" && url->scheme() != "https") || !url->has_authority() ||
        url->host().empty() || url->has_query() || url->has_userinfo()) {
      throw std::invalid_argument("S3 endpoint must be an http(s) origin: " + options.endpoint);
    }
    client.scheme = url->scheme();
    const std::string host(url->encoded_host_and_port());
    // The signed host must match what libcurl sends: it drops the scheme's default port.
    const std::string default_port = client.scheme == "https" ? "443" : "80";
    const std::string bare = url->has_port() && url->port() != default_port
                                 ? host
                                 : std::string(url->encoded_host_address());
    client.host = options.path_style ? bare : options.bucket + "." + bare;
    std::string path(url->encoded_path());
    while (!path.empty() && path.back() == '/')
      path.pop_back();
    client.base_path = path;
  }
  if (options.path_style) client.base_path += "/" + options.bucket;
  return client;
}

}  // namespace

S3Store::~S3Store() = default;

S3Store::S3Store(S3Options options, log::Logger& logger)
    : options_(std::move(options)),
      log_(logger),
      client_(std::make_unique<s3::Client>(client_options(options_), logger)) {
  if (options_.part_size == 0) options_.part_size = 16ull << 20;
}

util::DigestPlan S3Store::digest_plan(std::optional<std::uint64_t> size) const {
  if (!size) return {.whole_md5 = true, .part_size = options_.part_size};
  if (*size <= options_.multipart_threshold) return {.whole_md5 = true, .part_size = 0};
  return {.whole_md5 = false, .part_size = options_.part_size};
}

std::string S3Store::location(const std::string& key) const {
  return "s3://" + options_.bucket + "/" + key;
}

std::optional<std::string> S3Store::link(const std::string& key, std::chrono::seconds expires,
                                         const std::string& content_type,
                                         const std::string& disposition) const {
  s3::Request request{"GET", host(), object_path(key), {}, {}};
  request.query.emplace_back("response-content-type", content_type);
  if (!disposition.empty()) request.query.emplace_back("response-content-disposition", disposition);
  const auto presigned =
      s3::presign(request, options_.credentials, options_.region, options_.clock(), expires);
  return presigned.url(scheme(), host());
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

util::Result<Head> S3Store::head(const std::string& key) {
  s3::HttpRequest request{.method = "HEAD", .key = key, .idempotent = true, .answers = {404}};
  const auto response = client_->send(request);
  if (!response) return response.error();
  if (response->status == 404) return Head{};
  const std::string length = response->header("content-length");
  char* end = nullptr;
  errno = 0;
  const unsigned long long size = std::strtoull(length.c_str(), &end, 10);
  if (length.empty() || *end != '\0' || errno != 0)
    return util::Failure::soon("HEAD 200 without a valid Content-Length", response->status);
  return Head{.exists = true, .size = size};
}

util::Result<std::string> S3Store::read_small(const std::string& key) {
  auto response = client_->send({.method = "GET", .key = key, .idempotent = true});
  if (!response) return response.error();
  return util::Result<std::string>(boost::system::in_place_value, std::move(response->body));
}

util::Result<void> S3Store::remove(const std::string& key) {
  const auto response = client_->send({.method = "DELETE", .key = key, .idempotent = true});
  if (!response) return response.error();
  return {};
}

S3Store::Put S3Store::resolve_existing(const std::string& key, std::uint64_t size, int status) {
  const auto existing = head(key);
  if (!existing) return existing.error();
  // A 412 for a key that HEAD cannot see: a concurrent writer or an eventually consistent listing.
  if (!existing->exists)
    return util::Failure::soon("object reported as existing but HEAD says 404", status);
  return compare_existing(*existing, size, status);
}

S3Store::Put S3Store::compare_existing(const Head& existing, std::uint64_t size, int status) {
  // Keys are deterministic per RecordingSid: the same size is taken as the same recording.
  if (existing.size != size) {
    return failure("object exists with size " + std::to_string(existing.size) + ", local size " +
                       std::to_string(size) + "; not overwritten",
                   status);
  }
  return PutOutcome::kAlreadyExists;
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

util::Result<PutOutcome> S3Store::put_if_absent(const std::string& key, const Object& object) {
  const int fd = ::open(object.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failure(std::string("open spool file: ") + std::strerror(errno), 0);
  struct stat st {};
  Put result = PutOutcome::kStored;
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

S3Store::Put S3Store::put_single(const std::string& key, const Object& object, int fd) {
  // Not idempotent: create-only, and the unconditional fallback must not run twice unchecked.
  s3::HttpRequest request{.method = "PUT", .key = key, .headers = object_headers(object)};
  request.body = s3::FileRange{.fd = fd, .offset = 0, .length = object.size};
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
    s3::HttpRequest conditional = request;
    conditional.headers.emplace_back("if-none-match", "*");
    conditional.answers = {412, 501};
    const auto response = client_->send(conditional);
    if (!response) return response.error();
    if (response->status == 412) return resolve_existing(key, object.size, 412);
    if (response->status != 501) return PutOutcome::kStored;
    note_conditional_unsupported(501);
  }

  const auto existing = head(key);
  if (!existing) return existing.error();
  if (existing->exists) return compare_existing(*existing, object.size, 200);
  const auto response = client_->send(request);
  if (!response) return response.error();
  return PutOutcome::kStored;
}

std::optional<S3Store::Put> S3Store::found_before_upload(const std::string& key,
                                                         std::uint64_t size) {
  if (!conditional_unsupported_.load()) return std::nullopt;
  const auto existing = head(key);
  if (!existing) return Put(existing.error());
  if (!existing->exists) return std::nullopt;
  return compare_existing(*existing, size, 200);
}

S3Store::Put S3Store::complete_upload(const std::string& key, std::uint64_t size,
                                      const std::string& upload_id,
                                      const std::vector<std::string>& etags) {
  if (!conditional_unsupported_.load()) {
    const auto completed = s3::complete_multipart_upload(*client_, key, upload_id, etags,
                                                         {{"if-none-match", "*"}}, {412, 501});
    if (!completed) {
      s3::abort_multipart_upload(*client_, key, upload_id);
      return completed.error();
    }
    if (completed->status == 412) {
      s3::abort_multipart_upload(*client_, key, upload_id);
      return resolve_existing(key, size, 412);
    }
    if (completed->status != 501) return PutOutcome::kStored;
    note_conditional_unsupported(501);
    const auto existing = head(key);
    if (!existing || existing->exists) s3::abort_multipart_upload(*client_, key, upload_id);
    if (!existing) return existing.error();
    if (existing->exists) return compare_existing(*existing, size, 200);
  }
  const auto completed = s3::complete_multipart_upload(*client_, key, upload_id, etags, {}, {});
  if (!completed) {
    s3::abort_multipart_upload(*client_, key, upload_id);
    return completed.error();
  }
  return PutOutcome::kStored;
}

// begin_upload's upload: s3::MultipartUpload sends the parts; this adds the create-only policy
// (the HEAD-first check without conditional writes, the conditional completion).
class S3Store::StreamedUpload final : public PartUpload {
 public:
  // Owns fd (the file, opened for reading).
  StreamedUpload(S3Store& store, const std::string& key, const Object& object, int fd)
      : store_(store),
        key_(key),
        size_(object.size),
        parts_(*store.client_,
               {.key = key,
                .size = object.size,
                .part_size = store.options_.part_size,
                .parts_in_flight = store.options_.parts_in_flight,
                .headers = store.object_headers(object),
                .proceed = [this] { return proceed(); }},
               fd) {}

  void part_ready(const util::PartDigest& part) override { parts_.part_ready(part); }

  util::Result<PutOutcome> finish(const Object& object) override {
    const auto sent = parts_.finish(object.size, object.part_size, object.parts);
    if (!sent) return sent.error();
    if (sent->upload_id.empty()) return *settled_;
    return store_.complete_upload(key_, size_, sent->upload_id, sent->etags);
  }

 private:
  // On the upload's thread, before it creates the upload.
  bool proceed() {
    settled_ = store_.found_before_upload(key_, size_);
    return !settled_;
  }

  S3Store& store_;
  const std::string key_;
  const std::uint64_t size_;
  // The HEAD-first check's answer; read after finish() joined the thread.
  std::optional<S3Store::Put> settled_;
  s3::MultipartUpload parts_;  // last: its thread calls proceed()
};

std::unique_ptr<PartUpload> S3Store::begin_upload(const std::string& key, const Object& object) {
  const std::uint64_t parts = (object.size + options_.part_size - 1) / options_.part_size;
  // At or below the threshold a single PUT; too many parts: put_if_absent says why.
  if (object.size <= options_.multipart_threshold || parts > s3::kMaxParts) return nullptr;
  const int fd = ::open(object.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;  // put_if_absent reports it once the file is complete
  try {
    return std::make_unique<StreamedUpload>(*this, key, object, fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
}

// The whole file is here: the same upload as begin_upload's, with every part ready at once (the
// caller's part digests when they fit this upload's parts, else hashed here, part by part, while
// the lanes send the parts already hashed).
S3Store::Put S3Store::put_multipart(const std::string& key, const Object& object, int fd) {
  const std::uint64_t part_size = options_.part_size;
  const std::uint64_t parts = (object.size + part_size - 1) / part_size;
  if (parts > s3::kMaxParts) {
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
  StreamedUpload upload(*this, key, object, own);
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

util::Result<std::size_t> S3Store::lifecycle_rules() {
  s3::HttpRequest request{.method = "GET", .query = {{"lifecycle", ""}}, .idempotent = true};
  request.answers = {404};
  request.op = "GET lifecycle";
  const auto response = client_->send(request);
  if (!response) return response.error();
  if (response->status == 404) {
    const std::string code = s3::xml::error_code(response->body);
    if (code == "NoSuchLifecycleConfiguration") return std::size_t{0};
    return failure("GET lifecycle 404" + (code.empty() ? "" : " " + code), 404);
  }
  // Counted without a full parse: each rule is one <Rule> element.
  std::size_t rules = 0;
  for (auto at = response->body.find("<Rule>"); at != std::string::npos;
       at = response->body.find("<Rule>", at + 1))
    ++rules;
  return rules;
}

util::Result<PutOutcome> S3Store::create_bucket() {
  std::string body = s3::xml::create_bucket_configuration(options_.region);
  s3::HttpRequest request{.method = "PUT", .payload_sha256 = util::sha256_hex(body)};
  request.body = std::move(body);
  request.answers = {409};
  request.op = "PUT bucket";
  const auto response = client_->send(request);
  if (!response) return response.error();
  if (response->status != 409) return PutOutcome::kStored;
  const std::string code = s3::xml::error_code(response->body);
  if (code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists")
    return PutOutcome::kAlreadyExists;
  return failure("PUT bucket 409" + (code.empty() ? "" : " " + code), 409);
}

}  // namespace partyline::storage
