#include "storage/s3_store.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <pugixml.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../s3/fake_s3.hpp"
#include "util/crypto.hpp"

namespace partyline::storage {
namespace {

namespace fs = std::filesystem;
using fake::count;
using fake::error_xml;
using FakeS3 = fake::HttpServer;
using Recorded = fake::Request;
using Reply = fake::Response;

constexpr std::string_view kSecret = "very-secret-key/EXAMPLE";

std::string digest_hex(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, md, nullptr);
  return util::hex_lower(std::string_view(reinterpret_cast<char*>(out), n));
}

std::string md5_base64(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, EVP_md5(), nullptr);
  return util::base64(std::string_view(reinterpret_cast<char*>(out), n));
}

// A spool file plus the log file the store's Logger writes to.
class Fixture {
 public:
  Fixture() {
    std::string dir = (fs::temp_directory_path() / "s3-store-XXXXXX").string();
    dir_ = ::mkdtemp(dir.data());
    std::string log = (dir_ / "log-XXXXXX").string();
    log_fd_ = ::mkstemp(log.data());
    log_path_ = log;
    logger_ = std::make_unique<log::Logger>(log_fd_, log::LogLevel::kDebug, util::system_clock());
  }
  ~Fixture() {
    ::close(log_fd_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  Object object(std::size_t size, const std::string& name = "rec.spool") {
    std::string content(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
      content[i] = static_cast<char>('a' + (i * 7 + i / 13) % 26);
    content_ = content;
    Object o;
    o.file = dir_ / name;
    std::ofstream(o.file, std::ios::binary) << content;
    o.size = size;
    o.md5_hex = digest_hex(EVP_md5(), content);
    o.sha256_hex = digest_hex(EVP_sha256(), content);
    o.content_type = "audio/mpeg";
    o.metadata = {{"recording-sid", "RE0123456789abcdef0123456789abcdef"}, {"duration", "42"}};
    return o;
  }

  S3Options options(const std::string& endpoint) const {
    S3Options o;
    o.bucket = "bkt";
    o.region = "us-east-1";
    o.endpoint = endpoint;
    o.path_style = true;
    o.credentials = {"AKIDEXAMPLE", std::string(kSecret), ""};
    o.connect_timeout = std::chrono::seconds(5);
    o.stall_timeout = std::chrono::seconds(10);
    o.retry.first_pause = std::chrono::milliseconds(1);  // repeats at once: the tests stay fast
    o.retry.max_pause = std::chrono::milliseconds(2);
    return o;
  }

  std::vector<std::string> log_lines_with(std::string_view evt) const {
    std::ifstream in(log_path_);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
      if (line.find(evt) != std::string::npos) lines.push_back(line);
    return lines;
  }

  log::Logger& logger() { return *logger_; }
  const std::string& content() const { return content_; }

 private:
  fs::path dir_;
  int log_fd_ = -1;
  fs::path log_path_;
  std::unique_ptr<log::Logger> logger_;
  std::string content_;
};

constexpr std::string_view kKey = "partyline/2025-10-25T19-54-05Z-RE0123 a=b.mp3";
constexpr std::string_view kEncodedPath = "/bkt/partyline/2025-10-25T19-54-05Z-RE0123%20a%3Db.mp3";

TEST(S3Store, SinglePutIsConditionalSignedAndStreamsTheFile) {
  Fixture fx;
  FakeS3 fake([](const Recorded&) { return Reply{200, "", {{"ETag", "\"x\""}}, {}}; });
  S3Options options = fx.options(fake.base());
  options.sse = "AES256";
  options.credentials.session_token = "session-token";
  S3Store store(options, fx.logger());
  const Object object = fx.object(3000);
  const auto result = store.put_if_absent(std::string(kKey), object);
  ASSERT_TRUE(result.has_value()) << result.error().reason;
  EXPECT_EQ(result.value(), PutOutcome::kStored);

  const auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 1u);
  const Recorded& put = requests[0];
  EXPECT_EQ(put.method, "PUT");
  EXPECT_EQ(put.target, kEncodedPath);
  EXPECT_EQ(put.body, fx.content());
  EXPECT_EQ(put.header("if-none-match"), "*");
  EXPECT_EQ(put.header("content-md5"), md5_base64(fx.content()));
  EXPECT_EQ(put.header("x-amz-content-sha256"), object.sha256_hex);
  EXPECT_EQ(put.header("content-type"), "audio/mpeg");
  EXPECT_EQ(put.header("content-length"), "3000");
  EXPECT_EQ(put.header("x-amz-meta-recording-sid"), "RE0123456789abcdef0123456789abcdef");
  EXPECT_EQ(put.header("x-amz-meta-duration"), "42");
  EXPECT_EQ(put.header("x-amz-server-side-encryption"), "AES256");
  EXPECT_EQ(put.header("x-amz-security-token"), "session-token");
  EXPECT_EQ(put.header("host"), "127.0.0.1:" + std::to_string(fake.port()));
  EXPECT_FALSE(put.has("expect"));
  EXPECT_FALSE(put.has("transfer-encoding"));
  const std::string auth = put.header("authorization");
  EXPECT_EQ(auth.rfind("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 0), 0u) << auth;
  EXPECT_NE(auth.find("SignedHeaders=content-md5;content-type;host;if-none-match;"
                      "x-amz-content-sha256;x-amz-date;x-amz-meta-duration;"
                      "x-amz-meta-recording-sid;x-amz-security-token;"
                      "x-amz-server-side-encryption,"),
            std::string::npos)
      << auth;
  EXPECT_EQ(store.location("k/x.mp3"), "s3://bkt/k/x.mp3");
}

TEST(S3Store, SinglePutComputesDigestsTheCallerDidNotGive) {
  Fixture fx;
  FakeS3 fake([](const Recorded&) { return Reply{}; });
  S3Options options = fx.options(fake.base());
  options.sse = "aws:kms";
  options.sse_kms_key_id = "arn:aws:kms:us-east-1:1:key/k";
  S3Store store(options, fx.logger());
  Object object = fx.object(100);
  const std::string sha = object.sha256_hex;
  object.md5_hex.clear();
  object.sha256_hex.clear();
  ASSERT_TRUE(store.put_if_absent("k", object).has_value());
  const auto put = fake.requests().at(0);
  EXPECT_EQ(put.header("x-amz-content-sha256"), sha);
  EXPECT_EQ(put.header("content-md5"), md5_base64(fx.content()));
  EXPECT_EQ(put.header("x-amz-server-side-encryption"), "aws:kms");
  EXPECT_EQ(put.header("x-amz-server-side-encryption-aws-kms-key-id"),
            "arn:aws:kms:us-east-1:1:key/k");
}

TEST(S3Store, PreconditionFailedWithSameSizeIsAlreadyExists) {
  Fixture fx;
  FakeS3 fake([](const Recorded& r) {
    if (r.method == "HEAD") return Reply{200, "", {}, 3000};
    return Reply{412, error_xml("PreconditionFailed"), {}, {}};
  });
  S3Store store(fx.options(fake.base()), fx.logger());
  const auto result = store.put_if_absent("k.mp3", fx.object(3000));
  ASSERT_TRUE(result.has_value()) << result.error().reason;
  EXPECT_EQ(result.value(), PutOutcome::kAlreadyExists);
  const auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(requests[1].method, "HEAD");
  EXPECT_EQ(requests[1].target, "/bkt/k.mp3");
}

TEST(S3Store, PreconditionFailedWithDifferentSizeIsAnErrorWithoutOverwrite) {
  Fixture fx;
  FakeS3 fake([](const Recorded& r) {
    if (r.method == "HEAD") return Reply{200, "", {}, 2999};
    return Reply{412, error_xml("PreconditionFailed"), {}, {}};
  });
  S3Store store(fx.options(fake.base()), fx.logger());
  const auto result = store.put_if_absent("k.mp3", fx.object(3000));
  EXPECT_FALSE(result.has_value());
  EXPECT_EQ(result.error().http_status, 412);
  EXPECT_FALSE(result.error().transient()) << "another object under the key stays there";
  EXPECT_NE(result.error().reason.find("size 2999"), std::string::npos) << result.error().reason;
  EXPECT_EQ(fake.requests().size(), 2u);
}

TEST(S3Store, ConflictIsARetryableErrorWithTheS3Code) {
  Fixture fx;
  FakeS3 fake([](const Recorded&) {
    return Reply{409, error_xml("ConditionalRequestConflict"), {}, {}};
  });
  S3Store store(fx.options(fake.base()), fx.logger());
  const auto result = store.put_if_absent("k.mp3", fx.object(10));
  EXPECT_FALSE(result.has_value());
  EXPECT_EQ(result.error().http_status, 409);
  EXPECT_EQ(result.error().reason, "PUT 409 ConditionalRequestConflict");
  EXPECT_EQ(fake.requests().size(), 1u);
}

TEST(S3Store, ErrorsNameStatusAndCodeButNeverTheSecret) {
  Fixture fx;
  FakeS3 fake([](const Recorded&) {
    return Reply{403, error_xml("SignatureDoesNotMatch"), {}, {}};
  });
  S3Store store(fx.options(fake.base()), fx.logger());
  const auto result = store.put_if_absent("k.mp3", fx.object(10));
  EXPECT_FALSE(result.has_value());
  EXPECT_EQ(result.error().reason, "PUT 403 SignatureDoesNotMatch");
  EXPECT_EQ(result.error().reason.find(kSecret), std::string::npos);
  const auto head = store.head("k.mp3");
  EXPECT_FALSE(head.has_value());
  EXPECT_EQ(head.error().reason, "HEAD 403");
}

TEST(S3Store, AConditionalPutAnswered500IsNotSentAgain) {
  Fixture fx;
  FakeS3 fake([](const Recorded&) { return Reply{500, error_xml("InternalError"), {}, {}}; });
  S3Store store(fx.options(fake.base()), fx.logger());
  const auto result = store.put_if_absent("k.mp3", fx.object(10));
  EXPECT_FALSE(result.has_value());
  EXPECT_EQ(result.error().http_status, 500);
  EXPECT_EQ(result.error().reason, "PUT 500 InternalError");
  EXPECT_EQ(fake.requests().size(), 1u);
}

TEST(S3Store, HeadIsSentAgainAfterA503) {
  Fixture fx;
  std::atomic<int> heads{0};
  FakeS3 fake([&](const Recorded&) {
    if (heads++ == 0) return Reply{503, error_xml("SlowDown"), {}, {}};
    return Reply{200, "", {}, 77};
  });
  S3Store store(fx.options(fake.base()), fx.logger());
  const auto head = store.head("k.mp3");
  ASSERT_TRUE(head.has_value()) << head.error().reason;
  EXPECT_EQ(head->size, 77u);
  EXPECT_EQ(fake.requests().size(), 2u);
  EXPECT_EQ(fx.log_lines_with("s3.request.retry").size(), 1u);
}

TEST(S3Store, NotImplementedFallsBackToHeadThenPutAndWarnsOnce) {
  Fixture fx;
  FakeS3 fake([](const Recorded& r) {
    if (r.method == "HEAD") return Reply{404, "", {}, {}};
    if (r.has("if-none-match")) return Reply{501, error_xml("NotImplemented"), {}, {}};
    return Reply{};
  });
  S3Store store(fx.options(fake.base()), fx.logger());
  const auto first = store.put_if_absent("a.mp3", fx.object(500));
  ASSERT_TRUE(first.has_value()) << first.error().reason;
  EXPECT_EQ(first.value(), PutOutcome::kStored);
  const auto second = store.put_if_absent("b.mp3", fx.object(600));
  ASSERT_TRUE(second.has_value()) << second.error().reason;

  const auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_TRUE(requests[0].has("if-none-match"));
  EXPECT_EQ(requests[1].method, "HEAD");
  EXPECT_EQ(requests[2].method, "PUT");
  EXPECT_FALSE(requests[2].has("if-none-match"));
  EXPECT_EQ(requests[2].body.size(), 500u);
  // The store remembers: the next write goes straight to HEAD-then-PUT.
  EXPECT_EQ(requests[3].method, "HEAD");
  EXPECT_EQ(requests[4].method, "PUT");
  EXPECT_FALSE(requests[4].has("if-none-match"));
  const auto warnings = fx.log_lines_with("s3.conditional_put_unsupported");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("\"level\":\"warn\""), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("create-only"), std::string::npos) << warnings[0];
}

TEST(S3Store, FallbackHeadFindingTheSameSizeSkipsThePut) {
  Fixture fx;
  FakeS3 fake([](const Recorded& r) {
    if (r.method == "HEAD") return Reply{200, "", {}, 500};
    return Reply{501, error_xml("NotImplemented"), {}, {}};
  });
  S3Store store(fx.options(fake.base()), fx.logger());
  const auto result = store.put_if_absent("a.mp3", fx.object(500));
  ASSERT_TRUE(result.has_value()) << result.error().reason;
  EXPECT_EQ(result.value(), PutOutcome::kAlreadyExists);
  EXPECT_EQ(fake.requests().size(), 2u);
}

TEST(S3Store, HeadReportsSizeAndAbsence) {
  Fixture fx;
  FakeS3 fake([](const Recorded& r) {
    if (r.target == "/bkt/there") return Reply{200, "", {}, 123456789012ull};
    return Reply{404, "", {}, {}};
  });
  S3Store store(fx.options(fake.base()), fx.logger());
  auto head = store.head("there");
  ASSERT_TRUE(head.has_value()) << head.error().reason;
  EXPECT_TRUE(head->exists);
  EXPECT_EQ(head->size, 123456789012ull);
  head = store.head("missing");
  ASSERT_TRUE(head.has_value()) << head.error().reason;
  EXPECT_FALSE(head->exists);
}

TEST(S3Store, TransportErrorsHaveStatusZero) {
  Fixture fx;
  std::string endpoint;
  {
    FakeS3 closed([](const Recorded&) { return Reply{}; });
    endpoint = closed.base();
  }
  S3Store store(fx.options(endpoint), fx.logger());
  const auto result = store.put_if_absent("k", fx.object(10));
  EXPECT_FALSE(result.has_value());
  EXPECT_EQ(result.error().http_status, 0);
  EXPECT_NE(result.error().reason.find("curl"), std::string::npos) << result.error().reason;
}

TEST(S3Store, SpoolFileOfTheWrongSizeIsNotSent) {
  Fixture fx;
  FakeS3 fake([](const Recorded&) { return Reply{}; });
  S3Store store(fx.options(fake.base()), fx.logger());
  Object object = fx.object(10);
  object.size = 11;
  EXPECT_FALSE(store.put_if_absent("k", object).has_value());
  EXPECT_TRUE(fake.requests().empty());
}

TEST(S3Store, AddressingStyles) {
  Fixture fx;
  S3Options aws = fx.options("");
  aws.region = "eu-west-1";
  aws.path_style = false;
  S3Store virtual_hosted(aws, fx.logger());
  EXPECT_EQ(virtual_hosted.scheme(), "https");
  EXPECT_EQ(virtual_hosted.host(), "bkt.s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(virtual_hosted.object_path("a/b.mp3"), "/a/b.mp3");
  aws.path_style = true;
  S3Store path_style(aws, fx.logger());
  EXPECT_EQ(path_style.host(), "s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(path_style.object_path("a/b.mp3"), "/bkt/a/b.mp3");
  S3Store default_port(fx.options("http://127.0.0.1:80/"), fx.logger());
  EXPECT_EQ(default_port.host(), "127.0.0.1");
  EXPECT_EQ(default_port.object_path("k"), "/bkt/k");
  S3Store other_port(fx.options("https://minio.local:9000"), fx.logger());
  EXPECT_EQ(other_port.scheme(), "https");
  EXPECT_EQ(other_port.host(), "minio.local:9000");
  EXPECT_THROW(S3Store(fx.options("ftp://x"), fx.logger()), std::invalid_argument);
}

// Multipart: threshold 1 KiB, 5 KiB parts (the fake does not enforce S3's 5 MiB minimum).
struct MultipartScript {
  int fail_part = 0;          // answer 500 to this part number
  int complete_status = 200;  // or 412, 501 (only with If-None-Match)
  bool complete_error_body = false;
  std::uint64_t head_length = 0;  // 0 = HEAD 404

  Reply operator()(const Recorded& r) const {
    if (r.method == "HEAD") {
      if (head_length == 0) return Reply{404, "", {}, {}};
      return Reply{200, "", {}, head_length};
    }
    if (r.method == "POST" && r.query_has("uploads=")) {
      return Reply{200,
                   "<InitiateMultipartUploadResult><Bucket>bkt</Bucket><Key>k</Key>"
                   "<UploadId>up-1</UploadId></InitiateMultipartUploadResult>",
                   {},
                   {}};
    }
    if (r.method == "PUT" && r.query_has("partNumber=")) {
      const auto at = r.target.find("partNumber=") + 11;
      const int n = std::stoi(r.target.substr(at));
      if (n == fail_part) return Reply{500, error_xml("InternalError"), {}, {}};
      return Reply{200, "", {{"ETag", "\"etag-" + std::to_string(n) + "\""}}, {}};
    }
    if (r.method == "POST" && r.query_has("uploadId=")) {
      if (r.has("if-none-match") && complete_status != 200) {
        return Reply{complete_status, error_xml("X"), {}, {}};
      }
      if (complete_error_body) return Reply{200, error_xml("InternalError"), {}, {}};
      return Reply{200,
                   "<CompleteMultipartUploadResult><Bucket>bkt</Bucket><Key>k</Key>"
                   "<ETag>\"e-3\"</ETag></CompleteMultipartUploadResult>",
                   {},
                   {}};
    }
    if (r.method == "DELETE") return Reply{204, "", {}, {}};
    return Reply{400, error_xml("Unexpected"), {}, {}};
  }
};

S3Options multipart_options(const Fixture& fx, const std::string& endpoint) {
  S3Options o = fx.options(endpoint);
  o.multipart_threshold = 1024;
  o.part_size = 5 * 1024;
  o.sse = "AES256";
  return o;
}

constexpr std::size_t kMultipartSize = 12 * 1024 + 7;  // parts of 5 KiB, 5 KiB, 2 KiB + 7

TEST(S3Store, MultipartCreatesUploadsPartsAndCompletesConditionally) {
  Fixture fx;
  FakeS3 fake(MultipartScript{});
  S3Store store(multipart_options(fx, fake.base()), fx.logger());
  const auto result = store.put_if_absent("big.wav", fx.object(kMultipartSize));
  ASSERT_TRUE(result.has_value()) << result.error().reason;
  EXPECT_EQ(result.value(), PutOutcome::kStored);

  const auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 5u);
  const Recorded& create = requests[0];
  EXPECT_EQ(create.method, "POST");
  EXPECT_EQ(create.target, "/bkt/big.wav?uploads=");
  EXPECT_EQ(create.header("content-type"), "audio/mpeg");
  EXPECT_EQ(create.header("x-amz-meta-recording-sid"), "RE0123456789abcdef0123456789abcdef");
  EXPECT_EQ(create.header("x-amz-server-side-encryption"), "AES256");
  EXPECT_TRUE(create.body.empty());

  // Parts go up two at a time, so they may arrive in any order.
  std::vector<Recorded> parts(requests.begin() + 1, requests.begin() + 4);
  std::sort(parts.begin(), parts.end(),
            [](const Recorded& a, const Recorded& b) { return a.target < b.target; });
  const std::string& content = fx.content();
  for (int n = 1; n <= 3; ++n) {
    SCOPED_TRACE(n);
    const Recorded& part = parts[n - 1];
    EXPECT_EQ(part.method, "PUT");
    EXPECT_EQ(part.target, "/bkt/big.wav?partNumber=" + std::to_string(n) + "&uploadId=up-1");
    const std::string slice = content.substr((n - 1) * 5 * 1024, 5 * 1024);
    EXPECT_EQ(part.body, slice);
    EXPECT_EQ(part.header("x-amz-content-sha256"), digest_hex(EVP_sha256(), slice));
    EXPECT_EQ(part.header("content-md5"), md5_base64(slice));
    EXPECT_FALSE(part.has("if-none-match"));
    EXPECT_FALSE(part.has("x-amz-meta-recording-sid"));
  }

  const Recorded& complete = requests[4];
  EXPECT_EQ(complete.method, "POST");
  EXPECT_EQ(complete.target, "/bkt/big.wav?uploadId=up-1");
  EXPECT_EQ(complete.header("if-none-match"), "*");
  EXPECT_EQ(complete.header("x-amz-content-sha256"), digest_hex(EVP_sha256(), complete.body));
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(complete.body.c_str()));
  int expected = 1;
  for (const auto& part : doc.child("CompleteMultipartUpload").children("Part")) {
    EXPECT_EQ(std::string(part.child_value("PartNumber")), std::to_string(expected));
    EXPECT_EQ(std::string(part.child_value("ETag")), "\"etag-" + std::to_string(expected) + "\"");
    ++expected;
  }
  EXPECT_EQ(expected, 4);
}

TEST(S3Store, MultipartWithAPartAnswered500OnceSucceedsAndRepeatsOnlyThatPart) {
  Fixture fx;
  std::atomic<int> part2{0};
  FakeS3 fake([&](const Recorded& r) {
    if (r.method == "PUT" && r.query_has("partNumber=2&") && part2++ == 0)
      return Reply{500, error_xml("InternalError"), {}, {}};
    return MultipartScript{}(r);
  });
  S3Store store(multipart_options(fx, fake.base()), fx.logger());
  const auto result = store.put_if_absent("big.wav", fx.object(kMultipartSize));
  ASSERT_TRUE(result.has_value()) << result.error().reason;
  const auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 6u);  // create, part 2 twice, parts 1 and 3, complete
  EXPECT_EQ(count(requests, "PUT", "partNumber=2&"), 2u);
  EXPECT_EQ(count(requests, "POST", "uploadId="), 1u);
  EXPECT_EQ(count(requests, "DELETE", "uploadId="), 0u);
}

TEST(S3Store, MultipartFailingPartAbortsTheUpload) {
  Fixture fx;
  MultipartScript script;
  script.fail_part = 2;
  FakeS3 fake(script);
  S3Store store(multipart_options(fx, fake.base()), fx.logger());
  const auto result = store.put_if_absent("big.wav", fx.object(kMultipartSize));
  EXPECT_FALSE(result.has_value());
  EXPECT_EQ(result.error().http_status, 500);
  EXPECT_EQ(result.error().reason, "PUT part 2 500 InternalError");
  const auto requests = fake.requests();
  // create, part 1, part 2 three times (and 3 if its lane took it before part 2 failed), abort,
  // no complete
  ASSERT_GE(requests.size(), 6u);
  ASSERT_LE(requests.size(), 7u);
  EXPECT_EQ(count(requests, "PUT", "partNumber=2&"), 3u);
  for (std::size_t i = 1; i + 1 < requests.size(); ++i)
    EXPECT_EQ(requests[i].method, "PUT");
  EXPECT_EQ(requests.back().method, "DELETE");
  EXPECT_EQ(requests.back().target, "/bkt/big.wav?uploadId=up-1");
}

TEST(S3Store, MultipartWithOnePartInFlightStopsAtTheFailingPart) {
  Fixture fx;
  MultipartScript script;
  script.fail_part = 2;
  FakeS3 fake(script);
  S3Options options = multipart_options(fx, fake.base());
  options.parts_in_flight = 1;
  S3Store store(options, fx.logger());
  EXPECT_FALSE(store.put_if_absent("big.wav", fx.object(kMultipartSize)).has_value());
  const auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 6u);  // create, part 1, part 2 three times, abort
  EXPECT_EQ(count(requests, "PUT", "partNumber=3&"), 0u);
  EXPECT_EQ(requests[5].method, "DELETE");
}

TEST(S3Store, MultipartSendsTheCallersPartDigestsWithoutHashingAgain) {
  Fixture fx;
  FakeS3 fake(MultipartScript{});
  S3Store store(multipart_options(fx, fake.base()), fx.logger());
  Object object = fx.object(kMultipartSize);
  // Stand-ins that no hash of the file can produce: seeing them sent proves they were used as is.
  object.part_size = 5 * 1024;
  for (std::uint64_t n = 0; n < 3; ++n) {
    object.parts.push_back(
        {.offset = n * 5 * 1024,
         .size = std::min<std::uint64_t>(5 * 1024, kMultipartSize - n * 5 * 1024),
         .sha256_hex = std::string(63, 'a') + std::to_string(n),
         .md5_base64 = "given-md5-" + std::to_string(n)});
  }
  ASSERT_TRUE(store.put_if_absent("big.wav", object).has_value());
  std::set<std::string> shas, md5s;
  for (const auto& r : fake.requests()) {
    if (r.method != "PUT") continue;
    shas.insert(r.header("x-amz-content-sha256"));
    md5s.insert(r.header("content-md5"));
  }
  EXPECT_EQ(shas, (std::set<std::string>{std::string(63, 'a') + "0", std::string(63, 'a') + "1",
                                         std::string(63, 'a') + "2"}));
  EXPECT_EQ(md5s, (std::set<std::string>{"given-md5-0", "given-md5-1", "given-md5-2"}));
}

TEST(S3Store, MultipartHashesPartsItselfWhenTheGivenOnesDoNotMatchItsPartSize) {
  Fixture fx;
  FakeS3 fake(MultipartScript{});
  S3Store store(multipart_options(fx, fake.base()), fx.logger());
  Object object = fx.object(kMultipartSize);
  object.part_size = 4 * 1024;  // not the store's 5 KiB
  for (std::uint64_t n = 0; n < 4; ++n) {
    object.parts.push_back(
        {.offset = n * 4 * 1024,
         .size = std::min<std::uint64_t>(4 * 1024, kMultipartSize - n * 4 * 1024),
         .sha256_hex = std::string(64, 'b'),
         .md5_base64 = "wrong"});
  }
  ASSERT_TRUE(store.put_if_absent("big.wav", object).has_value());
  for (const auto& r : fake.requests()) {
    if (r.method != "PUT") continue;
    SCOPED_TRACE(r.target);
    EXPECT_EQ(r.header("x-amz-content-sha256"), digest_hex(EVP_sha256(), r.body));
    EXPECT_EQ(r.header("content-md5"), md5_base64(r.body));
  }
}

TEST(S3Store, TwoPartsAreInFlightAtOnce) {
  // Part 1's answer waits (up to 10 s) until part 2 has arrived: only concurrent uploads see it.
  Fixture fx;
  std::mutex mutex;
  std::condition_variable cv;
  bool part2_arrived = false;
  std::atomic<bool> overlapped{false};
  FakeS3 fake([&](const Recorded& r) {
    if (r.method == "PUT" && r.query_has("partNumber=2&")) {
      std::lock_guard lock(mutex);
      part2_arrived = true;
      cv.notify_all();
    }
    if (r.method == "PUT" && r.query_has("partNumber=1&")) {
      std::unique_lock lock(mutex);
      overlapped = cv.wait_for(lock, std::chrono::seconds(10), [&] { return part2_arrived; });
    }
    return MultipartScript{}(r);
  });
  S3Store store(multipart_options(fx, fake.base()), fx.logger());
  ASSERT_TRUE(store.put_if_absent("big.wav", fx.object(kMultipartSize)).has_value());
  EXPECT_TRUE(overlapped.load());
}

TEST(S3Store, ConsecutiveRequestsReuseOneConnection) {
  Fixture fx;
  FakeS3 fake(MultipartScript{});
  S3Options options = multipart_options(fx, fake.base());
  options.parts_in_flight = 1;
  S3Store store(options, fx.logger());
  ASSERT_TRUE(store.put_if_absent("big.wav", fx.object(kMultipartSize)).has_value());
  ASSERT_TRUE(store.head("other.wav").has_value());
  EXPECT_EQ(fake.requests().size(), 6u);  // create, 3 parts, complete, head
  EXPECT_EQ(fake.connections(), 1u);
}

TEST(S3Store, DigestPlanFollowsTheUploadShape) {
  Fixture fx;
  S3Options options = fx.options("http://127.0.0.1:9");
  options.multipart_threshold = 64 << 20;
  options.part_size = 16 << 20;
  const S3Store store(options, fx.logger());
  struct Case {
    std::optional<std::uint64_t> size;
    bool whole_md5;
    std::uint64_t part_size;
  };
  const Case cases[] = {
      {0, true, 0},
      {64 << 20, true, 0},                // single PUT: Content-MD5 of the whole
      {(64 << 20) + 1, false, 16 << 20},  // multipart: per-part digests only
      {std::nullopt, true, 16 << 20},     // unknown: both
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.size ? std::to_string(*c.size) : "unknown");
    const util::DigestPlan plan = store.digest_plan(c.size);
    EXPECT_EQ(plan.whole_md5, c.whole_md5);
    EXPECT_EQ(plan.part_size, c.part_size);
  }
}

TEST(S3Store, MultipartErrorInsideA200CompleteIsAFailure) {
  Fixture fx;
  MultipartScript script;
  script.complete_error_body = true;
  FakeS3 fake(script);
  S3Store store(multipart_options(fx, fake.base()), fx.logger());
  const auto result = store.put_if_absent("big.wav", fx.object(kMultipartSize));
  EXPECT_FALSE(result.has_value());
  EXPECT_NE(result.error().reason.find("InternalError"), std::string::npos)
      << result.error().reason;
  EXPECT_EQ(fake.requests().back().method, "DELETE");
}

TEST(S3Store, MultipartCompleteOnAnExistingKeyIsAlreadyExists) {
  Fixture fx;
  MultipartScript script;
  script.complete_status = 412;
  script.head_length = kMultipartSize;
  FakeS3 fake(script);
  S3Store store(multipart_options(fx, fake.base()), fx.logger());
  const auto result = store.put_if_absent("big.wav", fx.object(kMultipartSize));
  ASSERT_TRUE(result.has_value()) << result.error().reason;
  EXPECT_EQ(result.value(), PutOutcome::kAlreadyExists);
  const auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 7u);  // create, 3 parts, complete, abort, head
  EXPECT_EQ(requests[5].method, "DELETE");
  EXPECT_EQ(requests[6].method, "HEAD");
}

TEST(S3Store, MultipartCompleteNotImplementedFallsBackToHead) {
  Fixture fx;
  MultipartScript script;
  script.complete_status = 501;
  FakeS3 fake(script);
  S3Store store(multipart_options(fx, fake.base()), fx.logger());
  const auto result = store.put_if_absent("big.wav", fx.object(kMultipartSize));
  ASSERT_TRUE(result.has_value()) << result.error().reason;
  EXPECT_EQ(result.value(), PutOutcome::kStored);
  auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 7u);  // create, 3 parts, complete 501, head 404, complete
  EXPECT_EQ(requests[5].method, "HEAD");
  EXPECT_EQ(requests[6].method, "POST");
  EXPECT_FALSE(requests[6].has("if-none-match"));
  EXPECT_EQ(fx.log_lines_with("s3.conditional_put_unsupported").size(), 1u);

  // Next time: HEAD before creating the upload, complete without the header.
  ASSERT_TRUE(store.put_if_absent("big2.wav", fx.object(kMultipartSize)).has_value());
  requests = fake.requests();
  ASSERT_EQ(requests.size(), 7u + 6u);  // head, create, 3 parts, complete
  EXPECT_EQ(requests[7].method, "HEAD");
  EXPECT_FALSE(requests.back().has("if-none-match"));
  EXPECT_EQ(fx.log_lines_with("s3.conditional_put_unsupported").size(), 1u);
}

// ---- Parts sent while the file is still being written (begin_upload) ----

// The digests of `content`'s parts, as the fetch computes them.
std::vector<util::PartDigest> part_digests(const std::string& content, std::uint64_t part_size) {
  std::vector<util::PartDigest> parts;
  for (std::uint64_t offset = 0; offset < content.size(); offset += part_size) {
    const std::string slice = content.substr(offset, part_size);
    parts.push_back({.offset = offset,
                     .size = slice.size(),
                     .sha256_hex = digest_hex(EVP_sha256(), slice),
                     .md5_base64 = md5_base64(slice)});
  }
  return parts;
}

// What the service knows when the fetch starts: the file's name, its announced size, content
// type and metadata; no digests yet.
Object shape_of(const Object& complete) {
  Object shape = complete;
  shape.md5_hex.clear();
  shape.sha256_hex.clear();
  shape.part_size = 0;
  shape.parts.clear();
  return shape;
}

bool wait_until(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling, with a deadline
  }
  return true;
}

TEST(S3Store, BeginUploadIsOnlyForObjectsAboveTheThreshold) {
  Fixture fx;
  FakeS3 fake(MultipartScript{});
  S3Store store(multipart_options(fx, fake.base()), fx.logger());
  EXPECT_EQ(store.begin_upload("small.wav", shape_of(fx.object(1024))), nullptr);
  EXPECT_TRUE(fake.requests().empty());
}

TEST(S3Store, StreamedUploadSendsAPartBeforeTheFileIsComplete) {
  Fixture fx;
  FakeS3 fake(MultipartScript{});
  S3Store store(multipart_options(fx, fake.base()), fx.logger());
  Object complete = fx.object(kMultipartSize);
  const std::string content = fx.content();
  const auto parts = part_digests(content, 5 * 1024);
  ASSERT_EQ(parts.size(), 3u);
  // The file holds only the first part when the upload starts, as during a fetch.
  std::ofstream(complete.file, std::ios::binary | std::ios::trunc) << content.substr(0, 5 * 1024);

  auto upload = store.begin_upload("big.wav", shape_of(complete));
  ASSERT_NE(upload, nullptr);
  upload->part_ready(parts[0]);
  ASSERT_TRUE(wait_until([&] { return count(fake.requests(), "PUT", "partNumber=1&") == 1; }));
  EXPECT_EQ(count(fake.requests(), "PUT", "partNumber=2&"), 0u);

  std::ofstream(complete.file, std::ios::binary | std::ios::app) << content.substr(5 * 1024);
  upload->part_ready(parts[1]);
  complete.part_size = 5 * 1024;
  complete.parts = parts;  // the last, shorter part comes with the complete file
  const auto result = upload->finish(complete);
  ASSERT_TRUE(result.has_value()) << result.error().reason;
  EXPECT_EQ(result.value(), PutOutcome::kStored);

  const auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 5u);  // create, 3 parts, complete
  EXPECT_EQ(requests[0].target, "/bkt/big.wav?uploads=");
  EXPECT_EQ(requests[0].header("x-amz-meta-recording-sid"), "RE0123456789abcdef0123456789abcdef");
  for (const auto& r : requests) {
    if (r.method != "PUT") continue;
    const int n = std::stoi(r.target.substr(r.target.find("partNumber=") + 11));
    SCOPED_TRACE(n);
    EXPECT_EQ(r.body, content.substr((n - 1) * 5 * 1024, 5 * 1024));
    EXPECT_EQ(r.header("x-amz-content-sha256"), parts[n - 1].sha256_hex);
    EXPECT_EQ(r.header("content-md5"), parts[n - 1].md5_base64);
  }
  EXPECT_EQ(requests.back().method, "POST");
  EXPECT_EQ(requests.back().target, "/bkt/big.wav?uploadId=up-1");
  EXPECT_EQ(requests.back().header("if-none-match"), "*");
}

TEST(S3Store, StreamedUploadDroppedBeforeFinishIsAbortedAndNeverCompleted) {
  Fixture fx;
  FakeS3 fake(MultipartScript{});
  S3Store store(multipart_options(fx, fake.base()), fx.logger());
  const Object complete = fx.object(kMultipartSize);
  auto upload = store.begin_upload("big.wav", shape_of(complete));
  ASSERT_NE(upload, nullptr);
  upload->part_ready(part_digests(fx.content(), 5 * 1024)[0]);
  ASSERT_TRUE(wait_until([&] { return count(fake.requests(), "PUT", "partNumber=1&") == 1; }));
  upload.reset();  // the fetch failed

  const auto requests = fake.requests();
  EXPECT_EQ(count(requests, "POST", "uploadId="), 0u) << "completed";
  EXPECT_EQ(count(requests, "PUT", "partNumber=2&"), 0u) << "sent a part that was never ready";
  EXPECT_EQ(requests.back().method, "DELETE");
  EXPECT_EQ(requests.back().target, "/bkt/big.wav?uploadId=up-1");
}

TEST(S3Store, StreamedUploadFinishedWithAnotherSizeFailsAndAborts) {
  Fixture fx;
  FakeS3 fake(MultipartScript{});
  S3Store store(multipart_options(fx, fake.base()), fx.logger());
  const Object announced = fx.object(kMultipartSize);
  auto upload = store.begin_upload("big.wav", shape_of(announced));
  ASSERT_NE(upload, nullptr);
  Object shorter = fx.object(kMultipartSize - 100);
  shorter.part_size = 5 * 1024;
  shorter.parts = part_digests(fx.content(), 5 * 1024);
  const auto result = upload->finish(shorter);
  EXPECT_FALSE(result.has_value());
  EXPECT_EQ(result.error().reason, "the file has 12195 bytes, the upload expected 12295");
  // The upload may or may not have been created by then; if it was, it is aborted.
  const auto requests = fake.requests();
  EXPECT_EQ(count(requests, "POST", "uploadId="), 0u) << "completed";
  EXPECT_EQ(count(requests, "POST", "uploads="), count(requests, "DELETE", "uploadId="));
}

TEST(S3Store, StreamedUploadReportsAFailingPartAtFinish) {
  Fixture fx;
  MultipartScript script;
  script.fail_part = 2;
  FakeS3 fake(script);
  S3Store store(multipart_options(fx, fake.base()), fx.logger());
  Object complete = fx.object(kMultipartSize);
  auto upload = store.begin_upload("big.wav", shape_of(complete));
  ASSERT_NE(upload, nullptr);
  const auto parts = part_digests(fx.content(), 5 * 1024);
  upload->part_ready(parts[0]);
  upload->part_ready(parts[1]);
  complete.part_size = 5 * 1024;
  complete.parts = parts;
  const auto result = upload->finish(complete);
  EXPECT_FALSE(result.has_value());
  EXPECT_EQ(result.error().reason, "PUT part 2 500 InternalError");
  const auto requests = fake.requests();
  EXPECT_EQ(count(requests, "POST", "uploadId="), 0u) << "completed";
  EXPECT_EQ(requests.back().method, "DELETE");
  upload.reset();
  EXPECT_EQ(fake.requests().size(), requests.size()) << "aborted twice";
}

TEST(S3Store, StreamedUploadWithoutConditionalWritesFindsAnExistingKeyFirst) {
  Fixture fx;
  MultipartScript script;
  script.complete_status = 501;  // teaches the store that conditional writes are not supported
  script.head_length = kMultipartSize;
  FakeS3 fake(script);
  S3Store store(multipart_options(fx, fake.base()), fx.logger());
  Object complete = fx.object(kMultipartSize);
  ASSERT_TRUE(store.put_if_absent("big.wav", complete).has_value());
  const std::size_t before = fake.requests().size();

  auto upload = store.begin_upload("big.wav", shape_of(complete));
  ASSERT_NE(upload, nullptr);
  complete.part_size = 5 * 1024;
  complete.parts = part_digests(fx.content(), 5 * 1024);
  for (const auto& part : complete.parts)
    upload->part_ready(part);
  const auto result = upload->finish(complete);
  ASSERT_TRUE(result.has_value()) << result.error().reason;
  EXPECT_EQ(result.value(), PutOutcome::kAlreadyExists);
  const auto requests = fake.requests();
  ASSERT_EQ(requests.size(), before + 1);  // the HEAD; no upload created
  EXPECT_EQ(requests.back().method, "HEAD");
}

}  // namespace
}  // namespace partyline::storage
