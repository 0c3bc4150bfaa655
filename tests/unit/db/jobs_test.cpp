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

TEST_F(JobsTest, RetryQueuesADeadOrFailedJobAndSaysWhyNotForTheRest) {
  JobStore store(dir_ / "db");
  for (const char* sid : {"RE1", "RE2", "RE3", "RE4"})
    store.insert_or_get(job(sid, 1000));
  store.mark_dead("RE1", "too old", 2000);
  store.mark_retry("RE2", 3, 9'000'000, "HTTP 404", 2000);  // failed, waiting out its backoff
  store.mark_stored("RE3", "loc", 10, "h", 2000);
  EXPECT_EQ(store.retry("RE1", 3000), RetryOutcome::kQueued);
  EXPECT_EQ(store.get("RE1")->state, JobState::kPending);
  EXPECT_EQ(store.get("RE1")->attempts, 0);
  EXPECT_EQ(store.retry("RE2", 3000), RetryOutcome::kQueued);
  EXPECT_EQ(store.get("RE2")->next_attempt_ms, 3000) << "due now";
  EXPECT_EQ(store.get("RE2")->attempts, 3) << "its attempts still count toward its max age";
  EXPECT_EQ(store.retry("RE3", 3000), RetryOutcome::kStored);
  EXPECT_EQ(store.retry("RE4", 3000), RetryOutcome::kCopying) << "pending, never failed";
  EXPECT_EQ(store.retry("RE9", 3000), RetryOutcome::kUnknown);
}

TEST_F(JobsTest, ADeletedJobIsATombstoneThatNothingRevives) {
  JobStore store(dir_ / "db");
  for (const char* sid : {"RE1", "RE2", "RE3"})
    store.insert_or_get(job(sid, 1000));
  store.mark_stored("RE1", "loc", 10, "h", 2000, followup::kNotice | followup::kDeleteTwilioCopy);
  store.mark_stored("RE2", "loc", 10, "h", 2000, followup::kReport);
  EXPECT_EQ(store.mark_deleted("RE2", "alice", 3000, 4000), DeleteOutcome::kReportOwed);
  EXPECT_EQ(store.mark_deleted("RE3", "alice", 3000, 4000), DeleteOutcome::kCopying);
  EXPECT_EQ(store.mark_deleted("RE9", "alice", 3000, 4000), DeleteOutcome::kUnknown);
  ASSERT_EQ(store.mark_deleted("RE1", "alice", 3000, 4000), DeleteOutcome::kDeleted);
  const auto j = store.get("RE1");
  EXPECT_TRUE(j->deleted());
  EXPECT_EQ(j->deleted_by, "alice");
  EXPECT_EQ(j->state, JobState::kStored) << "the state it had stays";
  // The notice is dropped; Twilio's copy is still deleted; the store's objects are owed.
  EXPECT_EQ(j->followups, followup::kDeleteTwilioCopy | followup::kRemoveObjects);
  EXPECT_EQ(j->followup_next_ms, 4000);
  EXPECT_EQ(store.mark_deleted("RE1", "bob", 5000, 6000), DeleteOutcome::kAlreadyDeleted);
  EXPECT_FALSE(store.requeue("RE1", 5000));
  EXPECT_EQ(store.retry("RE1", 5000), RetryOutcome::kDeleted);
  EXPECT_TRUE(store.started_before("2030-01-01T00:00:00Z", 10).size() == 0 ||
              store.started_before("2030-01-01T00:00:00Z", 10).front().recording_sid != "RE1");
}

TEST_F(JobsTest, StartedBeforeFindsStoredUndeletedJobsOldestFirst) {
  JobStore store(dir_ / "db");
  auto a = job("REa", 1000);
  a.start_time = "2026-01-02T00:00:00Z";
  auto b = job("REb", 1000);
  b.start_time = "2026-01-01T00:00:00Z";
  auto c = job("REc", 1000);
  c.start_time = "2026-03-01T00:00:00Z";
  for (const auto& j : {a, b, c}) {
    store.insert_or_get(j);
    store.mark_stored(j.recording_sid, "loc", 1, "h", 2000);
  }
  const auto old = store.started_before("2026-02-01T00:00:00Z", 10);
  ASSERT_EQ(old.size(), 2u);
  EXPECT_EQ(old[0].recording_sid, "REb");
  EXPECT_EQ(old[1].recording_sid, "REa");
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
