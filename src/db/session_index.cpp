#include "db/session_index.hpp"

#include <algorithm>

#include "db/sqlite.hpp"
#include "recordings/naming.hpp"

namespace partyline::db {
namespace {

using Stmt = sqlite::Statement;

constexpr const char* kSchema = R"sql(
BEGIN;
CREATE TABLE IF NOT EXISTS sessions (
  conference_sid TEXT PRIMARY KEY,
  room           TEXT NOT NULL,
  started_ms     INTEGER NOT NULL,
  ended_ms       INTEGER NOT NULL,
  peak           INTEGER NOT NULL,
  callers        TEXT NOT NULL,   -- ' 1234 5678': each participant's last 4 digits
  hidden         INTEGER NOT NULL -- 1: it had recordings and every one is deleted
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_newest ON sessions (hidden, started_ms DESC, conference_sid DESC);
CREATE TABLE IF NOT EXISTS progress (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
-- A search by a caller's last 4 digits looks them up instead of reading every session.
CREATE TABLE IF NOT EXISTS session_callers (
  last4          TEXT NOT NULL,
  conference_sid TEXT NOT NULL,
  PRIMARY KEY (last4, conference_sid)
) WITHOUT ROWID;
COMMIT;
)sql";

// The index's layout; an index of another one is made again from the jobs and events.
constexpr int kVersion = 2;

// "***1234" -> "1234"
std::string last_digits(const std::string& caller) {
  std::string out;
  for (char c : caller) {
    if (c >= '0' && c <= '9') out.push_back(c);
  }
  return out.size() > 4 ? out.substr(out.size() - 4) : out;
}

std::int64_t ms_of_iso(const std::string& iso) {
  const auto t = recordings::parse_twilio_time(iso);
  if (!t) return 0;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
}

}  // namespace

SessionIndex::SessionIndex(const std::filesystem::path& file, CallStore& calls, JobStore& jobs)
    : calls_(calls), jobs_(jobs), db_(sqlite::open(file, "NORMAL")) {
  try {
    exec(kSchema);
    Stmt version(db_, "PRAGMA user_version");
    if (version.step() && version.integer(0) != kVersion) {
      exec(
          "BEGIN; DELETE FROM sessions; DELETE FROM session_callers; DELETE FROM progress; COMMIT");
      exec(("PRAGMA user_version = " + std::to_string(kVersion)).c_str());
    }
    Stmt p(db_, "SELECT value FROM progress WHERE name = 'jobs_rowid'");
    if (p.step()) jobs_rowid_ = p.integer(0);
    // What a crash may have left dirty: conferences not indexed, or not ended when indexed.
    std::set<std::string> settled;
    Stmt s(db_, "SELECT conference_sid FROM sessions WHERE ended_ms != 0");
    while (s.step())
      settled.insert(s.text(0));
    std::lock_guard lock(dirty_mutex_);
    for (auto& sid : calls_.conference_sids()) {
      if (!settled.contains(sid)) dirty_.insert(std::move(sid));
    }
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

SessionIndex::~SessionIndex() {
  sqlite3_close(db_);
}

void SessionIndex::exec(const char* sql) {
  sqlite::exec(db_, sql);
}

void SessionIndex::mark_dirty(const std::string& conference_sid) {
  std::lock_guard lock(dirty_mutex_);
  dirty_.insert(conference_sid);
}

std::size_t SessionIndex::catch_up() {
  std::lock_guard lock(mutex_);
  std::set<std::string> work;
  {
    std::lock_guard dirty(dirty_mutex_);
    work.swap(dirty_);
  }
  // Recordings seen since the last time: sessions known only by their recording (no events).
  std::int64_t rowid = jobs_rowid_;
  for (;;) {
    const auto rows = jobs_.conferences_after(rowid, 1000);
    for (const auto& [id, sid] : rows) {
      rowid = id;
      if (!sid.empty()) work.insert(sid);
    }
    if (rows.size() < 1000) break;
  }
  if (work.empty() && rowid == jobs_rowid_) return 0;
  try {
    exec("BEGIN");
    for (const auto& sid : work)
      index_one(sid);
    Stmt p(db_, "INSERT OR REPLACE INTO progress (name, value) VALUES ('jobs_rowid', ?)");
    p.bind(1, rowid);
    p.step();
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    // Kept dirty for the next read.
    std::lock_guard dirty(dirty_mutex_);
    dirty_.insert(work.begin(), work.end());
    throw;
  }
  jobs_rowid_ = rowid;
  return work.size();
}

// Under mutex_, inside a transaction.
void SessionIndex::index_one(const std::string& sid) {
  const auto summary = calls_.committed_conference(sid);
  const auto jobs = jobs_.of_conferences({sid});
  if (!summary && jobs.empty()) return;
  SessionRow row;
  row.conference_sid = sid;
  std::string callers;
  std::set<std::string> last4;
  if (summary) {
    row.room = summary->room;
    row.started_ms = summary->started_ms;
    row.ended_ms = summary->ended_ms;
    row.peak_participants = summary->peak_participants;
    for (const auto& p : summary->participants) {
      if (row.started_ms == 0 && p.joined_ms != 0) row.started_ms = p.joined_ms;
      const auto digits = last_digits(p.caller);
      if (!digits.empty()) callers += " " + digits;
      if (digits.size() == 4) last4.insert(digits);
    }
  }
  bool hidden = !jobs.empty();
  for (const auto& j : jobs) {
    if (!j.deleted()) hidden = false;
    if (row.started_ms == 0) row.started_ms = ms_of_iso(j.start_time);
    if (row.started_ms == 0) row.started_ms = j.first_seen_ms;
  }
  Stmt up(db_,
          "INSERT OR REPLACE INTO sessions (conference_sid, room, started_ms, ended_ms, peak, "
          "callers, hidden) VALUES (?,?,?,?,?,?,?)");
  up.bind(1, sid).bind(2, row.room).bind(3, row.started_ms).bind(4, row.ended_ms);
  up.bind(5, static_cast<std::int64_t>(row.peak_participants)).bind(6, callers);
  up.bind(7, static_cast<std::int64_t>(hidden ? 1 : 0));
  up.step();
  Stmt clear(db_, "DELETE FROM session_callers WHERE conference_sid = ?");
  clear.bind(1, sid);
  clear.step();
  Stmt add(db_, "INSERT OR IGNORE INTO session_callers (last4, conference_sid) VALUES (?, ?)");
  for (const auto& digits : last4) {
    add.reset();
    add.bind(1, digits).bind(2, sid);
    add.step();
  }
}

std::vector<SessionRow> SessionIndex::list(const SessionQuery& q) {
  catch_up();
  std::lock_guard lock(mutex_);
  std::string sql =
      "SELECT conference_sid, room, started_ms, ended_ms, peak FROM sessions WHERE hidden = 0 "
      "AND started_ms >= ? AND started_ms < ?";
  if (!q.room.empty()) sql += q.room_includes_unnamed ? " AND room IN (?, '')" : " AND room = ?";
  if (q.caller_digits.size() == 4) {
    sql += " AND conference_sid IN (SELECT conference_sid FROM session_callers WHERE last4 = ?)";
  } else if (!q.caller_digits.empty()) {
    sql += " AND instr(callers, ?) > 0";
  }
  if (q.after) sql += " AND (started_ms < ? OR (started_ms = ? AND conference_sid < ?))";
  const std::size_t only = q.only ? std::min<std::size_t>(q.only->size(), 500) : 0;
  if (q.only) {
    if (only == 0) return {};
    sql += " AND conference_sid IN (?";
    for (std::size_t k = 1; k < only; ++k)
      sql += ",?";
    sql += ")";
  }
  sql += " ORDER BY hidden, started_ms DESC, conference_sid DESC LIMIT ?";
  Stmt s(db_, sql);
  int i = 0;
  s.bind(++i, q.from_ms);
  s.bind(++i, q.to_ms);
  if (!q.room.empty()) s.bind(++i, q.room);
  if (!q.caller_digits.empty()) s.bind(++i, q.caller_digits);
  if (q.after) {
    s.bind(++i, q.after->first);
    s.bind(++i, q.after->first);
    s.bind(++i, q.after->second);
  }
  for (std::size_t k = 0; k < only; ++k)
    s.bind(++i, (*q.only)[k]);
  s.bind(++i, static_cast<std::int64_t>(q.limit));
  std::vector<SessionRow> out;
  while (s.step()) {
    out.push_back(
        {s.text(0), s.text(1), s.integer(2), s.integer(3), static_cast<int>(s.integer(4))});
  }
  return out;
}

std::optional<SessionRow> SessionIndex::get(const std::string& conference_sid) {
  catch_up();
  std::lock_guard lock(mutex_);
  Stmt s(db_,
         "SELECT conference_sid, room, started_ms, ended_ms, peak FROM sessions WHERE "
         "conference_sid = ?");
  s.bind(1, conference_sid);
  if (!s.step()) return std::nullopt;
  return SessionRow{s.text(0), s.text(1), s.integer(2), s.integer(3),
                    static_cast<int>(s.integer(4))};
}

}  // namespace partyline::db
