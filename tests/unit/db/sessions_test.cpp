#include "db/sessions.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "db/sqlite.hpp"
#include "db/users.hpp"
#include "test_dir.hpp"
#include "util/crypto.hpp"

namespace partyline::db {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

struct Fixture {
  testing::TestDir dir;
  std::filesystem::path file = dir.path() / "console.db";
  std::chrono::system_clock::time_point now =
      std::chrono::system_clock::time_point{} + milliseconds(1700000000000);
  util::Clock clock() {
    return [this] { return now; };
  }
  Fixture() {
    UserStore users(file);
    users.add("alice", "$h", Role::kAdmin);
    users.add("bob", "$h", Role::kProducer);
  }

  struct Row {
    std::string digest, user;
    std::int64_t created_ms, last_seen_ms;
  };
  // What is in the file, read over a connection of its own.
  std::vector<Row> rows() {
    sqlite3* db = sqlite::open(file, "NORMAL");
    std::vector<Row> out;
    {
      sqlite::Statement s(db, "SELECT digest, user, created_ms, last_seen_ms FROM sessions");
      while (s.step())
        out.push_back(Row{s.text(0), s.text(1), s.integer(2), s.integer(3)});
    }
    sqlite3_close(db);
    return out;
  }
};

TEST(Sessions, ATokenFindsItsUserAndRoleUntilRemoved) {
  Fixture f;
  SessionStore sessions(f.file, f.clock());
  const std::string token = sessions.create("alice");
  EXPECT_EQ(token.size(), 43u);
  EXPECT_EQ(
      token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos)
      << token;
  EXPECT_NE(sessions.create("alice"), token);

  const auto found = sessions.find(token);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->user, "alice");
  EXPECT_EQ(found->role, Role::kAdmin);
  EXPECT_FALSE(sessions.find(token.substr(0, 42) + (token[42] == 'A' ? "B" : "A")));
  EXPECT_FALSE(sessions.find(""));

  EXPECT_TRUE(sessions.remove(token));
  EXPECT_FALSE(sessions.remove(token));
  EXPECT_FALSE(sessions.find(token));
}

TEST(Sessions, TheFileHoldsOnlyTheTokensSha256) {
  Fixture f;
  SessionStore sessions(f.file, f.clock());
  const std::string token = sessions.create("bob");
  const auto rows = f.rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].digest, util::sha256_hex(token));
  EXPECT_EQ(rows[0].user, "bob");
  EXPECT_EQ(rows[0].created_ms, 1700000000000);

  // Nowhere in the file's bytes (the main file and its write-ahead log) is the token itself.
  for (const char* suffix : {"", "-wal"}) {
    std::ifstream in(f.file.string() + suffix, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find(token), std::string::npos) << suffix;
  }
}

TEST(Sessions, ASessionEndsAfterTwelveHoursWithoutARequest) {
  Fixture f;
  SessionStore sessions(f.file, f.clock());
  const std::string token = sessions.create("alice");
  f.now += hours(11) + minutes(59);
  ASSERT_TRUE(sessions.find(token));  // seen: the twelve hours start again
  f.now += hours(12) - milliseconds(1);
  ASSERT_TRUE(sessions.find(token));
  f.now += hours(12);
  EXPECT_FALSE(sessions.find(token));
  EXPECT_TRUE(f.rows().empty());  // deleted, not only refused
  f.now -= hours(1);
  EXPECT_FALSE(sessions.find(token));
}

TEST(Sessions, LastSeenIsWrittenAtMostOnceAMinute) {
  Fixture f;
  SessionStore sessions(f.file, f.clock());
  const std::string token = sessions.create("alice");
  const std::int64_t created = f.rows().at(0).last_seen_ms;
  f.now += seconds(59);
  ASSERT_TRUE(sessions.find(token));
  EXPECT_EQ(f.rows().at(0).last_seen_ms, created);
  f.now += seconds(1);
  ASSERT_TRUE(sessions.find(token));
  EXPECT_EQ(f.rows().at(0).last_seen_ms, created + 60000);
  f.now += seconds(30);
  ASSERT_TRUE(sessions.find(token));
  EXPECT_EQ(f.rows().at(0).last_seen_ms, created + 60000);
}

TEST(Sessions, ASessionSurvivesReopeningTheFile) {
  Fixture f;
  std::string token;
  {
    SessionStore sessions(f.file, f.clock());
    token = sessions.create("bob");
  }
  SessionStore reopened(f.file, f.clock());
  const auto found = reopened.find(token);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->user, "bob");
  EXPECT_EQ(found->role, Role::kProducer);
}

TEST(Sessions, RemoveUserEndsEveryOneOfTheirSessionsAndNoOtherUsers) {
  Fixture f;
  SessionStore sessions(f.file, f.clock());
  const auto a1 = sessions.create("alice");
  const auto a2 = sessions.create("alice");
  const auto b1 = sessions.create("bob");
  EXPECT_EQ(sessions.remove_user("alice"), 2u);
  EXPECT_EQ(sessions.remove_user("alice"), 0u);
  EXPECT_FALSE(sessions.find(a1));
  EXPECT_FALSE(sessions.find(a2));
  EXPECT_TRUE(sessions.find(b1));
}

TEST(Sessions, ARemovedUsersSessionFindsNothingAndARoleChangeIsSeen) {
  Fixture f;
  SessionStore sessions(f.file, f.clock());
  const auto token = sessions.create("bob");
  UserStore users(f.file);
  ASSERT_TRUE(users.remove("bob"));
  EXPECT_FALSE(sessions.find(token));
  ASSERT_TRUE(users.add("bob", "$h", Role::kAdmin));
  ASSERT_TRUE(sessions.find(token));
  EXPECT_EQ(sessions.find(token)->role, Role::kAdmin);
}

TEST(Sessions, EachUserKeepsAtMostTheCapTheLeastRecentlySeenGoes) {
  Fixture f;
  SessionStore sessions(f.file, f.clock(), SessionLimits{.per_user = 3});
  std::vector<std::string> tokens;
  for (int i = 0; i < 3; ++i) {
    tokens.push_back(sessions.create("alice"));
    f.now += minutes(2);
  }
  const auto bob = sessions.create("bob");
  ASSERT_TRUE(sessions.find(tokens[0]));  // seen now: tokens[1] is the least recently seen
  tokens.push_back(sessions.create("alice"));
  EXPECT_TRUE(sessions.find(tokens[0]));
  EXPECT_FALSE(sessions.find(tokens[1]));
  EXPECT_TRUE(sessions.find(tokens[2]));
  EXPECT_TRUE(sessions.find(tokens[3]));
  EXPECT_TRUE(sessions.find(bob));
  EXPECT_EQ(f.rows().size(), 4u);
}

TEST(Sessions, CreatingASessionDeletesEveryExpiredOne) {
  Fixture f;
  SessionStore sessions(f.file, f.clock());
  sessions.create("alice");
  sessions.create("bob");
  f.now += hours(12);
  const auto fresh = sessions.create("bob");
  const auto rows = f.rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].digest, util::sha256_hex(fresh));
}

}  // namespace
}  // namespace partyline::db
