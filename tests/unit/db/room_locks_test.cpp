#include "db/room_locks.hpp"

#include <gtest/gtest.h>

#include "test_dir.hpp"

namespace partyline::db {
namespace {

TEST(RoomLocks, ALockIsKeptInTheFileAndSettingItTwiceChangesNothing) {
  testing::TestDir dir;
  const auto file = dir.path() / "partyline.db";
  {
    RoomLocks locks(file);
    EXPECT_FALSE(locks.locked("alpha"));
    EXPECT_TRUE(locks.lock("alpha", 100));
    EXPECT_FALSE(locks.lock("alpha", 200));
    EXPECT_TRUE(locks.locked("alpha"));
    EXPECT_FALSE(locks.locked("beta"));
  }
  RoomLocks reopened(file);
  EXPECT_TRUE(reopened.locked("alpha"));
  EXPECT_EQ(reopened.all().at("alpha"), 100);
  EXPECT_TRUE(reopened.unlock("alpha"));
  EXPECT_FALSE(reopened.unlock("alpha"));
  EXPECT_TRUE(reopened.all().empty());
}

// The service keeps the locks in memory; a command is another connection (another process): the
// service sees its lock, and its unlock, at the first caller after the recheck interval; its own
// lock and unlock (the console's) at once.
TEST(RoomLocks, TheServiceSeesAnotherConnectionsLockAtTheFirstCallerAfterTheRecheck) {
  testing::TestDir dir;
  const auto file = dir.path() / "rooms.db";
  auto now = std::chrono::system_clock::time_point{} + std::chrono::hours(1000);
  RoomLocks service(
      file, [&now] { return now; }, std::chrono::milliseconds(250));
  EXPECT_FALSE(service.locked("alpha"));
  {
    RoomLocks command(file);
    EXPECT_TRUE(command.lock("alpha", 100));
  }
  now += std::chrono::milliseconds(249);
  EXPECT_FALSE(service.locked("alpha"));        // the copy in memory, within the interval
  EXPECT_EQ(service.all().count("alpha"), 1u);  // `all` reads the file
  now += std::chrono::milliseconds(1);
  EXPECT_TRUE(service.locked("alpha"));
  {
    RoomLocks command(file);
    EXPECT_TRUE(command.unlock("alpha"));
  }
  now += std::chrono::milliseconds(250);
  EXPECT_FALSE(service.locked("alpha"));
  // A clock set back does not keep the copy longer.
  {
    RoomLocks command(file);
    EXPECT_TRUE(command.lock("gamma", 7));
  }
  now -= std::chrono::seconds(10);
  EXPECT_TRUE(service.locked("gamma"));

  EXPECT_TRUE(service.lock("beta", 5));
  EXPECT_TRUE(service.locked("beta"));
  EXPECT_TRUE(service.unlock("beta"));
  EXPECT_FALSE(service.locked("beta"));
}

}  // namespace
}  // namespace partyline::db
