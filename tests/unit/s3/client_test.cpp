#include "s3/client.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "fake_s3.hpp"

namespace partyline::s3 {
namespace {

namespace fs = std::filesystem;
using fake::count;
using fake::error_xml;
using FakeS3 = fake::HttpServer;
using Recorded = fake::Request;
using Reply = fake::Response;

constexpr std::string_view kSecret = "very-secret-key/EXAMPLE";

// A client of the fake's endpoint whose pauses between attempts are a millisecond or two, and
// the log file its Logger writes.
class Fixture {
 public:
  Fixture() {
    std::string dir = (fs::temp_directory_path() / "s3-client-XXXXXX").string();
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

  std::unique_ptr<Client> client(const FakeS3& fake, unsigned attempts = 3) {
    ClientOptions o;
    o.scheme = "http";
    o.host = "127.0.0.1:" + std::to_string(fake.port());
    o.base_path = "/bkt";
    o.bucket = "bkt";
    o.region = "us-east-1";
    o.credentials = {"AKIDEXAMPLE", std::string(kSecret), ""};
    o.connect_timeout = std::chrono::seconds(5);
    o.stall_timeout = std::chrono::seconds(10);
    o.retry.attempts = attempts;
    o.retry.first_pause = std::chrono::milliseconds(1);
    o.retry.max_pause = std::chrono::milliseconds(2);
    return std::make_unique<Client>(o, *logger_);
  }

  std::vector<std::string> log_lines_with(std::string_view evt) const {
    std::ifstream in(log_path_);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
      if (line.find(evt) != std::string::npos) lines.push_back(line);
    return lines;
  }

  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
  int log_fd_ = -1;
  fs::path log_path_;
  std::unique_ptr<log::Logger> logger_;
};

// Answers `first` to the first `times` requests, then `then`.
FakeS3::Handler first_then(Reply first, int times, Reply then) {
  auto seen = std::make_shared<std::atomic<int>>(0);
  return [=](const Recorded&) { return seen->fetch_add(1) < times ? first : then; };
}

TEST(S3Client, HeadIsSentAgainAfterA503AndTheRepeatIsLogged) {
  Fixture fx;
  FakeS3 fake(first_then(Reply{503, "", {}, {}}, 1, Reply{200, "", {}, 42}));  // HEAD: no body
  const auto client = fx.client(fake);
  const auto response = client->send({.method = "HEAD", .key = "a/b.mp3", .idempotent = true});
  ASSERT_TRUE(response) << response.error().reason;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("content-length"), "42");
  const auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].target, "/bkt/a/b.mp3");
  EXPECT_EQ(requests[1].target, "/bkt/a/b.mp3");

  const auto lines = fx.log_lines_with("s3.request.retry");
  ASSERT_EQ(lines.size(), 1u);
  for (const std::string_view field :
       {"\"level\":\"warn\"", "\"method\":\"HEAD\"", "\"key\":\"a/b.mp3\"", "\"attempt\":1",
        "\"status\":503", "\"reason\":\"503\""}) {
    EXPECT_NE(lines[0].find(field), std::string::npos) << field << " in " << lines[0];
  }
  EXPECT_EQ(lines[0].find(kSecret), std::string::npos);
}

TEST(S3Client, ForbiddenIsAFailureForLaterAndNotRepeated) {
  Fixture fx;
  FakeS3 fake([](const Recorded&) { return Reply{403, error_xml("AccessDenied"), {}, {}}; });
  const auto client = fx.client(fake);
  const auto response = client->send({.method = "GET", .key = "k", .idempotent = true});
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().reason, "GET 403 AccessDenied");
  EXPECT_EQ(response.error().http_status, 403);
  EXPECT_FALSE(response.error().transient());
  EXPECT_EQ(fake.requests().size(), 1u);
  EXPECT_TRUE(fx.log_lines_with("s3.request.retry").empty());
}

TEST(S3Client, ARequestNotMarkedIdempotentIsSentOnce) {
  Fixture fx;
  FakeS3 fake([](const Recorded&) { return Reply{500, error_xml("InternalError"), {}, {}}; });
  const auto client = fx.client(fake);
  HttpRequest put{.method = "PUT", .key = "k", .body = std::string("x"), .op = "PUT"};
  put.payload_sha256 = std::string(64, '0');
  const auto response = client->send(put);
  ASSERT_FALSE(response);
  EXPECT_TRUE(response.error().transient());
  EXPECT_EQ(response.error().reason, "PUT 500 InternalError");
  EXPECT_EQ(fake.requests().size(), 1u);
}

TEST(S3Client, TransientFailuresAreRepeatedUpToTheAttemptLimit) {
  struct Case {
    unsigned attempts;
    int status;
  };
  for (const Case c : {Case{3, 500}, Case{3, 429}, Case{1, 503}, Case{5, 502}}) {
    SCOPED_TRACE(std::to_string(c.attempts) + " attempts, status " + std::to_string(c.status));
    Fixture fx;
    FakeS3 fake([&](const Recorded&) { return Reply{c.status, "", {}, {}}; });
    const auto client = fx.client(fake, c.attempts);
    const auto response = client->send({.method = "DELETE", .key = "k", .idempotent = true});
    ASSERT_FALSE(response);
    EXPECT_TRUE(response.error().transient());
    EXPECT_EQ(response.error().http_status, c.status);
    EXPECT_EQ(fake.requests().size(), c.attempts);
  }
}

TEST(S3Client, AnAnswerTheCallerHandlesIsReturnedAsIs) {
  Fixture fx;
  FakeS3 fake([](const Recorded&) { return Reply{501, error_xml("NotImplemented"), {}, {}}; });
  const auto client = fx.client(fake);
  const auto response =
      client->send({.method = "HEAD", .key = "k", .idempotent = true, .answers = {404, 501}});
  ASSERT_TRUE(response) << response.error().reason;
  EXPECT_EQ(response->status, 501);
  EXPECT_EQ(fake.requests().size(), 1u);
}

TEST(S3Client, ADroppedConnectionIsRepeatedWithTheWholeBodyAgain) {
  Reply never_answered;
  never_answered.drop = true;
  for (const Reply& first : {never_answered, fake::cut_off()}) {
    SCOPED_TRACE(first.drop ? "closed without an answer" : "answer cut off");
    Fixture fx;
    const std::string content = "0123456789abcdefghijklmnopqrstuvwxyz";
    const fs::path file = fx.dir() / "body";
    std::ofstream(file, std::ios::binary) << content;
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    FakeS3 fake(first_then(first, 1, Reply{200, "", {{"ETag", "\"e\""}}}));
    const auto client = fx.client(fake);
    HttpRequest put{.method = "PUT",
                    .key = "k",
                    .query = {{"partNumber", "1"}, {"uploadId", "u"}},
                    .body = FileRange{.fd = fd, .offset = 10, .length = 20},
                    .idempotent = true};
    put.payload_sha256 = std::string(64, '0');
    const auto response = client->send(put);
    ::close(fd);
    ASSERT_TRUE(response) << response.error().reason;
    EXPECT_EQ(response->header("etag"), "\"e\"");
    const auto requests = fake.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0].body, content.substr(10, 20));
    EXPECT_EQ(requests[1].body, content.substr(10, 20));
    // Repeated by the client, not by libcurl on its own.
    const auto lines = fx.log_lines_with("s3.request.retry");
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("\"status\":0"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("curl"), std::string::npos) << lines[0];
  }
}

TEST(S3Client, NoServerIsATransientFailureWithoutStatus) {
  Fixture fx;
  std::unique_ptr<Client> client;
  {
    FakeS3 closed([](const Recorded&) { return Reply{}; });
    client = fx.client(closed);
  }
  const auto response = client->send({.method = "GET", .key = "k", .idempotent = true});
  ASSERT_FALSE(response);
  EXPECT_TRUE(response.error().transient());
  EXPECT_EQ(response.error().http_status, 0);
  EXPECT_EQ(response.error().reason.rfind("GET: curl: ", 0), 0u) << response.error().reason;
  // Three attempts with the same reason: one line, the next ones held back by the rate limit.
  EXPECT_EQ(fx.log_lines_with("s3.request.retry").size(), 1u);
}

TEST(S3Client, PathsOfKeysAndOfTheBucket) {
  Fixture fx;
  FakeS3 fake([](const Recorded&) { return Reply{}; });
  const auto client = fx.client(fake);
  EXPECT_EQ(client->path("a/b c.mp3"), "/bkt/a/b c.mp3");
  EXPECT_EQ(client->path(""), "/bkt");
}

TEST(S3Client, JitterPlacesThePauseInItsUpperHalf) {
  const auto pause = std::chrono::milliseconds(200);
  EXPECT_EQ(jittered(pause, [](std::size_t n) { return std::string(n, '\0'); }),
            std::chrono::milliseconds(100));
  EXPECT_EQ(jittered(pause, [](std::size_t n) { return std::string(n, '\xff'); }), pause);
  EXPECT_EQ(jittered(pause, [](std::size_t) { return std::string("\x80\x00", 2); }),
            std::chrono::milliseconds(150));
}

}  // namespace
}  // namespace partyline::s3
