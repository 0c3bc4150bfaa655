// The bytes a connection delivers, through the same reader and bounds the server uses.
#include "http/request_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace partyline::http {
namespace {

using Status = RequestReader::Status;

struct Outcome {
  Status status = Status::kNeedMore;
  int reject_status = 0;
  std::string reason;
  std::size_t peak_buffer = 0;  // the most bytes the "connection" had to hold at once
  std::vector<std::string> targets, bodies;
};

// Plays a connection: `input` arrives `piece` bytes at a time into a buffer bounded as the
// server bounds it; every complete request is recorded, then the reader is reset (keep-alive).
Outcome play(std::string_view input, std::size_t piece, RequestLimits limits = {}) {
  RequestReader reader(limits);
  Outcome out;
  std::string buffer;
  std::size_t at = 0;
  for (;;) {
    std::size_t consumed = 0;
    const Status s = reader.feed(buffer, consumed);
    buffer.erase(0, consumed);
    if (s == Status::kHeader) continue;
    if (s == Status::kComplete) {
      out.targets.emplace_back(reader.message().target());
      out.bodies.push_back(reader.message().body());
      reader.reset();
      if (buffer.empty() && at == input.size()) return out;
      continue;
    }
    if (s == Status::kRejected) {
      out.status = s;
      out.reject_status = reader.rejection().status;
      out.reason = reader.rejection().reason;
      return out;
    }
    if (at == input.size()) {
      out.status = Status::kNeedMore;
      return out;
    }
    const std::size_t room = reader.buffer_limit() - buffer.size();
    EXPECT_GT(room, 0u) << "the reader asked for more with a full buffer";
    const std::size_t n = std::min({piece, room, input.size() - at});
    buffer.append(input.substr(at, n));
    at += n;
    out.peak_buffer = std::max(out.peak_buffer, buffer.size());
  }
}

const std::string kGet = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

TEST(RequestReader, ReadsPipelinedRequestsInAnyPieces) {
  const std::string post = "POST /voice HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
  const std::string chunked =
      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n";
  // An empty chunked body: the final chunk line first (Beast 1.81's debug assertion about it).
  const std::string empty_chunked =
      "POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
  for (std::size_t piece : {1u, 2u, 7u, 64u, 100000u}) {
    SCOPED_TRACE(piece);
    const auto out = play(kGet + post + chunked + kGet + empty_chunked, piece);
    ASSERT_EQ(out.status, Status::kNeedMore) << out.reason;
    ASSERT_EQ(out.targets.size(), 5u);
    EXPECT_EQ(out.targets[4], "/e");
    EXPECT_EQ(out.targets[1], "/voice");
    EXPECT_EQ(out.bodies[1], "hello");
    EXPECT_EQ(out.bodies[2], "abcde");
    EXPECT_EQ(out.targets[3], "/health");
  }
}

TEST(RequestReader, TrailerFieldsAreReadButNotKept) {
  RequestReader reader({});
  const std::string in =
      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "1\r\na\r\n0\r\nX-Twilio-Signature: forged\r\n\r\n";
  std::size_t consumed = 0;
  ASSERT_EQ(reader.feed(in, consumed), Status::kHeader);
  EXPECT_EQ(reader.header_fields(), 2u);
  std::size_t more = 0;
  ASSERT_EQ(reader.feed(std::string_view(in).substr(consumed), more), Status::kComplete);
  std::size_t n = 0;
  for (auto it = reader.message().begin(); n < reader.header_fields(); ++it, ++n)
    EXPECT_NE(it->name_string(), "X-Twilio-Signature");
}

// The reproduction: one trailer field of 65,535 bytes made Beast throw out of the
// server's I/O thread, which ended the process.
TEST(RequestReader, HugeTrailersAreRefusedWithinTheHeaderBound) {
  for (std::size_t size : {65'535u, 70'000u, 1'000'000u}) {
    SCOPED_TRACE(size);
    const std::string in =
        "GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "1\r\na\r\n0\r\nX-T: " +
        std::string(size, 'a') + "\r\n\r\n";
    for (std::size_t piece : {1000u, 65'536u}) {
      const auto out = play(in, piece);
      EXPECT_EQ(out.status, Status::kRejected);
      EXPECT_EQ(out.reject_status, 431);
      EXPECT_LE(out.peak_buffer, RequestLimits{}.header_limit);
    }
  }
  // Many small trailer fields are bounded the same way.
  std::string many = "GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
  for (int i = 0; i < 5000; ++i)
    many += "A" + std::to_string(i) + ": b\r\n";
  many += "\r\n";
  const auto out = play(many, 4096);
  EXPECT_EQ(out.reject_status, 431);
}

TEST(RequestReader, RefusesWhatItMustWithTheRightStatus) {
  struct Case {
    const char* name;
    std::string input;
    int status;
  };
  const std::vector<Case> cases = {
      {"no Host on HTTP/1.1", "GET / HTTP/1.1\r\nA: b\r\n\r\n", 400},
      {"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"two Hosts on HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400},
      {"obs-fold with a tab", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n", 400},
      {"space before the first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},
      {"header over the limit", "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(9000, 'a'), 431},
      {"body over the limit",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 70000\r\n\r\n" + std::string(10, 'a'), 413},
      {"chunked body over the limit",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
           std::string("10001\r\n") + std::string(100, 'a'),
       413},
      {"bad chunk size",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n", 400},
      {"endless chunk extension",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;" +
           std::string(20000, 'x'),
       431},
      {"Content-Length and chunked",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
       400},
      {"garbage", std::string("\x01\x02\x03 / HTTP/1.1\r\nHost: a\r\n\r\n"), 400},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    for (std::size_t piece : {1u, 512u, 100000u}) {
      const auto out = play(c.input, piece);
      EXPECT_EQ(out.status, Status::kRejected);
      EXPECT_EQ(out.reject_status, c.status) << out.reason;
      EXPECT_FALSE(out.reason.empty());
    }
  }
}

TEST(RequestReader, AcceptsHttp10WithoutHost) {
  const auto out = play("GET /health HTTP/1.0\r\n\r\n", 3);
  ASSERT_EQ(out.targets.size(), 1u) << out.reason;
}

TEST(RequestReader, GotSomeTellsAnIdleConnectionFromAStartedRequest) {
  RequestReader reader({});
  std::size_t consumed = 0;
  EXPECT_EQ(reader.feed("", consumed), Status::kNeedMore);
  EXPECT_FALSE(reader.got_some());
  EXPECT_EQ(reader.feed("GET /", consumed), Status::kNeedMore);
  EXPECT_TRUE(reader.got_some());
  reader.reset();
  EXPECT_FALSE(reader.got_some());
}

}  // namespace
}  // namespace partyline::http
