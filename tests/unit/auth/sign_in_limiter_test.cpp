#include "auth/sign_in_limiter.hpp"

#include <gtest/gtest.h>

#include <string>

namespace partyline::auth {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

struct ManualClock {
  std::chrono::system_clock::time_point now =
      std::chrono::system_clock::time_point{} + std::chrono::hours(500000);
  util::Clock clock() {
    return [this] { return now; };
  }
};

TEST(SignInLimiter, FiveFailuresForOneNameRefuseThatNameFromAnyAddress) {
  ManualClock t;
  SignInLimiter limiter(t.clock());
  for (int i = 0; i < 5; ++i) {
    ASSERT_FALSE(limiter.refused("alice", "10.0.0." + std::to_string(i))) << i;
    limiter.failed("alice", "10.0.0." + std::to_string(i));
    t.now += seconds(10);
  }
  const auto wait = limiter.refused("alice", "10.0.0.99");
  ASSERT_TRUE(wait);
  // The first failure was 50 s ago: it leaves the 15-minute window in 850 s.
  EXPECT_EQ(*wait, seconds(850));
  EXPECT_FALSE(limiter.refused("bob", "10.0.0.99"));
  EXPECT_FALSE(limiter.refused("bob", "10.0.0.0"));  // each address failed only once
}

TEST(SignInLimiter, FiveFailuresFromOneAddressRefuseItForEveryName) {
  ManualClock t;
  SignInLimiter limiter(t.clock());
  for (int i = 0; i < 5; ++i)
    limiter.failed("user" + std::to_string(i), "192.0.2.7");
  const auto wait = limiter.refused("someone-else", "192.0.2.7");
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, seconds(900));
  EXPECT_FALSE(limiter.refused("someone-else", "192.0.2.8"));
  EXPECT_FALSE(limiter.refused("user0", "192.0.2.8"));
}

TEST(SignInLimiter, FourFailuresAreNotEnoughAndTheWindowSlides) {
  ManualClock t;
  SignInLimiter limiter(t.clock());
  for (int i = 0; i < 4; ++i)
    limiter.failed("alice", "a");
  EXPECT_FALSE(limiter.refused("alice", "a"));
  t.now += minutes(10);
  limiter.failed("alice", "a");  // five within 15 minutes
  ASSERT_TRUE(limiter.refused("alice", "a"));
  EXPECT_EQ(*limiter.refused("alice", "a"), minutes(5));
  t.now += minutes(5) - std::chrono::milliseconds(1);
  ASSERT_TRUE(limiter.refused("alice", "a"));
  EXPECT_EQ(*limiter.refused("alice", "a"), seconds(1));  // never rounded down to 0
  t.now += std::chrono::milliseconds(1);
  EXPECT_FALSE(limiter.refused("alice", "a"));  // the first four left the window
  limiter.failed("alice", "a");
  EXPECT_FALSE(limiter.refused("alice", "a"));  // two in the window now
}

TEST(SignInLimiter, RetryAfterIsTheOldestFailureOfTheWindowRoundedUp) {
  ManualClock t;
  SignInLimiter limiter(t.clock());
  for (int i = 0; i < 5; ++i) {
    limiter.failed("", "addr");
    t.now += std::chrono::milliseconds(1500);
  }
  // The first failure was 7.5 s ago: 892.5 s left, said as 893.
  EXPECT_EQ(limiter.refused("", "addr"), seconds(893));
}

TEST(SignInLimiter, ASuccessClearsTheNameButNotTheAddress) {
  ManualClock t;
  SignInLimiter limiter(t.clock());
  for (int i = 0; i < 5; ++i)
    limiter.failed("alice", "10.1.1.1");
  limiter.succeeded("alice");
  EXPECT_FALSE(limiter.refused("alice", "10.9.9.9"));
  EXPECT_TRUE(limiter.refused("alice", "10.1.1.1"));
  EXPECT_TRUE(limiter.refused("mallory", "10.1.1.1"));
}

TEST(SignInLimiter, TheNameWaitAndTheAddressWaitTheLongerWins) {
  ManualClock t;
  SignInLimiter limiter(t.clock());
  for (int i = 0; i < 5; ++i)
    limiter.failed("alice", "x" + std::to_string(i));
  t.now += minutes(5);
  for (int i = 0; i < 5; ++i)
    limiter.failed("n" + std::to_string(i), "10.2.2.2");
  EXPECT_EQ(limiter.refused("alice", "10.2.2.2"), minutes(15));
  EXPECT_EQ(limiter.refused("alice", "10.3.3.3"), minutes(10));
}

TEST(SignInLimiter, AnEmptyNameCountsOnlyForTheAddress) {
  ManualClock t;
  SignInLimiter limiter(t.clock());
  for (int i = 0; i < 5; ++i)
    limiter.failed("", "a" + std::to_string(i));
  EXPECT_FALSE(limiter.refused("", "fresh"));
}

TEST(SignInLimiter, BeyondMaxKeysTheLeastRecentlySeenIsForgotten) {
  ManualClock t;
  SignInLimiter limiter(t.clock(), SignInLimits{.failures = 2, .max_keys = 4});
  limiter.failed("", "old");
  limiter.failed("", "old");
  limiter.failed("", "kept");
  limiter.failed("", "kept");
  ASSERT_TRUE(limiter.refused("", "old"));
  ASSERT_TRUE(limiter.refused("", "kept"));  // now the most recently seen
  limiter.failed("", "c");
  limiter.failed("", "d");  // 4 keys: old, kept, c, d
  EXPECT_TRUE(limiter.refused("", "old"));
  limiter.failed("", "e");  // 5th key: the least recently seen ("kept", touched before "old") goes
  limiter.failed("", "f");
  EXPECT_FALSE(limiter.refused("", "kept"));
  EXPECT_FALSE(limiter.refused("", "c"));
  EXPECT_TRUE(limiter.refused("", "old"));
}

}  // namespace
}  // namespace partyline::auth
