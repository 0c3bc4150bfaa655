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

// The service keeps the locks in memory; a command is another connection (another process):
// the service must see its lock at the next caller, and its unlock too.
TEST(RoomLocks, TheServiceSeesWhatAnotherConnectionLocksAndUnlocks) {
  testing::TestDir dir;
  const auto file = dir.path() / "partyline.db";
  RoomLocks service(file);
  EXPECT_FALSE(service.locked("alpha"));
  {
    RoomLocks command(file);
    EXPECT_TRUE(command.lock("alpha", 100));
  }
  EXPECT_TRUE(service.locked("alpha"));
  {
    RoomLocks command(file);
    EXPECT_TRUE(command.unlock("alpha"));
  }
  EXPECT_FALSE(service.locked("alpha"));
  EXPECT_TRUE(service.lock("beta", 5));
  EXPECT_TRUE(service.locked("beta"));
  EXPECT_TRUE(service.unlock("beta"));
  EXPECT_FALSE(service.locked("beta"));
}

}  // namespace
}  // namespace partyline::db
