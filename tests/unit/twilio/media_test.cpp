#include "twilio/media.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/fake_http_server.hpp"
#include "util/crypto.hpp"
#include "util/digest.hpp"

namespace partyline::twilio {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

const std::string kAccountSid = "AC" + std::string(32, 'a');
const std::string kAuthToken = "s3cr3t-auth-token-0123456789abcd";

using fake::HttpServer;
using fake::Request;
using fake::Response;

// --- Fixture -------------------------------------------------------------------------------

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string md5_hex(std::string_view data) {
  util::Digest d;
  d.update(data.data(), data.size());
  return d.md5_hex();
}

const std::string& recording() {
  static const std::string bytes = util::random_bytes(3 * 1024 * 1024 + 17);
  return bytes;
}

const std::string kExpectedAuthorization = "Basic " + util::base64(kAccountSid + ":" + kAuthToken);

class Media : public ::testing::Test {
 protected:
  void SetUp() override {
    spool_ = std::filesystem::temp_directory_path() /
             ("partyline-media-test-" + util::hex_lower(util::random_bytes(8)) + ".mp3");
  }
  void TearDown() override { std::filesystem::remove(spool_); }

  MediaRequest request_for(std::string url) const {
    MediaRequest r;
    r.url = std::move(url);
    r.username = kAccountSid;
    r.password = kAuthToken;
    r.spool = spool_;
    r.connect_timeout = 5s;
    r.stall_timeout = 5s;
    r.total_timeout = 30s;
    r.allow_http = true;
    return r;
  }

  void expect_the_recording(const MediaResult& result) const {
    EXPECT_EQ(result.kind, MediaResult::Kind::kOk) << result.error;
    EXPECT_EQ(result.http_status, 200);
    EXPECT_EQ(result.bytes, recording().size());
    EXPECT_EQ(result.content_type, "audio/mpeg");
    EXPECT_TRUE(result.error.empty()) << result.error;
    EXPECT_EQ(result.sha256_hex, util::sha256_hex(recording()));
    EXPECT_EQ(result.md5_hex, md5_hex(recording()));
    EXPECT_TRUE(read_file(spool_) == recording()) << "spool file differs from the served bytes";
  }

  // Failures must leave no bytes that could pass for media, and never log the token.
  void expect_failure_hygiene(const MediaResult& result) const {
    EXPECT_NE(result.kind, MediaResult::Kind::kOk);
    EXPECT_FALSE(result.error.empty());
    EXPECT_EQ(result.error.find(kAuthToken), std::string::npos) << result.error;
    EXPECT_TRUE(result.sha256_hex.empty());
    EXPECT_TRUE(result.md5_hex.empty());
    EXPECT_EQ(std::filesystem::file_size(spool_), 0u);
  }

  std::filesystem::path spool_;
};

Response serve_recording(const Request&) {
  return Response::text(200, recording(), "audio/mpeg");
}

// --- Tests ---------------------------------------------------------------------------------

TEST_F(Media, DownloadsTheBodyToTheSpoolFileWithItsHashes) {
  HttpServer server(serve_recording);
  expect_the_recording(fetch_media(request_for(server.url("/Recordings/RE1.mp3"))));
}

TEST_F(Media, HashesPartsAsTheDigestPlanAsksGivenTheContentLength) {
  HttpServer server(serve_recording);
  MediaRequest request = request_for(server.url("/Recordings/RE1.mp3"));
  std::optional<std::uint64_t> seen_length;
  int calls = 0;
  constexpr std::uint64_t kPart = 100'000;  // not a multiple of any receive buffer
  request.digest_plan = [&](std::optional<std::uint64_t> length) {
    ++calls;
    seen_length = length;
    return util::DigestPlan{.whole_md5 = false, .part_size = kPart};
  };
  const MediaResult result = fetch_media(request);
  ASSERT_EQ(result.kind, MediaResult::Kind::kOk) << result.error;
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen_length, recording().size());
  EXPECT_EQ(result.sha256_hex, util::sha256_hex(recording()));
  EXPECT_EQ(result.md5_hex, "");  // not asked for
  EXPECT_EQ(result.part_size, kPart);
  ASSERT_EQ(result.parts.size(), (recording().size() + kPart - 1) / kPart);
  for (const auto& part : result.parts) {
    SCOPED_TRACE(part.offset);
    const std::string bytes = recording().substr(part.offset, kPart);
    EXPECT_EQ(part.size, bytes.size());
    EXPECT_EQ(part.sha256_hex, util::sha256_hex(bytes));
    util::Digest d;
    d.update(bytes.data(), bytes.size());
    EXPECT_EQ(part.md5_base64, d.md5_base64());
  }
  EXPECT_TRUE(read_file(spool_) == recording());
}

TEST_F(Media, ReportsEachCompletePartOnceItIsWrittenAndHashed) {
  HttpServer server(serve_recording);
  MediaRequest request = request_for(server.url("/Recordings/RE1.mp3"));
  constexpr std::uint64_t kPart = 100'000;
  request.digest_plan = [&](std::optional<std::uint64_t>) {
    return util::DigestPlan{.whole_md5 = false, .part_size = kPart};
  };
  std::vector<util::PartDigest> reported;
  std::vector<bool> on_disk;  // the part's bytes were in the spool file when it was reported
  request.on_part = [&](const util::PartDigest& part) {
    reported.push_back(part);
    std::ifstream in(spool_, std::ios::binary);
    std::string bytes(part.size, '\0');
    in.seekg(static_cast<std::streamoff>(part.offset));
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    on_disk.push_back(in.good() && bytes == recording().substr(part.offset, part.size));
  };
  const MediaResult result = fetch_media(request);
  ASSERT_EQ(result.kind, MediaResult::Kind::kOk) << result.error;
  ASSERT_GT(recording().size() % kPart, 0u);  // so there is a last, shorter part
  // Every complete part, in order; the shorter last one only in the result.
  ASSERT_EQ(reported.size(), recording().size() / kPart);
  ASSERT_EQ(result.parts.size(), reported.size() + 1);
  for (std::size_t i = 0; i < reported.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(reported[i].offset, i * kPart);
    EXPECT_EQ(reported[i].size, kPart);
    EXPECT_EQ(reported[i].sha256_hex, result.parts[i].sha256_hex);
    EXPECT_EQ(reported[i].md5_base64, result.parts[i].md5_base64);
    EXPECT_TRUE(on_disk[i]);
  }
}

TEST_F(Media, SendsBasicAuthWithAccountSidAndToken) {
  HttpServer server(serve_recording);
  ASSERT_EQ(fetch_media(request_for(server.url("/Recordings/RE1.mp3"))).kind,
            MediaResult::Kind::kOk);
  const auto received = server.requests();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].target, "/Recordings/RE1.mp3");
  EXPECT_EQ(received[0].header("authorization"), kExpectedAuthorization);
}

TEST_F(Media, TruncatesAnExistingSpoolFile) {
  std::ofstream(spool_, std::ios::binary) << std::string(5 * 1024 * 1024, 'x');
  HttpServer server(serve_recording);
  expect_the_recording(fetch_media(request_for(server.url("/RE1.mp3"))));
}

TEST_F(Media, NotFoundIsNotReadyAndLeavesNoErrorBody) {
  std::ofstream(spool_, std::ios::binary) << "left over from an earlier attempt";
  HttpServer server([](const Request&) {
    return Response::text(404,
                          R"({"code": 20404, "message": "The requested resource was not found"})",
                          "application/json");
  });
  const MediaResult result = fetch_media(request_for(server.url("/RE1.mp3")));
  EXPECT_EQ(result.kind, MediaResult::Kind::kNotReady);
  EXPECT_EQ(result.http_status, 404);
  EXPECT_EQ(result.bytes, 0u);
  EXPECT_NE(result.error.find("404"), std::string::npos) << result.error;
  expect_failure_hygiene(result);
}

TEST_F(Media, ServerErrorFails) {
  HttpServer server([](const Request&) { return Response::text(500, "oops"); });
  const MediaResult result = fetch_media(request_for(server.url("/RE1.mp3")));
  EXPECT_EQ(result.kind, MediaResult::Kind::kFailed);
  EXPECT_EQ(result.http_status, 500);
  EXPECT_EQ(result.error, "HTTP 500");
  expect_failure_hygiene(result);
}

TEST_F(Media, UnauthorizedFails) {
  HttpServer server([](const Request&) {
    return Response{401, "no", {{"WWW-Authenticate", "Basic realm=\"x\""}}};
  });
  const MediaResult result = fetch_media(request_for(server.url("/RE1.mp3")));
  EXPECT_EQ(result.kind, MediaResult::Kind::kFailed);
  EXPECT_EQ(result.http_status, 401);
  expect_failure_hygiene(result);
}

// libcurl 7.88 sends credentials after a redirect only when scheme, host name and port all equal
// the first URL's (CURLOPT_UNRESTRICTED_AUTH 0). A CDN on another host gets no Authorization.
TEST_F(Media, RedirectToAnotherHostDropsTheCredentials) {
  HttpServer cdn(serve_recording);
  HttpServer api([&](const Request&) { return Response::redirect(cdn.url("/cdn/RE1.mp3")); });
  expect_the_recording(fetch_media(request_for(api.url("/RE1.mp3"))));

  const auto first = api.requests();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].header("authorization"), kExpectedAuthorization);
  const auto second = cdn.requests();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].target, "/cdn/RE1.mp3");
  EXPECT_FALSE(second[0].has("authorization")) << second[0].header("authorization");
}

// Same address and port, different host name: libcurl compares names, so still no credentials.
TEST_F(Media, RedirectToAnotherHostNameOnTheSamePortDropsTheCredentials) {
  std::unique_ptr<HttpServer> server;
  server = std::make_unique<HttpServer>([&](const Request& request) {
    if (request.target == "/RE1.mp3")
      return Response::redirect(server->url("/cdn.mp3", "localhost"));
    return serve_recording(request);
  });
  expect_the_recording(fetch_media(request_for(server->url("/RE1.mp3"))));
  const auto received = server->requests();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[0].header("authorization"), kExpectedAuthorization);
  EXPECT_EQ(received[1].header("host"), "localhost:" + std::to_string(server->port()));
  EXPECT_FALSE(received[1].has("authorization")) << received[1].header("authorization");
}

// What libcurl does for a redirect within the same origin: it keeps sending Basic auth.
TEST_F(Media, RedirectOnTheSameHostKeepsTheCredentials) {
  HttpServer server([](const Request& request) {
    if (request.target == "/RE1.mp3") return Response::redirect("/real/RE1.mp3");
    return serve_recording(request);
  });
  expect_the_recording(fetch_media(request_for(server.url("/RE1.mp3"))));
  const auto received = server.requests();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[1].target, "/real/RE1.mp3");
  EXPECT_EQ(received[0].header("authorization"), kExpectedAuthorization);
  EXPECT_EQ(received[1].header("authorization"), kExpectedAuthorization);
}

TEST_F(Media, RedirectLoopFails) {
  HttpServer server([](const Request&) { return Response::redirect("/again.mp3"); });
  const MediaResult result = fetch_media(request_for(server.url("/RE1.mp3")));
  EXPECT_EQ(result.kind, MediaResult::Kind::kFailed);
  EXPECT_EQ(server.requests().size(), 6u);  // the first request and 5 redirects
  expect_failure_hygiene(result);
}

TEST_F(Media, RedirectToAnotherProtocolFails) {
  HttpServer server([](const Request&) { return Response::redirect("ftp://127.0.0.1/RE1"); });
  const MediaResult result = fetch_media(request_for(server.url("/RE1.mp3")));
  EXPECT_EQ(result.kind, MediaResult::Kind::kFailed);
  expect_failure_hygiene(result);
}

TEST_F(Media, BodyShorterThanContentLengthFails) {
  HttpServer server([](const Request&) {
    Response cut = Response::text(200, std::string(1000, 'a'), "audio/mpeg");
    cut.cut_after = 500;
    return cut;
  });
  const MediaResult result = fetch_media(request_for(server.url("/RE1.mp3")));
  EXPECT_EQ(result.kind, MediaResult::Kind::kFailed);
  EXPECT_EQ(result.bytes, 500u);
  EXPECT_NE(result.error.find("500 bytes remaining"), std::string::npos) << result.error;
  expect_failure_hygiene(result);
}

// Headers, then silence. (libcurl averages the speed over its last ~5 s, so a stall after some
// body bytes is noticed up to 5 s later than stall_timeout; with none it is noticed on time.)
TEST_F(Media, StalledTransferTimesOut) {
  HttpServer server(
      [](const Request&) { return Response{.content_length = 1000, .hold_open = 20s}; });
  MediaRequest request = request_for(server.url("/RE1.mp3"));
  request.stall_timeout = 1s;
  const auto started = std::chrono::steady_clock::now();
  const MediaResult result = fetch_media(request);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 5s);
  EXPECT_EQ(result.kind, MediaResult::Kind::kFailed);
  EXPECT_NE(result.error.find("Timeout"), std::string::npos) << result.error;
  expect_failure_hygiene(result);
}

TEST_F(Media, ConnectionRefusedFails) {
  unsigned short port = 0;
  {
    // A port that was free a moment ago and has nobody listening now.
    asio::io_context io;
    tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = probe.local_endpoint().port();
  }
  const MediaResult result =
      fetch_media(request_for("http://127.0.0.1:" + std::to_string(port) + "/RE1.mp3"));
  EXPECT_EQ(result.kind, MediaResult::Kind::kFailed);
  EXPECT_EQ(result.http_status, 0);
  EXPECT_NE(result.error.find("onnect"), std::string::npos) << result.error;
  expect_failure_hygiene(result);
}

TEST_F(Media, HttpsOnlyModeRefusesHttp) {
  HttpServer server(serve_recording);
  MediaRequest request = request_for(server.url("/RE1.mp3"));
  request.allow_http = false;
  const MediaResult result = fetch_media(request);
  EXPECT_EQ(result.kind, MediaResult::Kind::kFailed);
  EXPECT_NE(result.error.find("http"), std::string::npos) << result.error;
  EXPECT_TRUE(server.requests().empty()) << "must not even connect";
  expect_failure_hygiene(result);
}

TEST_F(Media, ErrorsNeverContainThePassword) {
  // Even when a caller wrongly puts the token into the URL's userinfo.
  MediaRequest request =
      request_for("http://" + kAccountSid + ":" + kAuthToken + "@127.0.0.1:1/RE1.mp3");
  const MediaResult result = fetch_media(request);
  EXPECT_EQ(result.kind, MediaResult::Kind::kFailed);
  expect_failure_hygiene(result);
}

TEST_F(Media, UnwritableSpoolFails) {
  HttpServer server(serve_recording);
  MediaRequest request = request_for(server.url("/RE1.mp3"));
  request.spool = "/nonexistent-partyline-dir/RE1.mp3";
  const MediaResult result = fetch_media(request);
  EXPECT_EQ(result.kind, MediaResult::Kind::kFailed);
  EXPECT_NE(result.error.find("spool"), std::string::npos) << result.error;
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(Media, ConcurrentFetchesAreIndependent) {
  HttpServer server(serve_recording);
  constexpr int kFetches = 4;
  std::vector<MediaResult> results(kFetches);
  std::vector<std::filesystem::path> spools;
  std::vector<std::thread> threads;
  for (int i = 0; i < kFetches; ++i)
    spools.push_back(spool_.string() + "." + std::to_string(i));
  for (int i = 0; i < kFetches; ++i) {
    threads.emplace_back([&, i] {
      MediaRequest request = request_for(server.url("/RE" + std::to_string(i) + ".mp3"));
      request.spool = spools[i];
      results[i] = fetch_media(request);
    });
  }
  for (auto& t : threads)
    t.join();
  for (int i = 0; i < kFetches; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(results[i].kind, MediaResult::Kind::kOk) << results[i].error;
    EXPECT_EQ(results[i].sha256_hex, util::sha256_hex(recording()));
    EXPECT_TRUE(read_file(spools[i]) == recording());
    std::filesystem::remove(spools[i]);
  }
}

}  // namespace
}  // namespace partyline::twilio
