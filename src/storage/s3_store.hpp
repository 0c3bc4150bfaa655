#pragma once
// Recordings to S3 (or an S3-compatible server) with create-only semantics: PutObject or
// CompleteMultipartUpload with `If-None-Match: *`, falling back to HEAD-then-PUT on servers that
// answer 501 (Swift). The requests themselves are s3/client.hpp's (signing, transport, retry of
// idempotent requests) and s3/multipart.hpp's.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "log/logger.hpp"
#include "s3/client.hpp"
#include "s3/signer.hpp"
#include "storage/object_store.hpp"
#include "util/clock.hpp"

namespace partyline::storage {

struct S3Options {
  std::string bucket;
  std::string region;
  // "" = AWS (https://s3.<region>.amazonaws.com, or virtual-hosted
  // https://<bucket>.s3.<region>.amazonaws.com); else e.g. "http://127.0.0.1:18080".
  std::string endpoint;
  bool path_style = false;      // true for custom endpoints normally
  s3::Credentials credentials;  // session_token -> x-amz-security-token
  std::uint64_t multipart_threshold = 64ull << 20;
  std::uint64_t part_size = 16ull << 20;
  // Parts sent at once, each on its own connection: the server works on one part while the next
  // one is on the wire (Swift's proxy and object server take turns on a single stream).
  unsigned parts_in_flight = 2;
  std::string sse;             // "", "AES256" or "aws:kms"
  std::string sse_kms_key_id;  // with aws:kms, optional
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds stall_timeout{60};  // CURLOPT_LOW_SPEED_LIMIT 1 byte/s for this long
  util::Clock clock = util::system_clock();
  // Of idempotent requests (a part, HEAD, GET, DELETE) after a timeout, a dropped connection,
  // 5xx or 429.
  s3::RetryOptions retry = {};
};

// Thread-safe: a request takes a CURL easy handle from a small pool and gives it back after, so
// requests on any threads run concurrently while consecutive ones (the parts of an upload) reuse
// the handle's open connection. libcurl is loaded by the first request (net/curl_lazy.cpp).
// Thread-safe, as its s3::Client.
class S3Store : public ObjectStore {
 public:
  // Throws std::invalid_argument for an endpoint that is not an http(s) origin.
  S3Store(S3Options options, log::Logger& logger);
  ~S3Store() override;
  S3Store(const S3Store&) = delete;
  S3Store& operator=(const S3Store&) = delete;

  util::Result<PutOutcome> put_if_absent(const std::string& key, const Object& object) override;
  util::Result<Head> head(const std::string& key) override;
  util::Result<std::string> read_small(const std::string& key) override;
  util::Result<void> remove(const std::string& key) override;
  std::string location(const std::string& key) const override;  // "s3://bucket/key"
  // A presigned GET (SigV4 query authentication) with response-content-type and, when given,
  // response-content-disposition.
  std::optional<std::string> link(const std::string& key, std::chrono::seconds expires,
                                  const std::string& content_type,
                                  const std::string& disposition) const override;
  std::string_view name() const override { return "s3"; }
  // Up to multipart_threshold: the whole file's MD5 (Content-MD5 of the single PUT); above it,
  // each part_size range's SHA-256 and MD5 instead; unknown size: both.
  util::DigestPlan digest_plan(std::optional<std::uint64_t> size) const override;
  // Above multipart_threshold: a multipart upload whose parts go up as the file is written (the
  // first parts while the fetch is still running), on up to parts_in_flight connections.
  std::unique_ptr<PartUpload> begin_upload(const std::string& key, const Object& object) override;

  // PUT /bucket, for tests and tools (the service expects an existing bucket). kAlreadyExists
  // when the server says the bucket is already there (409 BucketAlreadyOwnedByYou, or Swift's
  // BucketAlreadyExists for its own container).
  util::Result<PutOutcome> create_bucket();
  // GET /bucket?lifecycle (for `partyline check`): how many rules the bucket's lifecycle
  // configuration has, 0 when it has none (NoSuchLifecycleConfiguration).
  util::Result<std::size_t> lifecycle_rules();

  // Where requests go: "http" or "https", and the host header value (with a non-default port).
  const std::string& scheme() const { return client_->options().scheme; }
  const std::string& host() const { return client_->options().host; }
  // The unencoded request path of a key: "/bucket/key" (path-style) or "/key".
  std::string object_path(const std::string& key) const { return client_->path(key); }

 private:
  class StreamedUpload;  // begin_upload's

  using Put = util::Result<PutOutcome>;

  Put put_single(const std::string& key, const Object& object, int fd);
  Put put_multipart(const std::string& key, const Object& object, int fd);
  // Without conditional writes (Swift), a multipart upload first checks with HEAD whether the key
  // is there: the answer when it is (or when the check failed), nullopt to go on.
  std::optional<Put> found_before_upload(const std::string& key, std::uint64_t size);
  // CompleteMultipartUpload, create-only; aborts the upload whenever it does not succeed.
  Put complete_upload(const std::string& key, std::uint64_t size, const std::string& upload_id,
                      const std::vector<std::string>& etags);
  // After a 412 (or a HEAD-first check found the key): same size -> kAlreadyExists.
  Put resolve_existing(const std::string& key, std::uint64_t size, int status);
  static Put compare_existing(const Head& existing, std::uint64_t size, int status);
  void note_conditional_unsupported(int status);

  // Headers for PutObject and CreateMultipartUpload: Content-Type, x-amz-meta-*, SSE.
  s3::Pairs object_headers(const Object& object) const;

  S3Options options_;
  log::Logger& log_;
  std::unique_ptr<s3::Client> client_;
  // Set after the first 501 to `If-None-Match`: later writes go straight to HEAD-then-PUT.
  std::atomic<bool> conditional_unsupported_{false};
};

}  // namespace partyline::storage
