// S3Store against a real S3 implementation: Swift 2.30 s3api (scripts/swift-s3.sh), which checks
// SigV4, payload hashes, part sizes and ETags for real, answers 501 to a conditional PutObject and
// honours If-None-Match on CompleteMultipartUpload. Skipped unless S3_TEST_ENDPOINT is set
// (tests/integration/run_s3_swift_tests.sh starts the server and sets it).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "log/logger.hpp"
#include "net/curl.hpp"
#include "s3/signer.hpp"
#include "storage/s3_store.hpp"
#include "util/crypto.hpp"
#include "util/digest.hpp"

namespace partyline::storage {
namespace {

namespace fs = std::filesystem;

struct Fetched {
  long status = 0;
  std::string body;
  std::string headers;  // raw header block, lowercased
};

size_t append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// A signed GET or HEAD, only for checking what the store wrote: sent without s3::Client (whose
// answers are cut at 1 MiB), so that the check does not share the code it checks.
Fetched fetch(const S3Store& store, const S3Options& options, const std::string& method,
              const std::string& key) {
  s3::Request request;
  request.method = method;
  request.host = store.host();
  request.path = store.object_path(key);
  const auto signed_request =
      s3::sign(request, options.credentials, options.region, std::chrono::system_clock::now());
  Fetched out;
  net::Headers headers;
  for (const auto& [name, value] : signed_request.headers)
    if (!net::append_header(headers, name + ": " + value)) return out;
  const std::string url = store.scheme() + "://" + store.host() + signed_request.encoded_path;
  const net::Easy easy = net::make_easy();
  if (!easy) return out;
  CURL* h = easy.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  if (method == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, append);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &out.headers);
  if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out.status);
  for (auto& c : out.headers)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

class S3StoreSwift : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* endpoint = std::getenv("S3_TEST_ENDPOINT");
    if (endpoint == nullptr || *endpoint == '\0') GTEST_SKIP() << "S3_TEST_ENDPOINT not set";
    endpoint_ = endpoint;
    std::string dir = (fs::temp_directory_path() / "s3-swift-XXXXXX").string();
    dir_ = ::mkdtemp(dir.data());
    std::string log = (dir_ / "log-XXXXXX").string();
    log_fd_ = ::mkstemp(log.data());
    log_path_ = log;
    logger_ = std::make_unique<log::Logger>(log_fd_, log::LogLevel::kDebug, util::system_clock());
    // One bucket per process run, so reruns against the same server start clean.
    static const std::string bucket = "partyline-test-" + util::hex_lower(util::random_bytes(4));
    bucket_ = bucket;
    const auto created = S3Store(options(), *logger_).create_bucket();
    ASSERT_TRUE(created.has_value()) << created.error().reason;
    prefix_ = "partyline/" + util::hex_lower(util::random_bytes(4)) + "/";
  }
  void TearDown() override {
    if (log_fd_ >= 0) ::close(log_fd_);
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  S3Options options() const {
    S3Options o;
    o.bucket = bucket_;
    o.region = "us-east-1";
    o.endpoint = endpoint_;
    o.path_style = true;
    o.credentials = {"test:tester", "testing", ""};
    return o;
  }

  // Small parts, so that a few MiB make a multipart upload.
  S3Options multipart_options() const {
    S3Options o = options();
    o.multipart_threshold = 6ull << 20;
    o.part_size = 5ull << 20;
    return o;
  }

  // A spool file of size bytes (a non-repeating pattern, so a misplaced part changes the hash).
  Object object(std::size_t size, const std::string& name) {
    Object o;
    o.file = dir_ / name;
    std::string content(size, '\0');
    std::uint32_t x = 2463534242u + static_cast<std::uint32_t>(size);
    for (auto& c : content) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      c = static_cast<char>(x);
    }
    std::ofstream(o.file, std::ios::binary) << content;
    o.size = size;
    o.sha256_hex = util::sha256_hex(content);
    o.content_type = "audio/mpeg";
    o.metadata = {{"recording-sid", "RE0123456789abcdef0123456789abcdef"}};
    return o;
  }

  static std::string contents(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  int log_lines_with(std::string_view evt) const {
    std::ifstream in(log_path_);
    int n = 0;
    for (std::string line; std::getline(in, line);)
      n += line.find(evt) != std::string::npos;
    return n;
  }

  std::string endpoint_;
  std::string bucket_;
  std::string prefix_;
  fs::path dir_;
  int log_fd_ = -1;
  fs::path log_path_;
  std::unique_ptr<log::Logger> logger_;
};

TEST_F(S3StoreSwift, SinglePutStoresBytesMetadataAndContentType) {
  S3Store store(options(), *logger_);
  const std::string key = prefix_ + "2025-10-25T19-54-05Z-RE01 a=b+c.mp3";
  const Object o = object(100 * 1024 + 3, "single.spool");
  const auto result = store.put_if_absent(key, o);
  ASSERT_TRUE(result.has_value()) << result.error().reason;
  EXPECT_EQ(result.value(), PutOutcome::kStored);

  const auto head = store.head(key);
  ASSERT_TRUE(head.has_value()) << head.error().reason;
  EXPECT_TRUE(head->exists);
  EXPECT_EQ(head->size, o.size);
  const auto raw_head = fetch(store, options(), "HEAD", key);
  EXPECT_EQ(raw_head.status, 200);
  EXPECT_NE(raw_head.headers.find("x-amz-meta-recording-sid: re0123456789abcdef0123456789abcdef"),
            std::string::npos)
      << raw_head.headers;
  EXPECT_NE(raw_head.headers.find("content-type: audio/mpeg"), std::string::npos)
      << raw_head.headers;

  const auto got = fetch(store, options(), "GET", key);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(util::sha256_hex(got.body), o.sha256_hex);

  const auto missing = store.head(prefix_ + "missing.mp3");
  ASSERT_TRUE(missing.has_value()) << missing.error().reason;
  EXPECT_FALSE(missing->exists);
}

TEST_F(S3StoreSwift, SecondPutOfTheSameKeyIsAlreadyExistsThroughTheFallback) {
  S3Store store(options(), *logger_);
  const std::string key = prefix_ + "twice.mp3";
  const Object o = object(4096, "twice.spool");
  const auto first = store.put_if_absent(key, o);
  ASSERT_TRUE(first.has_value()) << first.error().reason;
  EXPECT_EQ(first.value(), PutOutcome::kStored);
  // Swift answers 501 to If-None-Match on PutObject: one warning, then HEAD-then-PUT.
  EXPECT_EQ(log_lines_with("s3.conditional_put_unsupported"), 1);

  const auto second = store.put_if_absent(key, o);
  ASSERT_TRUE(second.has_value()) << second.error().reason;
  EXPECT_EQ(second.value(), PutOutcome::kAlreadyExists);

  const auto different = store.put_if_absent(key, object(4097, "other.spool"));
  EXPECT_FALSE(different.has_value());
  EXPECT_NE(different.error().reason.find("size"), std::string::npos) << different.error().reason;
  EXPECT_EQ(store.head(key)->size, 4096u);
  EXPECT_EQ(log_lines_with("s3.conditional_put_unsupported"), 1);
}

// Swift refuses the conditional PUT before reading the body: the 501 must still arrive as a
// status (not as a send error) when the body is far larger than the socket buffers.
TEST_F(S3StoreSwift, LargeSinglePutFallsBackToo) {
  S3Store store(options(), *logger_);
  const std::string key = prefix_ + "large-single.wav";
  const Object o = object(24ull << 20, "large.spool");
  const auto result = store.put_if_absent(key, o);
  ASSERT_TRUE(result.has_value()) << result.error().reason;
  EXPECT_EQ(result.value(), PutOutcome::kStored);
  EXPECT_EQ(log_lines_with("s3.conditional_put_unsupported"), 1);
  EXPECT_EQ(util::sha256_hex(fetch(store, options(), "GET", key).body), o.sha256_hex);
}

TEST_F(S3StoreSwift, ServerSideEncryptionHeaderIsAccepted) {
  S3Options o = options();
  o.sse = "AES256";
  S3Store store(o, *logger_);
  const auto result = store.put_if_absent(prefix_ + "sse.mp3", object(2048, "sse.spool"));
  ASSERT_TRUE(result.has_value()) << result.error().reason;
}

TEST_F(S3StoreSwift, MultipartStoresAnIdenticalObject) {
  S3Options o = multipart_options();
  o.sse = "AES256";
  S3Store store(o, *logger_);
  const std::string key = prefix_ + "big.wav";
  const Object big = object(12ull << 20, "big.spool");
  const auto result = store.put_if_absent(key, big);
  ASSERT_TRUE(result.has_value()) << result.error().reason;
  EXPECT_EQ(result.value(), PutOutcome::kStored);
  EXPECT_EQ(store.head(key)->size, big.size);
  const auto got = fetch(store, o, "GET", key);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body.size(), big.size);
  EXPECT_EQ(util::sha256_hex(got.body), big.sha256_hex);
  EXPECT_NE(got.headers.find("x-amz-meta-recording-sid"), std::string::npos);
}

// The service's path: the digests of every part come from the one pass over the bytes that
// wrote the spool file (digest_plan), and Swift checks each part's payload hash and Content-MD5.
TEST_F(S3StoreSwift, MultipartWithPartDigestsFromTheWritePass) {
  S3Options o = multipart_options();
  S3Store store(o, *logger_);
  const std::string key = prefix_ + "parts.wav";
  Object big = object(12ull << 20, "parts.spool");
  const std::string content = contents(big.file);
  util::StreamDigest digest(store.digest_plan(big.size));
  digest.update(content.data(), content.size());
  util::StreamDigests digests = digest.finish();
  ASSERT_EQ(digests.parts.size(), 3u);
  big.part_size = digests.part_size;
  big.parts = digests.parts;
  const auto result = store.put_if_absent(key, big);
  ASSERT_TRUE(result.has_value()) << result.error().reason;
  const auto got = fetch(store, o, "GET", key);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(util::sha256_hex(got.body), big.sha256_hex);

  // A wrong part digest is refused by the server, not stored.
  big.parts[1].md5_base64 = big.parts[0].md5_base64;
  const auto refused = store.put_if_absent(prefix_ + "bad-parts.wav", big);
  EXPECT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().http_status, 400) << refused.error().reason;
  EXPECT_FALSE(store.head(prefix_ + "bad-parts.wav")->exists);
}

// The service's path for a large recording: parts go up while the file is still being written,
// each as soon as it is there and hashed; Swift checks every part's payload hash and Content-MD5.
TEST_F(S3StoreSwift, StreamedUploadStoresAnIdenticalObjectWrittenWhileItUploads) {
  S3Options o = multipart_options();
  S3Store store(o, *logger_);
  const std::string key = prefix_ + "streamed.wav";
  Object big = object(13ull << 20, "streamed.spool");
  const std::string content = contents(big.file);
  std::ofstream(big.file, std::ios::binary | std::ios::trunc);  // empty, as when a fetch starts
  Object shape = big;
  shape.sha256_hex.clear();
  auto upload = store.begin_upload(key, shape);
  ASSERT_NE(upload, nullptr);

  // Write the file in 1 MiB pieces, hashing as the fetch does and reporting each complete part.
  util::StreamDigest digest(store.digest_plan(big.size));
  std::size_t reported = 0;
  {
    std::ofstream out(big.file, std::ios::binary | std::ios::app);
    for (std::size_t at = 0; at < content.size(); at += 1u << 20) {
      const std::size_t n = std::min<std::size_t>(1u << 20, content.size() - at);
      out.write(content.data() + at, static_cast<std::streamsize>(n));
      out.flush();
      digest.update(content.data() + at, n);
      while (reported < digest.parts().size())
        upload->part_ready(digest.parts()[reported++]);
    }
  }
  EXPECT_EQ(reported, 2u);  // 5 + 5 MiB; the last 3 MiB only at finish
  util::StreamDigests digests = digest.finish();
  big.part_size = digests.part_size;
  big.parts = digests.parts;
  const auto result = upload->finish(big);
  ASSERT_TRUE(result.has_value()) << result.error().reason;
  EXPECT_EQ(result.value(), PutOutcome::kStored);
  const auto got = fetch(store, o, "GET", key);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(util::sha256_hex(got.body), big.sha256_hex);
  EXPECT_NE(got.headers.find("x-amz-meta-recording-sid"), std::string::npos);
}

TEST_F(S3StoreSwift, StreamedUploadDroppedMidwayLeavesNoObject) {
  S3Options o = multipart_options();
  S3Store store(o, *logger_);
  const std::string key = prefix_ + "dropped.wav";
  const Object big = object(12ull << 20, "dropped.spool");
  const std::string content = contents(big.file);
  auto upload = store.begin_upload(key, big);
  ASSERT_NE(upload, nullptr);
  util::StreamDigest digest(store.digest_plan(big.size));
  digest.update(content.data(), 5u << 20);
  ASSERT_EQ(digest.parts().size(), 1u);
  upload->part_ready(digest.parts()[0]);
  upload.reset();  // the fetch failed after the first part
  EXPECT_FALSE(store.head(key)->exists);
  const auto got = fetch(store, o, "GET", key);
  EXPECT_EQ(got.status, 404);
}

TEST_F(S3StoreSwift, MultipartCompleteOnAnExistingKeyIsAlreadyExists) {
  S3Options o = multipart_options();
  const std::string key = prefix_ + "big-twice.wav";
  const Object big = object(11ull << 20, "big2.spool");
  {
    S3Store store(o, *logger_);
    ASSERT_TRUE(store.put_if_absent(key, big).has_value());
  }
  // A fresh store has not seen a 501 yet: it uploads the parts and Swift's 412 on the
  // conditional CompleteMultipartUpload is what stops the overwrite.
  S3Store store(o, *logger_);
  const auto again = store.put_if_absent(key, big);
  ASSERT_TRUE(again.has_value()) << again.error().reason;
  EXPECT_EQ(again.value(), PutOutcome::kAlreadyExists);
  EXPECT_EQ(log_lines_with("s3.conditional_put_unsupported"), 0);
}

TEST_F(S3StoreSwift, WrongSecretIsA403) {
  S3Options o = options();
  o.credentials.secret_access_key = "wrong-secret";
  S3Store store(o, *logger_);
  const auto result = store.put_if_absent(prefix_ + "denied.mp3", object(100, "denied.spool"));
  EXPECT_FALSE(result.has_value());
  // Swift answers the conditional PUT with 501 before checking the signature; the HEAD that
  // follows is the request refused with 403.
  EXPECT_NE(result.error().reason.find("403"), std::string::npos) << result.error().reason;
  EXPECT_EQ(result.error().reason.find("wrong-secret"), std::string::npos);
  const auto head = store.head(prefix_ + "denied.mp3");
  EXPECT_FALSE(head.has_value());
  EXPECT_NE(head.error().reason.find("403"), std::string::npos) << head.error().reason;
}

}  // namespace
}  // namespace partyline::storage
