#include "db/users.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <stdexcept>

#include "test_dir.hpp"

namespace partyline::db {
namespace {

TEST(Users, AddFindListCountAndANameTakenTwice) {
  testing::TestDir dir;
  auto now = std::chrono::system_clock::time_point{} + std::chrono::milliseconds(1700000000123);
  UserStore users(dir.path() / "console.db", [&now] { return now; });
  EXPECT_EQ(users.count(), 0u);
  EXPECT_FALSE(users.find("alice"));
  EXPECT_TRUE(users.add("alice", "$hash-a", Role::kAdmin));
  now += std::chrono::seconds(1);
  EXPECT_TRUE(users.add("bob.b_-9", "$hash-b", Role::kProducer));
  EXPECT_FALSE(users.add("alice", "$other", Role::kProducer));
  EXPECT_EQ(users.count(), 2u);

  const auto alice = users.find("alice");
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->name, "alice");
  EXPECT_EQ(alice->hash, "$hash-a");
  EXPECT_EQ(alice->role, Role::kAdmin);
  EXPECT_FALSE(users.find("Alice"));  // names are exact

  const auto list = users.list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "alice");
  EXPECT_EQ(list[0].created_ms, 1700000000123);
  EXPECT_EQ(list[1].name, "bob.b_-9");
  EXPECT_EQ(list[1].role, Role::kProducer);
  EXPECT_EQ(list[1].created_ms, 1700000001123);
}

TEST(Users, SetHashAndRemoveSayWhetherTheUserExisted) {
  testing::TestDir dir;
  const auto file = dir.path() / "console.db";
  {
    UserStore users(file);
    ASSERT_TRUE(users.add("alice", "$old", Role::kProducer));
    EXPECT_TRUE(users.set_hash("alice", "$new"));
    EXPECT_FALSE(users.set_hash("nobody", "$new"));
  }
  UserStore reopened(file);
  EXPECT_EQ(reopened.find("alice")->hash, "$new");
  EXPECT_TRUE(reopened.remove("alice"));
  EXPECT_FALSE(reopened.remove("alice"));
  EXPECT_FALSE(reopened.find("alice"));
  EXPECT_EQ(reopened.count(), 0u);
}

TEST(Users, NamesAreOneToSixtyFourSafeCharacters) {
  struct Case {
    std::string name;
    bool valid;
  };
  const Case cases[] = {
      {"a", true},
      {std::string(64, 'x'), true},
      {"Alice.Smith_2-b", true},
      {"", false},
      {std::string(65, 'x'), false},
      {"has space", false},
      {"slash/", false},
      {"quote'", false},
      {"caf\xc3\xa9", false},
      {std::string("nul\0", 4), false},
  };
  testing::TestDir dir;
  UserStore users(dir.path() / "console.db");
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(valid_user_name(c.name), c.valid);
    if (c.valid) {
      EXPECT_TRUE(users.add(c.name, "$h", Role::kProducer));
    } else {
      EXPECT_THROW(users.add(c.name, "$h", Role::kProducer), std::invalid_argument);
    }
  }
}

TEST(Users, RolesReadAndWriteAsTheirNames) {
  EXPECT_EQ(role_name(Role::kAdmin), "admin");
  EXPECT_EQ(role_name(Role::kProducer), "producer");
  EXPECT_EQ(parse_role("admin"), Role::kAdmin);
  EXPECT_EQ(parse_role("producer"), Role::kProducer);
  EXPECT_FALSE(parse_role("Admin"));
  EXPECT_FALSE(parse_role(""));
}

TEST(Users, TheFileIsCreatedReadableByItsOwnerOnly) {
  testing::TestDir dir;
  const auto file = dir.path() / "console.db";
  UserStore users(file);
  ASSERT_TRUE(users.add("alice", "$h", Role::kAdmin));
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace partyline::db
