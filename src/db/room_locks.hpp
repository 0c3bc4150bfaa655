#pragma once
// Which rooms are locked: a table in the service's database, so a lock survives a restart and a
// command (`partyline rooms lock`) sets it for the running service. Each caller is checked against
// a copy in memory, read again only when another connection has committed since (SQLite's
// data_version): a webhook does not query the table.
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include "db/sqlite.hpp"

namespace partyline::db {

class RoomLocks {
 public:
  // Throws std::runtime_error when the file cannot be opened.
  explicit RoomLocks(const std::filesystem::path& file);
  ~RoomLocks();
  RoomLocks(const RoomLocks&) = delete;
  RoomLocks& operator=(const RoomLocks&) = delete;

  // Both idempotent; false when nothing changed (already so).
  bool lock(const std::string& room, std::int64_t now_ms);
  bool unlock(const std::string& room);
  bool locked(const std::string& room);
  // Every locked room and when it was locked.
  std::map<std::string, std::int64_t> all();

 private:
  // Under mutex_: reads the table again when another connection wrote to the database.
  void refresh();
  std::mutex mutex_;
  sqlite3* db_ = nullptr;
  std::int64_t data_version_ = -1;
  std::map<std::string, std::int64_t> locked_;
};

}  // namespace partyline::db
