#include "log/rate_limit.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace partyline::log {
namespace {

// The lines a kDirect logger wrote into a pipe.
std::vector<boost::json::object> read_lines(int fd) {
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<std::size_t>(n));
  std::vector<boost::json::object> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(boost::json::parse(line).as_object());
  return lines;
}

TEST(RateLimitedLog, OneLinePerReasonPerIntervalWithTheCountHeldBack) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::chrono::steady_clock::time_point now{};
  {
    Logger log(fds[1], LogLevel::kInfo, util::system_clock());
    RateLimitedLog limited(log, std::chrono::seconds(10), [&] { return now; });
    EXPECT_TRUE(limited.warn("http.reject", "connection limit reached"));
    for (int i = 0; i < 5; ++i)
      EXPECT_FALSE(limited.warn("http.reject", "connection limit reached"));
    // Another reason, or another event with the same reason, has its own allowance.
    EXPECT_TRUE(limited.warn("http.reject", "per-address limit reached"));
    EXPECT_TRUE(limited.error("recordings.worker_error", "connection limit reached"));
    now += std::chrono::seconds(9);
    EXPECT_FALSE(limited.warn("http.reject", "connection limit reached"));
    now += std::chrono::seconds(1);
    EXPECT_TRUE(limited.warn("http.reject", "connection limit reached", {{"limit", 3}}));
    EXPECT_TRUE(!limited.warn("http.reject", "connection limit reached"));
  }
  ::close(fds[1]);
  const auto lines = read_lines(fds[0]);
  ::close(fds[0]);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].at("reason"), "connection limit reached");
  EXPECT_FALSE(lines[0].contains("suppressed"));
  EXPECT_EQ(lines[1].at("reason"), "per-address limit reached");
  EXPECT_EQ(lines[2].at("evt"), "recordings.worker_error");
  EXPECT_EQ(lines[2].at("level"), "error");
  EXPECT_EQ(lines[3].at("suppressed"), 6);
  EXPECT_EQ(lines[3].at("limit"), 3);
}

TEST(RateLimitedLog, AGroupStandsForTheReasonAndTheLineKeepsTheReason) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::chrono::steady_clock::time_point now{};
  {
    Logger log(fds[1], LogLevel::kInfo, util::system_clock());
    RateLimitedLog limited(log, std::chrono::seconds(10), [&] { return now; });
    EXPECT_TRUE(limited.warn("s3.request.retry", "connect after 0 ms", {}, "connect after # ms"));
    EXPECT_FALSE(limited.warn("s3.request.retry", "connect after 1 ms", {}, "connect after # ms"));
    EXPECT_TRUE(limited.warn("s3.request.retry", "connect after 2 ms"));
  }
  ::close(fds[1]);
  const auto lines = read_lines(fds[0]);
  ::close(fds[0]);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].at("reason"), "connect after 0 ms");
  EXPECT_EQ(lines[1].at("reason"), "connect after 2 ms");
}

TEST(RateLimitedLog, BelowTheLevelNothingIsCountedOrWritten) {
  Logger log(-1, LogLevel::kError, util::system_clock());
  RateLimitedLog limited(log);
  EXPECT_FALSE(limited.warn("x", "y"));
  EXPECT_TRUE(limited.error("x", "y"));
}

}  // namespace
}  // namespace partyline::log
