// The call store on a failing disk (a fault-injecting SQLite VFS), its group-commit answers, and
// pruning.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <optional>

#include "committed.hpp"
#include "db/calls.hpp"
#include "full_disk.hpp"
#include "test_dir.hpp"

namespace partyline::db {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using testing::FullDisk;
using testing::poll_until;
using testing::TestDir;

const std::string kCf = "CF" + std::string(32, '1');
const std::string kA = "CA" + std::string(32, 'a');
const std::string kB = "CA" + std::string(32, 'b');
const std::string kC = "CA" + std::string(32, 'c');
const std::string kD = "CA" + std::string(32, 'd');

ConferenceEvent join(const std::string& call_sid, std::int64_t sequence) {
  return {kCf, sequence, "participant-join", call_sid, 1000 + sequence, false};
}

// The answer a write gets, from whichever thread gives it.
struct Answer {
  std::promise<WriteResult> promise;
  std::future<WriteResult> future = promise.get_future();
  WriteDone done() {
    return [this](const WriteResult& r) { promise.set_value(r); };
  }
  std::optional<WriteResult> get() {
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return std::nullopt;
    return future.get();
  }
};

TEST(CallStoreCommit, AnEventIsAnsweredOnlyOnceItsBatchIsCommitted) {
  TestDir dir;
  const auto file = dir.path() / "db";
  CallStore store(file);
  std::atomic<int> seen_committed{0};
  std::promise<void> all;
  for (int i = 1; i <= 3; ++i) {
    store.record_event(join(i == 1 ? kA : kB, i), [&, i](const WriteResult& r) {
      EXPECT_TRUE(r.committed) << r.error;
      // At the moment of the answer, the event is already on disk for everyone.
      if (testing::event_committed(file, i)) ++seen_committed;
      if (i == 3) all.set_value();
    });
  }
  ASSERT_EQ(all.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(seen_committed, 3);
}

TEST(CallStoreCommit, AFailedCommitIsAnsweredAndTheStoreBacksOffInsteadOfSpinning) {
  FullDisk disk;
  TestDir dir;
  // A backoff longer than the test: after one failed commit, nothing is tried again.
  CallStore store(dir.path() / "db", {.retry_min = hours(1), .retry_max = hours(1)});
  store.record_call(kA, "***1111", 900);
  store.flush();
  disk.full(true);

  Answer first;
  store.record_event(join(kA, 1), first.done());
  const auto r1 = first.get();
  ASSERT_TRUE(r1.has_value());
  EXPECT_FALSE(r1->committed);
  EXPECT_NE(r1->error.find("database or disk is full"), std::string::npos) << r1->error;
  const int failed_writes = disk.failed_writes();
  EXPECT_GT(failed_writes, 0);

  // While backing off, an event is refused at once, on the caller's thread, without a write.
  std::optional<WriteResult> second;
  store.record_event(join(kA, 2), [&](const WriteResult& r) { second = r; });
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(second->committed);
  EXPECT_NE(second->error.find("backing off"), std::string::npos) << second->error;
  EXPECT_EQ(disk.failed_writes(), failed_writes);
  disk.full(false);
}

TEST(CallStoreCommit, RecoversOnceTheDiskHasRoomAgain) {
  FullDisk disk;
  TestDir dir;
  CallStore store(dir.path() / "db", {.retry_min = milliseconds(5), .retry_max = milliseconds(20)});
  disk.full(true);
  Answer failed;
  store.record_event(join(kA, 1), failed.done());
  ASSERT_TRUE(failed.get().has_value());
  disk.full(false);

  // The sender (Twilio) tries again until the store takes it.
  bool committed = false;
  ASSERT_TRUE(poll_until([&] {
    Answer again;
    store.record_event(join(kA, 1), again.done());
    const auto r = again.get();
    committed = r && r->committed;
    return committed;
  }));
  const auto c = store.conference(kCf);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->participants.size(), 1u);
}

class CallStorePrune : public ::testing::Test {
 protected:
  static constexpr std::int64_t kDay = 24 * 3600 * 1000;
  static constexpr std::int64_t kNow = 1'795'501'781'000;
  TestDir dir_;
  std::filesystem::path file_ = dir_.path() / "db";

  void old_calls(CallStore& store) {
    store.record_call(kA, "***1111", kNow - 7 * kDay - 1);  // older than 7 days, never joined
    store.record_call(kB, "***2222", kNow - 7 * kDay);      // exactly 7 days: kept
    store.record_call(kC, "***3333", kNow - 30 * kDay);     // old, but joined a conference
    store.record_call(kD, "***4444", kNow - 3600 * 1000);   // an hour ago
    store.record_event({kCf, 1, "participant-join", kC, kNow - 30 * kDay, false});
    store.record_event({kCf, 2, "conference-end", "", kNow - 30 * kDay + 1000, false});
    store.flush();
  }
};

TEST_F(CallStorePrune, CallsThatNeverJoinedAConferenceGoAfterSevenDays) {
  CallStore store(file_, {.prune_after = hours(24 * 7)});
  old_calls(store);
  EXPECT_EQ(store.prune(kNow), 1u);
  EXPECT_FALSE(store.call(kA).has_value());
  EXPECT_TRUE(store.call(kB).has_value());
  EXPECT_TRUE(store.call(kD).has_value());
  // A call in a conference stays with the conference (a recording's report names it).
  const auto c3 = store.call(kC);
  ASSERT_TRUE(c3.has_value());
  EXPECT_EQ(c3->caller, "***3333");
  const auto conference = store.conference(kCf);
  ASSERT_TRUE(conference.has_value());
  ASSERT_EQ(conference->participants.size(), 1u);
  EXPECT_EQ(conference->participants[0].caller, "***3333");

  EXPECT_EQ(store.prune(kNow + 1), 1u);  // now B is older than 7 days too
  EXPECT_FALSE(store.call(kB).has_value());
  EXPECT_EQ(store.prune(kNow + 1), 0u);
}

TEST_F(CallStorePrune, ManyRowsGoInChunks) {
  CallStore store(file_, {.prune_after = hours(24 * 7)});
  for (int i = 0; i < 12'000; ++i) {
    char sid[35];
    std::snprintf(sid, sizeof sid, "CA%032d", i);
    store.record_call(sid, "***0000", kNow - 8 * kDay);
  }
  store.flush();
  EXPECT_EQ(store.prune(kNow), 12'000u);
}

TEST_F(CallStorePrune, TheStorePrunesAtStartWhenAskedTo) {
  {
    CallStore store(file_);  // no pruning
    old_calls(store);
    EXPECT_EQ(store.prune(kNow), 0u);
    EXPECT_TRUE(store.call(kA).has_value());
  }
  CallStore store(file_, {.prune_after = hours(24 * 7), .clock = [] {
                            return std::chrono::system_clock::time_point(milliseconds(kNow));
                          }});
  EXPECT_TRUE(poll_until([&] { return !store.call(kA).has_value(); }));
  EXPECT_TRUE(store.call(kB).has_value());
  EXPECT_TRUE(store.call(kC).has_value());
}

}  // namespace
}  // namespace partyline::db
