#include <gtest/gtest.h>

#include <filesystem>

#include "db/jobs.hpp"

namespace partyline::db {
namespace {

namespace fs = std::filesystem;

class JobsTest : public ::testing::Test {
 protected:
  JobsTest() {
    dir_ = fs::temp_directory_path() /
           ("partyline-jobs-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~JobsTest() override { fs::remove_all(dir_); }

  static Job job(const std::string& sid, std::int64_t now) {
    Job j;
    j.recording_sid = sid;
    j.recording_url = "https://api.twilio.com/x/" + sid;
    j.start_time = "2025-10-25T19:17:43Z";
    j.key = "partyline/2025-10-25T19-17-43Z-" + sid + ".mp3";
    j.first_seen_ms = j.next_attempt_ms = j.updated_ms = now;
    return j;
  }

  fs::path dir_;
};

TEST_F(JobsTest, InsertIsIdempotentAndKeepsTheFirstKey) {
  JobStore store(dir_ / "db");
  auto [first, inserted] = store.insert_or_get(job("RE1", 1000));
  EXPECT_TRUE(inserted);
  EXPECT_EQ(first.state, JobState::kPending);
  Job again = job("RE1", 5000);
  again.key = "partyline/another-key.mp3";
  auto [second, inserted_again] = store.insert_or_get(again);
  EXPECT_FALSE(inserted_again);
  EXPECT_EQ(second.key, first.key);
  EXPECT_EQ(second.first_seen_ms, 1000);
}

TEST_F(JobsTest, StateChangesSurviveReopening) {
  {
    JobStore store(dir_ / "db");
    store.insert_or_get(job("RE1", 1000));
    store.insert_or_get(job("RE2", 1000));
    store.insert_or_get(job("RE3", 1000));
    store.mark_stored("RE1", "s3://b/k", 42, "abc", 2000);
    store.mark_retry("RE2", 1, 9000, "HTTP 503", 2000);
    store.mark_dead("RE3", "too old", 2000);
  }
  JobStore store(dir_ / "db");
  const auto one = store.get("RE1");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->state, JobState::kStored);
  EXPECT_EQ(one->location, "s3://b/k");
  EXPECT_EQ(one->bytes, 42u);
  const auto two = store.get("RE2");
  ASSERT_TRUE(two);
  EXPECT_EQ(two->attempts, 1);
  EXPECT_EQ(two->last_error, "HTTP 503");
  EXPECT_EQ(store.get("RE3")->state, JobState::kDead);
  EXPECT_FALSE(store.get("RE4").has_value());
  EXPECT_EQ(store.count_pending(), 1u);
}

TEST_F(JobsTest, DueHonoursNextAttempt) {
  JobStore store(dir_ / "db");
  EXPECT_FALSE(store.next_due_ms().has_value());
  store.insert_or_get(job("RE1", 1000));
  store.insert_or_get(job("RE2", 1000));
  store.mark_retry("RE2", 1, 5000, "x", 1000);
  EXPECT_EQ(store.due(1000, 10).size(), 1u);
  EXPECT_EQ(store.due(5000, 10).size(), 2u);
  EXPECT_EQ(store.next_due_ms(), 1000);
  store.mark_stored("RE1", "l", 1, "h", 1500);
  EXPECT_EQ(store.next_due_ms(), 5000);
  // A stored job is not retried by mark_retry (a late failure report cannot undo success).
  store.mark_retry("RE1", 3, 100, "late", 1600);
  EXPECT_EQ(store.get("RE1")->state, JobState::kStored);
}

TEST_F(JobsTest, RequeueMakesADeadJobPendingAgain) {
  JobStore store(dir_ / "db");
  store.insert_or_get(job("RE1", 1000));
  store.mark_dead("RE1", "too old", 2000);
  EXPECT_TRUE(store.requeue("RE1", 3000));
  const auto j = store.get("RE1");
  EXPECT_EQ(j->state, JobState::kPending);
  EXPECT_EQ(j->attempts, 0);
  EXPECT_EQ(j->next_attempt_ms, 3000);
  EXPECT_FALSE(store.requeue("RE9", 3000));
}

TEST_F(JobsTest, UsesWalAndFullSync) {
  JobStore store(dir_ / "db");
  store.insert_or_get(job("RE1", 1000));
  EXPECT_TRUE(fs::exists(dir_ / "db-wal"));
}

}  // namespace
}  // namespace partyline::db

namespace partyline::db {
namespace {

TEST(JobsMakeDue, PullsABackingOffJobForwardOnly) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("partyline-jobs-due-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    JobStore store(dir / "db");
    Job j;
    j.recording_sid = "RE1";
    j.recording_url = "u";
    j.start_time = "t";
    j.key = "k";
    j.first_seen_ms = j.next_attempt_ms = j.updated_ms = 1000;
    store.insert_or_get(j);
    store.mark_retry("RE1", 1, 60'000, "x", 1000);
    store.make_due("RE1", 2000);
    EXPECT_EQ(store.get("RE1")->next_attempt_ms, 2000);
    store.make_due("RE1", 5000);  // already due: unchanged
    EXPECT_EQ(store.get("RE1")->next_attempt_ms, 2000);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace partyline::db
