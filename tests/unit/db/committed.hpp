#pragma once
// Whether another connection (another process, after a crash) sees a row: what is committed.
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace partyline::db::testing {

// True when `sql` (one `?` parameter, bound by `bind`) returns a row on a read-only connection.
template <typename Bind>
bool row_visible(const std::filesystem::path& file, const char* sql, Bind bind) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
  bind(s);
  const bool found = sqlite3_step(s) == SQLITE_ROW;
  sqlite3_finalize(s);
  sqlite3_close(db);
  return found;
}

inline bool event_committed(const std::filesystem::path& file, std::int64_t sequence) {
  return row_visible(file, "SELECT 1 FROM conference_events WHERE sequence = ?",
                     [&](sqlite3_stmt* s) { sqlite3_bind_int64(s, 1, sequence); });
}

inline bool call_committed(const std::filesystem::path& file, const std::string& call_sid) {
  return row_visible(file, "SELECT 1 FROM calls WHERE call_sid = ?", [&](sqlite3_stmt* s) {
    sqlite3_bind_text(s, 1, call_sid.c_str(), -1, SQLITE_TRANSIENT);
  });
}

}  // namespace partyline::db::testing
