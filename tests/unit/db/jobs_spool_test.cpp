// A verified spool file kept for a pending job's next attempt, and the migration that adds its
// columns to files made before them.
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

const KeptSpool kKept{1000, std::string(64, 'a'), std::string(32, 'b')};

TEST(JobSpool, ARetryRecordsTheKeptFileAndTheNextStateClearsIt) {
  TestDir dir;
  JobStore jobs(dir.path() / "db");
  for (const char* sid : {"RE1", "RE2", "RE3"})
    jobs.insert_or_get(job(sid, 1000));
  EXPECT_FALSE(jobs.get("RE1")->spool.kept());

  jobs.mark_retry("RE1", 1, 2000, "HTTP 503", 1000, kKept);
  jobs.mark_retry("RE2", 1, 2000, "HTTP 503", 1000, kKept);
  jobs.mark_retry("RE3", 1, 2000, "HTTP 404", 1000);  // a failed fetch keeps nothing
  const auto row = jobs.get("RE1");
  EXPECT_TRUE(row->spool.kept());
  EXPECT_EQ(row->spool.bytes, 1000u);
  EXPECT_EQ(row->spool.sha256, kKept.sha256);
  EXPECT_EQ(row->spool.md5, kKept.md5);
  EXPECT_EQ(jobs.kept_spools(), (std::vector<std::string>{"RE1", "RE2"}));

  // A later failed fetch replaces what the row said.
  jobs.mark_retry("RE2", 2, 3000, "HTTP 404", 2000);
  EXPECT_FALSE(jobs.get("RE2")->spool.kept());
  jobs.mark_retry("RE2", 3, 4000, "HTTP 503", 3000, kKept);

  jobs.mark_stored("RE1", "loc", 1000, kKept.sha256, 5000);
  jobs.mark_dead("RE2", "too old", 5000);
  EXPECT_FALSE(jobs.get("RE1")->spool.kept());
  EXPECT_FALSE(jobs.get("RE2")->spool.kept());
  EXPECT_TRUE(jobs.kept_spools().empty());
}

// The recordings table as the release with follow-ups made it (before the spool columns).
constexpr const char* kFollowupsSchema = R"sql(
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
  sha256          TEXT NOT NULL DEFAULT '',
  followups INTEGER NOT NULL DEFAULT 0,
  followup_attempts INTEGER NOT NULL DEFAULT 0,
  followup_next_ms INTEGER NOT NULL DEFAULT 0,
  followup_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX recordings_due ON recordings (state, next_attempt_ms);
CREATE INDEX recordings_followups ON recordings (followup_next_ms) WHERE followups != 0;
INSERT INTO recordings (recording_sid, recording_url, start_time, storage_key, state,
  first_seen_ms, next_attempt_ms, updated_ms, attempts, followups)
VALUES ('RE1', 'https://x', '2025-10-25T19:17:43Z', 'k.mp3', 'pending', 1, 1, 2, 3, 0);
)sql";

TEST(JobSpool, AFileWithoutTheSpoolColumnsGetsThemAndKeepsItsRows) {
  TestDir dir;
  const auto file = dir.path() / "db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, kFollowupsSchema, nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  {
    JobStore jobs(file);
    const auto row = jobs.get("RE1");
    ASSERT_TRUE(row.has_value());
    EXPECT_EQ(row->attempts, 3);
    EXPECT_FALSE(row->spool.kept());
    jobs.mark_retry("RE1", 4, 10, "HTTP 503", 5, kKept);
  }
  JobStore jobs(file);  // the columns are there now: opened again, nothing is lost
  EXPECT_EQ(jobs.get("RE1")->spool.sha256, kKept.sha256);
  EXPECT_EQ(jobs.kept_spools(), std::vector<std::string>{"RE1"});
}

}  // namespace
}  // namespace partyline::db
