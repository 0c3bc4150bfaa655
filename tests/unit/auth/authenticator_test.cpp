#include "auth/authenticator.hpp"

#include <gtest/gtest.h>

#include <string>

#include "../db/test_dir.hpp"
#include "auth/password.hpp"

namespace partyline::auth {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

struct Fixture {
  db::testing::TestDir dir;
  std::filesystem::path file = dir.path() / kConsoleDatabaseFile;
  std::chrono::system_clock::time_point now =
      std::chrono::system_clock::time_point{} + std::chrono::hours(480000);
  Authenticator auth{file, [this] { return now; }};
  Fixture() {
    auth.users().add("alice", hash_password("alice's secret"), db::Role::kAdmin);
    auth.users().add("bob", hash_password("bob's secret"), db::Role::kProducer);
  }
};

TEST(Authenticator, TheRightPasswordGivesASessionThatSignOutEnds) {
  Fixture f;
  const auto result = f.auth.sign_in("alice", "alice's secret", "10.0.0.1");
  const auto* ok = std::get_if<SignedIn>(&result);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->principal.user, "alice");
  EXPECT_EQ(ok->principal.role, db::Role::kAdmin);
  const auto principal = f.auth.session(ok->token);
  ASSERT_TRUE(principal);
  EXPECT_EQ(principal->user, "alice");
  EXPECT_EQ(principal->role, db::Role::kAdmin);
  f.auth.sign_out(ok->token);
  EXPECT_FALSE(f.auth.session(ok->token));
  EXPECT_FALSE(f.auth.session("not-a-token"));
}

TEST(Authenticator, AWrongPasswordAndAnUnknownNameGiveTheSameAnswer) {
  Fixture f;
  struct Case {
    std::string user, password;
  };
  const Case cases[] = {
      {"alice", "bob's secret"},
      {"carol", "alice's secret"},
      {"Alice", "alice's secret"},
      {"bad name!", "x"},
      {"alice", ""},
      {"alice", std::string(kMaxPasswordBytes + 1, 'a')},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.user);
    const auto result = f.auth.sign_in(c.user, c.password, "10.0.0." + c.user.substr(0, 1));
    EXPECT_TRUE(std::holds_alternative<WrongCredentials>(result));
  }
}

TEST(Authenticator, APasswordLongerThanTheLimitIsRefusedEvenWhenItMatches) {
  Fixture f;
  const std::string long_password(kMaxPasswordBytes + 1, 'p');
  ASSERT_TRUE(f.auth.users().add("long", hash_password(long_password), db::Role::kProducer));
  EXPECT_TRUE(
      std::holds_alternative<WrongCredentials>(f.auth.sign_in("long", long_password, "10.1.1.1")));
}

TEST(Authenticator, FiveFailuresThrottleEvenTheRightPasswordUntilTheWindowPasses) {
  Fixture f;
  for (int i = 0; i < 5; ++i) {
    f.now += seconds(1);
    ASSERT_TRUE(std::holds_alternative<WrongCredentials>(
        f.auth.sign_in("alice", "guess", "10.0.0." + std::to_string(i))));
  }
  auto result = f.auth.sign_in("alice", "alice's secret", "10.9.9.9");
  const auto* throttled = std::get_if<Throttled>(&result);
  ASSERT_TRUE(throttled);
  EXPECT_EQ(throttled->retry_after, minutes(15) - seconds(4));
  // Another user from another address is not affected.
  EXPECT_TRUE(std::holds_alternative<SignedIn>(f.auth.sign_in("bob", "bob's secret", "10.8.8.8")));
  f.now += minutes(15);
  EXPECT_TRUE(
      std::holds_alternative<SignedIn>(f.auth.sign_in("alice", "alice's secret", "10.9.9.9")));
}

TEST(Authenticator, UnknownNamesFromOneAddressThrottleThatAddress) {
  Fixture f;
  for (int i = 0; i < 5; ++i)
    f.auth.sign_in("nobody" + std::to_string(i), "guess", "203.0.113.5");
  EXPECT_TRUE(
      std::holds_alternative<Throttled>(f.auth.sign_in("alice", "alice's secret", "203.0.113.5")));
  EXPECT_TRUE(
      std::holds_alternative<SignedIn>(f.auth.sign_in("alice", "alice's secret", "203.0.113.6")));
}

TEST(Authenticator, ASuccessClearsTheNamesFailuresButNotTheAddresss) {
  Fixture f;
  for (int i = 0; i < 4; ++i)
    f.auth.sign_in("alice", "guess", "10.0.0.1");
  ASSERT_TRUE(
      std::holds_alternative<SignedIn>(f.auth.sign_in("alice", "alice's secret", "10.0.0.2")));
  f.auth.sign_in("alice", "guess", "10.0.0.1");  // the address's fifth failure; the name's first
  EXPECT_TRUE(std::holds_alternative<Throttled>(f.auth.sign_in("bob", "bob's secret", "10.0.0.1")));
  EXPECT_TRUE(
      std::holds_alternative<SignedIn>(f.auth.sign_in("alice", "alice's secret", "10.0.0.3")));
}

}  // namespace
}  // namespace partyline::auth
