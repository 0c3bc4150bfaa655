// Follow-ups owed by finished jobs, and the migration that adds their columns to older files.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "db/jobs.hpp"
#include "test_dir.hpp"

namespace partyline::db {
namespace {

using testing::TestDir;

Job job(const std::string& sid, std::int64_t now) {
  Job j;
  j.recording_sid = sid;
  j.recording_url = "https://api.twilio.com/x/" + sid;
  j.start_time = "2025-10-25T19:17:43Z";
  j.key = "partyline/2025-10-25T19-17-43Z-" + sid + ".mp3";
  j.first_seen_ms = j.next_attempt_ms = j.updated_ms = now;
  return j;
}

TEST(JobFollowups, StoredAndDeadJobsOweTheirStepsUntilEachIsDone) {
  TestDir dir;
  JobStore jobs(dir.path() / "db");
  jobs.insert_or_get(job("RE1", 1000));
  jobs.insert_or_get(job("RE2", 1000));
  jobs.insert_or_get(job("RE3", 1000));
  EXPECT_TRUE(jobs.followups_due(5000, 10).empty());  // pending jobs owe nothing yet
  EXPECT_FALSE(jobs.next_followup_ms().has_value());

  jobs.mark_stored("RE1", "loc", 10, "", 2000, followup::kReport | followup::kNotice);
  jobs.mark_dead("RE2", "gone", 3000, followup::kNotice);
  jobs.mark_stored("RE3", "loc", 10, "", 2500);  // nothing owed
  auto due = jobs.followups_due(5000, 10);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].recording_sid, "RE1");
  EXPECT_EQ(due[0].followups, followup::kReport | followup::kNotice);
  EXPECT_EQ(due[1].recording_sid, "RE2");
  EXPECT_EQ(jobs.next_followup_ms(), 2000);

  jobs.followups_done("RE1", followup::kReport, 5000);
  jobs.followups_retry("RE1", 1, 9000, "notice: HTTP 502", 5000);
  EXPECT_EQ(jobs.get("RE1")->followups, followup::kNotice);
  EXPECT_EQ(jobs.get("RE1")->followup_error, "notice: HTTP 502");
  due = jobs.followups_due(5000, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].recording_sid, "RE2");
  EXPECT_EQ(jobs.followups_due(9000, 10).size(), 2u);

  jobs.followups_done("RE2", followup::kNotice, 9000);
  jobs.followups_done("RE1", followup::kNotice, 9000);
  EXPECT_TRUE(jobs.followups_due(100'000, 10).empty());
  EXPECT_FALSE(jobs.next_followup_ms().has_value());

  // Queued again: the copy is done anew, and its follow-ups with it once stored.
  jobs.mark_stored("RE3", "loc", 10, "", 9500, followup::kReport);
  ASSERT_TRUE(jobs.requeue("RE3", 10'000));
  EXPECT_EQ(jobs.get("RE3")->followups, 0u);
}

// The recordings table as the first release made it.
constexpr const char* kFirstSchema = R"sql(
CREATE TABLE recordings (
  recording_sid   TEXT PRIMARY KEY,
  conference_sid  TEXT NOT NULL DEFAULT '',
  call_sid        TEXT NOT NULL DEFAULT '',
  recording_url   TEXT NOT NULL,
  duration        TEXT NOT NULL DEFAULT '',
  start_time      TEXT NOT NULL,
  storage_key     TEXT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('pending', 'stored', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  first_seen_ms   INTEGER NOT NULL,
  next_attempt_ms INTEGER NOT NULL,
  updated_ms      INTEGER NOT NULL,
  stored_ms       INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT NOT NULL DEFAULT '',
  location        TEXT NOT NULL DEFAULT '',
  bytes           INTEGER NOT NULL DEFAULT 0,
  sha256          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX recordings_due ON recordings (state, next_attempt_ms);
INSERT INTO recordings (recording_sid, recording_url, start_time, storage_key, state,
  first_seen_ms, next_attempt_ms, updated_ms, stored_ms, bytes)
VALUES ('RE1', 'https://x', '2025-10-25T19:17:43Z', 'k.mp3', 'stored', 1, 1, 2, 2, 10);
)sql";

TEST(JobFollowups, AFileFromTheFirstReleaseGetsTheNewColumnsAndKeepsItsRows) {
  TestDir dir;
  const auto file = dir.path() / "db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, kFirstSchema, nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  {
    JobStore jobs(file);
    const auto row = jobs.get("RE1");
    ASSERT_TRUE(row.has_value());
    EXPECT_EQ(row->state, JobState::kStored);
    EXPECT_EQ(row->bytes, 10u);
    EXPECT_EQ(row->followups, 0u);  // stored by the old release, which did its follow-ups
    EXPECT_TRUE(jobs.followups_due(100, 10).empty());
    jobs.mark_stored("RE1", "loc", 10, "", 50, followup::kReport);
  }
  JobStore jobs(file);  // the columns are there now: opened again, nothing is lost
  EXPECT_EQ(jobs.get("RE1")->followups, followup::kReport);
}

}  // namespace
}  // namespace partyline::db
