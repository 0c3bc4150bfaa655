#pragma once
// The library's index of past sessions (conferences), one row each, for listing, filtering and
// paging without replaying every conference's events per request. It is derived data in a file of
// its own (DATA_DIR/library.db): deleting it rebuilds it. Kept up to date lazily: a committed
// conference event or a recording's change marks the conference dirty (a set insert on the
// webhook's path), and the next read indexes what is dirty first. At start, conferences missing
// from the index, or not yet ended in it, are indexed again (what a crash may have left dirty).
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "db/calls.hpp"
#include "db/jobs.hpp"

struct sqlite3;

namespace partyline::db {

struct SessionRow {
  std::string conference_sid, room;
  std::int64_t started_ms = 0, ended_ms = 0;  // ended 0: not (yet) known to have ended
  int peak_participants = 0;
};

struct SessionQuery {
  std::string room = {};               // "" = every room
  bool room_includes_unnamed = false;  // also sessions whose room is unknown (before rooms)
  std::int64_t from_ms = 0;            // started_ms >= from_ms
  std::int64_t to_ms = INT64_MAX;      // started_ms < to_ms
  std::string caller_digits = {};      // "" or digits a participant's last 4 contain
  // Keyset paging: only sessions after this one in the order (newest first).
  std::optional<std::pair<std::int64_t, std::string>> after = {};
  // Set: only these conferences (a transcript search's), at most 500.
  std::optional<std::vector<std::string>> only = {};
  std::size_t limit = 50;
};

class SessionIndex {
 public:
  SessionIndex(const std::filesystem::path& file, CallStore& calls, JobStore& jobs);
  ~SessionIndex();
  SessionIndex(const SessionIndex&) = delete;
  SessionIndex& operator=(const SessionIndex&) = delete;

  // Cheap: the conference is indexed again before the next read.
  void mark_dirty(const std::string& conference_sid);
  // Indexes what is dirty (and recordings inserted since the last call); returns how many.
  std::size_t catch_up();
  // Newest first (started_ms, then ConferenceSid, descending); sessions whose every recording is
  // deleted are left out. Catches up first.
  std::vector<SessionRow> list(const SessionQuery& query);
  std::optional<SessionRow> get(const std::string& conference_sid);

 private:
  void index_one(const std::string& conference_sid);
  void exec(const char* sql);
  CallStore& calls_;
  JobStore& jobs_;
  sqlite3* db_ = nullptr;
  std::mutex mutex_;  // db_ and the catch-up
  std::mutex dirty_mutex_;
  std::set<std::string> dirty_;
  std::int64_t jobs_rowid_ = 0;  // recordings rows indexed so far
};

}  // namespace partyline::db
