#include "db/jobs.hpp"

#include "db/sqlite.hpp"

#include <stdexcept>

namespace partyline::db {
namespace {

// One transaction: one sync on a new file instead of one per statement.
constexpr const char* kSchema = R"sql(
BEGIN;
CREATE TABLE IF NOT EXISTS recordings (
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
CREATE INDEX IF NOT EXISTS recordings_due ON recordings (state, next_attempt_ms);
COMMIT;
)sql";

// Columns added since the first schema, added to files made before them (see migrate()), each
// group recognised by its first column.
struct Migration {
  const char* column;
  const char* sql;
};
constexpr Migration kMigrations[] = {
    {"followups", R"sql(
ALTER TABLE recordings ADD COLUMN followups INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recordings ADD COLUMN followup_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recordings ADD COLUMN followup_next_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recordings ADD COLUMN followup_error TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS recordings_followups ON recordings (followup_next_ms)
  WHERE followups != 0;
)sql"},
    {"spool_sha256", R"sql(
ALTER TABLE recordings ADD COLUMN spool_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE recordings ADD COLUMN spool_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recordings ADD COLUMN spool_md5 TEXT NOT NULL DEFAULT '';
)sql"},
    // A deleted recording keeps its row (a tombstone): a late callback for it copies nothing.
    {"deleted_ms", R"sql(
ALTER TABLE recordings ADD COLUMN deleted_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recordings ADD COLUMN deleted_by TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS recordings_conference ON recordings (conference_sid);
)sql"},
    {"kind", R"sql(
ALTER TABLE recordings ADD COLUMN kind TEXT NOT NULL DEFAULT 'mix';
)sql"},
    // The transcription (followup::kTranscribe) keeps its own retry schedule: it runs on a
    // thread of its own, beside the copies and their quick follow-ups.
    {"transcribe_attempts", R"sql(
ALTER TABLE recordings ADD COLUMN transcribe_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recordings ADD COLUMN transcribe_next_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recordings ADD COLUMN transcribe_error TEXT NOT NULL DEFAULT '';
)sql"},
};

constexpr const char* kColumns =
    "recording_sid, conference_sid, call_sid, recording_url, duration, start_time, storage_key, "
    "state, attempts, first_seen_ms, next_attempt_ms, updated_ms, stored_ms, last_error, "
    "location, bytes, sha256, followups, followup_attempts, followup_next_ms, followup_error, "
    "spool_bytes, spool_sha256, spool_md5, deleted_ms, deleted_by, kind, transcribe_attempts, "
    "transcribe_next_ms, transcribe_error";

JobState parse_state(std::string_view s) {
  if (s == "stored") return JobState::kStored;
  if (s == "dead") return JobState::kDead;
  return JobState::kPending;
}

using sqlite::Statement;

Job job_from(const Statement& row) {
  Job j;
  j.recording_sid = row.text(0);
  j.conference_sid = row.text(1);
  j.call_sid = row.text(2);
  j.recording_url = row.text(3);
  j.duration = row.text(4);
  j.start_time = row.text(5);
  j.key = row.text(6);
  j.state = parse_state(row.text(7));
  j.attempts = static_cast<int>(row.integer(8));
  j.first_seen_ms = row.integer(9);
  j.next_attempt_ms = row.integer(10);
  j.updated_ms = row.integer(11);
  j.stored_ms = row.integer(12);
  j.last_error = row.text(13);
  j.location = row.text(14);
  j.bytes = static_cast<std::uint64_t>(row.integer(15));
  j.sha256 = row.text(16);
  j.followups = static_cast<unsigned>(row.integer(17));
  j.followup_attempts = static_cast<int>(row.integer(18));
  j.followup_next_ms = row.integer(19);
  j.followup_error = row.text(20);
  j.spool.bytes = static_cast<std::uint64_t>(row.integer(21));
  j.spool.sha256 = row.text(22);
  j.spool.md5 = row.text(23);
  j.deleted_ms = row.integer(24);
  j.deleted_by = row.text(25);
  j.kind = row.text(26);
  j.transcribe_attempts = static_cast<int>(row.integer(27));
  j.transcribe_next_ms = row.integer(28);
  j.transcribe_error = row.text(29);
  return j;
}

}  // namespace

const char* state_name(JobState state) {
  switch (state) {
    case JobState::kPending:
      return "pending";
    case JobState::kStored:
      return "stored";
    case JobState::kDead:
      return "dead";
  }
  return "pending";
}

JobStore::JobStore(const std::filesystem::path& file) : db_(sqlite::open(file, "FULL")) {
  try {
    exec(kSchema);
    migrate();
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

JobStore::~JobStore() {
  sqlite3_close(db_);
}

void JobStore::exec(const char* sql) {
  sqlite::exec(db_, sql);
}

namespace {
bool has_column(sqlite3* db, const char* name) {
  Statement info(db, "SELECT 1 FROM pragma_table_info('recordings') WHERE name = ?");
  info.bind(1, std::string(name));
  return info.step();
}
bool up_to_date(sqlite3* db) {
  for (const auto& m : kMigrations) {
    if (!has_column(db, m.column)) return false;
  }
  return true;
}
}  // namespace

// Checked again inside a write transaction: another process (a command) may open the file at the
// same time, and only one of them may add the columns.
void JobStore::migrate() {
  if (up_to_date(db_)) return;
  exec("BEGIN IMMEDIATE");
  try {
    for (const auto& m : kMigrations) {
      if (!has_column(db_, m.column)) exec(m.sql);
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::pair<Job, bool> JobStore::insert_or_get(const Job& j) {
  std::lock_guard lock(mutex_);
  Statement ins(db_,
                "INSERT INTO recordings (recording_sid, conference_sid, call_sid, recording_url, "
                "duration, start_time, storage_key, state, attempts, first_seen_ms, "
                "next_attempt_ms, updated_ms, kind) VALUES (?,?,?,?,?,?,?,'pending',0,?,?,?,?) "
                "ON CONFLICT(recording_sid) DO NOTHING");
  ins.bind(1, j.recording_sid)
      .bind(2, j.conference_sid)
      .bind(3, j.call_sid)
      .bind(4, j.recording_url);
  ins.bind(5, j.duration).bind(6, j.start_time).bind(7, j.key);
  ins.bind(8, j.first_seen_ms).bind(9, j.next_attempt_ms).bind(10, j.updated_ms);
  ins.bind(11, j.kind.empty() ? std::string("mix") : j.kind);
  ins.step();
  const bool inserted = sqlite3_changes(db_) > 0;
  Statement sel(db_,
                std::string("SELECT ") + kColumns + " FROM recordings WHERE recording_sid = ?");
  sel.bind(1, j.recording_sid);
  if (!sel.step()) throw std::runtime_error("sqlite: inserted row not found");
  return {job_from(sel), inserted};
}

std::optional<Job> JobStore::get(const std::string& sid) {
  std::lock_guard lock(mutex_);
  Statement sel(db_,
                std::string("SELECT ") + kColumns + " FROM recordings WHERE recording_sid = ?");
  sel.bind(1, sid);
  if (!sel.step()) return std::nullopt;
  return job_from(sel);
}

std::vector<Job> JobStore::due(std::int64_t now_ms, std::size_t limit) {
  std::lock_guard lock(mutex_);
  Statement sel(db_, std::string("SELECT ") + kColumns +
                         " FROM recordings WHERE state = 'pending' AND next_attempt_ms <= ? "
                         "ORDER BY next_attempt_ms, first_seen_ms LIMIT ?");
  sel.bind(1, now_ms).bind(2, static_cast<std::int64_t>(limit));
  std::vector<Job> out;
  while (sel.step())
    out.push_back(job_from(sel));
  return out;
}

std::optional<std::int64_t> JobStore::next_due_ms() {
  std::lock_guard lock(mutex_);
  Statement sel(db_, "SELECT MIN(next_attempt_ms) FROM recordings WHERE state = 'pending'");
  if (!sel.step() || sel.text(0).empty()) return std::nullopt;  // MIN() of no rows is NULL
  return sel.integer(0);
}

std::vector<Job> JobStore::list(std::size_t limit) {
  std::lock_guard lock(mutex_);
  Statement sel(db_, std::string("SELECT ") + kColumns +
                         " FROM recordings ORDER BY first_seen_ms DESC LIMIT ?");
  sel.bind(1, static_cast<std::int64_t>(limit));
  std::vector<Job> out;
  while (sel.step())
    out.push_back(job_from(sel));
  return out;
}

std::size_t JobStore::count_pending() {
  std::lock_guard lock(mutex_);
  Statement sel(db_, "SELECT COUNT(*) FROM recordings WHERE state = 'pending'");
  sel.step();
  return static_cast<std::size_t>(sel.integer(0));
}

std::vector<std::string> JobStore::kept_spools() {
  std::lock_guard lock(mutex_);
  Statement sel(db_,
                "SELECT recording_sid FROM recordings WHERE state = 'pending' AND "
                "spool_sha256 != '' ORDER BY recording_sid");
  std::vector<std::string> out;
  while (sel.step())
    out.push_back(sel.text(0));
  return out;
}

std::optional<std::int64_t> JobStore::oldest_pending_ms() {
  std::lock_guard lock(mutex_);
  Statement sel(db_, "SELECT MIN(first_seen_ms) FROM recordings WHERE state = 'pending'");
  if (!sel.step() || sel.text(0).empty()) return std::nullopt;
  return sel.integer(0);
}

void JobStore::mark_stored(const std::string& sid, const std::string& location, std::uint64_t bytes,
                           const std::string& sha256, std::int64_t now_ms, unsigned followups) {
  std::lock_guard lock(mutex_);
  Statement up(db_,
               "UPDATE recordings SET state = 'stored', location = ?, bytes = ?, sha256 = ?, "
               "stored_ms = ?, updated_ms = ?, last_error = '', followups = ?, "
               "followup_attempts = 0, followup_next_ms = ?, followup_error = '', "
               "transcribe_attempts = 0, transcribe_next_ms = 0, transcribe_error = '', "
               "spool_bytes = 0, spool_sha256 = '', spool_md5 = '' WHERE recording_sid = ?");
  up.bind(1, location).bind(2, static_cast<std::int64_t>(bytes)).bind(3, sha256);
  up.bind(4, now_ms).bind(5, now_ms).bind(6, static_cast<std::int64_t>(followups));
  up.bind(7, now_ms).bind(8, sid);
  up.step();
}

void JobStore::mark_retry(const std::string& sid, int attempts, std::int64_t next_attempt_ms,
                          const std::string& error, std::int64_t now_ms, const KeptSpool& spool) {
  std::lock_guard lock(mutex_);
  Statement up(db_,
               "UPDATE recordings SET attempts = ?, next_attempt_ms = ?, last_error = ?, "
               "updated_ms = ?, spool_bytes = ?, spool_sha256 = ?, spool_md5 = ? "
               "WHERE recording_sid = ? AND state = 'pending'");
  up.bind(1, static_cast<std::int64_t>(attempts)).bind(2, next_attempt_ms).bind(3, error);
  up.bind(4, now_ms).bind(5, static_cast<std::int64_t>(spool.bytes)).bind(6, spool.sha256);
  up.bind(7, spool.md5).bind(8, sid);
  up.step();
}

void JobStore::mark_dead(const std::string& sid, const std::string& error, std::int64_t now_ms,
                         unsigned followups) {
  std::lock_guard lock(mutex_);
  Statement up(db_,
               "UPDATE recordings SET state = 'dead', last_error = ?, updated_ms = ?, "
               "followups = ?, followup_attempts = 0, followup_next_ms = ?, followup_error = '', "
               "spool_bytes = 0, spool_sha256 = '', spool_md5 = '' WHERE recording_sid = ?");
  up.bind(1, error).bind(2, now_ms).bind(3, static_cast<std::int64_t>(followups));
  up.bind(4, now_ms).bind(5, sid);
  up.step();
}

std::vector<Job> JobStore::followups_due(std::int64_t now_ms, std::size_t limit, unsigned steps) {
  std::lock_guard lock(mutex_);
  Statement sel(db_, std::string("SELECT ") + kColumns +
                         " FROM recordings WHERE (followups & ?) != 0 AND followup_next_ms <= ? "
                         "AND state != 'pending' ORDER BY followup_next_ms LIMIT ?");
  sel.bind(1, static_cast<std::int64_t>(steps)).bind(2, now_ms);
  sel.bind(3, static_cast<std::int64_t>(limit));
  std::vector<Job> out;
  while (sel.step())
    out.push_back(job_from(sel));
  return out;
}

std::optional<std::int64_t> JobStore::next_followup_ms(unsigned steps) {
  std::lock_guard lock(mutex_);
  Statement sel(db_,
                "SELECT MIN(followup_next_ms) FROM recordings WHERE (followups & ?) != 0 AND "
                "state != 'pending'");
  sel.bind(1, static_cast<std::int64_t>(steps));
  if (!sel.step() || sel.is_null(0)) return std::nullopt;
  return sel.integer(0);
}

void JobStore::followups_done(const std::string& sid, unsigned steps, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  Statement up(db_,
               "UPDATE recordings SET followups = followups & ~?, updated_ms = ? "
               "WHERE recording_sid = ?");
  up.bind(1, static_cast<std::int64_t>(steps)).bind(2, now_ms).bind(3, sid);
  up.step();
}

void JobStore::followups_retry(const std::string& sid, int attempts, std::int64_t next_ms,
                               const std::string& error, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  Statement up(db_,
               "UPDATE recordings SET followup_attempts = ?, followup_next_ms = ?, "
               "followup_error = ?, updated_ms = ? WHERE recording_sid = ?");
  up.bind(1, static_cast<std::int64_t>(attempts)).bind(2, next_ms).bind(3, error);
  up.bind(4, now_ms).bind(5, sid);
  up.step();
}

void JobStore::make_due(const std::string& sid, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  Statement up(db_,
               "UPDATE recordings SET next_attempt_ms = ? WHERE recording_sid = ? AND "
               "state = 'pending' AND next_attempt_ms > ?");
  up.bind(1, now_ms).bind(2, sid).bind(3, now_ms);
  up.step();
}

bool JobStore::requeue(const std::string& sid, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  Statement up(db_,
               "UPDATE recordings SET state = 'pending', attempts = 0, next_attempt_ms = ?, "
               "first_seen_ms = ?, updated_ms = ?, followups = 0 WHERE recording_sid = ? AND "
               "deleted_ms = 0");
  up.bind(1, now_ms).bind(2, now_ms).bind(3, now_ms).bind(4, sid);
  up.step();
  return sqlite3_changes(db_) > 0;
}

std::vector<Job> JobStore::transcriptions_due(std::int64_t now_ms, std::size_t limit) {
  std::lock_guard lock(mutex_);
  Statement sel(db_, std::string("SELECT ") + kColumns +
                         " FROM recordings WHERE (followups & ?) != 0 AND state = 'stored' AND "
                         "deleted_ms = 0 AND transcribe_next_ms <= ? ORDER BY transcribe_next_ms, "
                         "start_time LIMIT ?");
  sel.bind(1, static_cast<std::int64_t>(followup::kTranscribe)).bind(2, now_ms);
  sel.bind(3, static_cast<std::int64_t>(limit));
  std::vector<Job> out;
  while (sel.step())
    out.push_back(job_from(sel));
  return out;
}

std::optional<std::int64_t> JobStore::next_transcription_ms() {
  std::lock_guard lock(mutex_);
  Statement sel(db_,
                "SELECT MIN(transcribe_next_ms) FROM recordings WHERE (followups & ?) != 0 AND "
                "state = 'stored' AND deleted_ms = 0");
  sel.bind(1, static_cast<std::int64_t>(followup::kTranscribe));
  if (!sel.step() || sel.is_null(0)) return std::nullopt;
  return sel.integer(0);
}

void JobStore::transcribe_retry(const std::string& sid, int attempts, std::int64_t next_ms,
                                const std::string& error) {
  std::lock_guard lock(mutex_);
  Statement up(db_,
               "UPDATE recordings SET transcribe_attempts = ?, transcribe_next_ms = ?, "
               "transcribe_error = ? WHERE recording_sid = ?");
  up.bind(1, static_cast<std::int64_t>(attempts)).bind(2, next_ms).bind(3, error).bind(4, sid);
  up.step();
}

bool JobStore::transcribe_again(const std::string& sid, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  Statement up(db_,
               "UPDATE recordings SET followups = followups | ?, transcribe_attempts = 0, "
               "transcribe_next_ms = ?, transcribe_error = '' WHERE recording_sid = ? AND "
               "state = 'stored' AND deleted_ms = 0");
  up.bind(1, static_cast<std::int64_t>(followup::kTranscribe)).bind(2, now_ms).bind(3, sid);
  up.step();
  return sqlite3_changes(db_) > 0;
}

RetryOutcome JobStore::retry(const std::string& sid, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  Statement up(db_,
               "UPDATE recordings SET state = 'pending', attempts = CASE state WHEN 'dead' THEN 0 "
               "ELSE attempts END, next_attempt_ms = ?, first_seen_ms = CASE state WHEN 'dead' "
               "THEN ? ELSE first_seen_ms END, updated_ms = ?, followups = 0 "
               "WHERE recording_sid = ? AND deleted_ms = 0 AND (state = 'dead' OR "
               "(state = 'pending' AND last_error != ''))");
  up.bind(1, now_ms).bind(2, now_ms).bind(3, now_ms).bind(4, sid);
  up.step();
  if (sqlite3_changes(db_) > 0) return RetryOutcome::kQueued;
  Statement sel(db_, "SELECT state, deleted_ms FROM recordings WHERE recording_sid = ?");
  sel.bind(1, sid);
  if (!sel.step()) return RetryOutcome::kUnknown;
  if (sel.integer(1) != 0) return RetryOutcome::kDeleted;
  return sel.text(0) == "stored" ? RetryOutcome::kStored : RetryOutcome::kCopying;
}

DeleteOutcome JobStore::mark_deleted(const std::string& sid, const std::string& by,
                                     std::int64_t now_ms, std::int64_t remove_at_ms) {
  std::lock_guard lock(mutex_);
  // The report is written before its bit is cleared: with the bit clear, nothing will write
  // beside the recording after this.
  Statement up(db_,
               "UPDATE recordings SET deleted_ms = ?, deleted_by = ?, updated_ms = ?, "
               "followups = (followups & ?) | ?, followup_attempts = 0, followup_next_ms = ?, "
               "followup_error = '' WHERE recording_sid = ? AND deleted_ms = 0 AND "
               "state != 'pending' AND (followups & ?) = 0");
  up.bind(1, now_ms).bind(2, by).bind(3, now_ms);
  up.bind(4, static_cast<std::int64_t>(followup::kDeleteTwilioCopy));
  up.bind(5, static_cast<std::int64_t>(followup::kRemoveObjects));
  up.bind(6, remove_at_ms).bind(7, sid).bind(8, static_cast<std::int64_t>(followup::kReport));
  up.step();
  if (sqlite3_changes(db_) > 0) return DeleteOutcome::kDeleted;
  Statement sel(db_, "SELECT state, deleted_ms FROM recordings WHERE recording_sid = ?");
  sel.bind(1, sid);
  if (!sel.step()) return DeleteOutcome::kUnknown;
  if (sel.integer(1) != 0) return DeleteOutcome::kAlreadyDeleted;
  return sel.text(0) == "pending" ? DeleteOutcome::kCopying : DeleteOutcome::kReportOwed;
}

std::vector<Job> JobStore::of_conferences(const std::vector<std::string>& conference_sids) {
  std::lock_guard lock(mutex_);
  std::vector<Job> out;
  Statement sel(db_, std::string("SELECT ") + kColumns +
                         " FROM recordings WHERE conference_sid = ? ORDER BY start_time, "
                         "recording_sid");
  for (const auto& sid : conference_sids) {
    sel.reset();
    sel.bind(1, sid);
    while (sel.step())
      out.push_back(job_from(sel));
  }
  return out;
}

std::vector<Job> JobStore::started_before(const std::string& iso_time, std::size_t limit) {
  std::lock_guard lock(mutex_);
  Statement sel(db_, std::string("SELECT ") + kColumns +
                         " FROM recordings WHERE state = 'stored' AND deleted_ms = 0 AND "
                         "start_time < ? ORDER BY start_time LIMIT ?");
  sel.bind(1, iso_time).bind(2, static_cast<std::int64_t>(limit));
  std::vector<Job> out;
  while (sel.step())
    out.push_back(job_from(sel));
  return out;
}

std::vector<std::pair<std::int64_t, std::string>> JobStore::conferences_after(std::int64_t rowid,
                                                                              std::size_t limit) {
  std::lock_guard lock(mutex_);
  Statement sel(db_,
                "SELECT rowid, conference_sid FROM recordings WHERE rowid > ? ORDER BY rowid "
                "LIMIT ?");
  sel.bind(1, rowid).bind(2, static_cast<std::int64_t>(limit));
  std::vector<std::pair<std::int64_t, std::string>> out;
  while (sel.step())
    out.emplace_back(sel.integer(0), sel.text(1));
  return out;
}

}  // namespace partyline::db
