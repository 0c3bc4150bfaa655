#include "rooms/pin_guard.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace partyline::rooms {
namespace {

using namespace std::chrono_literals;

struct FakeClock {
  std::chrono::system_clock::time_point now{std::chrono::seconds(1'761'419'863)};
  util::Clock clock() {
    return [this] { return now; };
  }
};

TEST(PinGuard, FiveWrongPinsLockTheNumberForTenMinutes) {
  FakeClock t;
  PinGuard guard(t.clock());
  const std::string caller = "+15551230000";
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    EXPECT_FALSE(guard.wrong_pin(caller));
    EXPECT_FALSE(guard.locked(caller));
    t.now += 1min;
  }
  EXPECT_TRUE(guard.wrong_pin(caller));  // the fifth, 4 minutes after the first
  EXPECT_TRUE(guard.locked(caller));
  // Further wrong PINs while locked neither report a new lock nor extend it.
  t.now += 5min;
  EXPECT_FALSE(guard.wrong_pin(caller));
  t.now += 5min - 1s;
  EXPECT_TRUE(guard.locked(caller));
  t.now += 1s;
  EXPECT_FALSE(guard.locked(caller));
  // A served lock wipes the count.
  EXPECT_FALSE(guard.wrong_pin(caller));
  EXPECT_FALSE(guard.locked(caller));
}

TEST(PinGuard, OtherNumbersAreNotAffected) {
  FakeClock t;
  PinGuard guard(t.clock());
  for (int i = 0; i < 5; ++i)
    guard.wrong_pin("+15551230000");
  EXPECT_TRUE(guard.locked("+15551230000"));
  EXPECT_FALSE(guard.locked("+15551230001"));
  EXPECT_FALSE(guard.locked(""));
  EXPECT_FALSE(guard.wrong_pin("+15551230001"));
  EXPECT_FALSE(guard.locked("+15551230001"));
}

TEST(PinGuard, OnlyWrongPinsWithinTheWindowCount) {
  FakeClock t;
  PinGuard guard(t.clock());
  const std::string caller = "+15551230000";
  // At 0, 3, 6 and 9 minutes, then at 10:30 the first has left the window: four in it.
  for (int i = 0; i < 4; ++i) {
    if (i > 0) t.now += 3min;
    EXPECT_FALSE(guard.wrong_pin(caller));
  }
  t.now += 1min + 30s;  // 10:30
  EXPECT_FALSE(guard.wrong_pin(caller));
  EXPECT_FALSE(guard.locked(caller));
  t.now += 30s;  // 11:00: 3, 6, 9, 10:30 and 11 are five within ten minutes
  EXPECT_TRUE(guard.wrong_pin(caller));
  EXPECT_TRUE(guard.locked(caller));
}

TEST(PinGuard, MemoryIsCappedByForgettingTheNumberSeenLongestAgo) {
  FakeClock t;
  PinGuard guard(t.clock(), {.max_numbers = 3});
  for (int i = 0; i < 5; ++i)
    guard.wrong_pin("+1000");
  guard.wrong_pin("+1001");
  guard.wrong_pin("+1002");
  EXPECT_EQ(guard.tracked(), 3u);
  // A refused caller calling again keeps its place: +1001 is the oldest now and makes room.
  EXPECT_TRUE(guard.locked("+1000"));
  guard.wrong_pin("+1003");
  EXPECT_EQ(guard.tracked(), 3u);
  EXPECT_TRUE(guard.locked("+1000"));
  // Its count starts again from nothing: four more wrong PINs do not lock it.
  for (int i = 0; i < 4; ++i)
    EXPECT_FALSE(guard.wrong_pin("+1001"));
  EXPECT_FALSE(guard.locked("+1001"));
  // Two new numbers later +1000 is the oldest and goes, lock and all.
  guard.wrong_pin("+1004");
  guard.wrong_pin("+1005");
  EXPECT_EQ(guard.tracked(), 3u);
  EXPECT_FALSE(guard.locked("+1000"));
  EXPECT_TRUE(guard.wrong_pin("+1001"));
}

TEST(PinGuard, ManyThreadsReportOneLock) {
  FakeClock t;
  PinGuard guard(t.clock(), {.max_numbers = 64});
  std::atomic<int> locks{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      for (int n = 0; n < 5; ++n) {
        if (guard.wrong_pin("+15551230000")) ++locks;
        guard.wrong_pin("+1" + std::to_string(i * 100 + n));  // churn beyond the cap
        guard.locked("+15551230000");
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(locks.load(), 1);
  EXPECT_LE(guard.tracked(), 64u);
  EXPECT_TRUE(guard.locked("+15551230000"));
}

}  // namespace
}  // namespace partyline::rooms
