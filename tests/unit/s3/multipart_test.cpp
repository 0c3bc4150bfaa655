#include "s3/multipart.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fake_s3.hpp"
#include "util/crypto.hpp"

namespace partyline::s3 {
namespace {

namespace fs = std::filesystem;
using fake::count;
using fake::error_xml;
using FakeS3 = fake::HttpServer;
using Recorded = fake::Request;
using Reply = fake::Response;

constexpr std::uint64_t kPartSize = 5 * 1024;
constexpr std::uint64_t kSize = 3 * kPartSize + 7;  // four parts, the last of 7 bytes

// How the fake answers a part: `failures` times `failure`, then 200 with the part's ETag.
struct PartScript {
  int failures = 0;
  Reply failure;
};

// A multipart-capable S3: CreateMultipartUpload, UploadPart (scripted per part), Complete, Abort.
class MultipartS3 {
 public:
  explicit MultipartS3(std::map<int, PartScript> parts) : state_(std::make_shared<State>()) {
    state_->parts = std::move(parts);
  }

  Reply operator()(const Recorded& r) {
    if (r.method == "POST" && r.query_has("uploads=")) {
      return Reply{200,
                   "<InitiateMultipartUploadResult><UploadId>up-1</UploadId>"
                   "</InitiateMultipartUploadResult>",
                   {},
                   {}};
    }
    if (r.method == "PUT" && r.query_has("partNumber=")) {
      const int n = std::stoi(r.target.substr(r.target.find("partNumber=") + 11));
      std::lock_guard lock(state_->mutex);
      if (auto it = state_->parts.find(n); it != state_->parts.end() && it->second.failures > 0) {
        --it->second.failures;
        return it->second.failure;
      }
      return Reply{200, "", {{"ETag", "\"etag-" + std::to_string(n) + "\""}}, {}};
    }
    if (r.method == "POST" && r.query_has("uploadId=")) {
      return Reply{200, "<CompleteMultipartUploadResult/>", {}, {}};
    }
    if (r.method == "DELETE") return Reply{204, "", {}, {}};
    return Reply{400, error_xml("Unexpected"), {}, {}};
  }

 private:
  struct State {
    std::mutex mutex;
    std::map<int, PartScript> parts;
  };
  std::shared_ptr<State> state_;  // shared by the copies the fake keeps
};

Reply server_error() {
  return Reply{500, error_xml("InternalError"), {}, {}};
}

class Fixture {
 public:
  Fixture() {
    std::string dir = (fs::temp_directory_path() / "s3-multipart-XXXXXX").string();
    dir_ = ::mkdtemp(dir.data());
    log_fd_ = ::open((dir_ / "log").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    logger_ = std::make_unique<log::Logger>(log_fd_, log::LogLevel::kDebug, util::system_clock());
    for (std::uint64_t i = 0; i < kSize; ++i)
      content_ += static_cast<char>('a' + (i * 7 + i / 13) % 26);
    std::ofstream(dir_ / "file", std::ios::binary) << content_;
    for (std::uint64_t offset = 0; offset < kSize; offset += kPartSize) {
      const std::string slice = content_.substr(offset, kPartSize);
      parts_.push_back({.offset = offset,
                        .size = slice.size(),
                        .sha256_hex = util::sha256_hex(slice),
                        .md5_base64 = "md5-" + std::to_string(offset)});
    }
  }
  ~Fixture() {
    ::close(log_fd_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<Client> client(const FakeS3& fake) {
    ClientOptions o;
    o.scheme = "http";
    o.host = "127.0.0.1:" + std::to_string(fake.port());
    o.base_path = "/bkt";
    o.bucket = "bkt";
    o.region = "us-east-1";
    o.credentials = {"AKIDEXAMPLE", "secret", ""};
    o.retry.first_pause = std::chrono::milliseconds(1);
    o.retry.max_pause = std::chrono::milliseconds(2);
    return std::make_unique<Client>(o, *logger_);
  }

  // Sends every part of the file through a MultipartUpload; the result of finish().
  util::Result<SentParts> send_all(const Client& client, unsigned parts_in_flight = 2) {
    MultipartUpload upload(client,
                           {.key = "big.wav",
                            .size = kSize,
                            .part_size = kPartSize,
                            .parts_in_flight = parts_in_flight,
                            .headers = {{"content-type", "audio/wav"}}},
                           ::open((dir_ / "file").c_str(), O_RDONLY | O_CLOEXEC));
    for (const auto& part : parts_)
      upload.part_ready(part);
    return upload.finish(kSize, kPartSize, parts_);
  }

  const std::string& content() const { return content_; }

 private:
  fs::path dir_;
  int log_fd_ = -1;
  std::unique_ptr<log::Logger> logger_;
  std::string content_;
  std::vector<util::PartDigest> parts_;
};

std::string part_query(int n) {
  return "partNumber=" + std::to_string(n) + "&";
}

TEST(S3Multipart, APartAnswered500IsSentAgainAndNothingElseIsRepeated) {
  for (const unsigned lanes : {1u, 2u}) {
    SCOPED_TRACE(std::to_string(lanes) + " parts in flight");
    Fixture fx;
    FakeS3 fake(MultipartS3({{3, {1, server_error()}}}));
    const auto client = fx.client(fake);
    const auto sent = fx.send_all(*client, lanes);
    ASSERT_TRUE(sent) << sent.error().reason;
    EXPECT_EQ(sent->upload_id, "up-1");
    EXPECT_EQ(sent->etags,
              (std::vector<std::string>{"\"etag-1\"", "\"etag-2\"", "\"etag-3\"", "\"etag-4\""}));
    const auto requests = fake.requests();
    EXPECT_EQ(requests.size(), 6u);  // create, part 3 twice, the other three parts once each
    EXPECT_EQ(count(requests, "POST", "uploads="), 1u);
    EXPECT_EQ(count(requests, "PUT", part_query(3)), 2u);
    for (int n : {1, 2, 4})
      EXPECT_EQ(count(requests, "PUT", part_query(n)), 1u) << "part " << n;
    EXPECT_EQ(count(requests, "DELETE", "uploadId="), 0u);
  }
}

TEST(S3Multipart, APartWhoseConnectionDropsIsSentAgainWhole) {
  Fixture fx;
  FakeS3 fake(MultipartS3({{2, {1, fake::cut_off()}}}));
  const auto client = fx.client(fake);
  const auto sent = fx.send_all(*client);
  ASSERT_TRUE(sent) << sent.error().reason;
  const auto requests = fake.requests();
  EXPECT_EQ(requests.size(), 6u);
  EXPECT_EQ(count(requests, "POST", "uploads="), 1u);
  EXPECT_EQ(count(requests, "PUT", part_query(2)), 2u);
  for (int n : {1, 3, 4})
    EXPECT_EQ(count(requests, "PUT", part_query(n)), 1u) << "part " << n;
  for (const auto& r : requests) {
    if (!r.query_has(part_query(2))) continue;
    EXPECT_EQ(r.body, fx.content().substr(kPartSize, kPartSize));
  }
}

TEST(S3Multipart, APartFailingEveryAttemptFailsTheUploadAfterThreeAndAbortsIt) {
  Fixture fx;
  FakeS3 fake(MultipartS3({{2, {1000, server_error()}}}));
  const auto client = fx.client(fake);
  const auto sent = fx.send_all(*client, 1);
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().reason, "PUT part 2 500 InternalError");
  EXPECT_EQ(sent.error().http_status, 500);
  EXPECT_TRUE(sent.error().transient());
  const auto requests = fake.requests();
  EXPECT_EQ(count(requests, "PUT", part_query(2)), 3u);
  EXPECT_EQ(count(requests, "PUT", part_query(3)), 0u) << "one lane stops at the failing part";
  EXPECT_EQ(count(requests, "DELETE", "uploadId=up-1"), 1u);
  EXPECT_EQ(requests.back().method, "DELETE");
}

TEST(S3Multipart, CreateAndCompleteAreNotRepeated) {
  Fixture fx;
  FakeS3 fake([](const Recorded&) { return server_error(); });
  const auto client = fx.client(fake);
  const auto created = create_multipart_upload(*client, "k", {});
  ASSERT_FALSE(created);
  EXPECT_TRUE(created.error().transient());
  EXPECT_EQ(created.error().reason, "POST uploads 500 InternalError");
  const auto completed =
      complete_multipart_upload(*client, "k", "up-1", {"\"e1\""}, {{"if-none-match", "*"}}, {412});
  ASSERT_FALSE(completed);
  EXPECT_EQ(completed.error().reason, "POST complete 500 InternalError");
  EXPECT_EQ(fake.requests().size(), 2u);
}

TEST(S3Multipart, CompleteSendsThePartsAsXml) {
  Fixture fx;
  FakeS3 fake([](const Recorded&) {
    return Reply{200, "<CompleteMultipartUploadResult/>", {}, {}};
  });
  const auto client = fx.client(fake);
  const auto completed = complete_multipart_upload(*client, "k", "up-1", {"\"a\"", "\"b&c\""},
                                                   {{"if-none-match", "*"}}, {412});
  ASSERT_TRUE(completed) << completed.error().reason;
  const auto request = fake.requests().at(0);
  EXPECT_EQ(request.target, "/bkt/k?uploadId=up-1");
  EXPECT_EQ(request.header("if-none-match"), "*");
  EXPECT_EQ(request.header("x-amz-content-sha256"), util::sha256_hex(request.body));
  EXPECT_EQ(request.body,
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Part><PartNumber>1</PartNumber><ETag>\"a\"</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>\"b&amp;c\"</ETag></Part>"
            "</CompleteMultipartUpload>");
}

TEST(S3Multipart, AnErrorInsideA200CompleteIsATransientFailure) {
  Fixture fx;
  FakeS3 fake([](const Recorded&) { return Reply{200, error_xml("InternalError"), {}, {}}; });
  const auto client = fx.client(fake);
  const auto completed = complete_multipart_upload(*client, "k", "up-1", {"\"a\""}, {}, {});
  ASSERT_FALSE(completed);
  EXPECT_EQ(completed.error().reason, "POST complete 200 with error InternalError");
  EXPECT_TRUE(completed.error().transient());
  EXPECT_EQ(fake.requests().size(), 1u);
}

}  // namespace
}  // namespace partyline::s3
