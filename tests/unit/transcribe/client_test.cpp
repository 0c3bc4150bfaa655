#include "transcribe/client.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "../db/test_dir.hpp"
#include "../support/fake_http_server.hpp"

namespace partyline::transcribe {
namespace {

using namespace std::chrono_literals;
using db::testing::TestDir;
using fake::HttpServer;
using fake::Request;
using fake::Response;

const std::string kKey = "sk-test-0123456789abcdefghijklmnop";
constexpr const char* kAnswer =
    R"({"task":"transcribe","language":"english","duration":3.5,"text":"Hello there.",)"
    R"("segments":[{"id":0,"start":0.0,"end":3.5,"text":" Hello there."}]})";

// One part of a multipart/form-data body.
struct Part {
  std::string filename, content_type, data;
  bool has_filename = false;
};

// The form as a server reads it: parts by name, in order of arrival (a repeated name keeps its
// last value). Written here because neither Boost 1.81 nor GoogleTest parses multipart bodies; it
// fails the test on a malformed body.
std::vector<std::pair<std::string, Part>> parse_form(const Request& request) {
  const std::string type = request.header("content-type");
  const std::string marker = "multipart/form-data; boundary=";
  EXPECT_TRUE(type.starts_with(marker)) << type;
  const std::string boundary = "--" + type.substr(marker.size());
  const std::string& body = request.body;
  std::vector<std::pair<std::string, Part>> parts;
  std::size_t at = body.find(boundary);
  EXPECT_EQ(at, 0u);
  while (at != std::string::npos) {
    at += boundary.size();
    if (body.compare(at, 2, "--") == 0) break;  // the closing boundary
    const std::size_t head_end = body.find("\r\n\r\n", at);
    const std::size_t next = body.find("\r\n" + boundary, head_end);
    if (head_end == std::string::npos || next == std::string::npos) {
      ADD_FAILURE() << "malformed multipart body";
      break;
    }
    const std::string head = body.substr(at, head_end - at);
    Part part;
    part.data = body.substr(head_end + 4, next - head_end - 4);
    const auto quoted = [&](const std::string& key) -> std::optional<std::string> {
      const std::size_t k = head.find(key + "=\"");
      if (k == std::string::npos) return std::nullopt;
      const std::size_t start = k + key.size() + 2;
      return head.substr(start, head.find('"', start) - start);
    };
    const std::string name = quoted("name").value_or("");
    if (auto filename = quoted("filename")) {
      part.filename = *filename;
      part.has_filename = true;
    }
    if (const std::size_t ct = head.find("Content-Type: "); ct != std::string::npos) {
      part.content_type = head.substr(ct + 14, head.find("\r\n", ct) - ct - 14);
    }
    parts.emplace_back(name, part);
    at = next + 2;
  }
  return parts;
}

std::map<std::string, Part> form_of(const Request& request) {
  std::map<std::string, Part> out;
  for (auto& [name, part] : parse_form(request))
    out[name] = part;
  return out;
}

ClientOptions options_for(const HttpServer& server, std::string path = "/v1/audio/transcriptions") {
  ClientOptions options;
  options.url = server.url(path);
  options.api_key = config::Secret(kKey);
  options.allow_http = true;
  options.timeout = 20s;
  return options;
}

Response json(int status, std::string body) {
  return {status, std::move(body), {{"Content-Type", "application/json"}}};
}

// Audio bytes that a careless form writer would break: CR LF, a NUL, something like a boundary.
std::string audio_bytes() {
  std::string bytes = "ID3\x03\x00\r\n--boundary\r\n\r\n";
  bytes += std::string("\0\xff\xfb", 3);
  for (int i = 0; i < 50'000; ++i)
    bytes += static_cast<char>(i * 7);
  return bytes;
}

std::filesystem::path write_audio(const TestDir& dir, const std::string& name = "call.mp3") {
  const auto file = dir.path() / name;
  std::ofstream(file, std::ios::binary) << audio_bytes();
  return file;
}

TEST(TranscribeClient, PostsTheFileAndFieldsAsAMultipartForm) {
  HttpServer server([](const Request&) { return json(200, kAnswer); });
  TestDir dir;
  ClientOptions options = options_for(server);
  options.model = "whisper-large-v3";
  options.language = "en";
  const auto transcript = Client(options).transcribe(write_audio(dir), "audio/mpeg");
  ASSERT_TRUE(transcript) << transcript.error().reason;
  EXPECT_EQ(transcript->language, "english");
  ASSERT_EQ(transcript->segments.size(), 1u);
  EXPECT_EQ(transcript->segments[0].text, "Hello there.");

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const Request& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/v1/audio/transcriptions");
  EXPECT_EQ(r.header("authorization"), "Bearer " + kKey);
  EXPECT_EQ(r.header("accept"), "application/json");
  auto form = form_of(r);
  EXPECT_EQ(form.size(), 5u);
  EXPECT_EQ(form["model"].data, "whisper-large-v3");
  EXPECT_EQ(form["response_format"].data, "verbose_json");
  EXPECT_EQ(form["timestamp_granularities[]"].data, "segment");
  EXPECT_EQ(form["language"].data, "en");
  EXPECT_FALSE(form["model"].has_filename);
  const Part& file = form["file"];
  EXPECT_TRUE(file.has_filename);
  EXPECT_EQ(file.filename, "call.mp3");
  EXPECT_EQ(file.content_type, "audio/mpeg");
  EXPECT_EQ(file.data, audio_bytes());
}

TEST(TranscribeClient, SendsNoKeyOrLanguageThatIsNotSet) {
  HttpServer server([](const Request&) { return json(200, R"({"text":"ok"})"); });
  TestDir dir;
  ClientOptions options = options_for(server);
  options.api_key = {};
  const auto transcript = Client(options).transcribe(write_audio(dir, "x.wav"), "audio/wav");
  ASSERT_TRUE(transcript) << transcript.error().reason;
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_FALSE(requests[0].has("authorization"));
  auto form = form_of(requests[0]);
  EXPECT_FALSE(form.contains("language"));
  EXPECT_EQ(form["model"].data, "whisper-1");
  EXPECT_EQ(form["file"].filename, "x.wav");
  EXPECT_EQ(form["file"].content_type, "audio/wav");
}

TEST(TranscribeClient, ClassifiesRefusals) {
  struct Case {
    Response response;
    bool transient;
    std::optional<std::chrono::seconds> retry_after;
    std::string reason;
  };
  const std::string long_message(1000, 'm');
  const std::vector<Case> cases = {
      {{429,
        R"({"error":{"message":"Rate limit reached","type":"requests"}})",
        {{"Content-Type", "application/json"}, {"Retry-After", "7"}}},
       true,
       7s,
       "HTTP 429: Rate limit reached"},
      {json(429, "{}"), true, std::nullopt, "HTTP 429"},
      {json(500, R"({"error":{"message":"The server had an error"}})"), true, std::nullopt,
       "HTTP 500: The server had an error"},
      {{503, "busy", {{"Retry-After", "3"}}}, true, 3s, "HTTP 503: busy"},
      {json(408, "{}"), true, std::nullopt, "HTTP 408"},
      {json(400, R"({"error":{"message":"Invalid file format.","code":null}})"), false,
       std::nullopt, "HTTP 400: Invalid file format."},
      {json(401, R"({"error":{"message":"Incorrect API key provided: )" + kKey + R"(."}})"), false,
       std::nullopt, "HTTP 401: Incorrect API key provided: ***."},
      {json(413, R"({"error":"file too large"})"), false, std::nullopt, "HTTP 413: file too large"},
      {json(422, R"({"detail":"model not found"})"), false, std::nullopt,
       "HTTP 422: model not found"},
      {json(400, R"({"error":{"message":")" + long_message + R"("}})"), false, std::nullopt,
       "HTTP 400: " + std::string(300, 'm') + "…"},
      {{404, "<html>\nNot found\n</html>", {{"Content-Type", "text/html"}}},
       false,
       std::nullopt,
       "HTTP 404: <html> Not found </html>"},
      {{302, "", {{"Location", "https://elsewhere.example/"}}}, false, std::nullopt, "HTTP 302"},
  };
  TestDir dir;
  const auto audio = write_audio(dir);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.reason);
    HttpServer server([&](const Request&) { return c.response; });
    const auto transcript = Client(options_for(server)).transcribe(audio, "audio/mpeg");
    ASSERT_FALSE(transcript);
    EXPECT_EQ(transcript.error().reason, c.reason);
    EXPECT_EQ(transcript.error().http_status, c.response.status);
    EXPECT_EQ(transcript.error().transient(), c.transient);
    EXPECT_EQ(transcript.error().retry_after, c.retry_after);
  }
}

TEST(TranscribeClient, UnusableAnswersAreRefusedForLater) {
  TestDir dir;
  const auto audio = write_audio(dir);
  for (const std::string body : {"", "not json", R"({"segments":[{"start":2,"end":1,"text":"a"}]})",
                                 R"({"error":"looks like success"})"}) {
    SCOPED_TRACE(body);
    HttpServer server([&](const Request&) { return json(200, body); });
    const auto transcript = Client(options_for(server)).transcribe(audio, "audio/mpeg");
    ASSERT_FALSE(transcript);
    EXPECT_FALSE(transcript.error().transient());
    EXPECT_EQ(transcript.error().http_status, 200);
  }
  // An answer over 16 MiB is cut off, not kept.
  HttpServer huge(
      [](const Request&) { return json(200, std::string(kMaxAnswerBytes + 1024, ' ')); });
  const auto transcript = Client(options_for(huge)).transcribe(audio, "audio/mpeg");
  ASSERT_FALSE(transcript);
  EXPECT_FALSE(transcript.error().transient());
  EXPECT_NE(transcript.error().reason.find("16 MiB"), std::string::npos);
}

TEST(TranscribeClient, TransferFailuresAreTransient) {
  TestDir dir;
  const auto audio = write_audio(dir);
  {
    // A server that never answers in time.
    HttpServer server([](const Request&) { return Response{.delay = 10s}; });
    ClientOptions options = options_for(server);
    options.timeout = 1s;
    const auto started = std::chrono::steady_clock::now();
    const auto transcript = Client(options).transcribe(audio, "audio/mpeg");
    ASSERT_FALSE(transcript);
    EXPECT_TRUE(transcript.error().transient()) << transcript.error().reason;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  }
  {
    HttpServer server([](const Request&) { return Response{.drop = true}; });
    const auto transcript = Client(options_for(server)).transcribe(audio, "audio/mpeg");
    ASSERT_FALSE(transcript);
    EXPECT_TRUE(transcript.error().transient()) << transcript.error().reason;
  }
  {
    HttpServer server(
        [](const Request&) { return Response{.status = 200, .body = kAnswer, .cut_after = 20}; });
    const auto transcript = Client(options_for(server)).transcribe(audio, "audio/mpeg");
    ASSERT_FALSE(transcript);
    EXPECT_TRUE(transcript.error().transient()) << transcript.error().reason;
  }
  boost::asio::io_context io;
  unsigned short port = 0;
  {
    boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = probe.local_endpoint().port();
  }
  ClientOptions options;
  options.url = "http://127.0.0.1:" + std::to_string(port) + "/v1/audio/transcriptions";
  options.allow_http = true;
  const auto refused = Client(options).transcribe(audio, "audio/mpeg");
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().transient()) << refused.error().reason;
  EXPECT_EQ(refused.error().http_status, 0);
}

TEST(TranscribeClient, RefusesBeforeSendingWhatCannotGo) {
  HttpServer server([](const Request&) { return json(200, kAnswer); });
  TestDir dir;
  const auto audio = write_audio(dir);
  ClientOptions plain = options_for(server);
  plain.allow_http = false;
  EXPECT_FALSE(Client(plain).transcribe(audio, "audio/mpeg"));
  EXPECT_FALSE(Client(plain).summarize("p", "t"));
  const Client client(options_for(server));
  EXPECT_FALSE(client.transcribe(dir.path() / "missing.mp3", "audio/mpeg"));
  EXPECT_FALSE(client.transcribe(dir.path(), "audio/mpeg"));
  EXPECT_FALSE(client.transcribe(audio, "audio/mpeg\r\nX-Injected: 1"));
  EXPECT_FALSE(client.transcribe(write_audio(dir, "a\"b.mp3"), "audio/mpeg"));
  EXPECT_TRUE(server.requests().empty());
}

TEST(TranscribeClient, SummarizesThroughChatCompletions) {
  HttpServer server([](const Request&) {
    return json(200, R"({"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,
        "message":{"role":"assistant","content":"# Summary\nThey said hello."},
        "finish_reason":"stop"}]})");
  });
  ClientOptions options = options_for(server, "/v1/chat/completions");
  options.model = "gpt-4o-mini";
  const auto summary =
      Client(options).summarize("Summarize this call.", "[00:00:00] host 1234: Hello \"all\"\n");
  ASSERT_TRUE(summary) << summary.error().reason;
  EXPECT_EQ(*summary, "# Summary\nThey said hello.");

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, "/v1/chat/completions");
  EXPECT_EQ(requests[0].header("content-type"), "application/json");
  EXPECT_EQ(requests[0].header("authorization"), "Bearer " + kKey);
  EXPECT_EQ(boost::json::parse(requests[0].body),
            boost::json::parse(R"({"model":"gpt-4o-mini","messages":[
                {"role":"system","content":"Summarize this call."},
                {"role":"user","content":"[00:00:00] host 1234: Hello \"all\"\n"}]})"));
}

TEST(TranscribeClient, SummaryFailuresFollowTheSameRules) {
  struct Case {
    Response response;
    bool transient;
  };
  const std::vector<Case> cases = {
      {{429, "{}", {{"Retry-After", "2"}}}, true},
      {json(502, "{}"), true},
      {json(400, R"({"error":{"message":"context_length_exceeded"}})"), false},
      {json(200, R"({"choices":[]})"), false},
      {json(200, R"({"choices":[{"message":{"content":null}}]})"), false},
      {json(200, R"({"choices":[{"message":{"content":""}}]})"), false},
      {json(200, "[1]"), false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.response.body);
    HttpServer server([&](const Request&) { return c.response; });
    const auto summary =
        Client(options_for(server, "/v1/chat/completions")).summarize("prompt", "text");
    ASSERT_FALSE(summary);
    EXPECT_EQ(summary.error().transient(), c.transient);
    if (c.response.status == 429) {
      EXPECT_EQ(summary.error().retry_after, 2s);
    }
  }
}

TEST(TranscribeClient, ReadsRetryAfterInSeconds) {
  const std::vector<std::pair<std::string, std::optional<std::chrono::seconds>>> cases = {
      {"2", 2s},
      {" 30 \r\n", 30s},
      {"0", 0s},
      {"1.5", 2s},
      {"2.000", 2s},
      {"86400", 86400s},
      {"999999999999", 86400s},
      {"", std::nullopt},
      {"-1", std::nullopt},
      {"1.", std::nullopt},
      {".5", std::nullopt},
      {"1e3", std::nullopt},
      {"inf", std::nullopt},
      {"0x10", std::nullopt},
      {"Wed, 21 Oct 2015 07:28:00 GMT", std::nullopt},
  };
  for (const auto& [text, expected] : cases) {
    SCOPED_TRACE(text);
    EXPECT_EQ(parse_retry_after(text), expected);
  }
}

}  // namespace
}  // namespace partyline::transcribe
